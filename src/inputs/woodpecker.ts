// Inputs of provider `woodpecker`.
import { type EntraContext, parseEntra, type EntraSettings } from './entra.js';
import {
  duration,
  GUID,
  InputError,
  integer,
  isoDate,
  MAX_MS,
  optional,
  pathId,
  type Read,
  required,
  url,
} from './fields.js';

export interface WoodpeckerSettings {
  readonly name: 'woodpecker';
  readonly url: string;
  readonly apiKey: string;
  /** The credential to update; without it, found by client id in the listing or created. */
  readonly credentialId: number | undefined;
  readonly credentialName: string | undefined;
  /** Where the new secret comes from: minted in Entra, or given by the workflow. */
  readonly source:
    | { readonly kind: 'entra'; readonly entra: EntraSettings }
    | {
        readonly kind: 'given';
        readonly secret: string;
        readonly expiresAt: string;
        readonly tenantId: string | undefined;
        readonly clientId: string | undefined;
        /** How long Woodpecker's INVALID_CLIENT_SECRET is retried: a secret minted elsewhere may still be propagating. */
        readonly propagationTimeoutMs: number;
      };
}

export function parseWoodpecker(read: Read, ctx: EntraContext): WoodpeckerSettings {
  const secret = optional(read, 'woodpecker-client-secret');
  const expiresAt = isoDate(read, 'woodpecker-secret-expires-at');
  const credentialId = integer(read, 'woodpecker-credential-id', 1, Number.MAX_SAFE_INTEGER);
  let source: WoodpeckerSettings['source'];
  if (secret !== undefined) {
    if (expiresAt === undefined) {
      throw new InputError(
        `Input 'woodpecker-secret-expires-at' is required with 'woodpecker-client-secret' (Woodpecker takes both together), e.g. 2027-11-28T23:59:59Z.`,
      );
    }
    const tenantId = optional(read, 'entra-tenant-id');
    const clientId = optional(read, 'entra-application-id');
    if (credentialId === undefined && (tenantId === undefined || clientId === undefined)) {
      throw new InputError(
        `Input 'entra-tenant-id' and 'entra-application-id' are required without 'woodpecker-credential-id': they find or create the credential.`,
      );
    }
    if (clientId !== undefined)
      pathId(read, 'entra-application-id', 'the application (client) id, a GUID', GUID);
    source = {
      kind: 'given',
      secret,
      expiresAt,
      tenantId,
      clientId,
      propagationTimeoutMs: duration(
        read,
        'entra-propagation-timeout',
        MAX_MS.propagationTimeout,
        120_000,
      )!,
    };
  } else {
    if (expiresAt !== undefined)
      throw new InputError(
        `Input 'woodpecker-secret-expires-at' goes only with 'woodpecker-client-secret'; without it the secret is minted in Entra.`,
      );
    source = { kind: 'entra', entra: parseEntra(read, ctx) };
  }
  return {
    name: 'woodpecker',
    url: url(read, 'woodpecker-url', 'https://api.woodpecker.co/rest'),
    apiKey: required(read, 'woodpecker-api-key', 'a Woodpecker API key'),
    credentialId,
    credentialName: optional(read, 'woodpecker-credential-name'),
    source,
  };
}
