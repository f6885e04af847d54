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
 * `X-RateLimit-Reset` (Auth0): the UNIX time, in seconds, when the rate limit window resets, as a
 * wait from now; undefined when absent or unreadable. Capped at 60 s like Retry-After.
 */
export function rateLimitResetMs(
  header: string | string[] | undefined,
  now = clockNow(),
): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const seconds = value && /^\d{1,12}$/.test(value.trim()) ? Number(value) : NaN;
  return Number.isFinite(seconds) ? Math.min(Math.max(seconds * 1000 - now, 0), 60_000) : undefined;
}
