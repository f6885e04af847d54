// Writes secrets into GitHub: public keys per scope, sealing, the write itself and the read-back
// that proves it landed. The proof rests on what only this run's write can show: preflight reads each
// secret's updated_at, the write goes out once an answer from GitHub shows its clock past that second,
// and the read-back must show an updated_at strictly newer. A write by an earlier run (even one in the
// same second) or a write GitHub answered without doing it cannot pass.
import { now, sleep } from '../clock.js';
import { isOrg, scopeOf, scopePath, type Target } from '../inputs/targets.js';
import { OrgAccess } from './access.js';
import { Attempts, type GitHub, type GitHubTime, githubTime } from './client.js';
import { describe, status, StoreError } from './errors.js';
import type { Landed } from '../destination.js';
import { publicKeyFromBase64, seal, usable } from './seal.js';
import { VariableStore } from './variables.js';
import { RepositoryLister } from './repos.js';
import type { ListedRepo } from '../inputs/patterns.js';

interface Key {
  readonly keyId: string;
  readonly key: Uint8Array;
}

/** Looks at GitHub's clock at most this many times before a write, each after a wait of at most WAIT_MS. */
const MAX_LOOKS = 4;
const WAIT_MS = 1_100;
/** The least wait between two looks, and what is added for clocks that differ between GitHub's hosts. */
const MARGIN_MS = 100;
/** How far ahead the runner's clock may be, where GitHub's answers tell nothing of its own. */
const CLOCK_SKEW_MS = 300_000;

export class SecretStore {
  readonly #gh: GitHub;
  readonly #keys = new Map<string, Promise<Key>>();
  readonly #access: OrgAccess;
  readonly #variables: VariableStore;
  readonly #repos: RepositoryLister;
  readonly #time: GitHubTime;
  /** Each secret's metadata as preflight read it (undefined: it did not exist), per scope and name. */
  readonly #found = new Map<string, Promise<Record<string, unknown> | undefined>>();

  /** `installationToken`: the token is a GitHub App installation token (see RepositoryLister). */
  constructor(gh: GitHub, o: { installationToken?: boolean } = {}) {
    this.#gh = gh;
    this.#time = githubTime(gh);
    // An org secret's visibility comes from the same read as its updated_at.
    this.#access = new OrgAccess(gh, (t, name) => this.#foundMeta(t, name));
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
      for (const name of names) {
        work.push(this.found(t, name));
        if (isOrg(t)) work.push(this.#access.of(t, name));
      }
    }
    const results = await Promise.allSettled(work);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** When the secret was last updated, or undefined when it does not exist: read now. */
  async updatedAt(t: Target, name: string): Promise<Date | undefined> {
    let data: Record<string, unknown> | undefined;
    try {
      data = await this.#readMeta(t, name);
    } catch (err) {
      throw readFailure(t, name, err);
    }
    return data === undefined ? undefined : updatedAtOf(data, t, name);
  }

  /** When the secret was last updated as this run first read it (in preflight), or undefined when it did not exist. */
  async found(t: Target, name: string): Promise<Date | undefined> {
    let data: Record<string, unknown> | undefined;
    try {
      data = await this.#foundMeta(t, name);
    } catch (err) {
      throw readFailure(t, name, err);
    }
    return data === undefined ? undefined : updatedAtOf(data, t, name);
  }

  /** The secret's metadata, read once per run; undefined when it does not exist. */
  #foundMeta(t: Target, name: string): Promise<Record<string, unknown> | undefined> {
    const k = `${scopeOf(t)}:${name.toUpperCase()}`;
    let meta = this.#found.get(k);
    if (!meta) {
      meta = this.#readMeta(t, name);
      this.#found.set(k, meta);
    }
    return meta;
  }

