// Writes secrets into GitHub: public keys per scope, sealing, the write itself and the read-back
// that proves it landed.
import { now } from '../clock.js';
import { isOrg, scopeOf, scopePath, type Target } from '../inputs/targets.js';
import { OrgAccess } from './access.js';
import { Attempts, type GitHub } from './client.js';
import { describe, status, StoreError } from './errors.js';
import type { Landed } from '../destination.js';
import { publicKeyFromBase64, seal, usable } from './seal.js';
import { VariableStore } from './variables.js';
import { RepositoryLister } from './repos.js';
import type { ListedRepo } from '../inputs/patterns.js';

interface Key {
  readonly keyId: string;
  readonly key: Uint8Array;
  /** GitHub's clock (second precision) when the key was read: a verified write is at least this new. */
  readonly since: number;
}

export class SecretStore {
  readonly #gh: GitHub;
  readonly #keys = new Map<string, Promise<Key>>();
  readonly #access: OrgAccess;
  readonly #variables: VariableStore;
  readonly #repos: RepositoryLister;

  /** `installationToken`: the token is a GitHub App installation token (see RepositoryLister). */
  constructor(gh: GitHub, o: { installationToken?: boolean } = {}) {
    this.#gh = gh;
    this.#access = new OrgAccess(gh);
    this.#variables = new VariableStore(gh, this.#access);
    this.#repos = new RepositoryLister(gh, o.installationToken ?? false);
  }

  listRepositories(owner: string): Promise<readonly ListedRepo[]> {
    return this.#repos.list(owner);
  }

  /**
   * Fetches every target's public key (once per scope, never shared across scopes) and works out who
   * may read each organization secret `names` will write: the repositories the line selects, or,
   * when it names no visibility, the existing secret's visibility and repositories. With `variable`,
   * the same for the variable in every target that has variables, and that the token may read them.
   */
  async preflight(
    targets: readonly Target[],
    names: readonly string[],
    variable?: string,
  ): Promise<void> {
    const work: Promise<unknown>[] = [];
    if (variable !== undefined) work.push(this.#variables.preflight(targets, variable));
    for (const t of targets) {
      work.push(this.#key(t));
      if (isOrg(t)) for (const name of names) work.push(this.#access.of(t, name));
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
        `Could not read secret ${name} in ${t.line}: ${describe(err, t)}.`,
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
    if (isOrg(t)) {
      const access = await this.#access.of(t, name);
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
        `Could not write secret ${name} in ${t.line}: ${describe(err, t)}.`,
        landed,
        s,
      );
    }
    const updated = await this.updatedAt(t, name).catch((err: unknown) => {
      throw new StoreError(
        `Wrote secret ${name} in ${t.line} but could not read it back: ${describe(err, t)}.`,
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

  /** Creates or updates variable `name` in `t` and reads its value back. */
  storeVariable(t: Target, name: string, value: string): Promise<void> {
    return this.#variables.store(t, name, value);
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
}
