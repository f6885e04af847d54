// WHMCS: OAuth credentials, reset with UpdateOAuthCredential. WHMCS kills the old secret at once and
// has no overlap, so the pipeline's recovery path matters most here.
import { call, field, HttpError } from '../http.js';
import type { WhmcsSettings } from '../inputs/index.js';
import { loggable } from '../untrusted.js';
import {
  type Credential,
  type Provider,
  type ProviderDeps,
  ProviderError,
  type Rotation,
} from './types.js';

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

export function createWhmcs(s: WhmcsSettings, deps: ProviderDeps): Provider {
  const auth: Record<string, string> = {
    identifier: s.identifier,
    secret: s.secret,
    responsetype: 'json',
    ...(s.accessKey ? { accesskey: s.accessKey } : {}),
  };
  let found: Listed | undefined;

  async function api(
    action: string,
    params: Record<string, string | readonly string[]>,
    what: string,
    retry: 'safe' | 'once',
  ): Promise<unknown> {
    const res = await call({
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
    async preflight(): Promise<Credential> {
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
      found = {
        credentialId: field(match, 'credentialId') ?? '',
        clientIdentifier: field(match, 'clientIdentifier') ?? '',
        name: field(match, 'name'),
      };
      return {
        clientId: found.clientIdentifier,
        credentialId: found.credentialId,
        description: `WHMCS OAuth credential ${loggable(found.credentialId, 40)}${found.name ? ` (${loggable(found.name, 100)})` : ''}`,
        expiresAt: undefined,
        oldSecretDiesOnRotate: true,
      };
    },

    async rotate(): Promise<Rotation> {
      if (!found) throw new Error('rotate() before preflight()');
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
      return {
        secret,
        clientId: found.clientIdentifier,
        credentialId: field(body, 'credentialId') ?? found.credentialId,
        expiresAt: undefined,
      };
    },

    retirePrevious: async () => undefined,
    abandon: async () => undefined,
  };
}
