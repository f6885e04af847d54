// Stopping, in one place. When a job is cancelled (by hand, by timeout-minutes, by a runner shutting
// down), GitHub's runner sends SIGINT, then SIGTERM 7.5 s later, then kills the process tree 2.5 s
// after that; a SIGTERM alone leaves about 2.5 s. Node's default handlers exit at once, which loses a
// secret the rotating call has just issued: here a signal only asks the run to stop, and says how much
// time is left. The pipeline decides what a stop means in each phase (src/pipeline.ts); the retry
// policy turns it into aborted requests (src/policy.ts). Installed by the entry (src/index.ts) only,
// injected everywhere else (Surroundings in src/wire.ts), so the in-process invariant search can stop a
// run with `request()`.
import { now } from './clock.js';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** A request to stop, as the run sees it. */
export interface Stop {
  /** Aborted at the first request to stop (its reason a StopError). */
  readonly signal: AbortSignal;
  /** The first signal received, or undefined while the run is not asked to stop. */
  readonly requested: StopSignal | undefined;
  /** Milliseconds until the runner kills the process (never below 0); Infinity while not stopped. */
  remainingMs(): number;
}

/** How long the runner lets a process live after each signal, until it kills the process tree. */
export const GRACE_MS: Readonly<Record<StopSignal, number>> = {
  // SIGTERM 7.5 s after SIGINT, the kill 2.5 s after that.
  SIGINT: 10_000,
  SIGTERM: 2_500,
};

/**
 * The environment variable that shortens the grace periods, for tests: a factor in (0, 1]. It can only
 * shorten them (a run never counts on more time than the runner gives); anything else is ignored.
 */
export const GRACE_SCALE_ENV = 'ROTATE_CLIENT_SECRET_GRACE_SCALE';

/** The factor GRACE_SCALE_ENV asks for, or 1. */
export function graceScale(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env[GRACE_SCALE_ENV]?.trim() ?? '';
  const n = /^(0(\.\d{1,6})?|1(\.0{1,6})?)$/.test(raw) ? Number(raw) : NaN;
  return n > 0 && n <= 1 ? n : 1;
}

/** The reason of an aborted request: the run was asked to stop. */
export class StopError extends Error {
  override readonly name = 'StopError';
  readonly stopSignal: StopSignal;
  constructor(signal: StopSignal) {
    super(`the run was stopped (${signal})`);
    this.stopSignal = signal;
  }
}

export class StopController implements Stop {
  readonly #abort = new AbortController();
  readonly #scale: number;
  #requested: StopSignal | undefined;
  #deadline = Infinity;

  /** `scale`: the factor applied to GRACE_MS (graceScale); 1 by default. */
  constructor(o: { readonly scale?: number } = {}) {
    this.#scale = o.scale ?? 1;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get requested(): StopSignal | undefined {
    return this.#requested;
  }

  remainingMs(): number {
    return Math.max(0, this.#deadline - now());
  }

  /**
   * Asks the run to stop, as `signal` would. A later signal can only bring the kill closer (SIGTERM
   * after SIGINT: 2.5 s from now, or the SIGINT's 10 s if sooner), never end the process early.
   */
  request(signal: StopSignal): void {
    this.#deadline = Math.min(this.#deadline, now() + GRACE_MS[signal] * this.#scale);
    if (this.#requested !== undefined) return;
    this.#requested = signal;
    this.#abort.abort(new StopError(signal));
  }

  /**
   * Handles SIGINT and SIGTERM for the rest of the process's life instead of Node's default (exit at
   * once): every one of them only asks to stop, and `onSignal` is told (to log it). Returns a
   * function that removes the handlers.
   */
  install(
    onSignal: (signal: StopSignal, remainingMs: number) => void = () => undefined,
    proc: Pick<NodeJS.Process, 'on' | 'off'> = process,
  ): () => void {
    const on = (signal: StopSignal): void => {
      this.request(signal);
      onSignal(signal, this.remainingMs());
    };
    const onInt = (): void => on('SIGINT');
    const onTerm = (): void => on('SIGTERM');
    proc.on('SIGINT', onInt);
    proc.on('SIGTERM', onTerm);
    return () => {
      proc.off('SIGINT', onInt);
      proc.off('SIGTERM', onTerm);
    };
  }
}

/** Never asked to stop: for runs without a controller. */
export const NEVER: Stop = {
  signal: new AbortController().signal,
  requested: undefined,
  remainingMs: () => Infinity,
};

/** How often a deadline signal looks at the time left once a stop was requested. */
const POLL_MS = 25;

/**
 * A signal aborted (with the stop's reason) once a stop was requested and at most `marginMs` are left
 * before the kill; `marginMs` 0: at the first request. It looks at the time left every few
 * milliseconds of real time (never on the run's clock: a virtual clock must not move by itself), and
 * its timer never keeps the process alive.
 */
export function stopBefore(stop: Stop, marginMs: number): AbortSignal {
  if (marginMs <= 0 || stop === NEVER) return stop.signal;
  const ctl = new AbortController();
  const check = (): boolean => {
    if (stop.requested === undefined || stop.remainingMs() > marginMs) return false;
    ctl.abort(stop.signal.reason);
    return true;
  };
  const watch = (): void => {
    if (check()) return;
    const timer = setInterval(() => void (check() && clearInterval(timer)), POLL_MS);
    timer.unref();
  };
  if (stop.signal.aborted) watch();
  else stop.signal.addEventListener('abort', watch, { once: true });
  return ctl.signal;
}

/** Resolves once `stopBefore(stop, marginMs)` aborts; never when no stop is requested. */
export function stopReached(stop: Stop, marginMs: number): Promise<void> {
  const signal = stopBefore(stop, marginMs);
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
