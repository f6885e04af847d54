// GitHub App sign-in: one installation token per owner that the targets name, each with only the
// permissions and repositories those targets need, all revoked when the run ends. Found and minted in
// preflight (the pipeline's Destination.preflight), so an owner without an installation stops the run
// before the rotating call.
import { createAppAuth } from '@octokit/auth-app';
import { now } from '../clock.js';
import type { Destination } from '../destination.js';
import type { Pattern } from '../inputs/patterns.js';
import type { GitHubAuth } from '../inputs/signin.js';
import type { ListedRepo } from '../inputs/patterns.js';
import { hasVariables, isOrg, type Target } from '../inputs/targets.js';
import type { RetryPolicy } from '../policy.js';
import { createGitHub, type GitHub } from './client.js';
import { describe, status, StoreError } from './errors.js';
import { SecretStore } from './store.js';

export type Access = 'read' | 'write';
export type Permissions = Readonly<Record<string, Access>>;

/**
 * What each target kind needs of an installation token (GitHub's App permission names): for its
 * secrets, and for its Actions variables when `client-id-variable-name` is set. Typed over every
 * kind, so a new kind does not compile until it says what it needs.
 */
export const PERMISSIONS_OF: {
  readonly [K in Target['kind']]: { readonly secrets: string; readonly variables?: string };
} = {
  repo: { secrets: 'secrets', variables: 'actions_variables' },
  // Environment secrets and variables fall under the Environments permission.
  environment: { secrets: 'environments', variables: 'environments' },
  dependabot: { secrets: 'dependabot_secrets' },
  org: { secrets: 'organization_secrets', variables: 'organization_actions_variables' },
  'dependabot-org': { secrets: 'organization_dependabot_secrets' },
  codespaces: { secrets: 'codespaces_secrets' },
  'codespaces-org': { secrets: 'organization_codespaces_secrets' },
};

/** What the run does with the targets: writes the secrets (and the variable), or only reads (check mode). */
export interface Needs {
  readonly variables: boolean;
  readonly read: boolean;
}

/** The account a target's requests name: the repository's owner, or the organization. */
export function ownerOf(t: Target): string {
  return isOrg(t) ? t.org : t.repo.split('/')[0]!;
}

/** What one owner's token is asked for. `repositories` undefined: no repository-level access needed. */
export interface Grant {
  readonly owner: string;
  readonly permissions: Permissions;
  readonly repositories: readonly string[] | undefined;
  /**
   * How the installation is found: the organization's, the one covering this repository, or (an
   * owner named only by pattern lines, org or user) the account's.
   */
  readonly lookup:
    { readonly org: string } | { readonly repo: string } | { readonly account: string };
}

/**
 * One grant per owner (case-insensitive, like GitHub), in the order the targets name them. A pattern
 * line's repositories are known only once listed (with this very token): its owner's token is minted
 * for every repository of the installation, with the permissions of the kind the pattern expands to.
 */
export function grantsFor(
  targets: readonly Target[],
  needs: Needs,
  patterns: readonly Pattern[] = [],
): Grant[] {
  const byOwner = new Map<
    string,
    {
      owner: string;
      perms: Map<string, Access>;
      repos: Map<string, string>;
      org?: string;
      pattern?: boolean;
    }
  >();
  const grant = (owner: string) => {
    let g = byOwner.get(owner.toLowerCase());
    if (!g) {
      g = { owner, perms: new Map(), repos: new Map() };
      byOwner.set(owner.toLowerCase(), g);
    }
    return g;
  };
  const allow = (g: ReturnType<typeof grant>, kind: Target['kind'], withVariables: boolean) => {
    const { secrets, variables } = PERMISSIONS_OF[kind];
    const names = [secrets, ...(needs.variables && variables && withVariables ? [variables] : [])];
    for (const name of names)
      if (g.perms.get(name) !== 'write') g.perms.set(name, needs.read ? 'read' : 'write');
  };
  for (const t of targets) {
    const owner = ownerOf(t);
    const g = grant(owner);
    allow(g, t.kind, hasVariables(t));
    // Repositories whose requests go out with this owner's token: the target's own, and the
    // repositories an org line selects (their ids are read with the org's token; GitHub only
    // accepts an org's own repositories there, so others are left to fail as GitHub decides).
    const repos = isOrg(t) ? t.repos : [t.repo];
    for (const r of repos) {
      const [o, name] = r.split('/') as [string, string];
      if (o.toLowerCase() === owner.toLowerCase()) g.repos.set(name.toLowerCase(), name);
    }
    if (isOrg(t)) g.org ??= t.org;
  }
  for (const p of patterns) {
    const g = grant(p.owner);
    // The kinds patterns expand to are repository kinds: each may hold variables when it has any.
    allow(g, p.kind, PERMISSIONS_OF[p.kind].variables !== undefined);
    g.pattern = true;
  }
  return [...byOwner.values()].map((g) => {
    // A pattern's owner: no repository list (the installation's repositories), listing included.
    const repositories = g.repos.size > 0 && !g.pattern ? [...g.repos.values()] : undefined;
    const permissions: Record<string, Access> = Object.fromEntries(g.perms);
    if (repositories || g.pattern) permissions['metadata'] = 'read';
    return {
      owner: g.owner,
      permissions,
      repositories,
      lookup:
        g.org !== undefined
          ? { org: g.org }
          : repositories
            ? { repo: `${g.owner}/${repositories[0]}` }
            : { account: g.owner },
    };
  });
}

