// Time as the action sees it. The real clock by default; unit tests and the invariant search set a
// virtual one, so that backoff, pacing, deadlines and propagation waits cost no real time.

export interface Clock {
  /** Milliseconds since the epoch, like Date.now(). */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

let current: Clock = realClock;

export function now(): number {
  return current.now();
}

export function sleep(ms: number): Promise<void> {
  return current.sleep(ms);
}

/** Replaces the clock (tests only); without an argument, restores the real one. */
export function setClock(clock: Clock = realClock): void {
  current = clock;
}
