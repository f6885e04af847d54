// Backoff arithmetic shared by the provider HTTP helper and the GitHub client.
import { now as clockNow } from './clock.js';

const BASE_MS = 500;
const CAP_MS = 20_000;

/** Capped exponential backoff with full jitter: a random wait in [0, min(cap, base * 2^(attempt-1))]. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(CAP_MS, BASE_MS * 2 ** (attempt - 1)));
}

/** `Retry-After` as seconds or an HTTP date; undefined when absent or unreadable. Capped at 60 s. */
export function retryAfterMs(
  header: string | string[] | undefined,
  now = clockNow(),
): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 60_000) : undefined;
}

/**
 * `X-Rate-Limit-Reset` (Okta): when the rate-limit window resets, in epoch seconds of the server's
 * clock, so measured from the answer's `Date` when it has one. Undefined when absent; capped at 60 s.
 */
export function rateLimitResetMs(
  header: string | string[] | undefined,
  date: string | string[] | undefined,
  now = clockNow(),
): number | undefined {
  const value = Number(Array.isArray(header) ? header[0] : header);
  if (!value || !Number.isFinite(value)) return undefined;
  const served = Date.parse((Array.isArray(date) ? date[0] : date) ?? '');
  const ms = value * 1000 - (Number.isFinite(served) ? served : now);
  return Math.min(Math.max(ms, 0), 60_000);
}
