// Microsoft Entra login (client-credentials token endpoint) and the Graph application password calls,
// on one server. New passwords only start working `propagationDelayMs` after addPassword, as in Entra.
import { randomBytes, randomUUID } from 'node:crypto';
import { Emulator, type EmulatorOptions, form, json, type Reply, type Request } from './server.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
const TWO_YEARS_MS = 2 * 365 * 86_400_000;

export interface EntraOptions extends EmulatorOptions {
  /** How long a new password is refused after addPassword (Entra takes seconds). */
  readonly propagationDelayMs?: number;
  /** When set, token requests for any other tenant fail with AADSTS90002. */
  readonly tenantId?: string;
  /** When set, a GitHub OIDC assertion's `sub` must match (the federated credential's subject). */
  readonly federatedSubject?: string | RegExp;
}

export interface EntraPassword {
  readonly keyId: string;
  readonly displayName: string | null;
  readonly startDateTime: string;
  readonly endDateTime: string;
  readonly hint: string;
  readonly secretText: string;
  /** Emulated time it was added; it works from `addedAt + propagationDelayMs`. */
  readonly addedAt: number;
}

export interface EntraApp {
  readonly objectId: string;
  readonly appId: string;
  readonly displayName: string;
  passwords: EntraPassword[];
}

interface ManagingClient {
  readonly secret: string | undefined;
  canWrite: boolean;
}

interface AccessToken {
  readonly clientId: string;
  readonly expiresAt: number;
}

export class EntraEmulator extends Emulator {
  propagationDelayMs: number;
  tenantId: string | undefined;
  federatedSubject: string | RegExp | undefined;
  /** Rewrites `endDateTime` in addPassword's answer (not in the stored password): malformed-data tests. */
  answerEndDateTime: ((iso: string) => string) | undefined;
  readonly #apps = new Map<string, EntraApp>();
  readonly #clients = new Map<string, ManagingClient>();
  readonly #tokens = new Map<string, AccessToken>();
  readonly #removed = new Map<string, EntraPassword[]>();
  #offsetMs = 0;

  constructor(o: EntraOptions = {}) {
    super(o);
    this.propagationDelayMs = o.propagationDelayMs ?? 0;
    this.tenantId = o.tenantId;
    this.federatedSubject = o.federatedSubject;
    this.route('POST', '/:tenant/oauth2/v2.0/token', (r) => this.#token(r));
    // `applications(appId='…')` is one path segment; `applications/{objectId}` is the other addressing form.
    for (const prefix of ['/v1.0/:segment', '/v1.0/applications/:objectId']) {
      this.route('GET', prefix, (r) => this.#graph(r, false, (app) => this.#get(r, app)));
      this.route('POST', `${prefix}/addPassword`, (r) =>
        this.#graph(r, true, (app) => this.#addPassword(r, app)),
      );
      this.route('POST', `${prefix}/removePassword`, (r) =>
        this.#graph(r, true, (app) => this.#removePassword(r, app)),
      );
    }
  }

  now(): number {
    return this.clock() + this.#offsetMs;
  }

  /** Moves emulated time on (propagation, password expiry, token lifetime). */
  advance(ms: number): void {
    this.#offsetMs += ms;
  }

  /** An application; initial passwords are already propagated. */
  addApp(
    appId: string,
    options: {
      displayName?: string;
      initialPasswords?: readonly (
        | string
        | {
            secretText: string;
            displayName?: string;
            endDateTime?: string;
            /** When Graph created it (its startDateTime); default: now. */
            startDateTime?: string;
          }
      )[];
    } = {},
  ): EntraApp {
    const app: EntraApp = {
      objectId: randomUUID(),
      appId,
      displayName: options.displayName ?? `App ${appId}`,
      passwords: [],
    };
    for (const p of options.initialPasswords ?? []) {
      const given = typeof p === 'string' ? { secretText: p } : p;
      app.passwords.push(
        this.#password(
          given.secretText,
          given.displayName ?? 'initial',
          given.endDateTime,
          Number.NEGATIVE_INFINITY,
          given.startDateTime,
        ),
      );
    }
    this.#apps.set(appId, app);
    return app;
  }

  /** Adds a password behind the API's back, already propagated (a person, or another workflow). */
  addPasswordTo(
    appId: string,
    p: { secretText: string; displayName: string; endDateTime?: string; startDateTime?: string },
  ): EntraPassword {
    const app = this.#apps.get(appId);
    if (!app) throw new Error(`no Entra app ${appId}`);
    const made = this.#password(
      p.secretText,
      p.displayName,
      p.endDateTime,
      Number.NEGATIVE_INFINITY,
      p.startDateTime,
    );
    app.passwords.push(made);
    return made;
  }

  /** The app that manages others through Graph; without a secret it signs in with a GitHub OIDC assertion only. */
  addManagingClient(clientId: string, secret?: string, options: { canWrite?: boolean } = {}): void {
    this.#clients.set(clientId, { secret, canWrite: options.canWrite ?? true });
  }

