// Auth0: the Authentication API's token endpoint (client credentials) and the Management API's
// clients (read, rotate-secret) of one tenant, with Auth0's rules: the old secret dies at rotation and
// the new one is refused for `propagationDelayMs`; tokens carry the granted scopes and expire;
// a client read shows each field only to the scopes Auth0 names for it (read:clients does not see
// client_secret or client_authentication_methods);
// Management API errors are `{statusCode, error, message, errorCode}`, token errors OAuth's
// `{error, error_description}`; the Management API is rate limited with x-ratelimit-* headers.
// The tenant answers on its canonical domain (127.0.0.1) and on a custom domain (localhost); the
// Management API audience is always the canonical one, and a token is valid only on the domain that
// issued it.
import { randomBytes, randomUUID } from 'node:crypto';
import { Emulator, type EmulatorOptions, form, json, type Reply, type Request } from './server.ts';

export interface Auth0Options extends EmulatorOptions {
  /** How long a rotated secret is refused after rotate-secret (Auth0: up to 30 s). */
  readonly propagationDelayMs?: number;
  /** Access token lifetime, seconds (Auth0's default for the Management API: 86400). */
  readonly tokenLifetimeSeconds?: number;
  /** Management API rate limit: `limit` requests per window of `windowMs` (default 50 per second). */
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number };
}

export interface Auth0ClientOptions {
  readonly name?: string;
  readonly appType?: string;
  readonly grantTypes?: readonly string[];
  /** `client_secret_post` (default), `client_secret_basic`, `none`; absent with `privateKeyJwt`. */
  readonly tokenEndpointAuthMethod?: string | undefined;
  /** Authenticates with Private Key JWT (client_authentication_methods.private_key_jwt). */
  readonly privateKeyJwt?: boolean;
  /** Client grants: audience -> scopes. */
  readonly grants?: Readonly<Record<string, readonly string[]>>;
}

/** One application; tests may change its fields at any time. */
export interface Auth0Client {
  readonly clientId: string;
  name: string;
  appType: string;
  grantTypes: string[];
  tokenEndpointAuthMethod: string | undefined;
  privateKeyJwt: boolean;
  grants: Record<string, string[]>;
  secret: string;
  /** Emulated time of the last rotation: the secret works from `rotatedAt + propagationDelayMs`. */
  rotatedAt: number | undefined;
  rotations: number;
}

interface Token {
  readonly clientId: string;
  readonly audience: string;
  readonly scopes: readonly string[];
  readonly expiresAt: number;
  /** The domain that issued it: Auth0 accepts it only there. */
  readonly host: string;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A Management API error body; also for armed faults. */
export function auth0Error(
  status: number,
  message = REASONS[status] ?? 'Error',
  errorCode?: string,
): Record<string, unknown> {
  return {
    statusCode: status,
    error: REASONS[status] ?? 'Error',
    message,
    ...(errorCode ? { errorCode } : {}),
  };
}

const mgmt = (status: number, message: string, errorCode?: string): Reply => ({
  status,
  body: auth0Error(status, message, errorCode),
});
const oauth = (status: number, error: string, description: string): Reply => ({
  status,
  body: { error, error_description: description },
});

export class Auth0Emulator extends Emulator {
  readonly #clients = new Map<string, Auth0Client>();
  readonly #apis = new Set<string>();
  readonly #tokens = new Map<string, Token>();
  readonly #lifetime: number;
  readonly #rate: { readonly limit: number; readonly windowMs: number };
  #window = { start: 0, used: 0 };
  #offsetMs = 0;
  /** Every secret the tenant ever issued (old ones die, but a leak scan must know them). */
  readonly issuedSecrets: string[] = [];
  /** The query of every client read, to check what the action asks for. */
  readonly clientReads: URLSearchParams[] = [];
  propagationDelayMs: number;

