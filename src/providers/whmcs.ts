// WHMCS: OAuth credentials, reset with UpdateOAuthCredential. WHMCS kills the old secret at once and
// has no overlap, so the pipeline's recovery path matters most here.
import { field, HttpError } from '../http.js';
import {
  checkUrl,
  InputError,
  type InputSpecs,
  integer,
  optional,
  type Read,
  required,
  url,
} from '../inputs/fields.js';
import { loggable } from '../untrusted.js';
import {
  type Credential,
  type Provider,
  type ProviderDeps,
  ProviderError,
  type Found,
  type ProviderModule,
  type Rotated,
  type Rotation,
} from './types.js';

/** Every input this provider reads. */
const inputs = {
  'whmcs-url': {
    description:
      'whmcs: base URL of the WHMCS installation (the API is {whmcs-url}/includes/api.php).',
  },
  'whmcs-identifier': { description: 'whmcs: API credential identifier.' },
  'whmcs-secret': { description: 'whmcs: API credential secret.', credential: true },
  'whmcs-access-key': {
    description: 'whmcs: optional API access key (bypasses the API IP allow-list).',
    credential: true,
  },
  'whmcs-credential-id': {
    description: 'whmcs: id of the OAuth credential to rotate (or whmcs-client-identifier).',
  },
  'whmcs-client-identifier': {
    description:
      'whmcs: client identifier of the OAuth credential to rotate (or whmcs-credential-id).',
  },
  'whmcs-name': { description: 'whmcs: optional new name, sent in the same call.' },
  'whmcs-description': { description: 'whmcs: optional new description.' },
  'whmcs-grant-type': {
    description: 'whmcs: optional new grant type: authorization_code or single_sign_on.',
  },
  'whmcs-scope': { description: 'whmcs: optional new space-separated scopes.' },
  'whmcs-service-id': { description: 'whmcs: optional service id (required with single_sign_on).' },
  'whmcs-logo-uri': { description: 'whmcs: optional logo URI.' },
  'whmcs-redirect-uris': { description: 'whmcs: optional redirect URIs, one a line.' },
} satisfies InputSpecs;

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

