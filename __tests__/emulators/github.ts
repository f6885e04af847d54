// GitHub's secrets REST API on loopback. Every scope holds a real X25519 key pair, every request is
// validated against GitHub's OpenAPI description, and every stored value is opened with the scope's
// private key, so tests compare plaintext.
import { randomBytes, randomInt } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import {
  allows,
  Apps,
  type Installation,
  type MintedToken,
  permissionFor,
  type Principal,
} from './github-apps.ts';
import { type Checked, checkRequest, checkResponse } from './github-openapi.ts';
import { Emulator, type EmulatorOptions, type Reply, type Request } from './server.ts';

await sodium.ready;

export interface StoredSecret {
  readonly value: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly visibility?: string;
  readonly selected_repository_ids?: number[];
}

interface Scope {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
  readonly secrets: Map<string, StoredSecret>;
}

export interface StoredVariable {
  readonly name: string;
  readonly value: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly visibility?: string;
  readonly selected_repository_ids?: number[];
}

interface Repo {
  readonly id: number;
  readonly fullName: string;
  readonly environments: Set<string>;
  readonly archived: boolean;
  readonly disabled: boolean;
  readonly topics: readonly string[];
}

/** An issue as the emulator keeps it, comments included, for assertions. */
export interface EmulatedIssue {
  readonly repo: string;
  readonly number: number;
  readonly title: string;
  readonly body: string;
  readonly labels: string[];
  state: 'open' | 'closed';
  stateReason: string | null;
  readonly comments: string[];
}

/**
 * GitHub's documented secondary rate limits ("Rate limits for the REST API"), each off unless set,
 * counted on the emulator's clock: requests in flight at once (100), points per minute (900; a GET
 * costs 1, any other method 5), content-creating requests (POST, PUT, PATCH) per minute (80) and per
 * hour (500). A request over a limit is answered 403 with the secondary-limit message and a
 * Retry-After of the seconds until the window lets it through, and counts toward nothing.
 */
export interface GitHubLimits {
  readonly concurrent?: number;
  readonly pointsPerMinute?: number;
  readonly contentPerMinute?: number;
  readonly contentPerHour?: number;
}

export interface GitHubOptions extends EmulatorOptions {
  readonly token?: string;
  /** Every scope's key_id is the same string while the keys differ: proves keys are not reused across scopes. */
  readonly sameKeyIds?: boolean;
  /** Serve the API under this path, as GitHub Enterprise Server does (`/api/v3`); default: the root. */
  readonly prefix?: string;
}

/** GitHub stamps times to the second. */
const stamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const notFound: Reply = {
  status: 404,
  body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' },
};

export class GitHubEmulator extends Emulator {
  readonly token: string;
  /** What the job's GITHUB_TOKEN gets: reads work, secrets do not. */
  readonly readOnlyToken = `ghs_readonly${randomBytes(12).toString('hex')}`;
  readonly oidcRequestToken = `oidc-request-${randomBytes(12).toString('hex')}`;
  readonly issuedOidcTokens: string[] = [];
  readonly oidcAudiences: string[] = [];
  /** Requests or answers that GitHub's OpenAPI description does not allow; tests expect none. */
  readonly violations: string[] = [];
  readonly #repos = new Map<string, Repo>();
  readonly #orgs = new Set<string>();
  readonly #scopes = new Map<string, Scope>();
  readonly #frozen = new Set<string>();
  /** Actions variables per scope (`repo:o/r`, `env:o/r:ENV`, `org:ORG`), by upper-case name. */
  readonly #variables = new Map<string, Map<string, StoredVariable>>();
  /** What the token may do with variables: a fine-grained token without "Variables" gets 403. */
  variablesAccess: 'write' | 'read' | 'none' = 'write';
  readonly #sameKeyIds: boolean;
  readonly #prefix: string;
  #nextId = 1000;
  /** GitHub Apps, their installations and the tokens they minted. */
  readonly apps: Apps;
  /** The secondary limits in force (none by default). */
  limits: GitHubLimits = {};
  /** Requests answered 403 by a limit: which one, and when (emulator clock). */
  readonly limited: { readonly limit: keyof GitHubLimits; readonly at: number }[] = [];
  /** Each principal's windows (an installation, an App by its JWT, a token): GitHub counts per user or App. */
  readonly #windows = new Map<
    string,
    { points: { at: number; cost: number }[]; content: number[] }
  >();
  readonly #issues: EmulatedIssue[] = [];
  /** Logins of tokens without "Issues: write": their issue writes answer 403. */
  readonly #issuesReadOnly = new Set<string>();