  setCanWrite(clientId: string, canWrite: boolean): void {
    const c = this.#clients.get(clientId);
    if (!c) throw new Error(`no managing client ${clientId}`);
    c.canWrite = canWrite;
  }

  /** The app's passwords, secret text included (throws when unknown). */
  passwords(appId: string): EntraPassword[] {
    const app = this.#apps.get(appId);
    if (!app) throw new Error(`no Entra app ${appId}`);
    return [...app.passwords];
  }

  /** Passwords taken away by removePassword, oldest first, secret text included (for leak scans and undo checks). */
  removedPasswords(appId: string): EntraPassword[] {
    return [...(this.#removed.get(appId) ?? [])];
  }

  /** Whether this secret obtains a token for the client right now (propagated, not expired). */
  secretWorks(appId: string, secret: string): boolean {
    if (this.#clients.get(appId)?.secret === secret) return true;
    const now = this.now();
    return (this.#apps.get(appId)?.passwords ?? []).some(
      (p) =>
        p.secretText === secret &&
        p.addedAt + this.propagationDelayMs <= now &&
        Date.parse(p.startDateTime) <= now &&
        Date.parse(p.endDateTime) > now,
    );
  }

  #password(
    secretText: string,
    displayName: string | null,
    endDateTime: string | undefined,
    addedAt: number,
    startDateTime?: string,
  ): EntraPassword {
    const start = new Date(startDateTime ?? this.now());
    const end = endDateTime ? new Date(endDateTime) : new Date(start.getTime() + TWO_YEARS_MS);
    return {
      keyId: randomUUID(),
      displayName,
      startDateTime: start.toISOString(),
      endDateTime: end.toISOString(),
      hint: secretText.slice(0, 3),
      secretText,
      addedAt,
    };
  }

  #token(r: Request): Reply {
    const f = form(r);
    const tenant = r.params['tenant'] ?? '';
    if (this.tenantId !== undefined && tenant !== this.tenantId)
      return aad(
        400,
        'invalid_request',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
    for (const name of ['grant_type', 'client_id', 'scope']) {
      if (!f.get(name))
        return aad(
          400,
          'invalid_request',
          900144,
          `The request body must contain the following parameter: '${name}'.`,
        );
    }
    if (f.get('grant_type') !== 'client_credentials')
      return aad(
        400,
        'unsupported_grant_type',
        70003,
        `The app requested an unsupported grant type '${f.get('grant_type')}'.`,
      );
    const scope = f.get('scope')!;
    if (!scope.endsWith('/.default')) {
      return aad(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    const clientId = f.get('client_id')!;
    const managing = this.#clients.get(clientId);
    if (!managing && !this.#apps.has(clientId)) {
      return aad(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    const secret = f.get('client_secret');
    const assertion = f.get('client_assertion');
    if (secret !== null) {
      if (!this.secretWorks(clientId, secret)) {
        return aad(
          401,
          'invalid_client',
          7000215,
          `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
        );
      }
    } else if (assertion !== null) {
      const refused = this.#checkAssertion(
        f.get('client_assertion_type'),
        assertion,
        managing !== undefined,
      );
      if (refused) return refused;
    } else {
      return aad(
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }
    const access = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${randomBytes(48).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
    this.#tokens.set(access, { clientId, expiresAt: this.now() + 3_599_000 });
    return {
      status: 200,
      body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: access },
    };
  }

  /** GitHub's OIDC token, presented as a client assertion; the signature is not checked here. */
  #checkAssertion(
    type: string | null,
    assertion: string,
    hasFederatedCredential: boolean,
  ): Reply | undefined {
    if (type !== JWT_BEARER)
      return aad(
        400,
        'invalid_request',
        700025,
        `Client assertion type '${type}' is not supported.`,
      );
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(
        Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8'),
      ) as Record<string, unknown>;
    } catch {
      return aad(400, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
    }
    const sub = String(claims['sub']);
    const expired = typeof claims['exp'] === 'number' && claims['exp'] * 1000 < this.now();
    if (expired)
      return aad(
        400,
        'invalid_client',
        700024,
        'Client assertion is not within its valid time range.',
      );
    if (!hasFederatedCredential || claims['iss'] !== GITHUB_ISSUER) {
      return aad(
        400,
        'invalid_request',
        700211,
        `No matching federated identity record found for presented assertion issuer '${String(claims['iss'])}'.`,
      );
    }
    const aud = Array.isArray(claims['aud']) ? claims['aud'] : [claims['aud']];
    if (!aud.includes(EXCHANGE_AUDIENCE))
      return aad(
        400,
        'invalid_request',
        700212,
        `No matching federated identity record found for presented assertion audience '${aud.join(',')}'.`,
      );
    const want = this.federatedSubject;
    if (want !== undefined && !(typeof want === 'string' ? sub === want : want.test(sub))) {
      return aad(
        400,
        'invalid_request',
        700213,
        `No matching federated identity record found for presented assertion subject '${sub}'.`,
      );
    }
    return undefined;
  }

  /** Bearer check, app lookup, then rights: unknown apps are 404 even for clients that cannot write. */
  #graph(r: Request, writes: boolean, then: (app: EntraApp) => Reply): Reply {
    const bearer = /^Bearer\s+(.+)$/i.exec(String(r.headers['authorization'] ?? ''))?.[1];
    const token = bearer ? this.#tokens.get(bearer) : undefined;
    if (!bearer) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    if (!token)
      return graphError(
        401,
        'InvalidAuthenticationToken',
        'Access token validation failure. Invalid audience.',
      );
    if (token.expiresAt <= this.now())
      return graphError(
        401,
        'InvalidAuthenticationToken',
        'Lifetime validation failed, the token is expired.',
      );
    let app: EntraApp | undefined;
    const objectId = r.params['objectId'];
    if (objectId !== undefined) app = [...this.#apps.values()].find((a) => a.objectId === objectId);
    else {
      const m = /^applications\(appId='([^']*)'\)$/.exec(r.params['segment'] ?? '');
      if (!m)
        return graphError(
          400,
          'BadRequest',
          `Resource not found for the segment '${r.params['segment']}'.`,
        );
      app = this.#apps.get(m[1]!);
    }
    const client = this.#clients.get(token.clientId);
    // An app signed in as itself has no Graph application permissions.
    if (!client)
      return graphError(
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
    if (!app)
      return graphError(
        404,
        'Request_ResourceNotFound',
        `Resource '${objectId ?? r.params['segment']}' does not exist or one of its queried reference-property objects are not present.`,
      );
    if (writes && !client.canWrite)
      return graphError(
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
    return then(app);
  }

  #get(r: Request, app: EntraApp): Reply {
    const passwordCredentials = app.passwords.map(({ secretText: _s, addedAt: _a, ...p }) => ({
      customKeyIdentifier: null,
      ...p,
      secretText: null,
    }));
    const full: Record<string, unknown> = {
      id: app.objectId,
      appId: app.appId,
      displayName: app.displayName,
      keyCredentials: [],
      passwordCredentials,
    };
    const select = r.query
      .get('$select')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const body = select
      ? Object.fromEntries(Object.entries(full).filter(([k]) => k === 'id' || select.includes(k)))
      : full;
    return {
      status: 200,
      body: {
        '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#applications/$entity',
        ...body,
      },
    };
  }

  #addPassword(r: Request, app: EntraApp): Reply {
    const body = json(r) as
      { passwordCredential?: { displayName?: unknown; endDateTime?: unknown } } | undefined;
    if (typeof body !== 'object' || body === null)
      return graphError(
        400,
        'BadRequest',
        'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
      );
    const pc = body.passwordCredential ?? {};
    const end = pc.endDateTime;
    if (end !== undefined && (typeof end !== 'string' || Number.isNaN(Date.parse(end))))
      return graphError(
        400,
        'BadRequest',
        "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.",
      );
    const secret = `${randomBytes(2).toString('hex').slice(0, 3)}8Q~${randomBytes(26).toString('base64url').slice(0, 34)}`;
    const p = this.#password(
      secret,
      typeof pc.displayName === 'string' ? pc.displayName : null,
      end,
      this.now(),
    );
    app.passwords.push(p);
    const { addedAt: _a, ...visible } = p;
    return {
      status: 200,
      body: {
        '@odata.context':
          'https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.passwordCredential',
        customKeyIdentifier: null,
        ...visible,
        ...(this.answerEndDateTime ? { endDateTime: this.answerEndDateTime(p.endDateTime) } : {}),
      },
    };
  }

  #removePassword(r: Request, app: EntraApp): Reply {
    const keyId = (json(r) as { keyId?: unknown } | undefined)?.keyId;
    if (typeof keyId !== 'string')
      return graphError(400, 'BadRequest', "The request body must contain the parameter 'keyId'.");
    const before = app.passwords.length;
    const gone = app.passwords.filter((p) => p.keyId === keyId);
    app.passwords = app.passwords.filter((p) => p.keyId !== keyId);
    if (gone.length)
      this.#removed.set(app.appId, [...(this.#removed.get(app.appId) ?? []), ...gone]);
    // Unverified: Graph's exact answer for an unknown keyId; 404 is the closest documented shape.
    if (app.passwords.length === before)
      return graphError(
        404,
        'Request_ResourceNotFound',
        `No password credential found with keyId ${keyId}.`,
      );
    return { status: 204 };
  }
}

/** An Entra login error: `AADSTSnnn: text`, then trace lines after CRLFs as Entra sends them. */
export function aad(status: number, error: string, code: number, text: string): Reply {
  const trace = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: trace,
      correlation_id: randomUUID(),
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

/** A Graph error body; also for armed faults. */
export function graphError(status: number, code: string, message: string): Reply {
  return {
    status,
    body: {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString(),
          'request-id': randomUUID(),
          'client-request-id': randomUUID(),
        },
      },
    },
  };
}

export async function startEntra(options: EntraOptions = {}): Promise<EntraEmulator> {
  return new EntraEmulator(options).listen();
}
