// VMware Cloud Services Platform: token endpoints and organization OAuth app secrets. Every secret an
// app currently accepts is tracked, so tests can check which ones still obtain a token after a rotation.
import { randomBytes, randomUUID } from 'node:crypto';
import { Emulator, type EmulatorOptions, form, json, type Reply, type Request } from './server.ts';

const API = '/csp/gateway/am/api';
const SECRET_PATH = `${API}/orgs/:orgId/oauth-apps/:appId/secret`;
const COMPLEX = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/];

export interface CspOptions extends EmulatorOptions {
  /** Overlap window when a POST names none; CSP's default is 48 h. */
  readonly defaultOverlapSeconds?: number;
}

export interface CspAppOptions {
  readonly displayName?: string;
  /** Its client-credentials tokens are refused by the management API (no org role): 403. */
  readonly forbidden?: boolean;
  /** Rotating calls answer 409 while this is set. */
  readonly conflict?: boolean;
}

/** One OAuth app; tests may flip `forbidden` and `conflict` at any time. */
export interface CspApp {
  readonly orgId: string;
  readonly appId: string;
  displayName: string;
  current: string;
  previous: { secret: string; expiresAt: number } | undefined;
  forbidden: boolean;
  conflict: boolean;
  rotations: number;
  /** The app's `lastUpdatedAt` (epoch ms): moved by every secret change (PUT, POST, DELETE). */
  lastUpdatedAt: number;
  /** The app's `secretRotationExpirationInSeconds`: the window of the last overlap rotation. */
  rotationSeconds: number | undefined;
}

interface Principal {
  readonly forbidden: boolean;
  readonly expiresAt: number;
}

/** A CSP error body; also for armed faults, e.g. `fault('PUT', /secret$/, { status: 429, body: cspError(429) })`. */
export function cspError(
  status: number,
  message = DEFAULT_MESSAGES[status] ?? 'Error',
  errorCode = `${status}`,
): Record<string, unknown> {
  return {
    cspErrorCode: `${status}.${(status * 7) % 1000}`,
    errorCode,
    message,
    moduleCode: 520,
    requestId: randomUUID(),
    statusCode: status,
  };
}

const DEFAULT_MESSAGES: Record<number, string> = {
  400: 'Bad request',
  401: 'The user is not authorized to use the API',
  403: 'The user is forbidden to use the API',
  404: 'The requested resource could not be found',
  409: 'The request could not be processed due to a conflict',
  429: 'The user has sent too many requests',
  500: 'An unexpected error has occurred while processing the request',
};

const err = (status: number, message?: string, code?: string): Reply => ({
  status,
  body: cspError(status, message, code),
});

export class CspEmulator extends Emulator {
  readonly #apps = new Map<string, CspApp>();
  readonly #apiTokens = new Map<string, { forbidden: boolean }>();
  readonly #accessTokens = new Map<string, Principal>();
  readonly #overlapSeconds: number;
  #offsetMs = 0;
  /** Whether the app's details carry `lastUpdatedAt` (unverified that CSP shows it: tests try both). */
  showsLastUpdated = true;

  constructor(options: CspOptions = {}) {
    super(options);
    this.#overlapSeconds = options.defaultOverlapSeconds ?? 172_800;
    this.route('POST', `${API}/auth/api-tokens/authorize`, (r) => this.#fromApiToken(r));
    this.route('POST', `${API}/auth/authorize`, (r) => this.#fromClientCredentials(r));
    this.route('POST', `${API}/auth/token`, (r) => this.#fromClientCredentials(r));
    this.route('GET', `${API}/orgs/:orgId/oauth-apps/:appId`, (r) =>
      this.#managed(r, false, (app) => ({
        status: 200,
        body: details(app, this.showsLastUpdated),
      })),
    );
    this.route('PUT', SECRET_PATH, (r) =>
      this.#managed(r, true, (app) => this.#regenerate(r, app)),
    );
    this.route('POST', SECRET_PATH, (r) =>
      this.#managed(r, true, (app) => this.#startOverlap(r, app)),
    );
    this.route('DELETE', SECRET_PATH, (r) =>
      this.#managed(r, true, (app) => this.#retirePrevious(app)),
    );
  }

