// Inputs of provider `entra` (also used by `woodpecker` to mint its secret).
import {
  bool,
  duration,
  GUID,
  InputError,
  integer,
  MAX_MS,
  oneOf,
  optional,
  pathId,
  type Read,
  required,
  url,
} from './fields.js';

export interface EntraSettings {
  readonly name: 'entra';
  /** Tenant id (GUID) or a verified domain. */
  readonly tenantId: string;
  /** The application (client) id whose secret rotates. */
  readonly appId: string;
  /** The app that manages the target app, signing in with the job's OIDC token or a client secret. */
  readonly auth:
    | { readonly kind: 'oidc'; readonly clientId: string }
    | { readonly kind: 'client-secret'; readonly clientId: string; readonly clientSecret: string };
  readonly lifetimeDays: number;
  /** Remove the earlier passwords this action created, once the new one is stored and works. */
  readonly removePrevious: boolean;
  readonly loginUrl: string;
  readonly graphUrl: string;
  /** How long a new password may take to start working before it is called broken. */
  readonly propagationTimeoutMs: number;
  /**
   * This rotation's identity, written into every password it adds: only passwords carrying the same
   * tag are ever removed, so rotations of one app into different secrets never remove each other's.
   */
  readonly passwordTag: string;
}

/** Where a rotation's default identity comes from: the provider, the repository and the secret name. */
export interface EntraContext {
  readonly defaultTag: string;
}

const TAG = /^[A-Za-z0-9._:/@ -]{1,100}$/;

export function parseEntra(read: Read, ctx: EntraContext): EntraSettings {
  const kind = oneOf(read, 'entra-auth', ['oidc', 'client-secret'] as const, 'oidc');
  const clientId = pathId(
    read,
    'entra-auth-client-id',
    'the managing application (client) id, a GUID',
    GUID,
  );
  const secret = optional(read, 'entra-auth-client-secret');
  let auth: EntraSettings['auth'];
  if (kind === 'client-secret') {
    auth = {
      kind,
      clientId,
      clientSecret: required(
        read,
        'entra-auth-client-secret',
        "the managing app's client secret when 'entra-auth' is client-secret",
      ),
    };
  } else {
    if (secret !== undefined)
      throw new InputError(
        `Input 'entra-auth-client-secret' is set but 'entra-auth' is oidc; set entra-auth: client-secret or remove the secret.`,
      );
    auth = { kind, clientId };
  }
  return {
    name: 'entra',
    tenantId: pathId(
      read,
      'entra-tenant-id',
      'the directory (tenant) id, a GUID or a domain',
      /^[A-Za-z0-9.-]{1,128}$/,
    ),
    appId: pathId(read, 'entra-application-id', 'the application (client) id, a GUID', GUID),
    auth,
    lifetimeDays: integer(read, 'entra-secret-lifetime-days', 1, 3650, 180)!,
    removePrevious: bool(read, 'entra-remove-previous', true),
    loginUrl: url(read, 'entra-login-url', 'https://login.microsoftonline.com'),
    graphUrl: url(read, 'entra-graph-url', 'https://graph.microsoft.com'),
    propagationTimeoutMs: duration(
      read,
      'entra-propagation-timeout',
      MAX_MS.propagationTimeout,
      120_000,
    )!,
    passwordTag: passwordTag(read, ctx),
  };
}

function passwordTag(read: Read, ctx: EntraContext): string {
  const v = optional(read, 'entra-password-tag');
  if (v === undefined) return ctx.defaultTag;
  if (!TAG.test(v))
    throw new InputError(
      `Input 'entra-password-tag' is '${v}'; expected up to 100 letters, digits, spaces and . _ : / @ -.`,
    );
  return v;
}
