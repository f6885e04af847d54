// How hard to try, for GitHub and the providers alike: one value made from the inputs and handed to
// both HTTP clients. The pipeline says which phase the run is in; the policy owns each phase's budget.
import { now } from './clock.js';

export interface PolicyOptions {
  /** Limit for one HTTP exchange (connect, headers, body): `request-timeout`. */
  readonly timeoutMs: number;
  /** How long GitHub may be retried after the rotation: `store-timeout`. */
  readonly storeTimeoutMs: number;
  /** Attempts of a provider call that is safe to repeat. */
  readonly attempts?: number;
}

/** Before the rotating call a failure stops the run: retrying long would only delay the news. */
const PREFLIGHT_MS = 15_000;

export class RetryPolicy {
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly #storeTimeoutMs: number;
  /** GitHub retries stop here; no phase yet, no retries. */
  #deadline = now();

  constructor(o: PolicyOptions) {
    this.timeoutMs = o.timeoutMs;
    this.attempts = o.attempts ?? 4;
    this.#storeTimeoutMs = o.storeTimeoutMs;
  }

  /** Preflight: nothing is at stake yet, a short budget. */
  startPreflight(): void {
    this.#deadline = now() + PREFLIGHT_MS;
  }

  /**
   * From the rotating call on: the new secret exists only in this process until it is stored, so
   * GitHub is retried up to store-timeout.
   */
  startStoring(): void {
    this.#deadline = now() + this.#storeTimeoutMs;
  }

  /** True when a wait of `ms` from now still ends before this phase's deadline. */
  allows(ms: number): boolean {
    return now() + ms < this.#deadline;
  }
}
