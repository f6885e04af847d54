// Writes the client id as an Actions variable: created or updated in each target scope that has
// variables, then read back. A variable is not secret, so the read-back compares the value itself.
import { hasVariables, isOrg, scopeOf, type Target, variablesPath } from '../inputs/targets.js';
import { itemPath, type OrgAccess } from './access.js';
import type { GitHub } from './client.js';
import { describe, status, StoreError } from './errors.js';

export class VariableStore {
  readonly #gh: GitHub;
  readonly #access: OrgAccess;
  /** Whether the variable exists, per scope: decides between PATCH (update) and POST (create). */
  readonly #exists = new Map<string, Promise<boolean>>();

  constructor(gh: GitHub, access: OrgAccess) {
    this.#gh = gh;
    this.#access = access;
  }

  /**
   * Proves the token can read the variables of every target that has them (a 403 or 404 fails here,
   * before the rotation), learns whether `name` exists, and for organization lines works out who may
   * read it (the line's visibility, or the existing variable's).
   */
  async preflight(targets: readonly Target[], name: string): Promise<void> {
    const work: Promise<unknown>[] = [];
    for (const t of targets.filter(hasVariables)) {
      work.push(this.#existsIn(t, name));
      if (isOrg(t)) work.push(this.#access.of(t, name, 'variable'));
    }
    const results = await Promise.allSettled(work);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Creates or updates the variable, then reads it back: a value other than `value` is a failure. */
  async store(t: Target, name: string, value: string): Promise<void> {
    const path = itemPath(t, 'variable', name);
    const body: Record<string, unknown> = { name, value };
    if (isOrg(t)) {
      const access = await this.#access.of(t, name, 'variable');
      body['visibility'] = access.visibility;
      if (access.visibility === 'selected') body['selected_repository_ids'] = access.repositoryIds;
    }
    const fail = (err: unknown): StoreError =>
      new StoreError(
        `Could not write variable ${name} in ${t.line}: ${describe(err, t, 'variable')}.`,
        'maybe',
        status(err),
      );
    const update = (): Promise<unknown> => this.#gh.request(`PATCH ${path}`, body);
    const create = (): Promise<unknown> =>
      this.#gh.request(`POST ${variablesPath(t)!}/variables`, body);
    try {
      if (await this.#existsIn(t, name)) {
        // Deleted since preflight: create it again.
        await update().catch((err: unknown) =>
          status(err) === 404 ? create() : Promise.reject(err),
        );
      } else {
        // Created since preflight (or by an earlier attempt of this POST whose answer was lost).
        await create().catch((err: unknown) =>
          status(err) === 409 ? update() : Promise.reject(err),
        );
      }
    } catch (err) {
      throw fail(err);
    }
    let read: string;
    try {
      const res = await this.#gh.request(`GET ${path}`);
      read = String((res.data as { value?: unknown }).value);
    } catch (err) {
      throw new StoreError(
        `Wrote variable ${name} in ${t.line} but could not read it back: ${describe(err, t, 'variable')}.`,
        'maybe',
        status(err),
      );
    }
    if (read !== value)
      throw new StoreError(
        `Wrote variable ${name} in ${t.line} but reading it back shows another value; treating the write as failed.`,
        'maybe',
      );
  }

  #existsIn(t: Target, name: string): Promise<boolean> {
    const k = `${scopeOf(t)}:${name.toUpperCase()}`;
    let exists = this.#exists.get(k);
    if (!exists) {
      exists = this.#probe(t, name);
      this.#exists.set(k, exists);
    }
    return exists;
  }

  /** One GET when the variable exists; when it answers 404, listing the scope's variables tells "missing" from "no access". */
  async #probe(t: Target, name: string): Promise<boolean> {
    const base = `${variablesPath(t)!}/variables`;
    const fail = (err: unknown): StoreError =>
      new StoreError(
        `Could not read the variables of ${t.line}: ${describe(err, t, 'variable')}.`,
        'no',
        status(err),
      );
    try {
      await this.#gh.request(`GET ${base}/${encodeURIComponent(name)}`);
      return true;
    } catch (err) {
      if (status(err) !== 404) throw fail(err);
    }
    try {
      await this.#gh.request(`GET ${base}`, { per_page: 1 });
      return false;
    } catch (err) {
      throw fail(err);
    }
  }
}