export interface AppOptions {
  readonly appId: string;
  readonly privateKey: string;
  /** Every target of the run: sign-in covers them all at once, whichever call comes first. */
  readonly targets: readonly Target[];
  /** Pattern lines: their owners' tokens cover the installation's repositories (see grantsFor). */
  readonly patterns?: readonly Pattern[];
  readonly needs: Needs;
  /**
   * The tokens to mint, when not the targets' (grantsFor): the failure issue asks for one token with
   * `issues: write` on its repository (issueGrant).
   */
  readonly grants?: readonly Grant[];
  /** What the tokens are for, in messages: "the targets" unless said otherwise. */
  readonly purpose?: string;
  readonly apiUrl: string;
  readonly policy: RetryPolicy;
  readonly mask: (value: string) => void;
  readonly info: (message: string) => void;
  readonly warn: (message: string) => void;
}

/** One owner's installation token: re-minted shortly before it expires, so a long run keeps writing. */
interface Minted {
  readonly owner: string;
  readonly grant: Grant;
  readonly installationId: number;
  /** Sends the current token (`current`) with every request. */
  readonly gh: GitHub;
  token: string;
  /** When GitHub says the token expires, epoch ms. */
  expiresAt: number;
  /** Not before this time is a failed re-mint tried again, epoch ms. */
  retryAt: number;
  renewing: Promise<void> | undefined;
}

/** GitHub's installation tokens live an hour: a new one is minted this long before the current one expires. */
export const RENEW_BEFORE_MS = 10 * 60_000;
/** After a failed re-mint, how long the current token is used before the next try. */
const RENEW_RETRY_MS = 60_000;
/** The lifetime GitHub documents, when a mint answer does not say when its token expires. */
const TOKEN_LIFETIME_MS = 60 * 60_000;

/**
 * The Destination for App sign-in: signs in for every owner on first use (the pipeline's preflight,
 * or check mode's first read), then hands each target to its owner's SecretStore.
 */
