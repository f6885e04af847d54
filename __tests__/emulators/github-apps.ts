// GitHub Apps for the GitHub emulator: Apps with real RSA keys, their installations on accounts, the
// JWT that signs an App in (RS256 signature and claims checked as GitHub does), and the installation
// tokens it mints, each limited to the permissions and repositories it was minted with.
import {
  createVerify,
  generateKeyPairSync,
  type KeyObject,
  type KeyPairKeyObjectResult,
  randomBytes,
} from 'node:crypto';

export type Access = 'read' | 'write';

export interface App {
  readonly id: number;
  readonly clientId: string;
  readonly slug: string;
  /** PKCS#1 PEM, as GitHub's App settings download it. */
  readonly privateKey: string;
  readonly publicKey: KeyObject;
}

export interface Installation {
  readonly id: number;
  readonly appId: number;
  readonly account: string;
  readonly accountType: 'Organization' | 'User';
  /** Lower-case full names, or `all`. */
  readonly repositories: 'all' | readonly string[];
  readonly permissions: Readonly<Record<string, Access>>;
}

export interface MintedToken {
  readonly token: string;
  readonly installationId: number;
  readonly account: string;
  readonly permissions: Readonly<Record<string, Access>>;
  /** Lower-case full names the token is limited to, or undefined: the installation's. */
  readonly repositories: readonly string[] | undefined;
  readonly expiresAt: number;
  revoked: boolean;
}

/** What a request is signed in as. */
export type Principal =
  | { readonly kind: 'app'; readonly app: App }
  | { readonly kind: 'installation'; readonly token: MintedToken }
  | { readonly kind: 'denied'; readonly message: string };

/** Every permission an App installation grants unless a test says otherwise (Issues: the failure issue's). */
export const ALL_SECRETS: Readonly<Record<string, Access>> = {
  issues: 'write',
  secrets: 'write',
  environments: 'write',
  dependabot_secrets: 'write',
  codespaces_secrets: 'write',
  actions_variables: 'write',
  metadata: 'read',
  organization_secrets: 'write',
  organization_dependabot_secrets: 'write',
  organization_codespaces_secrets: 'write',
  organization_actions_variables: 'write',
};

/**
 * RSA key pairs, made once per process: the n-th App of every emulator gets the n-th pair (a 2048-bit
 * key costs up to a few hundred ms on a loaded machine, and the invariant search starts many worlds).
 */
const keyPairs: KeyPairKeyObjectResult[] = [];
function keyPair(n: number): KeyPairKeyObjectResult {
  while (keyPairs.length <= n) keyPairs.push(generateKeyPairSync('rsa', { modulusLength: 2048 }));
  return keyPairs[n]!;
}

export class Apps {
  readonly apps = new Map<number, App>();
  readonly installations = new Map<number, Installation>();
  /** Every token minted, in order: tests assert on permissions, repositories and revocation. */
  readonly minted: MintedToken[] = [];
  #nextId = 3100;
  readonly #clock: () => number;

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  add(o: { slug?: string } = {}): App {
    const { privateKey, publicKey } = keyPair(this.apps.size);
    const id = this.#nextId++;
    const app: App = {
      id,
      clientId: `Iv23li${randomBytes(7).toString('hex')}`,
      slug: o.slug ?? `rotator-${id}`,
      privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      publicKey,
    };
    this.apps.set(id, app);
    return app;
  }

  install(
    appId: number,
    account: string,
    o: {
      type?: 'Organization' | 'User';
      repos?: readonly string[];
      permissions?: Record<string, Access>;
    } = {},
  ): Installation {
    const inst: Installation = {
      id: this.#nextId++,
      appId,
      account,
      accountType: o.type ?? 'Organization',
      repositories: o.repos ? o.repos.map((r) => r.toLowerCase()) : 'all',
      permissions: o.permissions ?? ALL_SECRETS,
    };
    this.installations.set(inst.id, inst);
    return inst;
  }