  /** Emulated time: the clock plus whatever `advance()` added. */
  now(): number {
    return this.clock() + this.#offsetMs;
  }

  /** Moves emulated time on, e.g. past an overlap window (access tokens expire too, as they would). */
  advance(ms: number): void {
    this.#offsetMs += ms;
  }

  addApp(orgId: string, appId: string, secret: string, options: CspAppOptions = {}): CspApp {
    const app: CspApp = {
      orgId,
      appId,
      displayName: options.displayName ?? `OAuth app ${appId}`,
      current: secret,
      previous: undefined,
      forbidden: options.forbidden ?? false,
      conflict: options.conflict ?? false,
      rotations: 0,
      lastUpdatedAt: CREATED_AT,
      rotationSeconds: undefined,
    };
    this.#apps.set(appId, app);
    return app;
  }

  addApiToken(token: string, options: { forbidden?: boolean } = {}): void {
    this.#apiTokens.set(token, { forbidden: options.forbidden ?? false });
  }

  /** The live state of an app (throws when unknown, to catch typos in tests). */
  app(appId: string): CspApp {
    const app = this.#apps.get(appId);
    if (!app) throw new Error(`no CSP app ${appId}`);
    return app;
  }

  /** Secrets that obtain a token right now: the current one, then the previous one while its window lasts. */
  validSecrets(appId: string): string[] {
    const app = this.app(appId);
    const prev = app.previous && app.previous.expiresAt > this.now() ? [app.previous.secret] : [];
    return [app.current, ...prev];
  }

  /** Successful rotating calls (PUT regenerate and POST overlap). */
  rotations(appId: string): number {
    return this.app(appId).rotations;
  }

  /** Invalidates every access token issued so far (the next API call answers 401). */
  expireAccessTokens(): void {
    this.#accessTokens.clear();
  }

