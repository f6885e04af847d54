// WHMCS: OAuth credentials, reset with UpdateOAuthCredential. WHMCS kills the old secret at once and
// has no overlap, so the pipeline's recovery path matters most here.
import { createHash } from 'node:crypto';
import { sleep } from '../clock.js';
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
  /** Fingerprint of the secret preflight listed (undefined: none listed): a lost answer is resolved against it. */
  readonly before: string | undefined;
}

/** After an unknown outcome of the reset: how many listings, this far apart. */
const RECHECKS = 3;
const RECHECK_MS = 2_000;

/** A secret's fingerprint: enough to tell two secrets apart without keeping the earlier one. */
function fingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A listed clientSecret that could be a secret at all: printable, no spaces, bounded. Never shown. */
function plausible(v: string | undefined): v is string {
  return v !== undefined && /^[\x21-\x7e]{8,512}$/.test(v);
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

  /** Every listed credential. The listing carries every clientSecret: searched, never logged. */
  async function list(what: string): Promise<unknown[]> {
    const body = await api('ListOAuthCredentials', { limit: '10000' }, what, 'safe');
    const clients = (body as { clients?: unknown }).clients;
    return Array.isArray(clients) ? clients : [];
  }

  /**
   * After a reset whose outcome is unknown (or a success without newClientSecret): the listing tells.
   * A clientSecret other than the one preflight listed is the secret that works now, since WHMCS
   * kills the previous one with the reset; the same one, listed a few times, means no reset took
   * effect as far as can be seen.
   */
  async function recover(found: Listed, why: string): Promise<string> {
    const unknown = (more: string) =>
      new ProviderError(
        `${why} ${more} WHMCS may have reset the secret, and then the old one no longer works: look at the credential in WHMCS (System Settings > API Credentials / OAuth), store the secret it shows, or re-run the workflow to reset it again.`,
        true,
      );
    if (found.before === undefined)
      throw unknown(
        'Preflight listed no client secret for the credential, so the listing cannot tell.',
      );
    deps.warn(
      `${why} Listing the OAuth credentials to learn whether WHMCS reset the secret (the call is not repeated).`,
    );
    for (let i = 0; i < RECHECKS; i++) {
      if (i > 0) await sleep(RECHECK_MS);
      let listed: unknown[];
      try {
        listed = await list('list WHMCS OAuth credentials after the reset');
      } catch (err) {
        throw unknown(`Listing the credentials to find out failed too: ${(err as Error).message}`);
      }
      const match = listed.find((c) => field(c, 'credentialId') === found.credentialId);
      const current = match === undefined ? undefined : field(match, 'clientSecret');
      if (!plausible(current))
        throw unknown(
          match === undefined
            ? 'The listing no longer shows the credential.'
            : 'The listing shows no usable client secret for the credential.',
        );
      deps.mask(current);
      if (fingerprint(current) !== found.before) {
        // Whichever reset set it (this run's, or someone else's at the same moment), the old secret
        // is dead and this is the one that works now: storing it is the only way not to lock out.
        deps.info(
          "The credential's secret changed since preflight: WHMCS now lists a new one, and it is the one stored.",
        );
        return current;
      }
    }
    throw new ProviderError(
      `${why} The credential, listed ${RECHECKS} times over ${((RECHECKS - 1) * RECHECK_MS) / 1000} s, still has the secret preflight saw: WHMCS did not reset it as far as can be seen, and the old secret still works. Nothing was stored; re-run the workflow.`,
    );
  }

  /** The one rotating call: sent once, never repeated when it may have reached WHMCS. */
  function reset(params: Record<string, string | readonly string[]>): Promise<unknown> {
    return api('UpdateOAuthCredential', params, 'reset the WHMCS OAuth credential secret', 'once');
  }

  return {
    async preflight(): Promise<Found<Listed>> {
      const all = await list('list WHMCS OAuth credentials (checks the API credentials)');
      const match = all.find((c: unknown) =>
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
          `WHMCS has no OAuth credential with ${which} (${all.length} credential(s) listed).`,
        );
      }
      const current = field(match, 'clientSecret');
      if (current) deps.mask(current);
      const found: Listed = {
        credentialId: field(match, 'credentialId') ?? '',
        clientIdentifier: field(match, 'clientIdentifier') ?? '',
        name: field(match, 'name'),
        before: current ? fingerprint(current) : undefined,
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
      const secret = await reset(params).then(
        async (body) => {
          const answered = field(body, 'newClientSecret');
          if (answered) {
            deps.mask(answered);
            return answered;
          }
          return recover(
            found,
            'WHMCS answered the reset with success but without newClientSecret.',
          );
        },
        (err: unknown) => {
          const unknown =
            (err instanceof HttpError || err instanceof ProviderError) && err.outcomeUnknown;
          if (!unknown) throw err;
          return recover(found, `${err.message} The request may have reached WHMCS.`);
        },
      );
      const rotation: Rotation = {
        secret,
        clientId: found.clientIdentifier,
        credentialId: found.credentialId,
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
