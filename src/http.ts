// The one HTTP helper for provider APIs (GitHub goes through Octokit). It owns timeouts, JSON and
// form bodies, the retry policy and error wrapping, so that providers only say what they call and why.
import { sleep } from './clock.js';
import { HttpClient } from '@actions/http-client';
import { type Dispatcher, request } from './undici.js';
import type { RetryPolicy } from './policy.js';
import { backoffMs, rateLimitResetMs, retryAfterMs } from './retry.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Call {
  readonly method: Method;
  readonly url: string;
  /** What the call does, in words that finish "Could not ...": used in every error. */
  readonly what: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly json?: unknown;
  readonly form?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * `safe`: reads and idempotent writes, retried on timeouts, dropped connections, 429 and 5xx.
   * `once`: a rotating call. Retried only when it surely never reached the provider (the connection
   * was refused) or was refused before processing (429); any other fault makes its outcome unknown.
   */
  readonly retry: 'safe' | 'once';
  /** A safe one-line description of an error body (codes, messages, request ids). Never the body itself. */
  readonly explain?: (status: number, body: unknown) => string | undefined;
  /**
   * Told, across every attempt of this call, whether one may have reached the provider and taken
   * effect without its answer being heard (no answer, a dropped connection, a 5xx, a redirect): a
   * later attempt's refusal then does not prove that nothing happened.
   */
  readonly attempts?: { mayHaveLanded: boolean };
}

export interface Response {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Parsed JSON, or the text when it is not JSON, or undefined when empty. */
  readonly body: unknown;
}

/** Makes provider calls under a retry policy; handed to providers in their deps. */
export type Http = (c: Call) => Promise<Response>;

/** An HTTP failure whose message never carries a body, a header or a secret. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  /** The provider's status, when it answered. */
  readonly status: number | undefined;
  /**
   * True when a request may have reached the provider and its effect is not known: a `once` call
   * that timed out, lost its connection or got a 5xx, or any mutating call answered with a redirect.
   */
  readonly outcomeUnknown: boolean;
  /** Parsed body of an error answer, for providers that branch on error codes. Never log it. */
  readonly body: unknown;

  constructor(
    message: string,
    status: number | undefined,
    outcomeUnknown: boolean,
    body?: unknown,
  ) {
    super(message);
    this.status = status;
    this.outcomeUnknown = outcomeUnknown;
    this.body = body;
  }
}