  async #readMeta(t: Target, name: string): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await this.#gh.request(`GET ${scopePath(t)}/secrets/${encodeURIComponent(name)}`);
      const data = res.data as unknown;
      return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * The newest updated_at the secret had before this write (undefined: it did not exist), once an
   * answer from GitHub has shown its clock past that second: a write sent now is stamped later, so
   * the read-back can tell it from anything before. Costs nothing when the secret was updated before
   * the second of preflight's answers; else a wait of about a second and a look at the secret.
   */
  async #before(t: Target, name: string): Promise<number | undefined> {
    const found = await this.found(t, name);
    let before = found?.getTime();
    for (let look = 0; before !== undefined && look < MAX_LOOKS; look++) {
      const next = Math.floor(before / 1000) * 1000 + 1000;
      const shown = this.#time.latest();
      if (shown !== undefined && shown >= next) break;
      // No Date header at all (a proxy may drop it): the runner's clock, allowed five minutes ahead.
      if (shown === undefined && now() - CLOCK_SKEW_MS >= next) break;
      const atLeast = this.#time.atLeast() ?? now();
      await sleep(Math.min(Math.max(next - atLeast, 0) + MARGIN_MS, WAIT_MS));
      // The answer's Date header tells the clock (client.ts); a write meanwhile moves `before` on.
      const again = await this.#readMeta(t, name).catch(() => undefined);
      const at = again === undefined ? NaN : Date.parse(String(again['updated_at']));
      if (at > before) before = at;
    }
    return before;
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
    const before = await this.#before(t, name);
    // A secret absent at preflight counts as this run's only when stamped no earlier than GitHub's
    // clock just before the write (a second's slack between GitHub's servers): one another writer
    // created meanwhile, with this write lost, is older.
    const sentAfter = before === undefined ? this.#time.atLeast() : undefined;
    const attempts = new Attempts();
    try {
      await this.#gh.request(`PUT ${path}`, { ...body, request: { attempts } });
    } catch (err) {
      const s = status(err);
      // Not landed only when every attempt was refused: one that may have reached GitHub decides.
      const refused = s !== undefined && s >= 400 && s < 500 && !attempts.mayHaveLanded;
      const landed: Landed = refused ? 'no' : 'maybe';
      throw new StoreError(
        `Could not write secret ${name} in ${t.line}: ${describe(err, t)}${refused ? '' : '; whether the write took effect is unknown'}.`,
        landed,
        s,
      );
    }
    let updated: Date | undefined;
    try {
      const data = await this.#readMeta(t, name);
      updated = data === undefined ? undefined : updatedAtOf(data, t, name);
    } catch (err) {
      const why =
        err instanceof StoreError
          ? 'GitHub answered without a usable updated_at'
          : describe(err, t);
      throw new StoreError(
        `Wrote secret ${name} in ${t.line} but could not read it back: ${why}.`,
        'maybe',
      );
    }
    const earliest =
      sentAfter === undefined ? -Infinity : Math.floor(sentAfter / 1000) * 1000 - 1000;
    if (
      updated === undefined ||
      !(before === undefined ? updated.getTime() >= earliest : updated.getTime() > before)
    ) {
      throw new StoreError(
        `Wrote secret ${name} in ${t.line} but GitHub does not show it as updated (updated_at did not move${before === undefined ? (updated === undefined ? '' : `: it shows ${updated.toISOString()}, before this write was sent`) : ` from ${new Date(before).toISOString()}`}); treating the write as failed.`,
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
      return { keyId: String(data.key_id), key: publicKeyFromBase64(data.key) };
    } catch (err) {
      throw new StoreError(
        `Could not get the public key of ${t.line}: ${describe(err, t)}.`,
        'no',
        status(err),
      );
    }
  }
}

function readFailure(t: Target, name: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  return new StoreError(
    `Could not read secret ${name} in ${t.line}: ${describe(err, t)}.`,
    'no',
    status(err),
  );
}

/** GitHub's updated_at of a secret; an answer without a usable one is a failure, never a guess. */
function updatedAtOf(data: Record<string, unknown>, t: Target, name: string): Date {
  const raw = data['updated_at'];
  const at = typeof raw === 'string' && raw.length <= 40 ? Date.parse(raw) : NaN;
  if (Number.isNaN(at))
    throw new StoreError(
      `Could not read secret ${name} in ${t.line}: GitHub answered without a usable updated_at.`,
      'no',
    );
  return new Date(at);
}
