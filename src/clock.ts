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

/** `in 12 days`, `in 5 hours`, `3 days ago`: how far `at` is from now, in the largest fitting unit. */
export function spokenUntil(at: number): string {
  const ms = at - now();
  const abs = Math.abs(ms);
  const [size, unit] =
    abs >= 86_400_000
      ? [86_400_000, 'day']
      : abs >= 3_600_000
        ? [3_600_000, 'hour']
        : [60_000, 'minute'];
  const n = Math.floor(abs / size);
  const text = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}
