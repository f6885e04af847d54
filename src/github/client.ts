// The Octokit client: throttled writes as GitHub asks, retries with capped, jittered backoff that
// stop at a deadline, and a timeout on every request.
import { now, sleep } from '../clock.js';
import { HttpClient } from '@actions/http-client';
import { getOctokit } from '@actions/github';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import type { Octokit } from '@octokit/core';
import { TooLargeError } from '../http.js';
import type { Dispatcher } from '../undici.js';
import { cappedFetch } from './fetch.js';
import type { RetryPolicy } from '../policy.js';
import { backoffMs, retryAfterMs } from '../retry.js';
import { octokitLog } from '../untrusted.js';
import { fastTurns } from './scheduler.js';

export type GitHub = ReturnType<typeof getOctokit>;

export interface ClientOptions {
  readonly token: string;
  /**
   * The token to send with each request, when it can change during the run (an installation token
   * re-minted before it expires, src/github/app.ts): asked for before every exchange.
   */
  readonly current?: () => Promise<string>;
  /**
   * Without the throttling plugin's queues: for the request that re-mints an installation token,
   * which requests waiting for that token may be holding the queues' places for.
   */
  readonly unqueued?: boolean;
  readonly apiUrl: string;
  /** The per-exchange timeout, and when retrying must stop. */
  readonly policy: RetryPolicy;
  readonly warn: (message: string) => void;
}

export function createGitHub(o: ClientOptions): GitHub {
  fastTurns();
  const dispatcher = new HttpClient().getAgentDispatcher(o.apiUrl);
  const capped = cappedFetch(o.policy.timeoutMs, dispatcher as Dispatcher | undefined, () =>
    o.policy.signal(),
  );
  const current = o.current;
  // Below Octokit's auth hook, so that the header is the one sent, whichever retry sends it.
  const timedFetch: typeof capped = current
    ? async (url, init) =>
        capped(url, {
          ...init,
          headers: { ...init.headers, authorization: `token ${await current()}` },
        })
    : capped;
  const canWait = (seconds: number, retryCount: number): boolean =>
    retryCount < 5 && o.policy.allowsRateLimitWait(seconds * 1000);
  // The handlers wait on the clock themselves (so a virtual clock in tests costs no real time) and
  // the plugin then waits retryAfter * retryAfterBaseValue = 0 more.
  // A rate limit holds back every write of this client, not only the one that met it, so that a
  // large fan-out does not keep knocking while GitHub asked it to wait.
  const writes = writePacer();
  const waitIfOk = async (ok: boolean, seconds: number): Promise<boolean> => {
    if (ok) writes.pause(seconds * 1000);
    if (ok) await sleep(seconds * 1000);
    return ok;
  };
  return getOctokit(
    o.token,
    {
      baseUrl: o.apiUrl,
      // Octokit prints through `log` (its own warnings) and `request.log` (the deprecation warning,
      // which carries GitHub's `sunset` and `link` headers): both go through untrusted.ts.
      log: octokitLog,
      request: { fetch: timedFetch, log: octokitLog },
      retry: { retries: 10, retryAfterBaseValue: 0 },
      throttle: {
        enabled: !o.unqueued,
        // The plugin only calls `write.key(id).schedule(options, fn)`; its type asks for a whole
        // Bottleneck group.
        write: writes as never,
        // Issue comments and the like: three seconds apart, as GitHub asks, on the same clock.
        notifications: writePacer(NOTIFICATION_SPACING_MS) as never,
        retryAfterBaseValue: 0,
        onRateLimit: async (
          after: number,
          options: { method: string; url: string },
          _o: unknown,
          count: number,
        ) => {
          const ok = canWait(after, count);
          o.warn(
            `GitHub rate limit on ${options.method} ${options.url}; ${ok ? `retrying in ${after} s` : 'giving up'}.`,
          );
          return waitIfOk(ok, after);
        },
        onSecondaryRateLimit: async (
          after: number,
          options: { method: string; url: string },
          _o: unknown,
          count: number,
        ) => {
          const ok = canWait(after, count);
          o.warn(
            `GitHub secondary rate limit on ${options.method} ${options.url}; ${ok ? `retrying in ${after} s` : 'giving up'}.`,
          );
          return waitIfOk(ok, after);
        },
      },
    },
    track,
    backoff(o.policy),
    retry,
    throttling,
  );
}

/** GitHub asks for writes (POST, PUT, PATCH, DELETE) at least a second apart. */
export const WRITE_SPACING_MS = 1000;
const NOTIFICATION_SPACING_MS = 3000;

/**
 * GitHub asks for writes at least a second apart; the plugin's own `write` group does that on the
 * real clock. This one does the same on the injectable clock: each write starts no sooner than one
 * second after the previous one started.
 */
function writePacer(spacingMs = WRITE_SPACING_MS) {
  let next = 0;
  const limiter = {
    /** After a rate limit: no write starts before `ms` from now (GitHub: wait before any more requests). */
    pause(ms: number): void {
      next = Math.max(next, now() + ms);
    },
    async schedule<T>(_options: unknown, fn: () => T | Promise<T>): Promise<T> {
      const at = Math.max(now(), next);
      next = at + spacingMs;
      const wait = at - now();
      if (wait > 0) await sleep(wait);
      return fn();
    },
  };
  return { key: () => limiter, pause: (ms: number) => limiter.pause(ms) };
}

/**
 * What every attempt of one request told: pass one as `request: { attempts }` and the innermost hook
 * records each try, retries by the retry and throttling plugins included. Uncertainty is sticky: once
 * an attempt may have reached GitHub (no answer, a dropped connection, a 5xx), the request stays
 * "may have landed" whatever later attempts answer.
 */
