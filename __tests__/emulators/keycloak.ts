// Keycloak: the OIDC token endpoint (client credentials) and the admin REST API's client secret calls,
// with Keycloak's rules: short-lived admin tokens, a realm's service accounts manage only that realm
// (master's manage every realm), realm-management roles (manage-clients, view-clients, query-clients),
// exact clientId lookup unless `search=true`, error bodies `{error, error_description}` (token endpoint)
// and `{error}` / `{errorMessage}` (admin), and the `secret-rotation` client-policy executor, which keeps
// the previous secret valid for a while (client-secret/rotated).
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { Emulator, type EmulatorOptions, form, type Reply, type Request } from './server.ts';

export interface KeycloakOptions extends EmulatorOptions {
  /** Access token lifespan in seconds; master's default is 60. */
  readonly accessTokenLifespan?: number;
  /** Path prefix: '/auth' for Keycloak 16 and older (the WildFly distribution). */
  readonly prefix?: string;
}

/** The `secret-rotation` executor of a client policy that applies to every confidential client. */
export interface SecretRotationPolicy {
  /** Secret Expiration: how long each secret lives, seconds. */
  readonly expirationSeconds: number;
  /** Rotated Secret Expiration: how long the previous secret stays valid, seconds (0: not kept). */
  readonly rotatedExpirationSeconds: number;
}

export type AdminRole = 'manage-clients' | 'view-clients' | 'query-clients';

export interface KeycloakClientOptions {
  readonly clientId: string;
  readonly secret?: string;
  readonly publicClient?: boolean;
  readonly bearerOnly?: boolean;
  readonly enabled?: boolean;
  readonly protocol?: string;
  readonly clientAuthenticatorType?: string;
  readonly serviceAccountsEnabled?: boolean;
  /** The realm-management roles of its service account, per realm it may manage. */
  readonly roles?: Readonly<Record<string, readonly AdminRole[]>>;
  readonly attributes?: Record<string, string>;
}

/** One client; tests may change any field at any time. */
export interface KeycloakClient {
  readonly realm: string;
  /** The internal id (a UUID), in admin URLs. */
  readonly id: string;
  clientId: string;
  secret: string;
  publicClient: boolean;
  bearerOnly: boolean;
  enabled: boolean;
  protocol: string;
  clientAuthenticatorType: string;
  serviceAccountsEnabled: boolean;
  roles: Record<string, AdminRole[]>;
  attributes: Record<string, string>;
  /** Successful POST client-secret calls. */
  regenerations: number;
}

interface Principal {
  readonly realm: string;
  readonly client: KeycloakClient;
  readonly expiresAt: number;
}

export const ATTR = {
  creation: 'client.secret.creation.time',
  expiration: 'client.secret.expiration.time',
  remaining: 'client.secret.remaining.expiration.time',
  rotated: 'client.secret.rotated',
  rotatedCreation: 'client.secret.rotated.creation.time',
  rotatedExpiration: 'client.secret.rotated.expiration.time',
} as const;

/** A token endpoint error body. */
export function oauthError(status: number, error: string, description: string): Reply {
  return { status, body: { error, error_description: description } };
}

/** An admin API error body (`{error}`, as JAX-RS exceptions answer). */
export function adminError(status: number, error = ADMIN_MESSAGES[status] ?? 'unknown_error') {
  return { status, body: { error } };
}

