// Auth0: an application's client secret, rotated with the Management API's rotate-secret. Auth0 kills
// the old secret at once and the new one may take up to 30 s to work, so the new secret is stored
// first and then confirmed by a client-credentials token request, where the application can make one.
import { now, sleep } from '../clock.js';
import { type Call, field, HttpError, type Response } from '../http.js';
import { TokenSession } from './session.js';
import {
  checkUrl,
  duration,
  InputError,
  type InputSpecs,
  optional,
  pathId,
  type Read,
  required,
} from '../inputs/fields.js';
import { loggable } from '../untrusted.js';
import {
  type Credential,
  type Found,
  type Provider,
  type ProviderDeps,
  ProviderError,
  type ProviderModule,
  type Rotated,
  type Rotation,
} from './types.js';

/** Every input this provider reads. */
const inputs = {
  'auth0-domain': {
    description:
      'auth0: the tenant domain the action calls, e.g. my-tenant.eu.auth0.com, or a custom domain (then set auth0-management-audience).',
  },
  'auth0-management-audience': {
    description:
      'auth0: the Management API audience. Default: https://{auth0-domain}/api/v2/. With a custom domain in auth0-domain, set https://{tenant}.auth0.com/api/v2/ (always the canonical domain).',
  },
  'auth0-management-client-id': {
    description:
      'auth0: client id of a machine-to-machine application authorized for the Management API with scopes read:clients and update:client_keys.',
  },
  'auth0-management-client-secret': {
    description: 'auth0: the client secret that goes with auth0-management-client-id.',
    credential: true,
  },
  'auth0-client-id': {
    description: 'auth0: the client id of the application whose secret rotates.',
  },
  'auth0-confirm-audience': {
    description:
      'auth0: an API identifier the rotated application may get a client-credentials token for; the new secret is confirmed with it once stored. Empty: not confirmed (the log says so).',
  },
  'auth0-confirm-timeout': {
    description:
      'auth0: how long the new secret may take to start working (Auth0: up to 30 s), as a duration; at most 10m.',
    default: '1m',
  },
} satisfies InputSpecs;

export interface Auth0Settings {
  readonly name: 'auth0';
  /** `https://{auth0-domain}`: the token endpoint and the Management API are under it. */
  readonly url: string;
  /** The Management API identifier: the canonical tenant domain's, even behind a custom domain. */
  readonly audience: string;
  readonly managementClientId: string;
  readonly managementClientSecret: string;
  /** The application whose secret rotates. */
  readonly clientId: string;
  /** An API the application may get a client-credentials token for: the new secret is confirmed with it. */
  readonly confirmAudience: string | undefined;
  readonly confirmTimeoutMs: number;
}

const MAX_CONFIRM_MS = 600_000;
/** Auth0 client ids: letters and digits (32 of them), kept loose for older tenants. */
const CLIENT_ID = /^[A-Za-z0-9_-]{1,128}$/;

function parseAuth0(read: Read): Auth0Settings {
  const url = domainUrl(read);
  const audience = optional(read, 'auth0-management-audience');
  const confirmAudience = optional(read, 'auth0-confirm-audience');
  return {
    name: 'auth0',
    url,
    audience:
      audience === undefined
        ? `${url}/api/v2/`
        : audienceUrl('auth0-management-audience', audience),
    managementClientId: pathId(
      read,
      'auth0-management-client-id',
      'the client id of the machine-to-machine application that calls the Management API',
      CLIENT_ID,
    ),
    managementClientSecret: required(
      read,
      'auth0-management-client-secret',
      "the management application's client secret",
    ),
    clientId: pathId(
      read,
      'auth0-client-id',
      'the client id of the application whose secret rotates',
      CLIENT_ID,
    ),
    confirmAudience,
    confirmTimeoutMs: duration(read, 'auth0-confirm-timeout', MAX_CONFIRM_MS, 60_000)!,
  };
}

/** `my-tenant.eu.auth0.com` or `https://my-tenant.eu.auth0.com`: a base URL without a path. */
function domainUrl(read: Read): string {
  const v = required(read, 'auth0-domain', 'the tenant domain, e.g. my-tenant.eu.auth0.com');
  // `user:password@host` is no scheme: only `scheme://` is one.
  const u = checkUrl('auth0-domain', /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `https://${v}`);
  if (new URL(u).pathname !== '/')
    throw new InputError(
      `Input 'auth0-domain' is '${v}'; expected a domain such as my-tenant.eu.auth0.com, without a path.`,
    );
  return u;
}