  #issue(forbidden: boolean): Reply {
    const access = fakeJwt({
      sub: randomUUID(),
      iss: 'https://gaz.csp-vidm-prod.com',
      exp: Math.floor(this.now() / 1000) + 599,
    });
    this.#accessTokens.set(access, { forbidden, expiresAt: this.now() + 599_000 });
    return {
      status: 200,
      body: {
        access_token: access,
        expires_in: 599,
        id_token: fakeJwt({ sub: 'id' }),
        refresh_token: randomBytes(24).toString('hex'),
        scope: 'openid group_names',
        token_type: 'bearer',
      },
    };
  }

  #fromApiToken(r: Request): Reply {
    const f = form(r);
    const token = f.get('api_token') ?? f.get('refresh_token');
    if (!token) return err(400, 'invalid_request: api_token is required', 'invalid_request');
    const known = this.#apiTokens.get(token);
    // CSP answers an unknown or revoked API token as an OAuth invalid_grant (400), not 401.
    if (!known) return err(400, 'invalid_grant: Invalid refresh token', 'invalid_grant');
    return this.#issue(known.forbidden);
  }

  #fromClientCredentials(r: Request): Reply {
    const f = form(r);
    if (f.get('grant_type') !== 'client_credentials')
      return err(400, 'unsupported_grant_type', 'unsupported_grant_type');
    const basic = /^Basic\s+(.+)$/i.exec(header(r, 'authorization') ?? '');
    const pair = basic
      ? Buffer.from(basic[1]!, 'base64').toString('utf8')
      : `${f.get('client_id') ?? ''}:${f.get('client_secret') ?? ''}`;
    const colon = pair.indexOf(':');
    const [id, secret] = colon < 0 ? [pair, ''] : [pair.slice(0, colon), pair.slice(colon + 1)];
    const app = this.#apps.get(id);
    if (!app || !secret || !this.validSecrets(id).includes(secret))
      return err(401, 'invalid_client: Bad client credentials', 'invalid_client');
    return this.#issue(app.forbidden);
  }

  /** Authenticates the caller, finds the app in the org, and applies the rights and conflict checks. */
  #managed(r: Request, rotating: boolean, then: (app: CspApp) => Reply): Reply {
    const bearer =
      /^Bearer\s+(.+)$/i.exec(header(r, 'authorization') ?? '')?.[1] ?? header(r, 'csp-auth-token');
    const principal = bearer ? this.#accessTokens.get(bearer) : undefined;
    if (!principal || principal.expiresAt <= this.now())
      return err(
        401,
        bearer ? 'The access token is invalid or expired' : 'Missing access token',
        'invalid_token',
      );
    if (principal.forbidden) return err(403, 'The user is forbidden to use the API', 'forbidden');
    const app = this.#apps.get(r.params['appId'] ?? '');
    if (!app || app.orgId !== r.params['orgId'])
      return err(
        404,
        `OAuth app ${r.params['appId']} not found in organization ${r.params['orgId']}`,
        'not_found',
      );
    if (rotating && app.conflict)
      return err(409, 'A secret operation is already in progress for this OAuth app', 'conflict');
    return then(app);
  }

  #regenerate(r: Request, app: CspApp): Reply {
    const body = json(r);
    if (!isObject(body) || Object.keys(body).length > 0)
      return err(400, 'An empty JSON body {} is required', 'invalid_request');
    app.current = `${randomBytes(18).toString('base64url')}aA1!`;
    app.previous = undefined;
    app.rotations += 1;
    // "Changing the client secret via the client management APIs will reset existing secret rotation."
    app.rotationSeconds = undefined;
    app.lastUpdatedAt = this.now();
    return { status: 200, body: { clientId: app.appId, clientSecret: app.current } };
  }

  #startOverlap(r: Request, app: CspApp): Reply {
    const body = json(r);
    if (!isObject(body)) return err(400, 'A JSON body is required', 'invalid_request');
    const secret = body['newClientSecret'];
    const window = body['secretRotationExpirationInSeconds'] ?? this.#overlapSeconds;
    if (
      typeof secret !== 'string' ||
      secret.length < 8 ||
      !COMPLEX.every((re) => re.test(secret))
    ) {
      return err(
        400,
        'The client secret must be at least 8 characters long and contain a lower-case letter, an upper-case letter, a digit and a special character',
        'invalid_client_secret',
      );
    }
    if (secret === app.current)
      return err(
        400,
        'The new client secret must differ from the current one',
        'invalid_client_secret',
      );
    if (typeof window !== 'number' || !Number.isInteger(window) || window <= 0)
      return err(
        400,
        'secretRotationExpirationInSeconds must be a positive integer',
        'invalid_request',
      );
    // Only two secrets ever: an earlier previous one dies now.
    app.previous = { secret: app.current, expiresAt: this.now() + window * 1000 };
    app.current = secret;
    app.rotations += 1;
    app.rotationSeconds = window;
    app.lastUpdatedAt = this.now();
    return { status: 200 };
  }

  #retirePrevious(app: CspApp): Reply {
    app.previous = undefined;
    app.lastUpdatedAt = this.now();
    return { status: 200 };
  }
}

function details(app: CspApp, showsLastUpdated: boolean): Record<string, unknown> {
  return {
    id: app.appId,
    clientId: app.appId,
    displayName: app.displayName,
    description: '',
    orgId: app.orgId,
    grantTypes: ['client_credentials'],
    createdAt: CREATED_AT,
    // OrgOAuthAppResponse shows when the app last changed and the rotation window, never a
    // previous secret or the end of its window.
    ...(showsLastUpdated ? { lastUpdatedAt: app.lastUpdatedAt } : {}),
    ...(app.rotationSeconds === undefined
      ? {}
      : { secretRotationExpirationInSeconds: app.rotationSeconds }),
  };
}

const CREATED_AT = 1767348000000;

function header(r: Request, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fakeJwt(payload: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ ...payload, jti: randomUUID() })}.${randomBytes(32).toString('base64url')}`;
}

export async function startCsp(options: CspOptions = {}): Promise<CspEmulator> {
  return new CspEmulator(options).listen();
}
