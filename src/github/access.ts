// Who may read an organization secret or variable: what a write sends, so that a rotation never
// widens (or narrows) access. The line's visibility and repositories, or, when it names none, the
// existing secret's or variable's own (read in preflight, every page).
import {
  type OrgTarget,
  scopeOf,
  type Target,
  scopePath,
  variablesPath,
  type Visibility,
} from '../inputs/targets.js';
import type { GitHub } from './client.js';
import { describe, status, StoreError } from './errors.js';

export interface Access {
  readonly visibility: Visibility;
  /** Repository ids, for `selected`. */
  readonly repositoryIds: readonly number[];
}

/** What is written: a secret, or a variable (which keeps its own visibility, apart from the secret's). */
export type Item = 'secret' | 'variable';

/** The REST path of `name` in `t`. */
export function itemPath(t: Target, item: Item, name: string): string {
  const base = item === 'secret' ? `${scopePath(t)}/secrets` : `${variablesPath(t)!}/variables`;
  return `${base}/${encodeURIComponent(name)}`;
}

/** Reads a secret's metadata; undefined when it does not exist. */
export type SecretReader = (
  t: Target,
  name: string,
) => Promise<Record<string, unknown> | undefined>;

class Absent extends Error {}

export class OrgAccess {
  readonly #gh: GitHub;
  readonly #repoIds = new Map<string, Promise<number>>();
  readonly #access = new Map<string, Promise<Access>>();
  readonly #readSecret: SecretReader | undefined;

  /** `readSecret`: reads a secret's metadata (undefined when it does not exist), shared with the store. */
  constructor(gh: GitHub, readSecret?: SecretReader) {
    this.#gh = gh;
    this.#readSecret = readSecret;
  }

  /** Who may read `name` in `t` once written: the line's choice, or the existing one's. Read once. */
  of(t: OrgTarget, name: string, item: Item = 'secret'): Promise<Access> {
    const k = `${scopeOf(t)}:${item}:${name.toUpperCase()}`;
    let access = this.#access.get(k);
    if (!access) {
      access =
        t.visibility === undefined
          ? this.#existing(t, name, item)
          : Promise.all(t.repos.map((r) => this.#repoId(r))).then((repositoryIds) => ({
              visibility: t.visibility!,
              repositoryIds,
            }));
      this.#access.set(k, access);
    }
    return access;
  }

  /** The existing secret's (or variable's) visibility and selected repositories (every page). */
  async #existing(t: OrgTarget, name: string, item: Item): Promise<Access> {
    const path = itemPath(t, item, name);
    const fail = (what: string, err: unknown): StoreError =>
      new StoreError(
        `Could not read ${what} of ${item} ${name} in ${t.line}: ${describe(err, t)}.`,
        'no',
        status(err),
      );
    let visibility: Visibility;
    try {
      const data =
        item === 'secret' && this.#readSecret
          ? await this.#readSecret(t, name)
          : (await this.#gh.request(`GET ${path}`)).data;
      if (data === undefined) throw new Absent();
      visibility = (data as { visibility: Visibility }).visibility;
    } catch (err) {
      if (err instanceof Absent || status(err) === 404)
        throw new StoreError(
          `${item === 'secret' ? 'Secret' : 'Variable'} ${name} does not exist yet in ${t.line}, so there is no visibility to keep: add one to the target line (\`${t.kind} ${t.org} private\`, \`all\`, or \`selected OWNER/NAME ...\`).`,
          'no',
          404,
        );
      throw fail('the visibility', err);
    }
    if (visibility !== 'all' && visibility !== 'private' && visibility !== 'selected')
      throw new StoreError(
        `GitHub reported an unknown visibility for ${item} ${name} in ${t.line}; name one on the target line.`,
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
          `The selected repositories of ${item} ${name} in ${t.line} changed while they were read (${ids.size} of ${total}); re-run.`,
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
