// Google Cloud, as its documentation describes the four APIs a key rotation uses: Security Token
// Service (`POST /sts/v1/token`, a GitHub OIDC token exchanged through a Workload Identity Federation
// provider whose audience and subject it checks), IAM Credentials (`generateAccessToken`, allowed
// only where the pool's principals may impersonate the service account), IAM
// (`projects.serviceAccounts.keys` list/get/create/disable/enable/delete, with the caller's right to
// manage the account's keys checked) and the OAuth token endpoint (`POST /oauth2/token`, a JWT
// assertion signed with a key's RSA private key, checked with node:crypto against the key's public
// half). A service account holds at most 10 user-managed keys (FAILED_PRECONDITION beyond), the
// organization policy constraints/iam.disableServiceAccountKeyCreation refuses keys.create with
// FAILED_PRECONDITION naming it, a new key's private key is shown once (privateKeyData: the base64
// JSON key file), a disabled key mints nothing, and a new key mints tokens only after a propagation
// delay (IAM is eventually consistent). API errors are `{"error":{"code","message","status"}}`, OAuth
// errors `{"error","error_description"}`. Served under /sts, /iamcredentials, /iam and /oauth2.
import {
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  verify,
} from 'node:crypto';
import { Emulator, type EmulatorOptions, form, json, type Reply, type Request } from './server.ts';

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const KEY_LIMIT = 10;
const FAR = '9999-12-31T23:59:59Z';

export interface GcpKey {
  readonly id: string;
  /** The key file JSON as keys.create returned it (pre-seeded keys get one too). */
  readonly file: string;
  readonly publicKey: KeyObject;
  disabled: boolean;
  readonly validAfter: string;
  /** Emulator time from which the key mints tokens (propagation). */
  readonly usableAt: number;
}

export interface GcpServiceAccount {
  readonly email: string;
  readonly uniqueId: string;
  keys: GcpKey[];
  /** Service accounts whose keys this one may manage (roles/iam.serviceAccountKeyAdmin); '*' any. */
  manages: readonly string[];
}

export interface GcpOptions extends EmulatorOptions {
  readonly project?: string;
  readonly projectNumber?: string;
  /** How long a new key takes to mint tokens (default 0). */
  readonly propagationDelayMs?: number;
}

/** A Google API error body, for armed faults too. */
export function gcpError(code: number, status: string, message: string, details?: unknown[]) {
  return { error: { code, message, status, ...(details ? { details } : {}) } };
}
const fail = (code: number, status: string, message: string, details?: unknown[]): Reply => ({
  status: code,
  body: gcpError(code, status, message, details),
});
const oauthFail = (status: number, error: string, description: string): Reply => ({
  status,
  body: { error, error_description: description },
});
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const b64json = (part: string | undefined): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as unknown;
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

// RSA pairs: generating one takes tens of milliseconds, longer than the search's request timeout, so
// keys.create takes a fresh pair made ahead of time in the background (each pair is used once), and
// pre-seeded keys share a few. The pool fills once the first emulator starts, not when the module
// loads: every test file imports the fixtures, and six pairs cost about half a second of CPU.
type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const RSA = { modulusLength: 2048 } as const;
const ahead: Pair[] = [];
let refilling = 0;
function refill(): void {
  while (ahead.length + refilling < 6) {
    refilling += 1;
    generateKeyPair('rsa', RSA, (err, publicKey, privateKey) => {
      refilling -= 1;
      if (!err) ahead.push({ publicKey, privateKey });
    });
  }
}
function rsaPair(): Pair {
  const pair = ahead.shift() ?? generateKeyPairSync('rsa', RSA);
  refill();
  return pair;
}
const shared: Pair[] = [];
let sharedNext = 0;
function pooledPair(): Pair {
  if (shared.length < 3) shared.push(generateKeyPairSync('rsa', RSA));
  return shared[sharedNext++ % shared.length]!;
}