const ADMIN_MESSAGES: Record<number, string> = {
  401: 'HTTP 401 Unauthorized',
  403: 'HTTP 403 Forbidden',
  404: 'HTTP 404 Not Found',
  429: 'Too Many Requests',
  500: 'unknown_error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** What StripSecretsUtils puts in place of a secret for callers who may not manage the client. */
export const STRIPPED = '**********';

const BAD_CLIENT = oauthError(
  401,
  'invalid_client',
  'Invalid client or Invalid client credentials',
);

export class KeycloakEmulator extends Emulator {
  readonly #realms = new Map<string, { policy: SecretRotationPolicy | undefined }>();
  readonly #clients: KeycloakClient[] = [];
  readonly #tokens = new Map<string, Principal>();
  readonly #lifespan: number;
  readonly prefix: string;
  /** Every secret this emulator ever generated, for leak scans. */
  readonly generatedSecrets: string[] = [];
  #offsetMs = 0;

  constructor(options: KeycloakOptions = {}) {
    super(options);
    this.#lifespan = options.accessTokenLifespan ?? 60;
    const p = (this.prefix = options.prefix ?? '');
    const clients = `${p}/admin/realms/:realm/clients`;
    this.route('POST', `${p}/realms/:realm/protocol/openid-connect/token`, (r) => this.#token(r));
    this.route('GET', clients, (r) => this.#admin(r, (ctx) => this.#list(r, ctx)));
    this.route('GET', `${clients}/:id`, (r) =>
      this.#admin(r, (ctx) => this.#one(r, ctx, 'view', (c) => this.#rep(c, ctx))),
    );
    this.route('GET', `${clients}/:id/client-secret`, (r) =>
      this.#admin(r, (ctx) =>
        this.#one(r, ctx, 'manage', (c) => ({ type: 'secret', value: c.secret })),
      ),
    );
    this.route('POST', `${clients}/:id/client-secret`, (r) =>
      this.#admin(r, (ctx) => this.#one(r, ctx, 'manage', (c) => this.#regenerate(r, c))),
    );
    this.route('GET', `${clients}/:id/client-secret/rotated`, (r) =>
      this.#admin(r, (ctx) => this.#one(r, ctx, 'manage', (c) => this.#rotated(c))),
    );
    this.route('DELETE', `${clients}/:id/client-secret/rotated`, (r) =>
      this.#admin(r, (ctx) => this.#one(r, ctx, 'manage', (c) => this.#invalidateRotated(c))),
    );
  }

  /** Emulated time: the clock plus whatever `advance()` added. */
  now(): number {
    return this.clock() + this.#offsetMs;
  }

  /** Moves emulated time on (admin tokens and previous secrets expire as they would). */
  advance(ms: number): void {
    this.#offsetMs += ms;
  }

  addRealm(name: string, o: { secretRotation?: SecretRotationPolicy } = {}): this {
    this.#realms.set(name, { policy: o.secretRotation });
    return this;
  }

  /** Sets or removes the realm's secret-rotation policy. */
  setPolicy(realm: string, policy: SecretRotationPolicy | undefined): void {
    this.#realm(realm).policy = policy;
  }

  addClient(realm: string, o: KeycloakClientOptions): KeycloakClient {
    this.#realm(realm);
    const c: KeycloakClient = {
      realm,
      id: randomUUID(),
      clientId: o.clientId,
      secret: o.secret ?? this.#generate(),
      publicClient: o.publicClient ?? false,
      bearerOnly: o.bearerOnly ?? false,
      enabled: o.enabled ?? true,
      protocol: o.protocol ?? 'openid-connect',
      clientAuthenticatorType: o.clientAuthenticatorType ?? 'client-secret',
      serviceAccountsEnabled: o.serviceAccountsEnabled ?? true,
      roles: Object.fromEntries(Object.entries(o.roles ?? {}).map(([k, v]) => [k, [...v]])),
      attributes: { ...o.attributes },
      regenerations: 0,
    };
    this.#clients.push(c);
    return c;
  }

  /** The live state of a client (throws when unknown, to catch typos in tests). */
  client(realm: string, clientId: string): KeycloakClient {
    const c = this.#clients.find((x) => x.realm === realm && x.clientId === clientId);
    if (!c) throw new Error(`no Keycloak client ${clientId} in realm ${realm}`);
    return c;
  }

  /**
   * Secrets that authenticate the client right now: the current one, then a previous one still valid.
   * ClientIdAndSecretAuthenticator's rule: the secret must match the current one, or the rotated one
   * while its expiration has not passed (OIDCClientSecretConfigWrapper.validateRotatedSecret: none
   * means expired), and then the client fails anyway once the current secret's expiration has passed
   * (isClientSecretExpired): an expired current secret takes the rotated one down with it.
   */
  validSecrets(realm: string, clientId: string): string[] {
    const c = this.client(realm, clientId);
    const nowS = Math.floor(this.now() / 1000);
    const expires = Number(c.attributes[ATTR.expiration] ?? 0);
    if (expires > 0 && expires < nowS) return [];
    const rotatedUntil = Number(c.attributes[ATTR.rotatedExpiration] ?? 0);
    const rotated = c.attributes[ATTR.rotated];
    const previous =
      rotated && c.attributes[ATTR.rotatedCreation] && rotatedUntil >= nowS ? [rotated] : [];
    return [c.secret, ...previous];
  }

  /** Successful regenerate calls. */
  rotations(realm: string, clientId: string): number {
    return this.client(realm, clientId).regenerations;
  }

  /** Invalidates every access token issued so far (the next admin call answers 401). */
  expireAccessTokens(): void {
    this.#tokens.clear();
  }

  #realm(name: string): { policy: SecretRotationPolicy | undefined } {
    const r = this.#realms.get(name);
    if (!r) throw new Error(`no Keycloak realm ${name}`);
    return r;
  }

  #token(r: Request): Reply {
    const realm = this.#realms.get(r.params['realm'] ?? '');
    if (!realm) return { status: 404, body: { error: 'Realm does not exist' } };
    const f = form(r);
    const basic = /^Basic\s+(.+)$/i.exec(header(r, 'authorization') ?? '');
    let id = f.get('client_id') ?? '';
    let secret = f.get('client_secret') ?? '';
    if (basic) {
      const pair = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = pair.indexOf(':');
      id = decodeURIComponent(pair.slice(0, Math.max(colon, 0)));
      secret = decodeURIComponent(pair.slice(colon + 1));
    }
    const grant = f.get('grant_type');
    if (!grant) return oauthError(400, 'invalid_request', 'Missing form parameter: grant_type');
    const c = this.#clients.find((x) => x.realm === r.params['realm'] && x.clientId === id);
    if (!c || !c.enabled) return BAD_CLIENT;
    if (grant !== 'client_credentials')
      return oauthError(400, 'unsupported_grant_type', 'Unsupported grant_type');
    if (c.publicClient)
      return oauthError(
        401,
        'unauthorized_client',
        'Public client not allowed to retrieve service account',
      );
    if (c.clientAuthenticatorType !== 'client-secret' || !secret) return BAD_CLIENT;
    if (!this.validSecrets(c.realm, c.clientId).includes(secret)) return BAD_CLIENT;
    if (!c.serviceAccountsEnabled)
      return oauthError(
        401,
        'unauthorized_client',
        'Client not enabled to retrieve service account',
      );
    // The executor stamps an expiry on a client's first sign-in under the policy.
    const policy = realm.policy;
    if (policy && !c.attributes[ATTR.expiration])
      c.attributes[ATTR.expiration] = String(this.#seconds() + policy.expirationSeconds);
    const access = fakeJwt({
      iss: `${this.url}${this.prefix}/realms/${c.realm}`,
      azp: c.clientId,
      exp: this.#seconds() + this.#lifespan,
    });
    this.#tokens.set(access, {
      realm: c.realm,
      client: c,
      expiresAt: this.now() + this.#lifespan * 1000,
    });
    return {
      status: 200,
      body: {
        access_token: access,
        expires_in: this.#lifespan,
        refresh_expires_in: 0,
        token_type: 'Bearer',
        'not-before-policy': 0,
        scope: 'profile email',
      },
    };
  }

  /** Authenticates an admin call and works out the caller's rights in the target realm. */
  #admin(r: Request, then: (ctx: Rights) => Reply): Reply {
    const bearer = /^Bearer\s+(.+)$/i.exec(header(r, 'authorization') ?? '')?.[1];
    const p = bearer ? this.#tokens.get(bearer) : undefined;
    if (!p || p.expiresAt <= this.now()) return adminError(401);
    const realm = r.params['realm'] ?? '';
    // RealmsAdminResource: an unknown realm is 404 before the token's realm is compared (403).
    if (!this.#realms.has(realm)) return adminError(404, 'Realm not found.');
    if (p.realm !== 'master' && p.realm !== realm) return adminError(403);
    const roles = p.client.roles[realm] ?? [];
    const manage = roles.includes('manage-clients');
    const view = manage || roles.includes('view-clients');
    return then({ realm, manage, view, list: view || roles.includes('query-clients') });
  }

  #list(r: Request, ctx: Rights): Reply {
    if (!ctx.list) return adminError(403);
    const wanted = r.query.get('clientId');
    const search = r.query.get('search') === 'true';
    const inRealm = this.#clients.filter((c) => c.realm === ctx.realm);
    const found =
      wanted === null || wanted.trim() === ''
        ? inRealm
        : search
          ? inRealm.filter((c) => c.clientId.toLowerCase().includes(wanted.toLowerCase()))
          : inRealm.filter((c) => c.clientId === wanted);
    return {
      status: 200,
      body: found.map((c) =>
        ctx.view ? this.#rep(c, ctx) : { id: c.id, clientId: c.clientId, description: '' },
      ),
    };
  }

  #one(
    r: Request,
    ctx: Rights,
    need: 'view' | 'manage',
    then: (c: KeycloakClient) => Reply | Record<string, unknown>,
  ): Reply {
    const c = this.#clients.find((x) => x.realm === ctx.realm && x.id === r.params['id']);
    if (!c) return ctx.list ? adminError(404, 'Could not find client') : adminError(403);
    if (!(need === 'view' ? ctx.view : ctx.manage)) return adminError(403);
    const out = then(c);
    return 'status' in out && typeof out['status'] === 'number'
      ? (out as Reply)
      : { status: 200, body: out };
  }

  /**
   * The representation Keycloak answers: the secret (and the previous one) only to managers; others
   * get them replaced by StripSecretsUtils' placeholder.
   */
  #rep(c: KeycloakClient, ctx: Rights): Record<string, unknown> {
    const attributes = { ...c.attributes };
    if (!ctx.manage && attributes[ATTR.rotated]) attributes[ATTR.rotated] = STRIPPED;
    return {
      id: c.id,
      clientId: c.clientId,
      name: '',
      description: '',
      enabled: c.enabled,
      clientAuthenticatorType: c.clientAuthenticatorType,
      secret: ctx.manage ? c.secret : STRIPPED,
      bearerOnly: c.bearerOnly,
      publicClient: c.publicClient,
      serviceAccountsEnabled: c.serviceAccountsEnabled,
      standardFlowEnabled: true,
      protocol: c.protocol,
      attributes,
      access: { view: ctx.view, configure: ctx.manage, manage: ctx.manage },
    };
  }

  #regenerate(r: Request, c: KeycloakClient): Reply {
    const type = header(r, 'content-type') ?? '';
    if (r.text !== '' && !/^application\/json/i.test(type))
      return { status: 415, body: { error: 'HTTP 415 Unsupported Media Type' } };
    this.#rotate(c);
    return { status: 200, body: { type: 'secret', value: c.secret } };
  }

  /** Someone else regenerates the client's secret (the admin console's "Regenerate"), as the API does. */
  regenerateByHand(realm: string, clientId: string): void {
    this.#rotate(this.client(realm, clientId));
  }

  #rotate(c: KeycloakClient): void {
    const old = c.secret;
    c.secret = this.#generate();
    c.regenerations += 1;
    const policy = this.#realm(c.realm).policy;
    const nowS = this.#seconds();
    if (policy && !c.publicClient && !c.bearerOnly) {
      // ClientSecretRotationExecutor, forced rotation: the old secret becomes the rotated one.
      if (policy.rotatedExpirationSeconds > 0) {
        c.attributes[ATTR.rotated] = old;
        c.attributes[ATTR.rotatedCreation] = String(nowS);
        c.attributes[ATTR.rotatedExpiration] = String(nowS + policy.rotatedExpirationSeconds);
      } else this.#removeRotated(c);
      c.attributes[ATTR.creation] = String(nowS);
      c.attributes[ATTR.expiration] = String(nowS + policy.expirationSeconds);
    } else {
      // No policy applied: ClientResource removes every trace of rotation.
      delete c.attributes[ATTR.expiration];
      delete c.attributes[ATTR.remaining];
      this.#removeRotated(c);
    }
  }

  #rotated(c: KeycloakClient): Reply {
    const rotated = c.attributes[ATTR.rotated];
    if (!rotated || !c.attributes[ATTR.rotatedCreation])
      return adminError(404, 'Client does not have a rotated secret');
    return { status: 200, body: { type: 'secret', value: rotated } };
  }

  #invalidateRotated(c: KeycloakClient): Reply {
    this.#removeRotated(c);
    return { status: 204 };
  }

  #removeRotated(c: KeycloakClient): void {
    delete c.attributes[ATTR.rotated];
    delete c.attributes[ATTR.rotatedCreation];
    delete c.attributes[ATTR.rotatedExpiration];
  }

  #generate(): string {
    const secret = generated();
    this.generatedSecrets.push(secret);
    return secret;
  }

  #seconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

interface Rights {
  readonly realm: string;
  readonly manage: boolean;
  readonly view: boolean;
  readonly list: boolean;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Keycloak's generated secrets: 32 alphanumeric characters. */
function generated(): string {
  let s = '';
  for (let i = 0; i < 32; i++) s += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return s;
}

function header(r: Request, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function fakeJwt(payload: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ ...payload, jti: randomUUID() })}.${randomBytes(32).toString('base64url')}`;
}

export async function startKeycloak(options: KeycloakOptions = {}): Promise<KeycloakEmulator> {
  return new KeycloakEmulator(options).listen();
}