/** The largest answer read from a provider or GitHub: real answers are a few KiB. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** An answer larger than MAX_BODY_BYTES: never parsed, never retried (a retry would get the same). */
export class TooLargeError extends Error {
  override readonly name = 'TooLargeError';
  readonly status: number;
  constructor(status: number) {
    super(`the answer (HTTP ${status}) is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
    this.status = status;
  }
}

/** Reads a body up to MAX_BODY_BYTES; stops reading (and so releases the stream) above it. */
export async function readCapped(
  body: AsyncIterable<Uint8Array>,
  contentLength: string | null | undefined,
  status: number,
): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  // A declared length above the cap fails at the first chunk, before anything is kept.
  let size = Number(contentLength ?? 0) > MAX_BODY_BYTES ? Infinity : 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw new TooLargeError(status);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const TIMEOUTS = new Set([
  'TimeoutError',
  'AbortError',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/** The provider HTTP helper under `policy`: its per-exchange timeout and attempts. */
export function createHttp(policy: RetryPolicy): Http {
  return (c) => call(c, policy);
}

async function call(c: Call, policy: RetryPolicy): Promise<Response> {
  const host = new URL(c.url).host;
  const maxAttempts = c.retry === 'safe' ? policy.attempts : 3;
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await once(c, policy.timeoutMs);
    } catch (err) {
      if (err instanceof TooLargeError) {
        if (c.attempts && (err.status < 400 || err.status >= 500)) c.attempts.mayHaveLanded = true;
        throw new HttpError(
          `Could not ${c.what}: ${err.message} from ${host}; it was not read and the call was not repeated.`,
          err.status,
          // A success we cannot read, or a server error: the rotating call may have taken effect.
          c.retry === 'once' && (err.status < 400 || err.status >= 500),
        );
      }
      const e = err as { code?: unknown; name?: string };
      const code = typeof e.code === 'string' ? e.code : (e.name ?? 'Error');
      const neverSent = NEVER_SENT.has(code);
      if (!neverSent && c.attempts) c.attempts.mayHaveLanded = true;
      if (attempt < maxAttempts && (c.retry === 'safe' || neverSent)) {
        await sleep(backoffMs(attempt));
        continue;
      }
      const why = TIMEOUTS.has(code)
        ? `no answer within ${policy.timeoutMs / 1000} s`
        : `network error ${code}`;
      throw new HttpError(
        `Could not ${c.what}: ${why} from ${host}.`,
        undefined,
        !neverSent && c.retry === 'once',
      );
    }
    // The one success rule for every provider call: only 2xx. A redirect is neither success nor a
    // refusal: on a mutating call the provider may have acted before redirecting, so it is handled
    // exactly like a timeout (retried when safe, an unknown outcome when `once`).
    if (res.status >= 200 && res.status < 300) return res;
    if (c.attempts && (res.status < 400 || res.status >= 500)) c.attempts.mayHaveLanded = true;
    if (res.status < 400) {
      if (c.retry === 'safe' && attempt < maxAttempts) {
        await sleep(backoffMs(attempt));
        continue;
      }
      throw new HttpError(
        `Could not ${c.what}: unexpected redirect (HTTP ${res.status}) from ${host}.`,
        res.status,
        c.method !== 'GET',
      );
    }
    const retriable = res.status === 429 || (c.retry === 'safe' && res.status >= 500);
    if (retriable && attempt < maxAttempts) {
      await sleep(
        retryAfterMs(res.headers['retry-after']) ??
          // A rate limit's window reset says when a 429 clears, not when a 5xx does.
          (res.status === 429
            ? // Auth0 names it X-RateLimit-Reset, Okta X-Rate-Limit-Reset: both UNIX seconds.
              rateLimitResetMs(
                res.headers['x-ratelimit-reset'] ?? res.headers['x-rate-limit-reset'],
              )
            : undefined) ??
          backoffMs(attempt),
      );
      continue;
    }
    const detail = c.explain?.(res.status, res.body);
    throw new HttpError(
      `Could not ${c.what}: HTTP ${res.status} from ${host}${detail ? ` (${detail})` : ''}.`,
      res.status,
      c.retry === 'once' && res.status >= 500,
      res.body,
    );
  }
}

async function once(c: Call, timeoutMs: number): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...c.headers };
  let body: string | undefined;
  if (c.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(c.json);
  } else if (c.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(c.form))
      for (const one of typeof v === 'string' ? [v] : v) params.append(k, one);
    body = params.toString();
  }
  const dispatcher = proxyFor(c.url);
  const res = await request(c.url, {
    method: c.method,
    headers,
    body: body ?? null,
    ...(dispatcher ? { dispatcher } : {}),
    signal: AbortSignal.timeout(timeoutMs),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const declared = res.headers['content-length'];
  const text = (
    await readCapped(res.body, typeof declared === 'string' ? declared : undefined, res.statusCode)
  ).toString('utf8');
  return { status: res.statusCode, headers: res.headers, body: parse(text) };
}

const proxies = new Map<string, Dispatcher | undefined>();

/** The runner's proxy settings (https_proxy, no_proxy), as @actions/http-client reads them. */
function proxyFor(url: string): Dispatcher | undefined {
  const origin = new URL(url).origin;
  if (!proxies.has(origin))
    proxies.set(origin, new HttpClient().getAgentDispatcher(origin) as Dispatcher | undefined);
  return proxies.get(origin);
}

function parse(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Reads a string field of an object body, for error explanations and responses. */
export function field(body: unknown, name: string): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}