export class GcpEmulator extends Emulator {
  readonly project: string;
  readonly projectNumber: string;
  readonly propagationDelayMs: number;
  /** The Workload Identity Federation provider's resource name; its principals' subject must match. */
  readonly wifProvider: string;
  wifSubject: RegExp = /^repo:octo\/app:/;
  /** Service accounts the pool's principals may impersonate (roles/iam.workloadIdentityUser). */
  readonly impersonable = new Set<string>();
  /** constraints/iam.disableServiceAccountKeyCreation enforced on the project. */
  keyCreationDisabled = false;
  readonly #accounts = new Map<string, GcpServiceAccount>();
  /** Access tokens: federated (STS) ones map to the pool principal, others to a service account. */
  readonly #tokens = new Map<string, { email?: string; principal?: string; expiresAt: number }>();
  /** Every key file and access token ever issued, for leak scans. */
  readonly issued: string[] = [];
  /** Every key ever deleted, with whether it was disabled then. */
  readonly deleted: { id: string; email: string; file: string; wasDisabled: boolean }[] = [];
  #created = 0;

  constructor(o: GcpOptions = {}) {
    super(o);
    refill();
    this.project = o.project ?? 'my-project';
    this.projectNumber = o.projectNumber ?? '123456789012';
    this.propagationDelayMs = o.propagationDelayMs ?? 0;
    this.wifProvider = `projects/${this.projectNumber}/locations/global/workloadIdentityPools/github/providers/octo`;
    this.route('POST', '/sts/v1/token', (r) => this.#sts(r));
    this.route('POST', '/iamcredentials/v1/projects/:project/serviceAccounts/:call', (r) =>
      this.#generate(r),
    );
    this.route('GET', '/iam/v1/projects/:project/serviceAccounts/:sa/keys', (r) => this.#list(r));
    this.route('POST', '/iam/v1/projects/:project/serviceAccounts/:sa/keys', (r) =>
      this.#create(r),
    );
    this.route('GET', '/iam/v1/projects/:project/serviceAccounts/:sa/keys/:key', (r) =>
      this.#key(r, 'get'),
    );
    this.route('POST', '/iam/v1/projects/:project/serviceAccounts/:sa/keys/:key', (r) =>
      this.#key(r, 'post'),
    );
    this.route('DELETE', '/iam/v1/projects/:project/serviceAccounts/:sa/keys/:key', (r) =>
      this.#key(r, 'delete'),
    );
    this.route('POST', '/oauth2/token', (r) => this.#token(r));
  }

  get stsUrl(): string {
    return `${this.url}/sts`;
  }
  get credentialsUrl(): string {
    return `${this.url}/iamcredentials`;
  }
  get iamUrl(): string {
    return `${this.url}/iam`;
  }
  get tokenUrl(): string {
    return `${this.url}/oauth2/token`;
  }

  addServiceAccount(name: string, o: { manages?: readonly string[] } = {}): GcpServiceAccount {
    const sa: GcpServiceAccount = {
      email: `${name}@${this.project}.iam.gserviceaccount.com`,
      uniqueId: String(100000000000000000000n + BigInt(this.#accounts.size + 1)),
      keys: [],
      manages: o.manages ?? [],
    };
    this.#accounts.set(sa.email, sa);
    return sa;
  }

  account(email: string): GcpServiceAccount {
    const sa = this.#accounts.get(email);
    if (!sa) throw new Error(`no service account ${email}`);
    return sa;
  }

  /** A key made outside the run (a person's, or an earlier rotation's); usable at once. */
  addKey(
    email: string,
    o: { disabled?: boolean; validAfter?: string; file?: string } = {},
  ): GcpKey {
    // Pre-seeded keys share a few RSA pairs (generating one takes a moment); keys.create makes its own.
    const k = this.#newKey(this.account(email), 0, true);
    // `file`: what the world's targets hold for it (a test's opaque old secret), in place of the JSON.
    const key = {
      ...k,
      ...(o.file !== undefined ? { file: o.file } : {}),
      disabled: o.disabled ?? false,
      validAfter: o.validAfter ?? k.validAfter,
    };
    this.account(email).keys.push(key);
    return key;
  }

  /** An OAuth access token for a service account, as gcloud or google-github-actions/auth mints one. */
  addAccessToken(email: string, lifetimeMs = 3_600_000): string {
    const t = `ya29.c.${randomBytes(48).toString('base64url')}`;
    this.#tokens.set(t, { email, expiresAt: this.clock() + lifetimeMs });
    this.issued.push(t);
    return t;
  }

  /** True when this key file JSON mints a token now (an enabled key past propagation, its private key). */
  keyWorks(file: string): boolean {
    for (const sa of this.#accounts.values())
      for (const k of sa.keys)
        if (k.file === file) return !k.disabled && this.clock() >= k.usableAt;
    return false;
  }

  /** How many keys.create calls took effect. */
  creations(): number {
    return this.#created;
  }

  #newKey(sa: GcpServiceAccount, delayMs: number, pooled = false): GcpKey {
    const { privateKey, publicKey } = pooled ? pooledPair() : rsaPair();
    const id = randomBytes(20).toString('hex');
    // Google's key file: pretty-printed with two spaces, a trailing newline.
    const file = `${JSON.stringify(
      {
        type: 'service_account',
        project_id: this.project,
        private_key_id: id,
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        client_email: sa.email,
        client_id: sa.uniqueId,
        auth_uri: 'https://accounts.google.com/o/oauth2/auth',
        token_uri: this.tokenUrl,
        auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
        client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(sa.email)}`,
        universe_domain: 'googleapis.com',
      },
      null,
      2,
    )}\n`;
    this.issued.push(file);
    return {
      id,
      file,
      publicKey,
      disabled: false,
      validAfter: iso(this.clock()),
      usableAt: this.clock() + delayMs,
    };
  }

  #meta(sa: GcpServiceAccount, k: GcpKey) {
    return {
      name: `projects/${this.project}/serviceAccounts/${sa.email}/keys/${k.id}`,
      validAfterTime: k.validAfter,
      validBeforeTime: FAR,
      keyAlgorithm: 'KEY_ALG_RSA_2048',
      keyOrigin: 'GOOGLE_PROVIDED',
      keyType: 'USER_MANAGED',
      ...(k.disabled ? { disabled: true } : {}),
    };
  }

  /** The bearer's service account, or the error reply (401 unauthenticated, 403 without the right). */
  #caller(r: Request, permission: string): { sa: GcpServiceAccount } | Reply {
    const bearer = /^Bearer (\S+)$/.exec(String(r.headers['authorization'] ?? ''))?.[1];
    const t = bearer ? this.#tokens.get(bearer) : undefined;
    if (!t || t.expiresAt <= this.clock() || !t.email)
      return fail(
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      );
    const me = this.#accounts.get(t.email);
    const target = r.params['sa'] ?? '';
    if (!me || !(me.manages.includes('*') || me.manages.includes(target)))
      return fail(
        403,
        'PERMISSION_DENIED',
        `Permission '${permission}' denied on resource (or it may not exist).`,
      );
    const sa = this.#accounts.get(target);
    if (!sa)
      return fail(
        404,
        'NOT_FOUND',
        `Service account projects/-/serviceAccounts/${target} does not exist.`,
      );
    return { sa };
  }

  #sts(r: Request): Reply {
    const b = (json(r) ?? Object.fromEntries(form(r))) as Record<string, unknown>;
    if (b['grantType'] !== 'urn:ietf:params:oauth:grant-type:token-exchange')
      return oauthFail(
        400,
        'unsupported_grant_type',
        `Unsupported grant type: ${String(b['grantType'])}`,
      );
    if (b['subjectTokenType'] !== 'urn:ietf:params:oauth:token-type:jwt')
      return oauthFail(400, 'invalid_request', 'Invalid subject token type.');
    if (b['audience'] !== `//iam.googleapis.com/${this.wifProvider}`)
      return oauthFail(
        400,
        'invalid_target',
        'The target service indicated by the "audience" parameters is invalid.',
      );
    const claims = b64json(String(b['subjectToken'] ?? '').split('.')[1]);
    if (!claims || claims['iss'] !== GITHUB_ISSUER)
      return oauthFail(
        400,
        'invalid_grant',
        'The issuer in ID Token does not match the expected issuer.',
      );
    if (typeof claims['exp'] !== 'number' || claims['exp'] * 1000 <= this.clock())
      return oauthFail(400, 'invalid_grant', 'The ID Token has expired.');
    const aud = Array.isArray(claims['aud']) ? claims['aud'] : [claims['aud']];
    if (!aud.includes(`https://iam.googleapis.com/${this.wifProvider}`))
      return oauthFail(
        400,
        'invalid_grant',
        'The audience in ID Token does not match the expected audience.',
      );
    const sub = String(claims['sub']);
    if (!this.wifSubject.test(sub))
      return oauthFail(
        403,
        'unauthorized_client',
        'The given credential is rejected by the attribute condition.',
      );
    const t = `ya29.d.${randomBytes(48).toString('base64url')}`;
    this.#tokens.set(t, {
      principal: `principal://iam.googleapis.com/projects/${this.projectNumber}/locations/global/workloadIdentityPools/github/subject/${sub}`,
      expiresAt: this.clock() + 3_600_000,
    });
    this.issued.push(t);
    return {
      status: 200,
      body: {
        access_token: t,
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        expires_in: 3599,
      },
    };
  }