export class Attempts {
  count = 0;
  mayHaveLanded = false;
}

/**
 * Registered first, so it is the innermost wrap: it sees each attempt, not the final outcome. Every
 * answer's Date header tells GitHub's clock (githubTime). A redirect is never followed (fetch.ts) and
 * never a success: Octokit hands a 3xx back as if it had succeeded, so here it becomes a failure with
 * its status, and for a write an unknown outcome (the attempt counts as one that may have landed).
 */
function track(octokit: Octokit): void {
  const time = new GitHubTime();
  clocks.set(octokit, time);
  octokit.hook.wrap('request', async (request, options) => {
    const attempts = (options.request as { attempts?: unknown } | undefined)?.attempts;
    const tracked = attempts instanceof Attempts ? attempts : undefined;
    if (tracked) tracked.count += 1;
    try {
      const res = await request(options);
      time.observe(res.headers);
      if (res.status >= 300 && res.status < 400) throw new Redirected(res.status);
      return res;
    } catch (error) {
      time.observe((error as { response?: { headers?: unknown } }).response?.headers);
      if (!tracked) throw error;
      const { answered, status } = failureOf(error);
      if (!answered || status === undefined || status < 400 || status >= 500)
        tracked.mayHaveLanded = true;
      throw error;
    }
  });
}

/** A 3xx answer: failed, with its status (and no headers or body kept). The retry plugin leaves it alone. */
export class Redirected extends Error {
  override readonly name = 'Redirected';
  readonly status: number;
  readonly response: { readonly status: number };
  constructor(status: number) {
    super(`GitHub answered HTTP ${status} (a redirect, not followed)`);
    this.status = status;
    this.response = { status };
  }
}

/**
 * GitHub's clock as its answers tell it: each Date header (second precision) is at most GitHub's time
 * when the answer arrived, so GitHub's time now is at least that plus the time elapsed since. Only the
 * most telling answer is kept. Hostile or missing headers are ignored.
 */
export class GitHubTime {
  /** The largest `Date header - arrival` seen, on the action's clock; undefined before any answer. */
  #offset: number | undefined;
  /** The latest Date header seen. */
  #latest: number | undefined;

  observe(headers: unknown): void {
    const date = (headers as { date?: unknown } | undefined)?.date;
    if (typeof date !== 'string' || date.length > 64) return;
    const at = Date.parse(date);
    if (Number.isNaN(at)) return;
    const offset = at - now();
    if (this.#offset === undefined || offset > this.#offset) this.#offset = offset;
    if (this.#latest === undefined || at > this.#latest) this.#latest = at;
  }

  /** The latest time an answer's Date header showed, or undefined when none did. */
  latest(): number | undefined {
    return this.#latest;
  }

  /** The earliest GitHub's clock can be now, or undefined when no answer told it. */
  atLeast(): number | undefined {
    return this.#offset === undefined ? undefined : now() + this.#offset;
  }
}

const clocks = new WeakMap<object, GitHubTime>();

/** GitHub's clock as the answers to this client have told it. */
export function githubTime(gh: GitHub): GitHubTime {
  let time = clocks.get(gh);
  if (!time) {
    time = new GitHubTime();
    clocks.set(gh, time);
  }
  return time;
}

/**
 * Supplies the wait between retries that @octokit/plugin-retry makes (its own is quadratic and
 * unjittered, so it is set to zero): capped exponential with full jitter, or `Retry-After` when
 * GitHub sends one. Past the deadline the error is passed on as final, so the retry plugin stops.
 * Registered before the retry plugin, so its error hook runs first.
 */
function backoff(policy: RetryPolicy) {
  return (octokit: Octokit): void => {
    octokit.hook.error('request', async (error, options) => {
      const e = error as Error & {
        status?: number;
        response?: { headers?: Record<string, string> };
      };
      // Too large: GitHub would send the same again, so the error is final at once.
      if ((e as { cause?: unknown }).cause instanceof TooLargeError) throw new FinalError(e);
      const status = e.status ?? 500;
      const retriable = status >= 500 || status === 429;
      if (!retriable) throw error;
      const attempt =
        ((options.request as { retryCount?: number } | undefined)?.retryCount ?? 0) + 1;
      const wait = retryAfterMs(e.response?.headers?.['retry-after']) ?? backoffMs(attempt);
      if (!policy.allows(wait) || attempt > 8) throw new FinalError(e);
      await sleep(wait);
      throw error;
    });
  };
}

/** What a failed Octokit request tells, read in this one place. */
export interface Failure {
  /** The status Octokit reports (500 for a request that got no answer). */
  readonly status: number | undefined;
  /** False when GitHub never answered (timeout, connection failure). */
  readonly answered: boolean;
  readonly message: string;
}

/** Octokit's RequestError, our FinalError, or anything else thrown on the way. */
export function failureOf(err: unknown): Failure {
  const e = (err ?? {}) as { status?: unknown; response?: unknown; message?: unknown };
  return {
    status: typeof e.status === 'number' ? e.status : undefined,
    answered: e.response !== undefined,
    message: typeof e.message === 'string' ? e.message : String(err),
  };
}

/** An error the retry plugin leaves alone: it has no `request` property. */
export class FinalError extends Error {
  override readonly name = 'FinalError';
  readonly status: number | undefined;
  /** Present when GitHub answered; only the status is kept, never headers or body. */
  readonly response: { readonly status: number } | undefined;
  constructor(cause: Error & { status?: number; response?: unknown }) {
    super(cause.response ? 'GitHub answered with an error' : cause.message);
    this.status = cause.status;
    this.response = cause.response && cause.status ? { status: cause.status } : undefined;
  }
}
