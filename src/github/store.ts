// Writes secrets into GitHub: public keys per scope, sealing, the write itself and the read-back
// that proves it landed.
import { now } from '../clock.js';
import { scopeOf, type Target, type Visibility } from '../inputs/targets.js';
import { Attempts, type GitHub } from './client.js';
import { publicKeyFromBase64, seal, usable } from './seal.js';

interface Key {
  readonly keyId: string;
  readonly key: Uint8Array;
  /** GitHub's clock (second precision) when the key was read: a verified write is at least this new. */
  readonly since: number;
}

/** Who may read an organization secret: what a write sends, so that it never widens access. */
interface Access {
  readonly visibility: Visibility;
  /** Repository ids, for `selected`. */
  readonly repositoryIds: readonly number[];
}

type OrgTarget = Extract<Target, { kind: 'org' | 'dependabot-org' }>;

/** Did a failed write change the secret? Decides whether a rotation may be undone. */
export type Landed = 'no' | 'maybe' | 'yes';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly landed: Landed;
  readonly status: number | undefined;

  constructor(message: string, landed: Landed, status?: number) {
    super(message);
    this.landed = landed;
    this.status = status;
  }
}

export class SecretStore {
  readonly #gh: GitHub;
  readonly #keys = new Map<string, Promise<Key>>();
  readonly #repoIds = new Map<string, Promise<number>>();
  readonly #access = new Map<string, Promise<Access>>();

  constructor(gh: GitHub) {
    this.#gh = gh;
  }

  /**
   * Fetches every target's public key (once per scope, never shared across scopes) and works out who
   * may read each organization secret `names` will write: the repositories the line selects, or,
   * when it names no visibility, the existing secret's visibility and repositories.
   */
  async preflight(targets: readonly Target[], names: readonly string[]): Promise<void> {
    const work: Promise<unknown>[] = [];
    for (const t of targets) {
      work.push(this.#key(t));
      if (t.kind === 'org' || t.kind === 'dependabot-org')
        for (const name of names) work.push(this.#accessOf(t, name));
    }
    const results = await Promise.allSettled(work);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** When the secret was last updated, or undefined when it does not exist. */
  async updatedAt(t: Target, name: string): Promise<Date | undefined> {
    try {
      const res = await this.#gh.request(`GET ${scopePath(t)}/secrets/${encodeURIComponent(name)}`);
      return new Date((res.data as { updated_at: string }).updated_at);
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw new StoreError(
        `Could not read secret ${name} in ${t.line}: ${describe(err)}.`,
        'no',
        status(err),
      );
    }
  }

  /** Seals and writes `value`, then reads the secret back: a write whose `updated_at` did not move is a failure. */
  async store(t: Target, name: string, value: string): Promise<void> {
    const key = await this.#key(t);
    const body: Record<string, unknown> = {
      encrypted_value: await seal(value, key.key),
      key_id: key.keyId,
    };
    if (t.kind === 'org' || t.kind === 'dependabot-org') {
      const access = await this.#accessOf(t, name);
      body['visibility'] = access.visibility;
      if (access.visibility === 'selected') body['selected_repository_ids'] = access.repositoryIds;
    }
    const path = `${scopePath(t)}/secrets/${encodeURIComponent(name)}`;
    const attempts = new Attempts();
    try {
      await this.#gh.request(`PUT ${path}`, { ...body, request: { attempts } });
    } catch (err) {
      const s = status(err);
      // Not landed only when every attempt was refused: one that may have reached GitHub decides.
      const refused = s !== undefined && s >= 400 && s < 500 && !attempts.mayHaveLanded;
      const landed: Landed = refused ? 'no' : 'maybe';
      throw new StoreError(
        `Could not write secret ${name} in ${t.line}: ${describe(err)}.`,
        landed,
        s,
      );
    }
    const updated = await this.updatedAt(t, name).catch((err: unknown) => {
      throw new StoreError(
        `Wrote secret ${name} in ${t.line} but could not read it back: ${describe(err)}.`,
        'maybe',
      );
    });
    if (updated === undefined || !(updated.getTime() >= key.since)) {
      throw new StoreError(
        `Wrote secret ${name} in ${t.line} but GitHub does not show it as updated (updated_at did not move); treating the write as failed.`,
        'maybe',
      );
    }
  }

  #key(t: Target): Promise<Key> {
    const scope = scopeOf(t);
    let key = this.#keys.get(scope);
    if (!key) {
      key = this.#fetchKey(t);
      this.#keys.set(scope, key);
    }
    return key;
  }

  async #fetchKey(t: Target): Promise<Key> {
    const key = await this.#readKey(t);
    await usable(key.key, `GitHub's public key for ${t.line}`).catch((err: unknown) => {
      throw new StoreError((err as Error).message, 'no');
    });
    return key;
  }

  async #readKey(t: Target): Promise<Key> {
    try {
      const res = await this.#gh.request(`GET ${scopePath(t)}/secrets/public-key`);
      const data = res.data as { key_id: string; key: string };
      const date = Date.parse(String(res.headers.date ?? ''));
      // Without GitHub's clock, allow for a runner clock up to five minutes ahead.
      const since = Number.isNaN(date) ? now() - 300_000 : Math.floor(date / 1000) * 1000;
      return { keyId: String(data.key_id), key: publicKeyFromBase64(data.key), since };
    } catch (err) {
      throw new StoreError(
        `Could not get the public key of ${t.line}: ${describe(err, t)}.`,
        'no',
        status(err),
      );
    }
  }