function parseWhmcs(read: Read): WhmcsSettings {
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

/**
 * WHMCS errors are `{result: "error", message}`, with HTTP 200 or 4xx: the allow-list's `Invalid IP ...`
 * usually comes as 403 but may come as 200, so the hint follows the message, not the status.
 */
function explain(_status: number, body: unknown): string | undefined {
  const message = field(body, 'message');
  const hint = /invalid ip/i.test(message ?? '')
    ? "; allow the runner's IP in WHMCS or set whmcs-access-key"
    : '';
  return message ? `WHMCS says "${loggable(message, 200)}"${hint}` : undefined;
}

interface Listed {
  readonly credentialId: string;
  readonly clientIdentifier: string;
  readonly name: string | undefined;
}

function createWhmcs(s: WhmcsSettings, deps: ProviderDeps): Provider<Listed, undefined> {
  const auth: Record<string, string> = {
    identifier: s.identifier,
    secret: s.secret,
    responsetype: 'json',
    ...(s.accessKey ? { accesskey: s.accessKey } : {}),
  };

  async function api(
    action: string,
    params: Record<string, string | readonly string[]>,
    what: string,
    retry: 'safe' | 'once',
  ): Promise<unknown> {
    const res = await deps.http({
      method: 'POST',
      url: `${s.url}/includes/api.php`,
      form: { ...auth, action, ...params },
      what,
      retry,
      explain,
    });
    const result = field(res.body, 'result');
    if (result === 'success') return res.body;
    if (result === 'error')
      throw new ProviderError(
        `Could not ${what}: ${explain(res.status, res.body) ?? 'WHMCS answered result=error'}.`,
      );
    // Not WHMCS's JSON at all (an HTML error page, a proxy): for the rotating call we cannot tell what happened.
    throw new ProviderError(
      `Could not ${what}: the answer (HTTP ${res.status}) was not WHMCS JSON.`,
      retry === 'once',
    );
  }

  return {
    async preflight(): Promise<Found<Listed>> {
      // The listing carries every credential's clientSecret: it is searched here and never logged.
      const body = await api(
        'ListOAuthCredentials',
        { limit: '10000' },
        'list WHMCS OAuth credentials (checks the API credentials)',
        'safe',
      );
      const clients = (body as { clients?: unknown }).clients;
      const list = Array.isArray(clients) ? clients : [];
      const match = list.find((c: unknown) =>
        s.credentialId !== undefined
          ? field(c, 'credentialId') === String(s.credentialId)
          : field(c, 'clientIdentifier') === s.clientIdentifier,
      );
      if (!match) {
        const which =
          s.credentialId !== undefined
            ? `whmcs-credential-id ${s.credentialId}`
            : `whmcs-client-identifier ${s.clientIdentifier}`;
        throw new ProviderError(
          `WHMCS has no OAuth credential with ${which} (${list.length} credential(s) listed).`,
        );
      }
      const current = field(match, 'clientSecret');
      if (current) deps.mask(current);
      const found: Listed = {
        credentialId: field(match, 'credentialId') ?? '',
        clientIdentifier: field(match, 'clientIdentifier') ?? '',
        name: field(match, 'name'),
      };
      const credential: Credential = {
        clientId: found.clientIdentifier,
        credentialId: found.credentialId,
        description: `WHMCS OAuth credential ${loggable(found.credentialId, 40)}${found.name ? ` (${loggable(found.name, 100)})` : ''}`,
        expiresAt: undefined,
        oldSecretDiesOnRotate: true,
      };
      return { credential, found };
    },

    async rotate(found): Promise<Rotated<undefined>> {
      const u = s.updates;
      const params: Record<string, string | readonly string[]> = {
        credentialId: found.credentialId,
        resetSecret: '1',
      };
      if (u.name !== undefined) params['name'] = u.name;
      if (u.description !== undefined) params['description'] = u.description;
      if (u.grantType !== undefined) params['grantType'] = u.grantType;
      if (u.scope !== undefined) params['scope'] = u.scope;
      if (u.serviceId !== undefined) params['serviceId'] = String(u.serviceId);
      if (u.logoUri !== undefined) params['logoUri'] = u.logoUri;
      if (u.redirectUris !== undefined) params['redirectUri[]'] = u.redirectUris;
      let body: unknown;
      try {
        body = await api(
          'UpdateOAuthCredential',
          params,
          'reset the WHMCS OAuth credential secret',
          'once',
        );
      } catch (err) {
        const unknown =
          (err instanceof HttpError || err instanceof ProviderError) && err.outcomeUnknown;
        if (!unknown) throw err;
        throw new ProviderError(
          `${err.message} The request may have reached WHMCS and reset the secret; it was not repeated. Check the credential in WHMCS (System Settings > API Credentials / OAuth) and reset it there if the old secret no longer works.`,
          true,
        );
      }
      const secret = field(body, 'newClientSecret');
      if (!secret)
        throw new ProviderError(
          'WHMCS answered success without newClientSecret: the old secret may be dead and the new one unknown. Reset it in WHMCS by hand.',
          true,
        );
      deps.mask(secret);
      const rotation: Rotation = {
        secret,
        clientId: found.clientIdentifier,
        credentialId: field(body, 'credentialId') ?? found.credentialId,
        expiresAt: undefined,
      };
      return { rotation, rotated: undefined };
    },

    retirePrevious: async () => undefined,
    abandon: async () => undefined,
  };
}

export const whmcs: ProviderModule<WhmcsSettings> = {
  inputs,
  docs: {
    title: 'WHMCS',
    rotates: "an OAuth credential's secret (`UpdateOAuthCredential` with `resetSecret`)",
    previous: 'dies at once: keep the recovery key',
  },
  parse: parseWhmcs,
  create: createWhmcs,
};