  #generate(r: Request): Reply {
    const [email, method] = (r.params['call'] ?? '').split(':');
    if (method !== 'generateAccessToken') return fail(404, 'NOT_FOUND', 'Method not found.');
    const bearer = /^Bearer (\S+)$/.exec(String(r.headers['authorization'] ?? ''))?.[1];
    const t = bearer ? this.#tokens.get(bearer) : undefined;
    if (!t || t.expiresAt <= this.clock())
      return fail(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    if (!t.principal || !this.impersonable.has(email ?? '') || !this.#accounts.has(email ?? ''))
      return fail(
        403,
        'PERMISSION_DENIED',
        "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
      );
    const body = json(r) as { scope?: unknown } | undefined;
    if (!Array.isArray(body?.scope) || body.scope.length === 0)
      return fail(400, 'INVALID_ARGUMENT', 'Scope required.');
    const token = this.addAccessToken(email!);
    return { status: 200, body: { accessToken: token, expireTime: iso(this.clock() + 3_600_000) } };
  }

  #list(r: Request): Reply {
    const c = this.#caller(r, 'iam.serviceAccountKeys.list');
    if ('status' in c) return c;
    const types = r.query.getAll('keyTypes');
    const keys = c.sa.keys.map((k) => this.#meta(c.sa, k));
    // Google's own (system-managed) key shows unless the listing asks for user-managed ones only.
    if (!types.includes('USER_MANAGED'))
      keys.push({
        ...this.#meta(c.sa, { id: 'f'.repeat(40), validAfter: '2026-01-01T00:00:00Z' } as GcpKey),
        keyType: 'SYSTEM_MANAGED',
        keyOrigin: 'GOOGLE_PROVIDED',
      });
    return { status: 200, body: keys.length ? { keys } : {} };
  }

  #create(r: Request): Reply {
    const c = this.#caller(r, 'iam.serviceAccountKeys.create');
    if ('status' in c) return c;
    const policy = 'constraints/iam.disableServiceAccountKeyCreation';
    if (this.keyCreationDisabled)
      return fail(
        400,
        'FAILED_PRECONDITION',
        `Key creation is not allowed on this service account (${policy}).`,
        [
          {
            '@type': 'type.googleapis.com/google.rpc.PreconditionFailure',
            violations: [
              {
                type: policy,
                subject: `projects/${this.project}`,
                description: 'Key creation is not allowed on this service account.',
              },
            ],
          },
        ],
      );
    const b = (json(r) ?? {}) as Record<string, unknown>;
    if (b['privateKeyType'] !== undefined && b['privateKeyType'] !== 'TYPE_GOOGLE_CREDENTIALS_FILE')
      return fail(400, 'INVALID_ARGUMENT', 'Invalid private key type.');
    if (c.sa.keys.length >= KEY_LIMIT)
      return fail(400, 'FAILED_PRECONDITION', 'Precondition check failed.');
    const k = this.#newKey(c.sa, this.propagationDelayMs);
    c.sa.keys.push(k);
    this.#created += 1;
    return {
      status: 200,
      body: {
        ...this.#meta(c.sa, k),
        privateKeyType: 'TYPE_GOOGLE_CREDENTIALS_FILE',
        privateKeyData: Buffer.from(k.file).toString('base64'),
      },
    };
  }

