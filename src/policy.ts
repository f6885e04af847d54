// How hard to try, for GitHub and the providers alike: one value made from the inputs and handed to
// both HTTP clients. The pipeline says which phase the run is in; the policy owns each phase's budget.
import { now } from './clock.js';
import { NEVER, type Stop, stopBefore } from './stop.js';

export interface PolicyOptions {
  /** Limit for one HTTP exchange (connect, headers, body): `request-timeout`. */
  readonly timeoutMs: number;
  /** How long GitHub may be retried after the rotation: `store-timeout`. */
  readonly storeTimeoutMs: number;
  /** Attempts of a provider call that is safe to repeat. */
  readonly attempts?: number;
  /** A request to stop (src/stop.ts): before the rotating call it aborts everything at once. */
  readonly stop?: Stop;
}

/**
 * Once a stop is requested, how long before the runner's kill each phase's requests are aborted.
 * Storing ends first, leaving time to revoke App installation tokens (cleanup, which ends last of
 * all: revoking outranks the issue) and to file the failure issue (publishing). The report's files
 * and the last log line need no network and take a few milliseconds.
 */
export const STOP_MARGIN_MS = { storing: 2500, publishing: 1400, cleanup: 800 } as const;

type Phase = 'preflight' | keyof typeof STOP_MARGIN_MS;

/** Before the rotating call a failure stops the run: retrying long would only delay the news. */
const PREFLIGHT_MS = 15_000;

export class RetryPolicy {
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly #storeTimeoutMs: number;
  readonly #stop: Stop;
  /** GitHub retries stop here; no phase yet, no retries. */
  #deadline = now();
  /** Until the rotation, a stop aborts every request at once. */
  #phase: Phase = 'preflight';
  readonly #signals = new Map<Phase, AbortSignal>();

  constructor(o: PolicyOptions) {
    this.timeoutMs = o.timeoutMs;
    this.attempts = o.attempts ?? 4;
    this.#storeTimeoutMs = o.storeTimeoutMs;
    this.#stop = o.stop ?? NEVER;
  }

  /** Preflight: nothing is at stake yet, a short budget. */
  startPreflight(): void {
    this.#phase = 'preflight';
    this.#deadline = now() + PREFLIGHT_MS;
  }

  /**
   * From the rotating call on: the new secret exists only in this process until it is stored, so
   * GitHub is retried up to store-timeout.
   */
  startStoring(): void {
    this.#phase = 'storing';
    this.#deadline = now() + this.#storeTimeoutMs;
  }

  /** After the run: cleaning up (revoking App installation tokens) gets a short budget of its own. */
  startCleanup(): void {
    this.#phase = 'cleanup';
    this.#deadline = now() + PREFLIGHT_MS;
  }

  /** Publishing the report (the failure issue): a short budget, and the last share of a stop's grace. */
  startPublishing(): void {
    this.#phase = 'publishing';
    this.#deadline = now() + PREFLIGHT_MS;
  }

  /** True when a wait of `ms` from now still ends before this phase's deadline (and a stop's). */
  allows(ms: number): boolean {
    return this.stopAllows(ms) && now() + ms < this.#deadline;
  }

  /**
   * Waiting out GitHub's rate limit (Retry-After), which a large fan-out meets in preflight already
   * (each target's key and secret read): harmless before the rotation, so preflight may wait up to
   * store-timeout from its start for it, as storing does. Other faults keep the short budget.
   */
  allowsRateLimitWait(ms: number): boolean {
    if (!this.stopAllows(ms)) return false;
    const until =
      this.#phase === 'preflight'
        ? Math.max(this.#deadline, this.#deadline - PREFLIGHT_MS + this.#storeTimeoutMs)
        : this.#deadline;
    return now() + ms < until;
  }

  /** False when a stop was requested and a wait of `ms` would not end before the phase's margin. */
  stopAllows(ms: number): boolean {
    if (this.#stop.requested === undefined) return true;
    if (this.#phase === 'preflight') return false;
    return ms < this.#stop.remainingMs() - STOP_MARGIN_MS[this.#phase];
  }

  /** The signal that asked the run to stop, if any. */
  stopRequested(): Stop['requested'] {
    return this.#stop.requested;
  }

  /**
   * What aborts a request started now: in preflight, a stop at once; later, the stop once only the
   * phase's margin is left. `rotating`: a call that may issue the new secret is never aborted after
   * preflight (aborting it would make its outcome unknown); it has the rest of the grace to finish.
   */
  signal(rotating = false): AbortSignal | undefined {
    if (this.#stop === NEVER) return undefined;
    const phase = this.#phase;
    if (phase !== 'preflight' && rotating) return undefined;
    let signal = this.#signals.get(phase);
    if (!signal) {
      signal = stopBefore(this.#stop, phase === 'preflight' ? 0 : STOP_MARGIN_MS[phase]);
      this.#signals.set(phase, signal);
    }
    return signal;
  }
}