export class AppDestination implements Destination {
  readonly #o: AppOptions;
  readonly #stores = new Map<string, SecretStore>();
  /** One per owner. */
  readonly #minted: Minted[] = [];
  /** Every token minted (re-minted ones too), with its owner: revoked by close() whatever happened. */
  readonly #tokens: {
    readonly owner: string;
    readonly token: string;
    readonly expiresAt: number;
  }[] = [];
  #signedIn: Promise<void> | undefined;

  constructor(o: AppOptions) {
    this.#o = o;
  }

  async preflight(
    targets: readonly Target[],
    names: readonly string[],
    variable?: string,
  ): Promise<void> {
    await this.#signIn();
    const byOwner = new Map<string, Target[]>();
    for (const t of targets) {
      const k = ownerOf(t).toLowerCase();
      byOwner.set(k, [...(byOwner.get(k) ?? []), t]);
    }
    const results = await Promise.allSettled(
      [...byOwner].map(([k, ts]) => this.#stores.get(k)!.preflight(ts, names, variable)),
    );
    const storeFailed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (storeFailed) throw storeFailed.reason;
  }

  async updatedAt(t: Target, name: string): Promise<Date | undefined> {
    return (await this.#store(t)).updatedAt(t, name);
  }

  async found(t: Target, name: string): Promise<Date | undefined> {
    return (await this.#store(t)).found(t, name);
  }

  async store(t: Target, name: string, value: string): Promise<void> {
    return (await this.#store(t)).store(t, name, value);
  }

  async storeVariable(t: Target, name: string, value: string): Promise<void> {
    return (await this.#store(t)).storeVariable(t, name, value);
  }

  /** A pattern owner's repositories, listed with that owner's installation token. */
  async listRepositories(owner: string): Promise<readonly ListedRepo[]> {
    await this.#signIn();
    const store = this.#stores.get(owner.toLowerCase());
    if (!store) throw new Error(`No GitHub sign-in covers ${owner}.`);
    return store.listRepositories(owner);
  }

  /** The client of `owner`'s installation token (the failure issue's), signing in first. */
  async client(owner: string): Promise<GitHub> {
    await this.#signIn();
    const minted = this.#minted.find((m) => m.owner.toLowerCase() === owner.toLowerCase());
    if (!minted) throw new Error(`No GitHub sign-in covers ${owner}.`);
    return minted.gh;
  }

  /** Finds every installation, then mints every token; once per run, whoever asks first. */
  #signIn(): Promise<void> {
    this.#signedIn ??= this.#signInOnce();
    return this.#signedIn;
  }

  async #signInOnce(): Promise<void> {
    const grants = this.#o.grants ?? grantsFor(this.#o.targets, this.#o.needs, this.#o.patterns);
    const app = this.#client(await this.#jwt());
    // Every installation is found before any token is minted: a missing one mints nothing.
    const found = await Promise.allSettled(grants.map((g) => this.#installation(app, g)));
    const missing = grants.filter((_, i) => {
      const r = found[i]!;
      return r.status === 'rejected' && r.reason instanceof MissingInstallation;
    });
    if (missing.length > 0) throw new StoreError(await this.#missing(app, missing), 'no', 404);
    const failed = found.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const ids = found.map((r) => (r as PromiseFulfilledResult<number>).value);
    const minted = await Promise.allSettled(grants.map((g, i) => this.#mint(app, g, ids[i]!)));
    const mintFailed = minted.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (mintFailed) throw mintFailed.reason;
    this.#o.info(
      `Signed in as GitHub App ${this.#o.appId} on ${grants.map((g) => g.owner).join(', ')}: one installation token per owner.`,
    );
  }

  /** Revokes every token minted; a failure is a warning (the token expires within the hour anyway). */
  async close(): Promise<void> {
    // Whatever the run left of its retry budget, revoking gets a short one of its own.
    this.#o.policy.startCleanup();
    // A re-mint under way finishes first, so that its token is revoked too.
    await Promise.all(this.#minted.map((m) => m.renewing));
    await Promise.all(
      // A token that has expired works nowhere any more: nothing to revoke.
      this.#tokens
        .filter((t) => t.expiresAt > now())
        .map(async ({ owner, token }) => {
          let why: string | undefined;
          try {
            // Each token revokes itself. Only 204 says revoked (a 3xx is already a failure: client.ts).
            const res = await this.#client(token).request('DELETE /installation/token');
            if (Number(res.status) !== 204) why = `HTTP ${res.status}`;
          } catch (err) {
            why =
              status(err) === 401 ? 'HTTP 401: GitHub no longer accepts the token' : describe(err);
          }
          if (why)
            this.#o.warn(
              `Could not revoke the installation token for ${owner}: ${why}. It expires by itself within an hour.`,
            );
        }),
    );
    this.#minted.length = 0;
    this.#tokens.length = 0;
  }

  async #store(t: Target): Promise<SecretStore> {
    await this.#signIn();
    const store = this.#stores.get(ownerOf(t).toLowerCase());
    if (!store) throw new Error(`No GitHub sign-in covers ${t.line}.`);
    return store;
  }

  #client(token: string, current?: () => Promise<string>, unqueued = false): GitHub {
    const { apiUrl, policy, warn } = this.#o;
    return createGitHub({
      token,
      apiUrl,
      policy,
      warn,
      ...(current ? { current } : {}),
      ...(unqueued ? { unqueued } : {}),
    });
  }

  /** The token `m`'s requests send now: re-minted first when it expires within RENEW_BEFORE_MS. */
  async #current(m: Minted): Promise<string> {
    const t = now();
    if (t < m.expiresAt - RENEW_BEFORE_MS || t < m.retryAt) return m.token;
    m.renewing ??= this.#renew(m).finally(() => (m.renewing = undefined));
    await m.renewing;
    return m.token;
  }

  /** Mints `m`'s owner a new token with the same grant; on failure the current one serves until it expires. */
  async #renew(m: Minted): Promise<void> {
    try {
      // Unqueued: the requests that wait for this token may hold every place in the queues.
      const app = this.#client(await this.#jwt(), undefined, true);
      const next = await this.#mintToken(app, m.grant, m.installationId);
      m.token = next.token;
      m.expiresAt = next.expiresAt;
      m.retryAt = 0;
      this.#o.info(
        `Minted a new installation token for ${m.owner}: the previous one expires within ${RENEW_BEFORE_MS / 60_000} minutes.`,
      );
    } catch (err) {
      m.retryAt = now() + RENEW_RETRY_MS;
      const left = m.expiresAt - now();
      if (left <= 0)
        throw new StoreError(
          `The installation token for ${m.owner} expired and a new one could not be minted: ${(err as Error).message}`,
          'no',
        );
      this.#o.warn(
        `Could not mint a new installation token for ${m.owner} (${(err as Error).message}); the current one is used for its last ${Math.ceil(left / 60_000)} minute(s).`,
      );
    }
  }

  /** The App's JWT, signed by @octokit/auth-app on the action's clock (tests move it). */
  async #jwt(): Promise<string> {
    const auth = createAppAuth({
      appId: this.#o.appId,
      privateKey: this.#o.privateKey,
      timeDifference: Math.round((now() - Date.now()) / 1000),
    } as Parameters<typeof createAppAuth>[0]);
    let token: string;
    try {
      token = (await auth({ type: 'app' })).token;
    } catch {
      throw new StoreError(
        `Could not sign a JWT with input 'github-app-private-key'; check that it is the App's private key.`,
        'no',
      );
    }
    this.#o.mask(token);
    return token;
  }

  async #installation(app: GitHub, g: Grant): Promise<number> {
    const path =
      'org' in g.lookup
        ? `/orgs/${encodeURIComponent(g.lookup.org)}/installation`
        : 'repo' in g.lookup
          ? `/repos/${g.lookup.repo.split('/').map(encodeURIComponent).join('/')}/installation`
          : `/users/${encodeURIComponent(g.lookup.account)}/installation`;
    try {
      const res = await app.request(`GET ${path}`);
      const id = (res.data as { id?: unknown } | undefined)?.id;
      if (Number(res.status) === 200 && typeof id === 'number' && Number.isSafeInteger(id))
        return id;
      throw new StoreError(
        `Could not find GitHub App ${this.#o.appId}'s installation on ${g.owner}: GitHub answered HTTP ${res.status} without one.`,
        'no',
      );
    } catch (err) {
      if (err instanceof StoreError) throw err;
      if (status(err) === 404) throw new MissingInstallation();
      throw new StoreError(
        `Could not find GitHub App ${this.#o.appId}'s installation on ${g.owner}: ${appFailure(err)}.`,
        'no',
        status(err),
      );
    }
  }

  async #mint(app: GitHub, g: Grant, installationId: number): Promise<void> {
    const { token, expiresAt } = await this.#mintToken(app, g, installationId);
    const m: Minted = {
      owner: g.owner,
      grant: g,
      installationId,
      gh: this.#client(token, () => this.#current(m)),
      token,
      expiresAt,
      retryAt: 0,
      renewing: undefined,
    };
    this.#minted.push(m);
    this.#stores.set(g.owner.toLowerCase(), new SecretStore(m.gh, { installationToken: true }));
  }

  /** One installation token for `g`, masked and recorded for revocation before anything else. */
  async #mintToken(
    app: GitHub,
    g: Grant,
    installationId: number,
  ): Promise<{ token: string; expiresAt: number }> {
    let token: string;
    let expiresAt: number;
    const asked = now();
    try {
      const res = await app.request('POST /app/installations/{installation_id}/access_tokens', {
        installation_id: installationId,
        permissions: g.permissions,
        ...(g.repositories ? { repositories: [...g.repositories] } : {}),
      });
      const data = res.data as { token?: unknown; expires_at?: unknown } | undefined;
      const t = data?.token;
      if (Number(res.status) !== 201 || typeof t !== 'string' || t === '')
        throw new StoreError(
          `Could not get an installation token for ${g.owner}: GitHub answered HTTP ${res.status} without one.`,
          'no',
        );
      token = t;
      // Never later than the documented hour from the request (a clock or an answer cannot stretch it).
      const said = typeof data?.expires_at === 'string' ? Date.parse(data.expires_at) : NaN;
      expiresAt = Math.min(Number.isNaN(said) ? Infinity : said, asked + TOKEN_LIFETIME_MS);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      const wanted = `${Object.entries(g.permissions)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}${g.repositories ? `; repositories ${g.repositories.join(', ')}` : ''}`;
      throw new StoreError(
        status(err) === 422
          ? `GitHub App ${this.#o.appId}'s installation on ${g.owner} cannot grant what ${this.#o.purpose ?? 'the targets'} need (${wanted}): give the App these permissions and access to these repositories, then accept the new permissions on ${g.owner}.`
          : `Could not get an installation token for ${g.owner}: ${appFailure(err)}.`,
        'no',
        status(err),
      );
    }
    // Masked before anything else can print it.
    this.#o.mask(token);
    this.#tokens.push({ owner: g.owner, token, expiresAt });
    return { token, expiresAt };
  }

  /** Which App to install where; the App's name and page when GitHub says them. */
  async #missing(app: GitHub, grants: readonly Grant[]): Promise<string> {
    let name = `GitHub App ${this.#o.appId}`;
    let page: string | undefined;
    try {
      const res = await app.request('GET /app');
      const data = res.data as { slug?: unknown; html_url?: unknown };
      if (typeof data.slug === 'string' && /^[a-z0-9-]{1,100}$/.test(data.slug)) {
        name = `GitHub App '${data.slug}' (id ${this.#o.appId})`;
        page = `${String(data.html_url ?? '').startsWith('https://') ? String(data.html_url) : ''}`;
      }
    } catch {
      // The id alone still says which App.
    }
    const where = grants.map((g) =>
      'org' in g.lookup
        ? `organization ${g.lookup.org}`
        : 'repo' in g.lookup
          ? `account ${g.owner} (with access to ${g.lookup.repo})`
          : `account ${g.owner}`,
    );
    const purpose = this.#o.purpose ?? 'the targets';
    // Before the rotating call, a missing installation stops the run; afterwards it only warns.
    const tail = this.#o.grants ? '' : ' Nothing was rotated.';
    return `${name} is not installed on ${where.join(', ')}: install it there${page ? ` (${page}/installations/new)` : ''}, with access to the repositories ${purpose} name.${tail}`;
  }
}

