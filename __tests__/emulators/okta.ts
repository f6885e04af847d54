// Okta: the org authorization server's token endpoint (service apps with private_key_jwt) and the
// Management API for an OIDC app's client secrets, with Okta's rules as its documentation gives them:
// at most two secrets per app, every ACTIVE secret works, only an INACTIVE secret can be deleted, a
// new secret's value is shown once (listings carry only a hash), client assertions are RS256, aimed
// at the token endpoint, at most an hour long and never replayed, scopes must be granted, service
// apps may require DPoP, rate limits answer 429 with X-Rate-Limit-* headers, and every error has
// Okta's shape (errorCode, errorSummary, errorLink, errorId, errorCauses).
import { createHash, createPublicKey, type KeyObject, randomBytes, verify } from 'node:crypto';
import { Emulator, type EmulatorOptions, form, json, type Reply, type Request } from './server.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const TOKEN_SECONDS = 3600;

export interface OktaOptions extends EmulatorOptions {
  /** Management API requests per minute before 429 (Okta's limits are per endpoint and org). */
  readonly limitPerMinute?: number;
  /** Listings carry each secret's plaintext `client_secret`, as Okta's older guide shows. */
  readonly plaintextListing?: boolean;
}

export interface OktaSecret {
  readonly id: string;
  status: 'ACTIVE' | 'INACTIVE';
  readonly secret: string;
  readonly created: string;
  lastUpdated: string;
}

export interface OktaApp {
  readonly id: string;
  clientId: string;
  label: string;
  authMethod: string;
  secrets: OktaSecret[];
}

interface Principal {
  /** Management rights over apps (an admin role that covers them). */
  canManage: boolean;
  /** OAuth scopes, for access tokens; API tokens act with the admin's full rights. */
  readonly scopes?: readonly string[];
  readonly expiresAt?: number;
}

export interface ServiceApp {
  readonly clientId: string;
  /** Public keys by kid. */
  readonly keys: Map<string, KeyObject>;
  scopes: string[];
  requireDpop: boolean;
  canManage: boolean;
}

/** An Okta error body; also for armed faults, e.g. `fault('GET', /secrets$/, { status: 429, body: oktaError(429) })`. */
export function oktaError(
  status: number,
  summary = SUMMARIES[status]?.[1] ?? 'Error',
  code = SUMMARIES[status]?.[0] ?? 'E0000009',
  causes: readonly string[] = [],
): Record<string, unknown> {
  return {
    errorCode: code,
    errorSummary: summary,
    errorLink: code,
    errorId: `oae${randomBytes(11).toString('base64url')}`,
    errorCauses: causes.map((c) => ({ errorSummary: c })),
  };
}

const SUMMARIES: Record<number, [string, string]> = {
  400: ['E0000001', 'Api validation failed'],
  401: ['E0000011', 'Invalid token provided'],
  403: ['E0000006', 'You do not have permission to perform the requested action'],
  404: ['E0000007', 'Not found: Resource not found'],
  429: ['E0000047', 'API call exceeded rate limit due to too many requests.'],
  500: ['E0000009', 'Internal Server Error'],
  502: ['E0000009', 'Internal Server Error'],
  503: ['E0000010', 'Service is in read only mode'],
};

const err = (status: number, summary?: string, code?: string, causes?: string[]): Reply => ({
  status,
  body: oktaError(status, summary, code, causes),
});

