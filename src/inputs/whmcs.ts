// Inputs of provider `whmcs`.
import { checkUrl, InputError, integer, optional, type Read, required, url } from './fields.js';

export interface WhmcsUpdates {
  readonly name?: string;
  readonly description?: string;
  readonly grantType?: 'authorization_code' | 'single_sign_on';
  readonly scope?: string;
  readonly serviceId?: number;
  readonly logoUri?: string;
  readonly redirectUris?: readonly string[];
}

export interface WhmcsSettings {
  readonly name: 'whmcs';
  /** Base URL of the installation; the API is `{url}/includes/api.php`. */
  readonly url: string;
  readonly identifier: string;
  readonly secret: string;
  readonly accessKey: string | undefined;
  /** Exactly one of the two addresses the credential. */
  readonly credentialId: number | undefined;
  readonly clientIdentifier: string | undefined;
  /** Optional changes sent in the same UpdateOAuthCredential call. */
  readonly updates: WhmcsUpdates;
}

const GRANTS = ['authorization_code', 'single_sign_on'] as const;

export function parseWhmcs(read: Read): WhmcsSettings {
  const credentialId = integer(read, 'whmcs-credential-id', 1, 2_147_483_647);
  const clientIdentifier = optional(read, 'whmcs-client-identifier');
  if ((credentialId === undefined) === (clientIdentifier === undefined)) {
    throw new InputError(
      `Input 'whmcs-credential-id' or 'whmcs-client-identifier' is required (exactly one of them): the OAuth credential to rotate.`,
    );
  }
  const grantType = optional(read, 'whmcs-grant-type');
  if (grantType !== undefined && !(GRANTS as readonly string[]).includes(grantType)) {
    throw new InputError(
      `Input 'whmcs-grant-type' is '${grantType}'; expected authorization_code or single_sign_on.`,
    );
  }
  const serviceId = integer(read, 'whmcs-service-id', 1, 2_147_483_647);
  if (grantType === 'single_sign_on' && serviceId === undefined) {
    throw new InputError(
      `Input 'whmcs-service-id' is required when 'whmcs-grant-type' is single_sign_on.`,
    );
  }
  const scope = optional(read, 'whmcs-scope');
  if (scope !== undefined && !/^[A-Za-z0-9_:.-]+( [A-Za-z0-9_:.-]+)*$/.test(scope)) {
    throw new InputError(
      `Input 'whmcs-scope' is '${scope}'; expected scope names separated by single spaces, such as 'clientarea:sso clientarea:billing_info'.`,
    );
  }
  const logo = optional(read, 'whmcs-logo-uri');
  const redirects = optional(read, 'whmcs-redirect-uris')
    ?.split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const updates: { -readonly [K in keyof WhmcsUpdates]: WhmcsUpdates[K] } = {};
  const name = optional(read, 'whmcs-name');
  const description = optional(read, 'whmcs-description');
  if (name !== undefined) updates.name = name;
  if (description !== undefined) updates.description = description;
  if (grantType !== undefined) updates.grantType = grantType as WhmcsUpdates['grantType'] & string;
  if (scope !== undefined) updates.scope = scope;
  if (serviceId !== undefined) updates.serviceId = serviceId;
  if (logo !== undefined) updates.logoUri = checkUrl('whmcs-logo-uri', logo);
  if (redirects !== undefined)
    updates.redirectUris = redirects.map((r) => absolute('whmcs-redirect-uris', r));
  return {
    name: 'whmcs',
    url: url(read, 'whmcs-url'),
    identifier: required(read, 'whmcs-identifier', 'the API credential identifier'),
    secret: required(read, 'whmcs-secret', 'the API credential secret'),
    accessKey: optional(read, 'whmcs-access-key'),
    credentialId,
    clientIdentifier,
    updates,
  };
}

/** Redirect URIs may be custom schemes (apps) or http on localhost, so only absoluteness is checked. */
function absolute(name: string, v: string): string {
  try {
    new URL(v);
    return v;
  } catch {
    throw new InputError(
      `Input '${name}' has '${v}', which is not an absolute URI; expected one URI a line.`,
    );
  }
}
