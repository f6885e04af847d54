// Octokit's retry and throttling plugins pass every request through Bottleneck (light): the retry
// plugin's limiter, the throttling plugin's retry limiter, its global group and, for writes, its
// write group. Bottleneck's in-process datastore yields with `setTimeout(0)` at every step (submit,
// register, start, free), so a request waits 12 to 17 timer turns of at least 1 ms each: about 14 ms
// per request on loopback, where the request itself takes 1 ms. Those turns pace nothing: pacing
// (`minTime`, `maxConcurrent`) is computed from timestamps, and a job that must wait still waits with
// `setTimeout(wait)`. So here the zero-length turns become `setImmediate`: still a turn of the event
// loop (I/O runs in between), without the 1 ms floor. Only for the exact version this was read from;
// any other version is left as it is (slower, never wrong).
import Bottleneck from 'bottleneck/light.js';

/** The Bottleneck version whose internals `fastTurns` replaces (bottleneck/light.js). */
export const BOTTLENECK_VERSION = '2.19.5';

interface Job {
  readonly options: { readonly expiration?: number | null };
  doRun(): void;
  doExecute(chained: unknown, clear: () => boolean, run: unknown, free: unknown): Promise<unknown>;
  doExpire(clear: () => boolean, run: unknown, free: unknown): unknown;
}

interface Limiter {
  _limiter: unknown;
  _scheduled: Record<string, unknown>;
  _clearGlobalState(index: string): boolean;
  _free(index: string, job: Job, ...rest: unknown[]): Promise<unknown>;
  _run(index: string, job: Job, wait: number): unknown;
}

interface Store {
  Promise: PromiseConstructor;
  yieldLoop(t?: number): Promise<void>;
}

let applied: boolean | undefined;

/** Makes Bottleneck's zero-length waits immediate. Idempotent; true when applied. */
export function fastTurns(): boolean {
  if (applied !== undefined) return applied;
  const limiter = Bottleneck.prototype as unknown as Limiter;
  const probe = new Bottleneck() as unknown as { _store?: object };
  const store = probe._store ? (Object.getPrototypeOf(probe._store) as Store) : undefined;
  applied =
    Bottleneck.version === BOTTLENECK_VERSION &&
    typeof limiter._run === 'function' &&
    typeof store?.yieldLoop === 'function';
  if (!applied || !store) return applied;

  store.yieldLoop = function (this: Store, t = 0) {
    return new this.Promise<void>((resolve) => {
      if (t > 0) setTimeout(resolve, t);
      else setImmediate(resolve);
    });
  };
  // Bottleneck 2.19.5's `_run`, with setImmediate when there is nothing to wait for. The `timeout`
  // handle is only cleared by `stop()`, which neither plugin calls.
  limiter._run = function (this: Limiter, index: string, job: Job, wait: number) {
    job.doRun();
    const clearGlobalState = this._clearGlobalState.bind(this, index);
    const run = this._run.bind(this, index, job);
    const free = this._free.bind(this, index, job);
    const execute = (): Promise<unknown> =>
      job.doExecute(this._limiter, clearGlobalState, run, free);
    const expiration = job.options.expiration;
    return (this._scheduled[index] = {
      timeout: wait > 0 ? setTimeout(execute, wait) : setImmediate(execute),
      expiration:
        expiration != null
          ? setTimeout(() => job.doExpire(clearGlobalState, run, free), wait + expiration)
          : undefined,
      job,
    });
  };
  return applied;
}