/**
 * The Management API identifier, `https://{tenant}.auth0.com/api/v2/`: Auth0 matches it exactly, so
 * the final slash is added when left out, and any other path is refused before a request.
 */
function audienceUrl(name: string, v: string): string {
  const u = new URL(checkUrl(name, v));
  if (u.pathname.replace(/\/?$/, '/') !== '/api/v2/')
    throw new InputError(
      `Input '${name}' is '${v}'; expected the Management API identifier, https://{tenant}.auth0.com/api/v2/.`,
    );
  return `${u.origin}/api/v2/`;
}

/** Sign in again this long before the token's stated expiry. */
const TOKEN_MARGIN_MS = 60_000;
/** How often the new secret is tried while it propagates. */
const CONFIRM_EVERY_MS = 2_000;

/** Management API errors: `{statusCode, error, message, errorCode}`; `hints` say what the status means here. */
function managementExplainer(hints: Record<number, string>) {
  return (status: number, body: unknown): string | undefined => {
    const parts = [hints[status]];
    const code = field(body, 'errorCode') ?? field(body, 'error');
    const message = field(body, 'message');
    if (code) parts.push(`errorCode ${loggable(code, 60)}`);
    if (message) parts.push(`message "${loggable(message, 200)}"`);
    return parts.filter(Boolean).join('; ') || undefined;
  };
}

/** Token endpoint errors: OAuth's `{error, error_description}`. */
function tokenExplainer(hints: Record<number, string>) {
  return (status: number, body: unknown): string | undefined => {
    const parts = [hints[status]];
    const error = field(body, 'error');
    const description = field(body, 'error_description');
    if (error)
      parts.push(`${loggable(error, 60)}${description ? `: ${loggable(description, 200)}` : ''}`);
    return parts.filter(Boolean).join('; ') || undefined;
  };
}

const explainSignIn = tokenExplainer({
  401: 'auth0-management-client-id / auth0-management-client-secret were refused',
  403: 'the management application is not authorized for the Management API audience (it needs a client grant with read:clients and update:client_keys; behind a custom domain, set auth0-management-audience to https://{tenant}.auth0.com/api/v2/)',
  429: 'Auth0 rate limit',
});
const explainRead = managementExplainer({
  401: 'the Management API token was refused',
  403: 'the management application needs the scope read:clients',
  404: 'no application with this auth0-client-id in the tenant',
  429: 'Auth0 rate limit',
});
const explainRotate = managementExplainer({
  400: 'Auth0 refused to rotate this application',
  401: 'the Management API token was refused',
  403: 'the management application needs the scope update:client_keys',
  404: 'no application with this auth0-client-id in the tenant',
  429: 'Auth0 rate limit',
});
const explainConfirm = tokenExplainer({
  403: 'the application is not allowed a client-credentials token for auth0-confirm-audience (grant type or client grant)',
  429: 'Auth0 rate limit',
});

/**
 * The fields preflight reads: never client_secret. Only fields read:clients may see: Auth0 shows
 * client_authentication_methods (where Private Key JWT and mTLS live) only to read:client_keys or
 * read:client_credentials, so how the application authenticates is told by token_endpoint_auth_method
 * alone, which is null exactly when client_authentication_methods is set.
 */
const FIELDS = ['client_id', 'name', 'app_type', 'grant_types', 'token_endpoint_auth_method'];
/** The token endpoint methods that authenticate with the client secret. */
const SECRET_METHODS: Readonly<Record<string, 'basic' | 'post'>> = {
  client_secret_basic: 'basic',
  client_secret_post: 'post',
};

/** What preflight found: how the application authenticates, for the confirmation. */
interface Auth0Found {
  /** `basic` sends the secret in an Authorization header (client_secret_basic), `post` in the form. */
  readonly confirmWith: 'basic' | 'post' | undefined;
}

interface Auth0Rotated {
  readonly secret: string;
  readonly confirmWith: 'basic' | 'post' | undefined;
}

