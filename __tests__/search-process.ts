// The process a run of the search lives in, in process: which run a request or a sleep belongs to
// (AsyncLocalStorage), and what it means for that run to die. A killed run (SIGKILL, or the runner's
// kill at the end of a cancel's grace periods) is abandoned where it stands: none of its requests
// reaches an emulator again and no answer reaches it, nothing it logs afterwards reaches the log, and
// it is never awaited. So that a dead run cannot hold what the process shares (Octokit's throttling
// plugin keeps one Bottleneck group per process, ten requests at a time), everything it still does
// fails at once with `Killed`: its requests and its sleeps, without moving the virtual clock. Every
// provider and GitHub request goes through undici's Agent (src/undici.ts, src/github/fetch.ts), whose
// dispatch this module wraps once.
import { AsyncLocalStorage } from 'node:async_hooks';
import AgentImpl from 'undici/lib/dispatcher/agent.js';
import type { Clock } from '../src/clock.js';

/** A request as the client sends it, before any emulator sees it. */
export interface Outgoing {
  /** The port of the emulator it goes to. */
  readonly port: number;
  readonly method: string;
  /** Without the query string. */
  readonly path: string;
  readonly body: string;
}

/**
 * What happens to a request of a live run: sent as usual; the run dies before it or once its answer
 * starts to arrive; or the run is signalled (RunProcess.onSignal: the runner's cancel) just before it
 * is sent or once its answer starts to arrive, and goes on.
 */
export type Verdict = 'send' | 'die-before' | 'die-after' | 'signal-before' | 'signal-after';

/** What a dead run's requests and sleeps fail with. */
export class Killed extends Error {
  override readonly name = 'Killed';
  constructor() {
    super('the process was killed');
  }
}

export class RunProcess {
  #dead = false;
  #died: () => void = () => undefined;
  /** Resolves when the run dies (never, for a run that ends by itself). */
  readonly death: Promise<'killed'> = new Promise((resolve) => {
    this.#died = () => resolve('killed');
  });
  /** Consulted before each request of the run; may also deliver signals. */
  onRequest: (r: Outgoing) => Verdict = () => 'send';
  /** Consulted when the run sleeps from `from` to `to` (virtual ms): the run may die meanwhile. */
  onSleep: (from: number, to: number) => void = () => undefined;
  /** Called where a verdict signals the run (the runner's SIGINT). */
  onSignal: () => void = () => undefined;

  /** Requests sent and not yet settled (answered, failed or aborted). */
  inFlight = 0;

  /**
   * After a death: resolves once every request the run had sent has settled and the emulators have
   * had a moment to finish what reached them, so that an effect of the dead run never lands during
   * the next one.
   */
  async settled(): Promise<void> {
    for (let i = 0; i < 400 && this.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));
  }

  get dead(): boolean {
    return this.#dead;
  }

  kill(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#died();
  }

  /** Runs `fn` as this process: its requests and sleeps are this run's. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return store.run(this, fn);
  }
}

const store = new AsyncLocalStorage<RunProcess>();

/** The run the caller belongs to, if any. */
export function currentRun(): RunProcess | undefined {
  return store.getStore();
}