  constructor(o: Auth0Options = {}) {
    super(o);
    this.propagationDelayMs = o.propagationDelayMs ?? 0;
    this.#lifetime = o.tokenLifetimeSeconds ?? 86_400;
    this.#rate = o.rateLimit ?? { limit: 50, windowMs: 1000 };
    this.route('POST', '/oauth/token', (r) => this.#token(r));
    this.route('GET', '/api/v2/clients/:id', (r) =>
      this.#managed(r, READ_SCOPES, (c, t) => this.#read(r, c, t)),
    );
    this.route('POST', '/api/v2/clients/:id/rotate-secret', (r) =>
      this.#managed(r, ['update:client_keys'], (c) => this.#rotate(c)),
    );
  }

  /** The canonical domain: `http://127.0.0.1:PORT`. */
  get canonicalUrl(): string {
    return this.url;
  }

  /** A custom domain of the same tenant: `http://localhost:PORT`. */
  get customDomainUrl(): string {
    return this.url.replace('127.0.0.1', 'localhost');
  }

  /** The Management API's identifier: always the canonical domain's. */
  get managementAudience(): string {
    return `${this.canonicalUrl}/api/v2/`;
  }

  now(): number {
    return this.clock() + this.#offsetMs;
  }

  advance(ms: number): void {
    this.#offsetMs += ms;
  }

  /** Registers an API (resource server) by its identifier. */
  addApi(identifier: string): void {
    this.#apis.add(identifier);
  }

  addClient(clientId: string, secret: string, o: Auth0ClientOptions = {}): Auth0Client {
    const c: Auth0Client = {
      clientId,
      name: o.name ?? `Application ${clientId.slice(0, 6)}`,
      appType: o.appType ?? 'non_interactive',
      grantTypes: [...(o.grantTypes ?? ['client_credentials'])],
      tokenEndpointAuthMethod: o.privateKeyJwt
        ? undefined
        : 'tokenEndpointAuthMethod' in o
          ? o.tokenEndpointAuthMethod
          : 'client_secret_post',
      privateKeyJwt: o.privateKeyJwt ?? false,
      grants: Object.fromEntries(Object.entries(o.grants ?? {}).map(([a, s]) => [a, [...s]])),
      secret,
      rotatedAt: undefined,
      rotations: 0,
    };
    this.#clients.set(clientId, c);
    this.issuedSecrets.push(secret);
    return c;
  }

  client(clientId: string): Auth0Client {
    const c = this.#clients.get(clientId);
    if (!c) throw new Error(`no Auth0 client ${clientId}`);
    return c;
  }

  /** Whether `secret` obtains a token for the client right now (propagation included). */
  secretWorks(clientId: string, secret: string): boolean {
    const c = this.#clients.get(clientId);
    if (!c || c.privateKeyJwt || c.secret !== secret) return false;
    return c.rotatedAt === undefined || this.now() >= c.rotatedAt + this.propagationDelayMs;
  }

  /** Invalidates every access token issued so far. */
  expireAccessTokens(): void {
    this.#tokens.clear();
  }

  #token(r: Request): Reply {
    const body = /json/.test(header(r, 'content-type') ?? '') ? json(r) : undefined;
    const f =
      body && typeof body === 'object'
        ? new URLSearchParams(
            Object.entries(body as Record<string, unknown>).map(([k, v]): [string, string] => [
              k,
              String(v),
            ]),
          )
        : form(r);
    if (f.get('grant_type') !== 'client_credentials')
      return oauth(
        400,
        'unsupported_grant_type',
        `Unsupported grant type: ${f.get('grant_type') ?? ''}`,
      );
    const basic = /^Basic\s+(.+)$/i.exec(header(r, 'authorization') ?? '');
    let id = f.get('client_id') ?? '';
    let secret = f.get('client_secret') ?? '';
    if (basic) {
      const pair = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = pair.indexOf(':');
      if (colon < 0 || f.has('client_secret'))
        return oauth(400, 'invalid_request', 'Multiple client authentication methods');
      id = decodeURIComponent(pair.slice(0, colon));
      secret = decodeURIComponent(pair.slice(colon + 1));
    }
    const c = this.#clients.get(id);
    if (!c || !secret) return oauth(401, 'access_denied', 'Unauthorized');
    // Auth0 holds each application to its configured authentication method.
    const method = c.tokenEndpointAuthMethod;
    if (c.privateKeyJwt || method === 'none')
      return oauth(401, 'invalid_client', 'Client authentication method not allowed');
    if ((method === 'client_secret_basic') !== Boolean(basic))
      return oauth(
        400,
        'invalid_request',
        `The client is configured to use ${method ?? 'another method'} as token endpoint authentication method`,
      );
    if (!this.secretWorks(id, secret)) return oauth(401, 'access_denied', 'Unauthorized');
    if (!c.grantTypes.includes('client_credentials'))
      return oauth(
        403,
        'unauthorized_client',
        "Grant type 'client_credentials' not allowed for the client.",
      );
    const audience = f.get('audience');
    if (!audience)
      return oauth(
        403,
        'access_denied',
        'No audience parameter was provided, and no default audience has been configured',
      );
    if (audience !== this.managementAudience && !this.#apis.has(audience))
      return oauth(403, 'access_denied', `Service not found: ${audience}`);
    const scopes = c.grants[audience];
    if (!scopes)
      return oauth(
        403,
        'access_denied',
        `Client is not authorized to access "${audience}". You need to create a "client-grant" associated to this API.`,
      );
    const host = header(r, 'host') ?? '';
    const exp = Math.floor(this.now() / 1000) + this.#lifetime;
    const access = fakeJwt({ iss: `http://${host}/`, sub: `${id}@clients`, aud: audience, exp });
    this.#tokens.set(access, {
      clientId: id,
      audience,
      scopes,
      expiresAt: this.now() + this.#lifetime * 1000,
      host,
    });
    return {
      status: 200,
      body: {
        access_token: access,
        scope: scopes.join(' '),
        expires_in: this.#lifetime,
        token_type: 'Bearer',
      },
    };
  }