function createAuth0(s: Auth0Settings, deps: ProviderDeps): Provider<Auth0Found, Auth0Rotated> {
  const clientUrl = `${s.url}/api/v2/clients/${encodeURIComponent(s.clientId)}`;
  const host = new URL(s.url).host;
  // The session's Management API token, reused while it is fresh; a non-rotating call signs in again
  // once after a 401.
  const session = new TokenSession({
    signIn: async () =>
      (
        await deps.http({
          method: 'POST',
          url: `${s.url}/oauth/token`,
          form: {
            grant_type: 'client_credentials',
            client_id: s.managementClientId,
            client_secret: s.managementClientSecret,
            audience: s.audience,
          },
          what: `obtain a Management API token from ${host} as ${s.managementClientId}`,
          retry: 'safe',
          explain: explainSignIn,
        })
      ).body,
    // A token without update:client_keys would only fail at the rotating call: say so now.
    accept: (body) => {
      const scope = field(body, 'scope');
      const missing = ['read:clients', 'update:client_keys'].filter(
        (x) => scope !== undefined && !scope.split(' ').includes(x),
      );
      if (missing.length)
        throw new ProviderError(
          `The Management API token lacks the scope(s) ${missing.join(', ')}: grant them to ${s.managementClientId} for the Management API (Applications > APIs > Auth0 Management API > Machine to Machine Applications).`,
        );
    },
    missingToken: 'Auth0 answered the token request without an access_token.',
    mask: deps.mask,
    defaultLifetimeS: 300,
    marginMs: () => TOKEN_MARGIN_MS,
  });
  const managed = (c: Omit<Call, 'headers'>): Promise<Response> =>
    session.call(deps.http, c, c.retry !== 'once');

  /** One client-credentials token request with the new secret: true when it obtains a token. */
  async function tryNewSecret(secret: string, via: 'basic' | 'post'): Promise<boolean> {
    const basic = Buffer.from(
      `${encodeURIComponent(s.clientId)}:${encodeURIComponent(secret)}`,
    ).toString('base64');
    if (via === 'basic') deps.mask(basic);
    try {
      const res = await deps.http({
        method: 'POST',
        url: `${s.url}/oauth/token`,
        ...(via === 'basic' ? { headers: { authorization: `Basic ${basic}` } } : {}),
        form: {
          grant_type: 'client_credentials',
          ...(via === 'post' ? { client_id: s.clientId, client_secret: secret } : {}),
          audience: s.confirmAudience!,
        },
        what: 'obtain a token with the new secret',
        retry: 'safe',
        explain: explainConfirm,
      });
      // Only a token proves it: a 2xx without one says nothing.
      if (field(res.body, 'access_token')) return true;
      throw new ProviderError(
        'Auth0 answered the sign-in with the new secret without an access_token.',
      );
    } catch (err) {
      // 401: the client authentication failed, which is what a secret still propagating gets.
      if (err instanceof HttpError && err.status === 401) return false;
      throw err;
    }
  }

  return {
    async preflight(): Promise<Found<Auth0Found>> {
      await session.renew();
      const query = new URLSearchParams({ fields: FIELDS.join(','), include_fields: 'true' });
      const res = await managed({
        method: 'GET',
        url: `${clientUrl}?${query.toString()}`,
        what: `read application ${s.clientId} in Auth0 tenant ${host}`,
        retry: 'safe',
        explain: explainRead,
      });
      const body = res.body;
      const clientId = field(body, 'client_id');
      if (clientId !== s.clientId)
        throw new ProviderError(
          `Auth0 answered the read of application ${s.clientId} with ${clientId === undefined ? 'no client_id' : 'another client_id'}.`,
        );
      const method = field(body, 'token_endpoint_auth_method');
      const via = method === undefined ? undefined : SECRET_METHODS[method];
      if (via === undefined)
        throw new ProviderError(
          method === undefined
            ? `Application ${s.clientId} has no token_endpoint_auth_method: it authenticates with client_authentication_methods (Private Key JWT or mTLS), not with its client secret, and Auth0 does not rotate the secret of a Private Key JWT application. Rotate its credentials in the Auth0 Dashboard instead. Nothing was changed.`
            : method === 'none'
              ? `Application ${s.clientId} has token_endpoint_auth_method none (a public application): its client secret authenticates nothing, so there is nothing to rotate. Nothing was changed.`
              : `Application ${s.clientId} has token_endpoint_auth_method ${loggable(method, 40)}, not client_secret_post or client_secret_basic: the action rotates only secrets the application authenticates with. Nothing was changed.`,
        );
      const grants = (body as { grant_types?: unknown }).grant_types;
      const canConfirm = Array.isArray(grants) && grants.includes('client_credentials');
      let confirmWith: Auth0Found['confirmWith'];
      if (s.confirmAudience !== undefined) {
        if (!canConfirm)
          throw new ProviderError(
            `Input 'auth0-confirm-audience' is set, but application ${s.clientId} does not have the client_credentials grant type, so the new secret cannot be confirmed with a token request. Remove auth0-confirm-audience or allow the grant. Nothing was changed.`,
          );
        confirmWith = via;
      } else
        deps.info(
          canConfirm
            ? 'auth0-confirm-audience is not set: the new secret will be stored but not confirmed with a token request.'
            : `Application ${s.clientId} cannot use client credentials: the new secret will be stored but not confirmed with a token request.`,
        );
      const name = field(body, 'name');
      const credential: Credential = {
        clientId: s.clientId,
        credentialId: s.clientId,
        description: `Auth0 application ${s.clientId}${name ? ` (${loggable(name, 100)})` : ''} in ${host}`,
        expiresAt: undefined,
        oldSecretDiesOnRotate: true,
      };
      return { credential, found: { confirmWith } };
    },

    async rotate({ confirmWith }): Promise<Rotated<Auth0Rotated>> {
      const res = await managed({
        method: 'POST',
        url: `${clientUrl}/rotate-secret`,
        what: `rotate the client secret of Auth0 application ${s.clientId}`,
        retry: 'once',
        explain: explainRotate,
      }).catch(unknownOutcome);
      const secret = field(res.body, 'client_secret');
      if (!secret)
        throw new ProviderError(
          'Auth0 rotated the secret but its answer had no client_secret: the old secret is dead and the new one was not seen. Its Credentials tab in the Auth0 Dashboard shows the new secret: store it by hand, or rotate again.',
          true,
        );
      deps.mask(secret);
      const rotation: Rotation = {
        secret,
        clientId: s.clientId,
        credentialId: s.clientId,
        expiresAt: undefined,
        // Where a failed store leaves the operator a way to the new secret besides the recovery blob.
        inUseBy: `The Auth0 Dashboard shows the new secret (application ${s.clientId}, Credentials tab)`,
      };
      return { rotation, rotated: { secret, confirmWith } };
    },

    async retirePrevious({ secret, confirmWith }): Promise<string | undefined> {
      // Nothing to retire (the old secret died with the rotation): confirm the new one works.
      if (confirmWith === undefined) return undefined;
      const started = now();
      const deadline = started + s.confirmTimeoutMs;
      for (let attempt = 1; ; attempt++) {
        if (await tryNewSecret(secret, confirmWith)) {
          deps.info(
            `The new secret obtains a token for auth0-confirm-audience (after ${Math.round((now() - started) / 1000)} s).`,
          );
          return undefined;
        }
        if (now() >= deadline)
          throw new ProviderError(
            `The new secret did not obtain a token within auth0-confirm-timeout (${s.confirmTimeoutMs / 1000} s): Auth0 still refuses it (HTTP 401). Auth0 says a new secret may take up to 30 s; if it still fails, look at the application in the Auth0 Dashboard.`,
          );
        if (attempt === 1)
          deps.info('The new secret does not work yet (Auth0 propagation); waiting.');
        await sleep(Math.min(CONFIRM_EVERY_MS, Math.max(0, deadline - now())));
      }
    },

    async abandon(): Promise<string | undefined> {
      return undefined;
    },
  };
}

function unknownOutcome(err: unknown): never {
  if (err instanceof HttpError && err.outcomeUnknown) {
    throw new ProviderError(
      `${err.message} The request may have reached Auth0: the secret may have been rotated (the old one then no longer works), and it was not retried so as not to rotate twice. Look at the application's Credentials tab in the Auth0 Dashboard: store the secret shown there by hand, or re-run the workflow to rotate again.`,
      true,
    );
  }
  throw err;
}

export const auth0: ProviderModule<Auth0Settings> = {
  inputs,
  docs: {
    title: 'Auth0',
    rotates: "an application's client secret (Management API `rotate-secret`)",
    previous: 'dies at once: keep the recovery key; the new one is confirmed by a token request',
  },
  parse: parseAuth0,
  create: createAuth0,
};