  constructor(o: GitHubOptions = {}) {
    super(o);
    this.token = o.token ?? 'ghs_emulatortoken000000000000000000000';
    this.#sameKeyIds = o.sameKeyIds ?? false;
    this.#prefix = o.prefix ?? '';
    this.apps = new Apps(this.clock);
    for (const method of ['GET', 'PUT', 'DELETE', 'POST', 'PATCH'])
      this.route(method, '/*path', (r) => this.#serve(r));
  }

  /** The API's base URL: the root, or under the prefix (GHES: `/api/v3`). */
  get apiUrl(): string {
    return `${this.url}${this.#prefix}`;
  }

  /** Every installation token minted and every App private key, for leak scans. */
  appSecrets(): string[] {
    return [
      ...this.apps.minted.map((t) => t.token),
      ...[...this.apps.apps.values()].flatMap((a) => [
        a.privateKey,
        ...a.privateKey.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----')),
      ]),
    ];
  }

  get oidcRequestUrl(): string {
    return `${this.url}/_oidc/token?api-version=2.0`;
  }

  addRepo(
    fullName: string,
    o: {
      id?: number;
      environments?: readonly string[];
      archived?: boolean;
      disabled?: boolean;
      topics?: readonly string[];
    } = {},
  ): void {
    this.#repos.set(fullName.toLowerCase(), {
      id: o.id ?? this.#nextId++,
      fullName,
      environments: new Set(o.environments ?? []),
      archived: o.archived ?? false,
      disabled: o.disabled ?? false,
      topics: o.topics ?? [],
    });
  }

  addOrg(org: string): void {
    this.#orgs.add(org.toLowerCase());
  }

  /**
   * `scope`: `repo:o/r`, `env:o/r:ENV`, `org:ORG`, `dependabot:o/r`, `dependabot-org:ORG`,
   * `codespaces:o/r`, `codespaces-org:ORG`.
   */
  secret(scope: string, name: string): StoredSecret | undefined {
    return this.#scope(scope).secrets.get(name.toUpperCase());
  }

  seedSecret(scope: string, name: string, value: string, updatedAt = stamp(this.clock())): void {
    this.#scope(scope).secrets.set(name.toUpperCase(), {
      value,
      created_at: updatedAt,
      updated_at: updatedAt,
    });
  }

  /** Sets who may read an org secret (`org:ORG` or `dependabot-org:ORG`), as GitHub's UI would. */
  setAccess(
    scope: string,
    name: string,
    access: { visibility: 'all' | 'private' | 'selected'; repos?: readonly string[] },
  ): void {
    const secrets = this.#scope(scope).secrets;
    const s = secrets.get(name.toUpperCase());
    if (!s) throw new Error(`no secret ${name} in ${scope}`);
    const ids = (access.repos ?? []).map((r) => {
      const repo = this.#repos.get(r.toLowerCase());
      if (!repo) throw new Error(`no repository ${r}`);
      return repo.id;
    });
    secrets.set(name.toUpperCase(), {
      ...s,
      visibility: access.visibility,
      ...(access.visibility === 'selected' ? { selected_repository_ids: ids } : {}),
    });
  }

  /** The full names of the repositories an org secret is scoped to, for assertions. */
  selectedRepos(scope: string, name: string): string[] {
    const ids = this.secret(scope, name)?.selected_repository_ids ?? [];
    return ids.map(
      (id) => [...this.#repos.values()].find((r) => r.id === id)?.fullName ?? `#${id}`,
    );
  }

  /** `scope`: `repo:o/r`, `env:o/r:ENV`, `org:ORG`. */
  variable(scope: string, name: string): StoredVariable | undefined {
    return this.#variables.get(scope)?.get(name.toUpperCase());
  }

  seedVariable(
    scope: string,
    name: string,
    value: string,
    access: { visibility?: 'all' | 'private' | 'selected'; repos?: readonly string[] } = {},
  ): void {
    const at = stamp(this.clock());
    this.#variableScope(scope).set(name.toUpperCase(), {
      name: name.toUpperCase(),
      value,
      created_at: at,
      updated_at: at,
      ...(access.visibility ? { visibility: access.visibility } : {}),
      ...(access.visibility === 'selected'
        ? { selected_repository_ids: (access.repos ?? []).map((r) => this.#repoOf(r).id) }
        : {}),
    });
  }

  /** The full names of the repositories an org variable is scoped to, for assertions. */
  variableRepos(scope: string, name: string): string[] {
    return (this.variable(scope, name)?.selected_repository_ids ?? []).map(
      (id) => [...this.#repos.values()].find((r) => r.id === id)?.fullName ?? `#${id}`,
    );
  }

  #variableScope(scope: string): Map<string, StoredVariable> {
    let v = this.#variables.get(scope);
    if (!v) {
      v = new Map();
      this.#variables.set(scope, v);
    }
    return v;
  }

  #repoOf(fullName: string): Repo {
    const repo = this.#repos.get(fullName.toLowerCase());
    if (!repo) throw new Error(`no repository ${fullName}`);
    return repo;
  }

  publicKey(scope: string): { key_id: string; key: string } {
    const s = this.#scope(scope);
    return { key_id: s.keyId, key: Buffer.from(s.publicKey).toString('base64') };
  }

  /** Every stored plaintext of secrets called `name`, in any scope, for leak scans. */
  allValues(name: string): string[] {
    return [...this.#scopes.values()].flatMap((s) =>
      [...s.secrets.entries()].filter(([n]) => n === name.toUpperCase()).map(([, v]) => v.value),
    );
  }

  /**
   * PUTs in `scope` (or everywhere) answer success (204, or 201 for a new secret) but change nothing,
   * updated_at included: a write that claims success and did nothing. `variables:SCOPE` does the same
   * to variable updates (PATCH) alone. (A write answered with a redirect: `fault()` with a 3xx status,
   * `afterEffect` when the write happened all the same.) Like GitHub, updated_at and the Date header
   * have second precision, both from the emulator's clock.
   */
  freezeUpdates(scope = '*'): void {
    this.#frozen.add(scope);
  }

  /** Answers 403 with GitHub's secondary rate limit message, as @octokit/plugin-throttling expects it. */
  secondaryRateLimit(
    method: string,
    path: RegExp,
    o: { times: number; retryAfterSeconds: number },
  ): void {
    this.fault(method, path, {
      status: 403,
      times: o.times,
      headers: { 'retry-after': String(o.retryAfterSeconds) },
      body: {
        message:
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      },
    });
  }

  /** The 403 of the first limit this request would break, or undefined after counting it. */
  #overLimit(method: string, who: string): Reply | undefined {
    const l = this.limits;
    let w = this.#windows.get(who);
    if (!w) this.#windows.set(who, (w = { points: [], content: [] }));
    const points = w.points;
    const content = w.content;
    const t = this.clock();
    const cost = method === 'GET' ? 1 : 5;
    const creates = ['POST', 'PUT', 'PATCH'].includes(method);
    const minute = t - 60_000;
    const hour = t - 3_600_000;
    while (points.length > 0 && points[0]!.at <= minute) points.shift();
    while (content.length > 0 && content[0]! <= hour) content.shift();
    const perMinute = content.filter((at) => at > minute);
    /** Seconds until the entry at `index` of a window leaves it. */
    const until = (at: number | undefined, windowMs: number): number =>
      Math.max(1, Math.ceil(((at ?? t) + windowMs - t) / 1000));
    let limit: keyof GitHubLimits | undefined;
    let after = 60;
    if (l.concurrent !== undefined && this.inFlight > l.concurrent) limit = 'concurrent';
    else if (l.pointsPerMinute !== undefined) {
      let sum = points.reduce((a, p) => a + p.cost, 0) + cost;
      if (sum > l.pointsPerMinute) {
        limit = 'pointsPerMinute';
        let i = 0;
        while (sum > l.pointsPerMinute && i < points.length) sum -= points[i++]!.cost;
        after = until(points[i - 1]?.at, 60_000);
      }
    }
    if (
      !limit &&
      creates &&
      l.contentPerMinute !== undefined &&
      perMinute.length >= l.contentPerMinute
    ) {
      limit = 'contentPerMinute';
      after = until(perMinute[perMinute.length - l.contentPerMinute], 60_000);
    }
    if (!limit && creates && l.contentPerHour !== undefined && content.length >= l.contentPerHour) {
      limit = 'contentPerHour';
      after = until(content[content.length - l.contentPerHour], 3_600_000);
    }
    if (limit) {
      this.limited.push({ limit, at: t });
      return {
        status: 403,
        headers: { 'retry-after': String(after) },
        body: {
          message:
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
          documentation_url:
            'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        },
      };
    }
    points.push({ at: t, cost });
    if (creates) content.push(t);
    return undefined;
  }

  #scope(key: string): Scope {
    let s = this.#scopes.get(key);
    if (!s) {
      const { publicKey, privateKey } = sodium.crypto_box_keypair();
      s = {
        keyId: this.#sameKeyIds ? '568250167242549743' : String(randomInt(1e11, 1e12)),
        publicKey,
        privateKey,
        secrets: new Map(),
      };
      this.#scopes.set(key, s);
    }
    return s;
  }

  async #serve(request: Request): Promise<Reply> {
    if (request.path === '/_oidc/token') return this.#oidc(request);
    if (!request.path.startsWith(`${this.#prefix}/`)) return notFound;
    const r: Request = { ...request, path: request.path.slice(this.#prefix.length) };
    const auth = /^(?:token|bearer) (.+)$/i.exec(r.headers.authorization ?? '')?.[1];
    const principal = auth === undefined ? undefined : this.apps.principal(auth);
    if (principal?.kind === 'denied') return { status: 401, body: { message: principal.message } };
    if (!principal && auth !== this.token && auth !== this.readOnlyToken)
      return { status: 401, body: { message: 'Bad credentials' } };
    const who =
      principal?.kind === 'installation'
        ? `installation:${principal.token.installationId}`
        : principal?.kind === 'app'
          ? `app:${principal.app.id}`
          : `token:${auth}`;
    const over = this.#overLimit(r.method, who);
    if (over) return over;
    let body: unknown;
    if (r.text !== '') {
      try {
        body = JSON.parse(r.text);
      } catch {
        return { status: 400, body: { message: 'Problems parsing JSON' } };
      }
    }
    const checked = checkRequest(r.method, r.path, body);
    if (checked.errors.length > 0) {
      this.violations.push(...checked.errors);
      return { status: 422, body: { message: 'Invalid request.', errors: checked.errors } };
    }
    const reply =
      principal?.kind === 'app' || APP_PATHS.test(r.path)
        ? this.#app(r, body, principal)
        : this.#dispatch(r, body, auth === this.readOnlyToken, checked, principal?.token);
    this.violations.push(...checkResponse(checked, r.method, reply.status, reply.body));
    return reply;
  }

  #dispatch(
    r: Request,
    body: unknown,
    readOnly: boolean,
    checked: Checked,
    token: MintedToken | undefined,
  ): Reply {
    const repoOnly = /^\/repos\/([^/]+)\/([^/]+)$/.exec(r.path);
    if (repoOnly && r.method === 'GET') {
      const repo = this.#repos.get(
        `${decodeURIComponent(repoOnly[1]!)}/${decodeURIComponent(repoOnly[2]!)}`.toLowerCase(),
      );
      return repo && (!token || this.#reaches(token, repo.fullName))
        ? {
            status: 200,
            body: {
              id: repo.id,
              name: repo.fullName.split('/')[1],
              full_name: repo.fullName,
              owner: { login: repo.fullName.split('/')[0] },
            },
          }
        : notFound;
    }
    if (!checked.template) return notFound;
    const listing = this.#listing(r, token);
    if (listing) return listing;
    const issuePath = /^\/repos\/([^/]+)\/([^/]+)\/issues(?:\/(\d+)(\/comments)?)?$/.exec(r.path);
    if (issuePath)
      return this.#issue(r, body as Record<string, unknown> | undefined, issuePath, token);
    if (/\/variables(\/|$)/.test(r.path)) return this.#variablesApi(r, body, readOnly, token);
    const m =
      /^\/(?:repos\/([^/]+)\/([^/]+)\/(actions|dependabot|codespaces|environments\/([^/]+))|orgs\/([^/]+)\/(actions|dependabot|codespaces))\/secrets(?:\/([^/]+)(\/repositories)?)?$/.exec(
        r.path,
      );
    if (!m) return notFound;
    const [, owner, name, repoKind, env, org, orgKind, last, repositories] = m.map((x) =>
      x === undefined ? undefined : decodeURIComponent(x),
    );
    let scopeKey: string;
    if (org !== undefined) {
      if (!this.#orgs.has(org.toLowerCase())) return notFound;
      scopeKey = `${orgKind === 'actions' ? 'org' : `${orgKind}-org`}:${org.toLowerCase()}`;
    } else {
      const repo = this.#repos.get(`${owner}/${name}`.toLowerCase());
      if (!repo) return notFound;
      if (env !== undefined && !repo.environments.has(env)) return notFound;
      const full = `${owner}/${name}`.toLowerCase();
      scopeKey =
        env !== undefined
          ? `env:${full}:${env}`
          : `${repoKind === 'actions' ? 'repo' : repoKind}:${full}`;
    }
    const kind = scopeKey.split(':')[0] as Parameters<typeof permissionFor>[0];
    const refused = this.#refuses(token, r.method, org, `${owner}/${name}`, permissionFor(kind));
    if (refused) return refused;
    const scope = this.#scope(scopeKey);
    const isOrg = org !== undefined;
    if (last === 'public-key' && r.method === 'GET') {
      if (readOnly)
        return { status: 403, body: { message: 'Resource not accessible by integration' } };
      return {
        status: 200,
        body: { key_id: scope.keyId, key: Buffer.from(scope.publicKey).toString('base64') },
      };
    }
    if (last === undefined) return notFound;
    const secretName = last.toUpperCase();
    if (repositories !== undefined) {
      if (r.method !== 'GET') return notFound; // changing the list is described but not emulated
      const s = scope.secrets.get(secretName);
      return s && s.visibility === 'selected' ? this.#selected(r, s) : notFound;
    }
    if (r.method === 'GET') {
      const s = scope.secrets.get(secretName);
      if (!s) return notFound;
      const out: Record<string, unknown> = {
        name: secretName,
        created_at: s.created_at,
        updated_at: s.updated_at,
      };
      if (isOrg) out['visibility'] = s.visibility ?? 'private';
      if (isOrg && s.visibility === 'selected')
        out['selected_repositories_url'] = `${this.url}${r.path}/repositories`;
      return { status: 200, body: out };
    }
    if (r.method === 'DELETE') return scope.secrets.delete(secretName) ? { status: 204 } : notFound;
    if (r.method !== 'PUT') return notFound;
    if (readOnly)
      return { status: 403, body: { message: 'Resource not accessible by integration' } };
    return this.#put(scopeKey, scope, secretName, body as Record<string, unknown>, isOrg);
  }

  #put(
    scopeKey: string,
    scope: Scope,
    name: string,
    body: Record<string, unknown>,
    isOrg: boolean,
  ): Reply {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name) || name.startsWith('GITHUB_'))
      return {
        status: 422,
        body: { message: 'Secret names can only contain alphanumeric characters or underscores' },
      };
    if (body['key_id'] !== scope.keyId)
      return { status: 422, body: { message: 'Bad request: key_id does not match' } };
    let value: string;
    try {
      value = sodium.to_string(
        sodium.crypto_box_seal_open(
          Buffer.from(String(body['encrypted_value']), 'base64'),
          scope.publicKey,
          scope.privateKey,
        ),
      );
    } catch {
      return { status: 422, body: { message: 'Bad request: could not decrypt' } };
    }
    const existing = scope.secrets.get(name);
    if (this.#frozen.has('*') || this.#frozen.has(scopeKey))
      return { status: existing ? 204 : 201, ...(existing ? {} : { body: {} }) };
    const now = stamp(this.clock());
    const stored: StoredSecret = {
      value,
      created_at: existing?.created_at ?? now,
      updated_at: now,
      ...(isOrg ? { visibility: String(body['visibility'] ?? 'private') } : {}),
      ...(isOrg && Array.isArray(body['selected_repository_ids'])
        ? { selected_repository_ids: (body['selected_repository_ids'] as unknown[]).map(Number) }
        : {}),
    };
    scope.secrets.set(name, stored);
    return existing ? { status: 204 } : { status: 201, body: {} };
  }

  /**
   * Repository listings, paginated as GitHub does (`per_page` up to 100, `page`): an organization's
   * (`GET /orgs/{org}/repos`), a user's (`GET /users/{u}/repos`, 404 for an organization or nobody),
   * and the installation's (`GET /installation/repositories`: every repository, as full objects).
   * A minted installation token lists only the repositories it reaches.
   */
  #listing(r: Request, token: MintedToken | undefined): Reply | undefined {
    if (r.method !== 'GET') return undefined;
    const org = /^\/orgs\/([^/]+)\/repos$/.exec(r.path)?.[1];
    const user = /^\/users\/([^/]+)\/repos$/.exec(r.path)?.[1];
    const installation = r.path === '/installation/repositories';
    if (org === undefined && user === undefined && !installation) return undefined;
    const owner = decodeURIComponent(org ?? user ?? '').toLowerCase();
    const owned = [...this.#repos.values()].filter(
      (x) =>
        (installation || x.fullName.split('/')[0]!.toLowerCase() === owner) &&
        (!token || this.#reaches(token, x.fullName)),
    );
    if (org !== undefined && !this.#orgs.has(owner)) return notFound;
    if (user !== undefined && (this.#orgs.has(owner) || owned.length === 0)) return notFound;
    const perPage = Math.min(Number(r.query.get('per_page') ?? 30) || 30, 100);
    const page = Math.max(Number(r.query.get('page') ?? 1) || 1, 1);
    const slice = owned.slice((page - 1) * perPage, page * perPage);
    const listed = (x: Repo): Record<string, unknown> => ({
      ...this.#minimal(x),
      archived: x.archived,
      disabled: x.disabled,
      topics: [...x.topics],
    });
    if (!installation) return { status: 200, body: slice.map(listed) };
    return {
      status: 200,
      body: { total_count: owned.length, repositories: slice.map((x) => this.#full(x, listed(x))) },
    };
  }

  /** GitHub's full "Repository" object: the listed fields plus every other one its description requires. */
  #full(repo: Repo, listed: Record<string, unknown>): Record<string, unknown> {
    const at = stamp(this.clock());
    return {
      ...listed,
      clone_url: `https://github.com/${repo.fullName}.git`,
      default_branch: 'main',
      forks: 0,
      forks_count: 0,
      git_url: `git://github.com/${repo.fullName}.git`,
      has_downloads: true,
      has_issues: true,
      has_projects: true,
      has_wiki: true,
      has_pages: false,
      homepage: null,
      language: null,
      mirror_url: null,
      open_issues: 0,
      open_issues_count: 0,
      license: null,
      pushed_at: at,
      size: 0,
      ssh_url: `git@github.com:${repo.fullName}.git`,
      stargazers_count: 0,
      svn_url: `https://github.com/${repo.fullName}`,
      watchers: 0,
      watchers_count: 0,
      created_at: at,
      updated_at: at,
    };
  }

  /** Actions variables of repositories, environments and organizations. */
  #variablesApi(
    r: Request,
    body: unknown,
    readOnly: boolean,
    token: MintedToken | undefined,
  ): Reply {
    const m =
      /^\/(?:repos\/([^/]+)\/([^/]+)\/(?:actions|environments\/([^/]+))|orgs\/([^/]+)\/actions)\/variables(?:\/([^/]+)(\/repositories)?)?$/.exec(
        r.path,
      );
    if (!m) return notFound;
    const [, owner, name, env, org, last, repositories] = m.map((x) =>
      x === undefined ? undefined : decodeURIComponent(x),
    );
    let scopeKey: string;
    if (org !== undefined) {
      if (!this.#orgs.has(org.toLowerCase())) return notFound;
      scopeKey = `org:${org.toLowerCase()}`;
    } else {
      const repo = this.#repos.get(`${owner}/${name}`.toLowerCase());
      if (!repo) return notFound;
      if (env !== undefined && !repo.environments.has(env)) return notFound;
      const full = `${owner}/${name}`.toLowerCase();
      scopeKey = env !== undefined ? `env:${full}:${env}` : `repo:${full}`;
    }
    const refused = this.#refuses(
      token,
      r.method,
      org,
      `${owner}/${name}`,
      {
        org: 'organization_actions_variables',
        env: 'environments',
        repo: 'actions_variables',
      }[scopeKey.split(':')[0]!]!,
    );
    if (refused) return refused;
    const forbidden: Reply = {
      status: 403,
      body: { message: 'Resource not accessible by personal access token' },
    };
    const writing = r.method !== 'GET';
    if (
      this.variablesAccess === 'none' ||
      (writing && (readOnly || this.variablesAccess === 'read'))
    )
      return forbidden;
    const isOrg = org !== undefined;
    const vars = this.#variableScope(scopeKey);
    const now = stamp(this.clock());
    const out = (v: StoredVariable): Record<string, unknown> => ({
      name: v.name,
      value: v.value,
      created_at: v.created_at,
      updated_at: v.updated_at,
      ...(isOrg ? { visibility: v.visibility ?? 'private' } : {}),
      ...(isOrg && v.visibility === 'selected'
        ? { selected_repositories_url: `${this.url}${r.path}/repositories` }
        : {}),
    });
    const access = (b: Record<string, unknown>, old?: StoredVariable) =>
      isOrg
        ? {
            visibility: String(b['visibility'] ?? old?.visibility ?? 'private'),
            ...(Array.isArray(b['selected_repository_ids'])
              ? { selected_repository_ids: (b['selected_repository_ids'] as unknown[]).map(Number) }
              : old?.selected_repository_ids
                ? { selected_repository_ids: old.selected_repository_ids }
                : {}),
          }
        : {};
    if (last === undefined) {
      if (r.method === 'GET') {
        const perPage = Math.min(Number(r.query.get('per_page') ?? 10) || 10, 30);
        const page = Math.max(Number(r.query.get('page') ?? 1) || 1, 1);
        const all = [...vars.values()];
        return {
          status: 200,
          body: {
            total_count: all.length,
            variables: all.slice((page - 1) * perPage, page * perPage).map(out),
          },
        };
      }
      if (r.method !== 'POST') return notFound;
      const b = body as Record<string, unknown>;
      const key = String(b['name']).toUpperCase();
      if (!/^[A-Z_][A-Z0-9_]*$/.test(key) || key.startsWith('GITHUB_'))
        return {
          status: 422,
          body: {
            message: 'Variable names can only contain alphanumeric characters or underscores',
          },
        };
      if (vars.has(key)) return { status: 409, body: { message: 'Already exists' } };
      vars.set(key, {
        name: key,
        value: String(b['value']),
        created_at: now,
        updated_at: now,
        ...access(b),
      });
      return { status: 201, body: {} };
    }
    const key = last.toUpperCase();
    const v = vars.get(key);
    if (repositories !== undefined) {
      if (r.method !== 'GET' || !v || v.visibility !== 'selected') return notFound;
      return this.#selected(r, { ...v, value: '' } as StoredSecret);
    }
    if (!v) return notFound;
    if (r.method === 'GET') return { status: 200, body: out(v) };
    if (r.method === 'DELETE') {
      vars.delete(key);
      return { status: 204 };
    }
    if (r.method !== 'PATCH') return notFound;
    const b = body as Record<string, unknown>;
    const renamed = b['name'] === undefined ? key : String(b['name']).toUpperCase();
    if (this.#frozen.has('*') || this.#frozen.has(`variables:${scopeKey}`)) return { status: 204 };
    vars.delete(key);
    vars.set(renamed, {
      ...v,
      name: renamed,
      value: b['value'] === undefined ? v.value : String(b['value']),
      updated_at: now,
      ...access(b, v),
    });
    return { status: 204 };
  }

  /** One page of an org secret's selected repositories, as GitHub lists them (`page`, `per_page` up to 100). */
  #selected(r: Request, s: StoredSecret): Reply {
    const perPage = Math.min(Number(r.query.get('per_page') ?? 30) || 30, 100);
    const page = Math.max(Number(r.query.get('page') ?? 1) || 1, 1);
    const repos = (s.selected_repository_ids ?? []).flatMap((id) => {
      const repo = [...this.#repos.values()].find((x) => x.id === id);
      return repo ? [repo] : [];
    });
    return {
      status: 200,
      body: {
        total_count: repos.length,
        repositories: repos
          .slice((page - 1) * perPage, page * perPage)
          .map((x) => this.#minimal(x)),
      },
    };
  }

  /** Issues in `repo` (OWNER/NAME), oldest first, comments included. */
  issues(repo: string): EmulatedIssue[] {
    return this.#issues.filter((i) => i.repo.toLowerCase() === repo.toLowerCase());
  }

  /** An issue that an earlier run opened. */
  seedIssue(repo: string, o: { title: string; labels: string[] }): void {
    const r = this.#repos.get(repo.toLowerCase());
    if (!r) throw new Error(`no repository ${repo}`);
    this.#issues.push({
      repo: r.fullName,
      number: this.issues(r.fullName).length + 1,
      title: o.title,
      body: 'An earlier failure.',
      labels: o.labels,
      state: 'open',
      stateReason: null,
      comments: [],
    });
  }

  /** Every issue write (create, comment, close) answers 403, as for a token without "Issues: write". */
  denyIssueWrites(): void {
    this.#issuesReadOnly.add('*');
  }

  #issue(
    r: Request,
    body: Record<string, unknown> | undefined,
    m: RegExpExecArray,
    token: MintedToken | undefined,
  ): Reply {
    const full = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
    const repo = this.#repos.get(full.toLowerCase());
    if (!repo) return notFound;
    // An installation token: its repositories, and Issues read (listing) or write.
    const refused = this.#refuses(token, r.method, undefined, repo.fullName, 'issues');
    if (refused) return refused;
    const number = m[3] === undefined ? undefined : Number(m[3]);
    const comments = m[4] !== undefined;
    if (r.method !== 'GET' && this.#issuesReadOnly.has('*'))
      return { status: 403, body: { message: 'Resource not accessible by personal access token' } };
    if (number === undefined && r.method === 'GET') {
      const state = r.query.get('state') ?? 'open';
      const labels = (r.query.get('labels') ?? '').split(',').filter(Boolean);
      const perPage = Math.min(Number(r.query.get('per_page') ?? 30) || 30, 100);
      const list = this.issues(repo.fullName)
        .filter((i) => state === 'all' || i.state === state)
        .filter((i) => labels.every((l) => i.labels.includes(l)))
        .reverse() // newest first, as GitHub sorts by default
        .slice(0, perPage);
      return { status: 200, body: list.map((i) => this.#issueBody(repo, i)) };
    }
    if (number === undefined && r.method === 'POST') {
      const issue: EmulatedIssue = {
        repo: repo.fullName,
        number: this.issues(repo.fullName).length + 1,
        title: String(body!['title']),
        body: String(body!['body'] ?? ''),
        labels: ((body!['labels'] as unknown[]) ?? []).map(String),
        state: 'open',
        stateReason: null,
        comments: [],
      };
      this.#issues.push(issue);
      return { status: 201, body: this.#issueBody(repo, issue) };
    }
    const issue = this.issues(repo.fullName).find((i) => i.number === number);
    if (!issue) return notFound;
    if (comments && r.method === 'POST') {
      issue.comments.push(String(body!['body']));
      const id = this.#nextId++;
      const now = stamp(this.clock());
      return {
        status: 201,
        body: {
          id,
          node_id: `IC_${id}`,
          url: `${this.apiUrl}/repos/${repo.fullName}/issues/comments/${id}`,
          html_url: `https://github.com/${repo.fullName}/issues/${issue.number}#issuecomment-${id}`,
          issue_url: `${this.apiUrl}/repos/${repo.fullName}/issues/${issue.number}`,
          body: String(body!['body']),
          user: this.#user('rotation-bot'),
          created_at: now,
          updated_at: now,
        },
      };
    }
    if (!comments && r.method === 'PATCH') {
      if (body!['state'] === 'closed' || body!['state'] === 'open') {
        issue.state = body!['state'];
        issue.stateReason = (body!['state_reason'] as string | undefined) ?? null;
      }
      return { status: 200, body: this.#issueBody(repo, issue) };
    }
    return notFound;
  }

  /** GitHub's "Issue": every field its description requires. */
  #issueBody(repo: Repo, i: EmulatedIssue): Record<string, unknown> {
    const api = `${this.apiUrl}/repos/${repo.fullName}/issues/${i.number}`;
    const now = stamp(this.clock());
    return {
      id: 500_000 + i.number,
      node_id: `I_${i.number}`,
      number: i.number,
      title: i.title,
      body: i.body,
      state: i.state,
      state_reason: i.stateReason,
      locked: false,
      labels: i.labels.map((name, n) => ({
        id: n + 1,
        node_id: `LA_${n + 1}`,
        url: `${this.apiUrl}/repos/${repo.fullName}/labels/${encodeURIComponent(name)}`,
        name,
        description: null,
        color: 'ededed',
        default: false,
      })),
      assignee: null,
      milestone: null,
      comments: i.comments.length,
      closed_at: i.state === 'closed' ? now : null,
      created_at: now,
      updated_at: now,
      url: api,
      html_url: `https://github.com/${repo.fullName}/issues/${i.number}`,
      repository_url: `${this.apiUrl}/repos/${repo.fullName}`,
      labels_url: `${api}/labels{/name}`,
      comments_url: `${api}/comments`,
      events_url: `${api}/events`,
      user: this.#user('rotation-bot'),
    };
  }

  /** GitHub's "Minimal Repository": every field its description requires. */
  #minimal(repo: Repo): Record<string, unknown> {
    const [login, name] = repo.fullName.split('/') as [string, string];
    const api = `${this.apiUrl}/repos/${repo.fullName}`;
    const urls = (base: string, keys: string): Record<string, string> =>
      Object.fromEntries(keys.split(' ').map((k) => [`${k}_url`, `${base}/${k}`]));
    return {
      id: repo.id,
      node_id: `R_${repo.id}`,
      name,
      full_name: repo.fullName,
      private: true,
      fork: false,
      description: null,
      url: api,
      html_url: `https://github.com/${repo.fullName}`,
      ...urls(
        api,
        'archive assignees blobs branches collaborators comments commits compare contents contributors deployments downloads events forks git_commits git_refs git_tags hooks issue_comment issue_events issues keys labels languages merges milestones notifications pulls releases stargazers statuses subscribers subscription tags teams trees',
      ),
      owner: {
        login,
        id: 1,
        node_id: 'O_1',
        type: 'Organization',
        site_admin: false,
        gravatar_id: null,
        url: `${this.apiUrl}/users/${login}`,
        html_url: `https://github.com/${login}`,
        avatar_url: `https://avatars.example/${login}`,
        ...urls(
          `${this.apiUrl}/users/${login}`,
          'events followers following gists organizations received_events repos starred subscriptions',
        ),
      },
    };
  }

  /** An installation token reaches only its account, its repositories and its permissions. */
  #refuses(
    token: MintedToken | undefined,
    method: string,
    org: string | undefined,
    fullName: string,
    permission: string,
  ): Reply | undefined {
    if (!token) return undefined;
    if (
      org !== undefined
        ? org.toLowerCase() !== token.account.toLowerCase()
        : !this.#reaches(token, fullName)
    )
      return notFound;
    if (!allows(token, permission, method))
      return { status: 403, body: { message: 'Resource not accessible by integration' } };
    return undefined;
  }

  #reaches(token: MintedToken, fullName: string): boolean {
    const inst = this.apps.installations.get(token.installationId)!;
    return this.apps.reaches(inst, token, fullName);
  }

  /** The App endpoints: JWT-signed, except revoking, which the installation token itself does. */
  #app(r: Request, body: unknown, principal: Principal | undefined): Reply {
    if (r.path === '/installation/token' && r.method === 'DELETE') {
      if (principal?.kind !== 'installation')
        return { status: 401, body: { message: 'Bad credentials' } };
      principal.token.revoked = true;
      return { status: 204 };
    }
    if (principal?.kind !== 'app')
      return {
        status: 401,
        body: { message: 'A JSON web token could not be decoded' },
      };
    const app = principal.app;
    const seg = r.path.split('/').map(decodeURIComponent);
    if (r.path === '/app' && r.method === 'GET')
      return {
        status: 200,
        body: {
          id: app.id,
          node_id: `A_${app.id}`,
          slug: app.slug,
          client_id: app.clientId,
          owner: this.#user('octo', 'Organization'),
          name: app.slug,
          description: null,
          external_url: 'https://example.com',
          html_url: `https://github.com/apps/${app.slug}`,
          created_at: '2026-01-01T00:00:00Z',
          updated_at: '2026-01-01T00:00:00Z',
          permissions: {},
          events: [],
        },
      };
    const mine = [...this.apps.installations.values()].filter((i) => i.appId === app.id);
    if (r.path === '/app/installations' && r.method === 'GET')
      return { status: 200, body: mine.map((i) => this.#installation(i)) };
    if (r.method === 'GET' && seg.length === 4 && (seg[1] === 'orgs' || seg[1] === 'users')) {
      const inst = this.apps.installationOf(app.id, seg[2]!);
      const kindOk = seg[1] === 'users' || inst?.accountType === 'Organization';
      return inst && kindOk ? { status: 200, body: this.#installation(inst) } : notFound;
    }
    if (r.method === 'GET' && seg.length === 5 && seg[1] === 'repos') {
      const inst = this.apps.installationOf(app.id, seg[2]!);
      const full = `${seg[2]}/${seg[3]}`;
      return inst && this.#repos.has(full.toLowerCase()) && this.apps.reaches(inst, undefined, full)
        ? { status: 200, body: this.#installation(inst) }
        : notFound;
    }
    if (r.method === 'POST' && seg[2] === 'installations' && seg[4] === 'access_tokens') {
      const inst = this.apps.installations.get(Number(seg[3]));
      if (!inst || inst.appId !== app.id) return notFound;
      const minted = this.apps.mint(inst, (body ?? {}) as never, (full) => this.#repos.has(full));
      if ('error' in minted) return { status: 422, body: { message: minted.error } };
      const t = minted.token;
      return {
        status: 201,
        body: {
          token: t.token,
          expires_at: stamp(t.expiresAt),
          permissions: t.permissions,
          repository_selection: t.repositories || inst.repositories !== 'all' ? 'selected' : 'all',
        },
      };
    }
    return notFound;
  }

  #installation(i: Installation): Record<string, unknown> {
    return {
      id: i.id,
      app_id: i.appId,
      app_slug: this.apps.apps.get(i.appId)!.slug,
      target_id: 1,
      target_type: i.accountType,
      single_file_name: null,
      repository_selection: i.repositories === 'all' ? 'all' : 'selected',
      access_tokens_url: `${this.apiUrl}/app/installations/${i.id}/access_tokens`,
      html_url: `https://github.com/organizations/${i.account}/settings/installations/${i.id}`,
      repositories_url: `${this.apiUrl}/installation/repositories`,
      events: [],
      // Also the fields of an Enterprise: one of GitHub's descriptions of an installation asks
      // for both (allOf).
      account: {
        ...this.#user(i.account, i.accountType),
        name: i.account,
        slug: i.account.toLowerCase(),
        created_at: '2026-01-01T00:00:00Z',
        updated_at: '2026-01-01T00:00:00Z',
      },
      permissions: i.permissions,
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-01T00:00:00Z',
      suspended_by: null,
      suspended_at: null,
    };
  }

  /** GitHub's "Simple User": every field its description requires. */
  #user(login: string, type = 'Bot'): Record<string, unknown> {
    const base = `${this.apiUrl}/users/${login}`;
    return {
      login,
      id: 1,
      node_id: 'O_1',
      type,
      site_admin: false,
      gravatar_id: null,
      url: base,
      html_url: `https://github.com/${login}`,
      avatar_url: `https://avatars.example/${login}`,
      ...Object.fromEntries(
        'events followers following gists organizations received_events repos starred subscriptions'
          .split(' ')
          .map((k) => [`${k}_url`, `${base}/${k}`]),
      ),
    };
  }

  /** The runner's OIDC endpoint that core.getIDToken() calls. */
  #oidc(r: Request): Reply {
    if (r.headers.authorization !== `Bearer ${this.oidcRequestToken}`)
      return { status: 401, body: { message: 'bad request token' } };
    const aud = r.query.get('audience') ?? '';
    this.oidcAudiences.push(aud);
    const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const payload = {
      aud,
      iss: 'https://token.actions.githubusercontent.com',
      sub: 'repo:octo/app:environment:secret-rotation',
      exp: Math.floor(this.clock() / 1000) + 300,
    };
    const jwt = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(payload)}.${randomBytes(32).toString('base64url')}`;
    this.issuedOidcTokens.push(jwt);
    return { status: 200, body: { value: jwt } };
  }
}

/** The paths only an App's JWT (or, to revoke, an installation token) may call. */
const APP_PATHS =
  /^\/(app(\/.*)?|installation\/token|(orgs|users)\/[^/]+\/installation|repos\/[^/]+\/[^/]+\/installation)$/;

export async function startGitHub(options: GitHubOptions = {}): Promise<GitHubEmulator> {
  return new GitHubEmulator(options).listen();
}
