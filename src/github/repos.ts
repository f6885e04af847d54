// Lists an owner's repositories for target patterns, every page, through the same Octokit client as
// everything else (throttling, retries, the preflight budget). An organization lists with
// `GET /orgs/{org}/repos`; a user (404 there) with the installation's repositories when the token is
// a GitHub App installation token (they include private ones), else `GET /users/{u}/repos`, which
// GitHub limits to public repositories.
import type { ListedRepo } from '../inputs/patterns.js';
import type { GitHub } from './client.js';
import { describe, status, StoreError } from './errors.js';

const PER_PAGE = 100;
/** 100,000 repositories: far past any owner a pattern is meant for, and a bound on a looping listing. */
const MAX_PAGES = 1000;

interface RawRepo {
  full_name?: unknown;
  archived?: unknown;
  disabled?: unknown;
  topics?: unknown;
  owner?: { login?: unknown } | null;
}

export class RepositoryLister {
  readonly #gh: GitHub;
  readonly #installationToken: boolean;
  readonly #listed = new Map<string, Promise<ListedRepo[]>>();

  /** `installationToken`: the token is a GitHub App installation token (`ghs_`). */
  constructor(gh: GitHub, installationToken: boolean) {
    this.#gh = gh;
    this.#installationToken = installationToken;
  }

  /** Every repository of `owner` the token can see, listed once per run. */
  list(owner: string): Promise<ListedRepo[]> {
    const k = owner.toLowerCase();
    let listed = this.#listed.get(k);
    if (!listed) {
      listed = this.#list(owner);
      this.#listed.set(k, listed);
    }
    return listed;
  }

  async #list(owner: string): Promise<ListedRepo[]> {
    const o = encodeURIComponent(owner);
    try {
      return await this.#pages(`GET /orgs/${o}/repos`, { type: 'all' });
    } catch (err) {
      if (status(err) !== 404) throw this.#fail(owner, err);
    }
    try {
      if (this.#installationToken) {
        const all = await this.#pages('GET /installation/repositories', {}, true);
        return all.filter((r) => r.fullName.split('/')[0]!.toLowerCase() === owner.toLowerCase());
      }
      return await this.#pages(`GET /users/${o}/repos`, { type: 'owner' });
    } catch (err) {
      throw this.#fail(owner, err);
    }
  }

  async #pages(
    route: string,
    params: Record<string, string>,
    wrapped = false,
  ): Promise<ListedRepo[]> {
    const out: ListedRepo[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const res = await this.#gh.request(route, { ...params, per_page: PER_PAGE, page });
      const data = res.data as RawRepo[] | { repositories?: RawRepo[]; total_count?: number };
      const repos = wrapped
        ? ((data as { repositories?: RawRepo[] }).repositories ?? [])
        : (data as RawRepo[]);
      if (!Array.isArray(repos))
        throw new StoreError(`GitHub answered ${route} without a list of repositories.`, 'no');
      for (const r of repos)
        out.push({
          fullName: String(r.full_name ?? ''),
          archived: r.archived === true,
          disabled: r.disabled === true,
          topics: Array.isArray(r.topics) ? r.topics.map(String) : [],
        });
      if (repos.length < PER_PAGE) return out;
    }
    return out;
  }

  #fail(owner: string, err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    const s = status(err);
    const why =
      s === 404
        ? 'HTTP 404: no organization or user of that name, or the github-token cannot see it'
        : s === 403
          ? 'HTTP 403: the github-token may not list its repositories (it needs Metadata: read)'
          : describe(err);
    return new StoreError(`Could not list the repositories of ${owner}: ${why}.`, 'no', s);
  }
}