  #accessOf(t: OrgTarget, name: string): Promise<Access> {
    const k = `${scopeOf(t)}:${name.toUpperCase()}`;
    let access = this.#access.get(k);
    if (!access) {
      access =
        t.visibility === undefined
          ? this.#existingAccess(t, name)
          : Promise.all(t.repos.map((r) => this.#repoId(r))).then((repositoryIds) => ({
              visibility: t.visibility!,
              repositoryIds,
            }));
      this.#access.set(k, access);
    }
    return access;
  }

  /** The existing secret's visibility and selected repositories (every page of them). */
  async #existingAccess(t: OrgTarget, name: string): Promise<Access> {
    const path = `${scopePath(t)}/secrets/${encodeURIComponent(name)}`;
    const fail = (what: string, err: unknown): StoreError =>
      new StoreError(
        `Could not read ${what} of secret ${name} in ${t.line}: ${describe(err, t)}.`,
        'no',
        status(err),
      );
    let visibility: Visibility;
    try {
      const res = await this.#gh.request(`GET ${path}`);
      visibility = (res.data as { visibility: Visibility }).visibility;
    } catch (err) {
      if (status(err) === 404)
        throw new StoreError(
          `Secret ${name} does not exist yet in ${t.line}, so there is no visibility to keep: add one to the target line (\`${t.kind} ${t.org} private\`, \`all\`, or \`selected OWNER/NAME ...\`).`,
          'no',
          404,
        );
      throw fail('the visibility', err);
    }
    if (visibility !== 'all' && visibility !== 'private' && visibility !== 'selected')
      throw new StoreError(
        `GitHub reported an unknown visibility for secret ${name} in ${t.line}; name one on the target line.`,
        'no',
      );
    const ids = new Set<number>();
    if (visibility === 'selected') {
      const perPage = 100;
      let total = 0;
      for (let page = 1, more = true; more; page++) {
        let data: { total_count: number; repositories: { id: number }[] };
        try {
          const res = await this.#gh.request(`GET ${path}/repositories`, {
            per_page: perPage,
            page,
          });
          data = res.data as typeof data;
        } catch (err) {
          throw fail('the selected repositories', err);
        }
        for (const r of data.repositories) ids.add(r.id);
        total = data.total_count;
        more = data.repositories.length === perPage && ids.size < total && page < 1000;
      }
      // A list that changed while it was read would be written back different: refuse instead.
      if (ids.size !== total)
        throw new StoreError(
          `The selected repositories of secret ${name} in ${t.line} changed while they were read (${ids.size} of ${total}); re-run.`,
          'no',
        );
    }
    return { visibility, repositoryIds: [...ids] };
  }

  #repoId(fullName: string): Promise<number> {
    const k = fullName.toLowerCase();
    let id = this.#repoIds.get(k);
    if (!id) {
      id = this.#gh
        .request(`GET /repos/${fullName.split('/').map(encodeURIComponent).join('/')}`)
        .then((res) => (res.data as { id: number }).id)
        .catch((err: unknown) => {
          throw new StoreError(
            `Could not resolve selected repository ${fullName}: ${describe(err)}.`,
            'no',
            status(err),
          );
        });
      this.#repoIds.set(k, id);
    }
    return id;
  }
}

export function scopePath(t: Target): string {
  const repo = (r: string): string => r.split('/').map(encodeURIComponent).join('/');
  switch (t.kind) {
    case 'repo':
      return `/repos/${repo(t.repo)}/actions`;
    case 'dependabot':
      return `/repos/${repo(t.repo)}/dependabot`;
    case 'environment':
      return `/repos/${repo(t.repo)}/environments/${encodeURIComponent(t.environment)}`;
    case 'org':
      return `/orgs/${encodeURIComponent(t.org)}/actions`;
    case 'dependabot-org':
      return `/orgs/${encodeURIComponent(t.org)}/dependabot`;
  }
}

function status(err: unknown): number | undefined {
  const s = (err as { status?: unknown }).status;
  return typeof s === 'number' ? s : undefined;
}

/** Says what went wrong from the status alone: GitHub's bodies and headers are never echoed. */
function describe(err: unknown, t?: Target): string {
  const s = status(err);
  const answered = (err as { response?: unknown }).response !== undefined;
  if (!answered) {
    const cause = (err as Error).message;
    return `no usable answer from GitHub (${/timeout|aborted/i.test(cause) ? 'timed out' : 'connection failed'})`;
  }
  switch (s) {
    case 401:
      return 'HTTP 401: the github-token is invalid or expired';
    case 403:
      return t?.kind === 'org' || t?.kind === 'dependabot-org'
        ? 'HTTP 403: the github-token lacks organization "Secrets: write" (the job\'s GITHUB_TOKEN cannot write secrets; use a GitHub App token or fine-grained PAT)'
        : 'HTTP 403: the github-token lacks "Secrets: write" on this repository (the job\'s GITHUB_TOKEN cannot write secrets; use a GitHub App token or fine-grained PAT)';
    case 404:
      return t?.kind === 'environment'
        ? 'HTTP 404: the repository or environment does not exist, or the github-token cannot see it'
        : 'HTTP 404: it does not exist, or the github-token cannot see it';
    case 422:
      return 'HTTP 422: GitHub rejected the request';
    default:
      return `HTTP ${s ?? 'error'}`;
  }
}