  #key(r: Request, how: 'get' | 'post' | 'delete'): Reply {
    const [id, verb] = (r.params['key'] ?? '').split(':');
    const permission = `iam.serviceAccountKeys.${how === 'post' ? (verb ?? 'get') : how}`;
    const c = this.#caller(r, permission);
    if ('status' in c) return c;
    const k = c.sa.keys.find((x) => x.id === id);
    if (!k)
      return fail(
        404,
        'NOT_FOUND',
        `Service account key projects/-/serviceAccounts/${c.sa.email}/keys/${id} does not exist.`,
      );
    if (how === 'get') return { status: 200, body: this.#meta(c.sa, k) };
    if (how === 'delete') {
      c.sa.keys = c.sa.keys.filter((x) => x !== k);
      this.deleted.push({ id: k.id, email: c.sa.email, file: k.file, wasDisabled: k.disabled });
      return { status: 200, body: {} };
    }
    if (verb !== 'disable' && verb !== 'enable') return fail(404, 'NOT_FOUND', 'Method not found.');
    k.disabled = verb === 'disable';
    return { status: 200, body: {} };
  }

  /** The JWT bearer grant: a JWT signed with a service account key's private key. */
  #token(r: Request): Reply {
    const f = form(r);
    if (f.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return oauthFail(400, 'unsupported_grant_type', 'Invalid grant_type.');
    const parts = (f.get('assertion') ?? '').split('.');
    const head = b64json(parts[0]);
    const claims = b64json(parts[1]);
    if (parts.length !== 3 || !head || !claims || head['alg'] !== 'RS256')
      return oauthFail(
        400,
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.',
      );
    const sa = this.#accounts.get(String(claims['iss']));
    if (!sa) return oauthFail(400, 'invalid_grant', 'Invalid grant: account not found');
    if (claims['aud'] !== this.tokenUrl)
      return oauthFail(400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
    const iat = Number(claims['iat']);
    const exp = Number(claims['exp']);
    const nowS = this.clock() / 1000;
    if (!(iat <= nowS + 300 && exp > nowS && exp - iat <= 3600))
      return oauthFail(
        400,
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.',
      );
    // A key not known yet everywhere, disabled or deleted signs nothing: Google says the signature is invalid.
    const k = sa.keys.find((x) => x.id === head['kid']);
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (
      !k ||
      k.disabled ||
      this.clock() < k.usableAt ||
      !verify('sha256', signed, k.publicKey, Buffer.from(parts[2]!, 'base64url'))
    )
      return oauthFail(400, 'invalid_grant', 'Invalid JWT Signature.');
    const token = this.addAccessToken(sa.email);
    return { status: 200, body: { access_token: token, expires_in: 3599, token_type: 'Bearer' } };
  }
}

/** The public half of a key file's private key, for tests. */
export function publicKeyOf(file: string): KeyObject {
  return createPublicKey(String((JSON.parse(file) as Record<string, unknown>)['private_key']));
}

export async function startGcp(o: GcpOptions = {}): Promise<GcpEmulator> {
  return new GcpEmulator(o).listen();
}