class MissingInstallation extends Error {}

/**
 * The failure issue's token: `issues: write` only (`read` to look for the open issue in preflight),
 * limited to the issue's repository, found through the installation that covers that repository
 * (any owner, organization or user).
 */
export function issueGrant(owner: string, repo: string, access: Access = 'write'): Grant {
  return {
    owner,
    permissions: { issues: access },
    repositories: [repo],
    lookup: { repo: `${owner}/${repo}` },
  };
}

/** A failed App call, from its status: a 401 here is the App's key or id, not a github-token. */
function appFailure(err: unknown): string {
  return status(err) === 401
    ? "HTTP 401: GitHub refused the App's JWT (check github-app-id, github-app-private-key and the runner's clock)"
    : describe(err);
}

/** Signs in as the inputs say: one client for a token, or an App's installation per owner. */
export function openDestination(
  auth: GitHubAuth,
  o: Omit<AppOptions, 'appId' | 'privateKey'>,
): Destination & { close(): Promise<void> } {
  if (auth.kind === 'app') return new AppDestination({ ...o, ...auth });
  const { apiUrl, policy, warn } = o;
  const store = new SecretStore(createGitHub({ token: auth.token, apiUrl, policy, warn }), {
    // GitHub's prefix for App installation tokens: they may list the installation's repositories.
    installationToken: auth.token.startsWith('ghs_'),
  });
  return Object.assign(store, { close: async () => undefined });
}