/** Virtual time: sleeping moves it on (never back) and resolves at once; a dead run's sleep never ends. */
export class VirtualClock implements Clock {
  #t: number;
  constructor(start: number) {
    this.#t = start;
  }
  readonly now = (): number => this.#t;
  /** Time passing while nobody sleeps: a request that takes minutes, or the gap between runs. */
  advance(ms: number): void {
    this.#t += ms;
  }
  readonly sleep = async (ms: number): Promise<void> => {
    const run = currentRun();
    const wake = this.#t + Math.max(0, ms);
    await new Promise((resolve) => setImmediate(resolve));
    if (run) {
      if (!run.dead) run.onSleep(this.#t, wake);
      if (run.dead) throw new Killed();
    }
    if (wake > this.#t) this.#t = wake;
  };
}

type Handler = Record<string | symbol, unknown>;
type Dispatch = (this: unknown, opts: Record<string, unknown>, handler: Handler) => boolean;
const proto = AgentImpl.prototype as unknown as { dispatch: Dispatch };
const PATCHED = Symbol.for('rotate-client-secret.search.dispatch');

/** Wraps undici's Agent.dispatch once per process. */
function patchDispatch(): void {
  if ((proto as unknown as Record<symbol, boolean>)[PATCHED]) return;
  const original = proto.dispatch;
  proto.dispatch = function (opts, handler) {
    const run = currentRun();
    if (!run) return original.call(this, opts, handler);
    const fail = (): true => {
      queueMicrotask(() => (handler['onError'] as (e: Error) => void).call(handler, new Killed()));
      return true;
    };
    // A dead run sends nothing.
    if (run.dead) return fail();
    const origin = new URL(String(opts['origin']));
    const body = opts['body'];
    const verdict = run.onRequest({
      port: Number(origin.port),
      method: String(opts['method'] ?? 'GET'),
      path: String(opts['path'] ?? '/').split('?')[0]!,
      body: typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : '',
    });
    if (verdict === 'die-before') run.kill();
    if (verdict === 'signal-before') run.onSignal();
    if (run.dead) return fail();
    // No answer reaches a dead run: its request is aborted instead. With die-after, the run dies
    // when the answer starts to arrive (the provider has acted) or the request fails.
    let abort: ((e: Error) => void) | undefined;
    let failed = false;
    let settled = false;
    let signalled = false;
    run.inFlight += 1;
    const settle = (): void => {
      if (!settled) run.inFlight -= 1;
      settled = true;
    };
    const wrapped = new Proxy(handler, {
      get(target, key) {
        const v = target[key];
        if (typeof v !== 'function' || typeof key !== 'string' || !key.startsWith('on')) return v;
        const call = (...args: unknown[]): unknown =>
          (v as (...a: unknown[]) => unknown).apply(target, args);
        return (...args: unknown[]): unknown => {
          if (key === 'onConnect') abort = args[0] as (e: Error) => void;
          if (key === 'onComplete' || key === 'onError') settle();
          const answered = ['onHeaders', 'onError', 'onUpgrade'].includes(key);
          if (verdict === 'die-after' && answered) run.kill();
          if (verdict === 'signal-after' && answered && !signalled) {
            signalled = true;
            run.onSignal();
          }
          if (!run.dead) return call(...args);
          if (key === 'onError') {
            if (failed) return undefined;
            failed = true;
            return (target['onError'] as (e: Error) => void).call(target, new Killed());
          }
          if (key === 'onConnect') call(...args);
          abort?.(new Killed());
          return false;
        };
      },
    });
    return original.call(this, opts, wrapped);
  };
  (proto as unknown as Record<symbol, boolean>)[PATCHED] = true;
}

patchDispatch();

/**
 * Bottleneck (inside Octokit's throttling and retry plugins) yields about a dozen times a request with
 * setTimeout(0), which Node rounds up to 1 ms. During a run, zero-delay timeouts run on setImmediate
 * instead: a schedule then costs a few milliseconds, not a hundred. Returns the undo.
 */
export function fastZeroTimeouts(): () => void {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const immediates = new WeakSet<object>();
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    if (ms !== undefined && ms > 0) return realSet(fn, ms, ...args);
    const handle = setImmediate(fn, ...args);
    immediates.add(handle);
    return handle;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((handle?: object) => {
    if (handle && immediates.has(handle)) clearImmediate(handle as NodeJS.Immediate);
    else realClear(handle as NodeJS.Timeout);
  }) as typeof clearTimeout;
  return () => {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  };
}

const realSetTimeout = globalThis.setTimeout;

/**
 * Virtual time for many concurrent tasks (a large fan-out): unlike VirtualClock, where each sleep moves
 * the time at once, sleeps here are timers, and the time moves to the earliest one only when the run
 * is idle: no request in flight (`busy`) and nothing new for a moment of real time. Work that takes
 * real time (signing a JWT, a round trip) then takes no virtual time, as on a real clock it takes a
 * few milliseconds, and a token or JWT never ages while its request is on its way.
 */
export class EventClock implements Clock {
  #t: number;
  readonly #busy: () => boolean;
  readonly #timers: { readonly wake: number; readonly resolve: () => void }[] = [];
  #ticking = false;

  constructor(start: number, busy: () => boolean) {
    this.#t = start;
    this.#busy = busy;
  }

  readonly now = (): number => this.#t;

  readonly sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      if (ms <= 0) {
        setImmediate(resolve);
        return;
      }
      this.#timers.push({ wake: this.#t + ms, resolve });
      this.#tick();
    });

  #tick(): void {
    if (this.#ticking) return;
    this.#ticking = true;
    const step = (): void => {
      if (this.#timers.length === 0) {
        this.#ticking = false;
        return;
      }
      if (this.#busy()) {
        realSetTimeout(step, 1);
        return;
      }
      realSetTimeout(() => {
        if (this.#busy()) return void realSetTimeout(step, 1);
        this.#timers.sort((a, b) => a.wake - b.wake);
        const wake = this.#timers[0]!.wake;
        if (wake > this.#t) this.#t = wake;
        // Every timer due by now wakes together.
        while (this.#timers.length > 0 && this.#timers[0]!.wake <= this.#t)
          this.#timers.shift()!.resolve();
        realSetTimeout(step, 1);
      }, 2);
    };
    realSetTimeout(step, 1);
  }
}