  /** Who signs a request: an App by its JWT, an installation by its token, or nobody known. */
  principal(credential: string): Principal | undefined {
    if (credential.split('.').length === 3) return this.#jwt(credential);
    const token = this.minted.find((t) => t.token === credential);
    if (!token) return undefined;
    if (token.revoked || this.#clock() >= token.expiresAt)
      return { kind: 'denied', message: 'Bad credentials' };
    return { kind: 'installation', token };
  }

  installationOf(appId: number, account: string): Installation | undefined {
    return [...this.installations.values()].find(
      (i) => i.appId === appId && i.account.toLowerCase() === account.toLowerCase(),
    );
  }

  /** Can this installation (and token) reach repository `fullName`? */
  reaches(inst: Installation, token: MintedToken | undefined, fullName: string): boolean {
    const k = fullName.toLowerCase();
    if (k.split('/')[0] !== inst.account.toLowerCase()) return false;
    if (inst.repositories !== 'all' && !inst.repositories.includes(k)) return false;
    return !token?.repositories || token.repositories.includes(k);
  }

  /** Mints a token, refusing (422) what the installation does not grant; `exists` says if a repository exists. */
  mint(
    inst: Installation,
    body: { repositories?: string[]; permissions?: Record<string, Access> },
    exists: (fullName: string) => boolean,
  ): { token: MintedToken } | { error: string } {
    const permissions = body.permissions ?? inst.permissions;
    for (const [name, access] of Object.entries(permissions)) {
      const granted = inst.permissions[name];
      if (!granted || (access === 'write' && granted !== 'write'))
        return { error: 'The permissions requested are not granted to this installation.' };
    }
    const repositories = body.repositories?.map((r) => `${inst.account}/${r}`.toLowerCase());
    if (repositories?.some((r) => !exists(r) || !this.reaches(inst, undefined, r)))
      return {
        error:
          'There is at least one repository that does not exist or is not accessible to the parent installation.',
      };
    const token: MintedToken = {
      token: `ghs_${randomBytes(18).toString('hex')}`,
      installationId: inst.id,
      account: inst.account,
      permissions,
      repositories,
      expiresAt: this.#clock() + 3_600_000,
      revoked: false,
    };
    this.minted.push(token);
    return { token };
  }

  /** GitHub's JWT rules: RS256 signed by the App's key, iss the App's ID or Client ID, iat in the past, exp at most ten minutes ahead. */
  #jwt(jwt: string): Principal {
    const denied = (why: string): Principal => ({ kind: 'denied', message: why });
    const [h, p, sig] = jwt.split('.') as [string, string, string];
    let header: { alg?: unknown };
    let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    } catch {
      return denied('A JSON web token could not be decoded');
    }
    if (header.alg !== 'RS256') return denied('A JSON web token could not be decoded');
    const app = [...this.apps.values()].find(
      (a) => String(claims.iss) === String(a.id) || claims.iss === a.clientId,
    );
    if (!app) return denied('Integration not found');
    const ok = createVerify('RSA-SHA256')
      .update(`${h}.${p}`)
      .verify(app.publicKey, Buffer.from(sig, 'base64url'));
    if (!ok) return denied('A JSON web token could not be decoded');
    const now = Math.floor(this.#clock() / 1000);
    if (typeof claims.iat !== 'number' || claims.iat > now)
      return denied(
        "'Issued at' claim ('iat') must be an Integer representing a time in the past.",
      );
    if (typeof claims.exp !== 'number' || claims.exp <= now)
      return denied(
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.",
      );
    if (claims.exp > now + 600 || claims.exp - claims.iat > 660)
      return denied("'Expiration time' claim ('exp') is too far in the future.");
    return { kind: 'app', app };
  }
}

/** The permission a secrets call needs, by scope: reads need read, writes need write. */
export function permissionFor(
  scope: 'repo' | 'env' | 'dependabot' | 'org' | 'dependabot-org' | 'codespaces' | 'codespaces-org',
): string {
  return {
    repo: 'secrets',
    env: 'environments',
    dependabot: 'dependabot_secrets',
    org: 'organization_secrets',
    'dependabot-org': 'organization_dependabot_secrets',
    codespaces: 'codespaces_secrets',
    'codespaces-org': 'organization_codespaces_secrets',
  }[scope];
}

export function allows(token: MintedToken, permission: string, method: string): boolean {
  const has = token.permissions[permission];
  return method === 'GET' ? has === 'read' || has === 'write' : has === 'write';
}