/** The secret hash Okta shows in listings: not the secret, and not reversible. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url').slice(0, 22);
}

export class OktaEmulator extends Emulator {
  readonly #apps = new Map<string, OktaApp>();
  readonly #apiTokens = new Map<string, Principal>();
  readonly #accessTokens = new Map<string, Principal>();
  readonly #services = new Map<string, ServiceApp>();
  readonly #seenJti = new Set<string>();
  readonly #removed = new Map<string, OktaSecret[]>();
  readonly #created = new Map<string, number>();
  readonly #limit: number;
  readonly plaintextListing: boolean;
  #window = { start: 0, used: 0 };

  constructor(o: OktaOptions = {}) {
    super(o);
    this.#limit = o.limitPerMinute ?? 600;
    this.plaintextListing = o.plaintextListing ?? false;
    const app = '/api/v1/apps/:appId';
    const secrets = `${app}/credentials/secrets`;
    this.route('POST', '/oauth2/v1/token', (r) => this.#token(r));
    this.route('GET', app, (r) => this.#managed(r, (a) => ({ status: 200, body: appBody(a) })));
    this.route('GET', secrets, (r) =>
      this.#managed(r, (a) => ({ status: 200, body: a.secrets.map((x) => this.#listed(a, x)) })),
    );
    this.route('POST', secrets, (r) => this.#managed(r, (a) => this.#create(r, a)));
    this.route('GET', `${secrets}/:secretId`, (r) =>
      this.#managed(r, (a) => this.#one(r, a, (x) => ({ status: 200, body: this.#listed(a, x) }))),
    );
    this.route('POST', `${secrets}/:secretId/lifecycle/deactivate`, (r) =>
      this.#managed(r, (a) => this.#one(r, a, (x) => this.#deactivate(a, x))),
    );
    this.route('POST', `${secrets}/:secretId/lifecycle/activate`, (r) =>
      this.#managed(r, (a) => this.#one(r, a, (x) => this.#activate(a, x))),
    );
    this.route('DELETE', `${secrets}/:secretId`, (r) =>
      this.#managed(r, (a) => this.#one(r, a, (x) => this.#delete(a, x))),
    );
  }

  addApp(
    id: string,
    o: {
      clientId?: string;
      label?: string;
      authMethod?: string;
      secrets?: { secret: string; status?: 'ACTIVE' | 'INACTIVE'; created?: string }[];
    } = {},
  ): OktaApp {
    const at = new Date(this.clock()).toISOString();
    const app: OktaApp = {
      id,
      clientId: o.clientId ?? id,
      label: o.label ?? `App ${id}`,
      authMethod: o.authMethod ?? 'client_secret_basic',
      secrets: (o.secrets ?? []).map((x) => ({
        id: secretId(),
        status: x.status ?? 'ACTIVE',
        secret: x.secret,
        created: x.created ?? at,
        lastUpdated: x.created ?? at,
      })),
    };
    this.#apps.set(id, app);
    return app;
  }

  app(id: string): OktaApp {
    const app = this.#apps.get(id);
    if (!app) throw new Error(`no Okta app ${id}`);
    return app;
  }

  addApiToken(token: string, o: { canManage?: boolean } = {}): void {
    this.#apiTokens.set(token, { canManage: o.canManage ?? true });
  }

  /** A service app that signs in with private_key_jwt; `publicKey` is its registered key (PEM or KeyObject). */
  addServiceApp(
    clientId: string,
    publicKey: KeyObject | string,
    o: { kid?: string; scopes?: string[]; requireDpop?: boolean; canManage?: boolean } = {},
  ): ServiceApp {
    const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
    const s: ServiceApp = {
      clientId,
      keys: new Map([[o.kid ?? 'default', key]]),
      scopes: o.scopes ?? ['okta.apps.read', 'okta.apps.manage'],
      requireDpop: o.requireDpop ?? false,
      canManage: o.canManage ?? true,
    };
    this.#services.set(clientId, s);
    return s;
  }

  service(clientId: string): ServiceApp {
    const s = this.#services.get(clientId);
    if (!s) throw new Error(`no Okta service app ${clientId}`);
    return s;
  }

  /** True when `secret` is an ACTIVE secret of the app: what a client signing in with it needs. */
  secretWorks(appId: string, secret: string): boolean {
    return this.app(appId).secrets.some((x) => x.status === 'ACTIVE' && x.secret === secret);
  }

  /** Secrets deleted so far (their values stay known, for leak scans). */
  removed(appId: string): OktaSecret[] {
    return this.#removed.get(appId) ?? [];
  }

  /** Secrets created through the API (each successful POST). */
  creations(appId: string): number {
    return this.#created.get(appId) ?? 0;
  }

  /** Every access token issued so far stops working (the next API call answers 401). */
  expireAccessTokens(): void {
    this.#accessTokens.clear();
  }

  /** Okta's rate-limit headers, on every Management API answer; `spend` counts this request. */
  #rateHeaders(spend: boolean): { headers: Record<string, string>; exceeded: boolean } {
    const t = this.clock();
    if (t - this.#window.start >= 60_000) this.#window = { start: t - (t % 60_000), used: 0 };
    if (spend) this.#window.used += 1;
    const exceeded = this.#window.used > this.#limit;
    return {
      exceeded,
      headers: {
        'x-rate-limit-limit': String(this.#limit),
        'x-rate-limit-remaining': String(Math.max(0, this.#limit - this.#window.used)),
        'x-rate-limit-reset': String(Math.ceil((this.#window.start + 60_000) / 1000)),
      },
    };
  }

  #token(r: Request): Reply {
    const f = form(r);
    const fail = (status: number, error: string, description: string): Reply => ({
      status,
      body: { error, error_description: description },
    });
    if (f.get('grant_type') !== 'client_credentials')
      return fail(400, 'unsupported_grant_type', 'The authorization grant type is not supported.');
    if (f.get('client_assertion_type') !== JWT_BEARER || !f.get('client_assertion'))
      return fail(401, 'invalid_client', 'Client authentication failed.');
    const checked = this.#assertion(f.get('client_assertion')!, `${this.url}/oauth2/v1/token`);
    if (typeof checked === 'string') return fail(401, 'invalid_client', checked);
    const svc = checked;
    if (svc.requireDpop && !header(r, 'dpop'))
      return fail(400, 'invalid_dpop_proof', 'The DPoP proof JWT header is missing.');
    const scopes = (f.get('scope') ?? '').split(' ').filter(Boolean);
    if (scopes.length === 0)
      return fail(400, 'invalid_scope', 'The authorization server requires a scope.');
    const denied = scopes.filter((x) => !svc.scopes.includes(x));
    if (denied.length)
      return fail(
        400,
        'invalid_scope',
        `The following scopes are not allowed: ${denied.join(', ')}`,
      );
    const token = `${b64({ kid: 'org', alg: 'RS256' })}.${b64({ ver: 1, cid: svc.clientId, scp: scopes, exp: Math.floor(this.clock() / 1000) + TOKEN_SECONDS })}.${randomBytes(32).toString('base64url')}`;
    this.#accessTokens.set(token, {
      canManage: svc.canManage,
      scopes,
      expiresAt: this.clock() + TOKEN_SECONDS * 1000,
    });
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: TOKEN_SECONDS,
        access_token: token,
        scope: scopes.join(' '),
      },
    };
  }

  /** Checks a client assertion as Okta does; answers the service app, or why it is refused. */
  #assertion(jwt: string, audience: string): ServiceApp | string {
    const parts = jwt.split('.');
    if (parts.length !== 3) return 'The client_assertion is not a valid JWT.';
    let head: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      head = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) as Record<string, unknown>;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as Record<
        string,
        unknown
      >;
    } catch {
      return 'The client_assertion is not a valid JWT.';
    }
    if (head['alg'] !== 'RS256') return 'The client_assertion signature algorithm is not allowed.';
    const svc = this.#services.get(String(claims['iss']));
    if (!svc || claims['sub'] !== claims['iss'])
      return 'The client_assertion token iss and sub claims must be the client_id.';
    const keys =
      typeof head['kid'] === 'string'
        ? [svc.keys.get(head['kid'])].filter((k): k is KeyObject => k !== undefined)
        : [...svc.keys.values()];
    const data = Buffer.from(`${parts[0]}.${parts[1]}`);
    const sig = Buffer.from(parts[2]!, 'base64url');
    if (!keys.some((k) => verify('sha256', data, k, sig)))
      return 'The client_assertion signature is invalid.';
    if (claims['aud'] !== audience) return 'The audience [aud] claim is invalid.';
    const nowS = this.clock() / 1000;
    const exp = Number(claims['exp']);
    if (!Number.isFinite(exp) || exp <= nowS) return 'The client_assertion token is expired.';
    if (exp > nowS + 3600)
      return 'The client_assertion token has an expiration too far into the future.';
    const jti = claims['jti'];
    if (typeof jti === 'string') {
      if (this.#seenJti.has(jti)) return 'The client_assertion token has already been used.';
      this.#seenJti.add(jti);
    }
    return svc;
  }

  /** Authenticates (SSWS or Bearer), applies the rate limit, rights and scopes, finds the app. */
  #managed(r: Request, then: (app: OktaApp) => Reply): Reply {
    const rate = this.#rateHeaders(true);
    const withRate = (reply: Reply): Reply => ({
      ...reply,
      headers: { ...rate.headers, ...reply.headers },
    });
    if (rate.exceeded) return withRate(err(429));
    const auth = header(r, 'authorization') ?? '';
    const ssws = /^SSWS\s+(.+)$/.exec(auth)?.[1];
    const bearer = /^Bearer\s+(.+)$/i.exec(auth)?.[1];
    const principal = ssws
      ? this.#apiTokens.get(ssws)
      : bearer
        ? this.#accessTokens.get(bearer)
        : undefined;
    if (!principal || (principal.expiresAt !== undefined && principal.expiresAt <= this.clock()))
      return withRate({
        ...err(401),
        ...(bearer
          ? {
              headers: {
                'www-authenticate': `Bearer authorization_uri="${this.url}/oauth2/v1/authorize", realm="${this.url}", scope="okta.apps.manage", error="invalid_token", error_description="The access token is invalid.", resource="${r.path}"`,
              },
            }
          : {}),
      });
    if (principal.scopes) {
      const needed =
        r.method === 'GET' ? ['okta.apps.read', 'okta.apps.manage'] : ['okta.apps.manage'];
      if (!needed.some((x) => principal.scopes!.includes(x)))
        return withRate({
          ...err(403, 'You do not have permission to perform the requested action', 'E0000006'),
          headers: {
            'www-authenticate': `Bearer authorization_uri="${this.url}/oauth2/v1/authorize", realm="${this.url}", scope="okta.apps.manage", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", resource="${r.path}"`,
          },
        });
    }
    if (!principal.canManage) return withRate(err(403));
    const app = this.#apps.get(r.params['appId'] ?? '');
    if (!app)
      return withRate(
        err(404, `Not found: Resource not found: ${r.params['appId']} (AppInstance)`),
      );
    return withRate(then(app));
  }

  #one(r: Request, app: OktaApp, then: (x: OktaSecret) => Reply): Reply {
    const x = app.secrets.find((s) => s.id === r.params['secretId']);
    if (!x)
      return err(404, `Not found: Resource not found: ${r.params['secretId']} (ClientSecret)`);
    return then(x);
  }

  #listed(app: OktaApp, x: OktaSecret, reveal = false): Record<string, unknown> {
    const base = `${this.url}/api/v1/apps/${app.id}/credentials/secrets/${x.id}`;
    return {
      id: x.id,
      status: x.status,
      // Okta shows the value once, on creation; elsewhere an undisclosed hashed value.
      client_secret:
        reveal || this.plaintextListing ? x.secret : secretHash(`${x.secret}:undisclosed`),
      secret_hash: secretHash(x.secret),
      created: x.created,
      lastUpdated: x.lastUpdated,
      _links:
        x.status === 'ACTIVE'
          ? { deactivate: { href: `${base}/lifecycle/deactivate`, hints: { allow: ['POST'] } } }
          : {
              activate: { href: `${base}/lifecycle/activate`, hints: { allow: ['POST'] } },
              delete: { href: base, hints: { allow: ['DELETE'] } },
            },
    };
  }

  #create(r: Request, app: OktaApp): Reply {
    const body = r.text === '' ? {} : json(r);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return err(400, 'The request body was not well-formed.', 'E0000003');
    const b = body as Record<string, unknown>;
    if (app.secrets.length >= 2)
      // Okta allows two secrets per app; the exact wording of its refusal is not documented.
      return err(400, 'Api validation failed: client_secret', 'E0000001', [
        'client_secret: You can have at most two client secrets. Deactivate and delete one first.',
      ]);
    const min = app.authMethod === 'client_secret_jwt' ? 32 : 14;
    const own = b['client_secret'];
    if (own !== undefined && (typeof own !== 'string' || own.length < min || own.length > 100))
      return err(400, 'Api validation failed: client_secret', 'E0000001', [
        `client_secret: 'client_secret' must be at least '${min}' characters long.`,
      ]);
    const status = b['status'] === 'INACTIVE' ? 'INACTIVE' : 'ACTIVE';
    const at = new Date(this.clock()).toISOString();
    const x: OktaSecret = {
      id: secretId(),
      status,
      secret: typeof own === 'string' ? own : randomBytes(48).toString('base64url'),
      created: at,
      lastUpdated: at,
    };
    app.secrets.push(x);
    this.#created.set(app.id, this.creations(app.id) + 1);
    return { status: 201, body: this.#listed(app, x, true) };
  }

  #deactivate(app: OktaApp, x: OktaSecret): Reply {
    if (app.secrets.length === 1)
      // Okta's API reference: "You can't deactivate a secret if it's the only secret of the client."
      // (the only secret, not the only active one: an app may be left with no active secret).
      return err(400, 'Api validation failed: client_secret', 'E0000001', [
        'client_secret: The only client secret of an app cannot be deactivated.',
      ]);
    if (x.status === 'ACTIVE') {
      x.status = 'INACTIVE';
      x.lastUpdated = new Date(this.clock()).toISOString();
    }
    return { status: 200, body: this.#listed(app, x) };
  }

  #activate(app: OktaApp, x: OktaSecret): Reply {
    x.status = 'ACTIVE';
    x.lastUpdated = new Date(this.clock()).toISOString();
    return { status: 200, body: this.#listed(app, x) };
  }

  #delete(app: OktaApp, x: OktaSecret): Reply {
    if (x.status === 'ACTIVE')
      return err(400, 'Api validation failed: client_secret', 'E0000001', [
        'client_secret: An active client secret cannot be deleted. Deactivate it first.',
      ]);
    app.secrets = app.secrets.filter((o) => o !== x);
    this.#removed.set(app.id, [...this.removed(app.id), x]);
    return { status: 204 };
  }
}

function appBody(a: OktaApp): Record<string, unknown> {
  return {
    id: a.id,
    name: 'oidc_client',
    label: a.label,
    status: 'ACTIVE',
    signOnMode: 'OPENID_CONNECT',
    credentials: {
      oauthClient: {
        client_id: a.clientId,
        autoKeyRotation: true,
        token_endpoint_auth_method: a.authMethod,
      },
    },
    settings: { oauthClient: { application_type: 'service', grant_types: ['client_credentials'] } },
  };
}

function secretId(): string {
  return `ocs${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
}

function b64(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

function header(r: Request, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function startOkta(o: OktaOptions = {}): Promise<OktaEmulator> {
  return new OktaEmulator(o).listen();
}