  /** Rate limit, bearer token, scope and client lookup: the Management API's checks, in order. */
  #managed(r: Request, anyOf: readonly string[], then: (c: Auth0Client, t: Token) => Reply): Reply {
    const now = this.now();
    if (now >= this.#window.start + this.#rate.windowMs) this.#window = { start: now, used: 0 };
    this.#window.used += 1;
    const limited = this.#window.used > this.#rate.limit;
    const rateHeaders = {
      'x-ratelimit-limit': String(this.#rate.limit),
      'x-ratelimit-remaining': String(Math.max(0, this.#rate.limit - this.#window.used)),
      'x-ratelimit-reset': String(Math.ceil((this.#window.start + this.#rate.windowMs) / 1000)),
    };
    const reply = limited
      ? mgmt(429, 'Global limit has been reached', 'too_many_requests')
      : this.#authorized(r, anyOf, then);
    return { ...reply, headers: { ...reply.headers, ...rateHeaders } };
  }

  #authorized(
    r: Request,
    anyOf: readonly string[],
    then: (c: Auth0Client, t: Token) => Reply,
  ): Reply {
    const bearer = /^Bearer\s+(.+)$/i.exec(header(r, 'authorization') ?? '')?.[1];
    if (!bearer) return mgmt(401, 'Missing authentication');
    const t = this.#tokens.get(bearer);
    if (!t || t.audience !== this.managementAudience || t.host !== header(r, 'host'))
      return mgmt(401, 'Invalid token');
    if (t.expiresAt <= this.now()) return mgmt(401, 'Expired token');
    if (!anyOf.some((s) => t.scopes.includes(s)))
      return mgmt(
        403,
        `Insufficient scope, expected any of: ${anyOf.join(',')}`,
        'insufficient_scope',
      );
    const c = this.#clients.get(r.params['id'] ?? '');
    if (!c) return mgmt(404, 'The client does not exist', 'inexistent_client');
    return then(c, t);
  }

  #read(r: Request, c: Auth0Client, t: Token): Reply {
    this.clientReads.push(r.query);
    const all = visible(details(c), t.scopes);
    const fields = r.query.get('fields');
    if (!fields) return { status: 200, body: all };
    const names = fields.split(',');
    const include = r.query.get('include_fields') !== 'false';
    const body = Object.fromEntries(
      Object.entries(all).filter(([k]) => names.includes(k) === include),
    );
    return { status: 200, body };
  }

  #rotate(c: Auth0Client): Reply {
    if (c.privateKeyJwt)
      return mgmt(
        400,
        'The client secret cannot be rotated for clients using Private Key JWT authentication.',
        'operation_not_supported',
      );
    c.secret = randomBytes(48).toString('base64url');
    c.rotatedAt = this.now();
    c.rotations += 1;
    this.issuedSecrets.push(c.secret);
    return { status: 200, body: details(c) };
  }
}

/** Scopes that may read a client at all (Get client by ID: "any of the scopes"). */
const READ_SCOPES = [
  'read:clients',
  'read:client_keys',
  'read:client_credentials',
  'read:client_summary',
];
/** Fields any read scope sees. */
const SUMMARY_FIELDS = new Set(['client_id', 'app_type', 'name', 'description']);
/** Fields only read:client_keys or read:client_credentials see; read:clients alone does not. */
const KEY_FIELDS = new Set([
  'client_secret',
  'client_authentication_methods',
  'encryption_key',
  'signing_key',
]);

/**
 * What a token with `scopes` sees of a client (Auth0's Get client by ID): the summary fields with any
 * read scope; the settings (token_endpoint_auth_method, grant_types, ...) with read:clients or
 * read:client_keys; the secret and client_authentication_methods only with read:client_keys or
 * read:client_credentials. Fields a token may not see are left out, not refused.
 */
function visible(all: Record<string, unknown>, scopes: readonly string[]): Record<string, unknown> {
  const has = (...s: string[]) => s.some((x) => scopes.includes(x));
  return Object.fromEntries(
    Object.entries(all).filter(([k]) =>
      SUMMARY_FIELDS.has(k)
        ? true
        : KEY_FIELDS.has(k)
          ? has('read:client_keys', 'read:client_credentials')
          : has('read:clients', 'read:client_keys'),
    ),
  );
}

function details(c: Auth0Client): Record<string, unknown> {
  return {
    tenant: 'emulated-tenant',
    global: false,
    is_token_endpoint_ip_header_trusted: false,
    name: c.name,
    is_first_party: true,
    oidc_conformant: true,
    sso_disabled: false,
    cross_origin_auth: false,
    client_id: c.clientId,
    callback_url_template: false,
    ...(c.privateKeyJwt ? {} : { client_secret: c.secret }),
    jwt_configuration: { alg: 'RS256', lifetime_in_seconds: 36000, secret_encoded: false },
    app_type: c.appType,
    grant_types: c.grantTypes,
    // Mutually exclusive with client_authentication_methods: null when that one is set.
    token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? null,
    ...(c.privateKeyJwt
      ? {
          client_authentication_methods: {
            private_key_jwt: { credentials: [{ id: `cred_${c.clientId.slice(0, 8)}` }] },
          },
        }
      : {}),
    custom_login_page_on: true,
  };
}

function header(r: Request, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function fakeJwt(payload: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT', kid: 'emulated' })}.${part({ ...payload, jti: randomUUID() })}.${randomBytes(32).toString('base64url')}`;
}

export async function startAuth0(options: Auth0Options = {}): Promise<Auth0Emulator> {
  return new Auth0Emulator(options).listen();
}
