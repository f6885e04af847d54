// Writes secrets into GitHub: public keys per scope, sealing, the write itself and the read-back
// that proves it landed.
import { now } from '../clock.js';
import { scopeOf, type Target } from '../inputs/targets.js';
import { Attempts, type GitHub } from './client.js';
import { publicKeyFromBase64, seal, usable } from './seal.js';

interface Key {
  readonly keyId: string;
  readonly key: Uint8Array;
  /** GitHub's clock (second precision) when the key was read: a verified write is at least this new. */
  readonly since: number;
}

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

  constructor(gh: GitHub) {
    this.#gh = gh;
  }

  /** Fetches every target's public key (once per scope, never shared across scopes) and resolves selected repositories. */
  async preflight(targets: readonly Target[]): Promise<void> {
    const work: Promise<unknown>[] = [];
    for (const t of targets) {
      work.push(this.#key(t));
      if (t.kind === 'org' || t.kind === 'dependabot-org')
        for (const r of t.repos) work.push(this.#repoId(r));
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
      body['visibility'] = t.visibility;
      if (t.visibility === 'selected')
        body['selected_repository_ids'] = await Promise.all(t.repos.map((r) => this.#repoId(r)));
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
