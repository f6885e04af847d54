// Inputs of provider `vmware-csp`.
import { bool, InputError, integer, oneOf, optional, pathId, type Read, url } from './fields.js';

export interface CspSettings {
  readonly name: 'vmware-csp';
  readonly url: string;
  /** How the action obtains a CSP access token. */
  readonly auth:
    | { readonly kind: 'api-token'; readonly token: string }
    | { readonly kind: 'client'; readonly clientId: string; readonly clientSecret: string };
  readonly orgId: string;
  readonly appId: string;
  /** `regenerate` kills the old secret at once; `overlap` keeps it valid for `overlapSeconds`. */
  readonly rotation: 'regenerate' | 'overlap';
  readonly overlapSeconds: number;
  /** Overlap only: delete the previous secret once every target is verified. */
  readonly retirePrevious: boolean;
}

export function parseCsp(read: Read): CspSettings {
  const token = optional(read, 'csp-api-token');
  const clientId = optional(read, 'csp-client-id');
  const clientSecret = optional(read, 'csp-client-secret');
  if (token !== undefined && (clientId !== undefined || clientSecret !== undefined)) {
    throw new InputError(
      `Inputs 'csp-api-token' and 'csp-client-id'/'csp-client-secret' exclude each other: give an API token or client credentials.`,
    );
  }
  let auth: CspSettings['auth'];
  if (token !== undefined) auth = { kind: 'api-token', token };
  else if (clientId !== undefined && clientSecret !== undefined)
    auth = { kind: 'client', clientId, clientSecret };
  else {
    throw new InputError(
      `Input 'csp-api-token' is required, or both 'csp-client-id' and 'csp-client-secret' (${clientId ? 'csp-client-secret' : 'csp-client-id'} is missing).`,
    );
  }
  const rotation = oneOf(read, 'csp-rotation', ['regenerate', 'overlap'] as const, 'regenerate');
  const retirePrevious = bool(read, 'csp-retire-previous', false);
  if (retirePrevious && rotation !== 'overlap') {
    throw new InputError(
      `Input 'csp-retire-previous' applies only with 'csp-rotation: overlap' (regenerate leaves no previous secret).`,
    );
  }
  return {
    name: 'vmware-csp',
    url: url(read, 'csp-url', 'https://console.cloud.vmware.com'),
    auth,
    orgId: pathId(read, 'csp-org-id', 'the organization id (a GUID)'),
    appId: pathId(read, 'csp-oauth-app-id', 'the OAuth app id (its client id)'),
    rotation,
    overlapSeconds: integer(read, 'csp-overlap-seconds', 60, 31_536_000, 172_800)!,
    retirePrevious,
  };
}
