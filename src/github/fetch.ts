// Octokit's `fetch`, made of undici's request API: the same client the provider helper uses. Octokit
// reads only a status, the headers and a body, while a fetch implementation costs a third of a run to
// load (undici's fetch is 0.3 MB of source to compile; Node's own loads its copy of undici, about
// 25 ms), and a fetch reads bodies without a limit. Here every body is read up to MAX_BODY_BYTES
// before Octokit sees it, and redirects are never followed: a target is named as it is now, and a
// write that GitHub redirects has an unknown outcome (src/github/client.ts tracks it as such).
import { readCapped } from '../http.js';
import { type Dispatcher, request } from '../undici.js';

/** What Octokit passes to fetch. */
export interface FetchInit {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | null;
  readonly signal?: AbortSignal | null;
}

/**
 * A fetch for Octokit: each exchange times out after `timeoutMs`, through `dispatcher` (a proxy) when
 * set, and is aborted by the signal `stop()` returns when the exchange starts (a stop: RetryPolicy).
 */
export function cappedFetch(
  timeoutMs: number,
  dispatcher: Dispatcher | undefined,
  stop: () => AbortSignal | undefined = () => undefined,
): (url: string, init: FetchInit) => Promise<Answer> {
  return async (url, init) => {
    const signals = [init.signal, stop(), AbortSignal.timeout(timeoutMs)].filter(
      (s): s is AbortSignal => !!s,
    );
    const signal = signals.length === 1 ? signals[0]! : AbortSignal.any(signals);
    const res = await request(url, {
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: init.headers ?? {},
      body: init.body ?? null,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(dispatcher ? { dispatcher } : {}),
    });
    const declared = res.headers['content-length'];
    const bytes = await readCapped(
      res.body,
      typeof declared === 'string' ? declared : undefined,
      res.statusCode,
    );
    return new Answer(url, res.statusCode, new AnswerHeaders(res.headers), bytes);
  };
}

/** The part of a fetch Response that Octokit reads. */
export class Answer {
  readonly statusText = '';
  readonly body = null;
  readonly url: string;
  readonly status: number;
  readonly headers: AnswerHeaders;
  readonly #bytes: Buffer;
  constructor(url: string, status: number, headers: AnswerHeaders, bytes: Buffer) {
    this.url = url;
    this.status = status;
    this.headers = headers;
    this.#bytes = bytes;
  }
  text(): Promise<string> {
    return Promise.resolve(this.#bytes.toString('utf8'));
  }
  json(): Promise<unknown> {
    return this.text().then((t) => JSON.parse(t) as unknown);
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    const b = this.#bytes;
    return Promise.resolve(
      b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer,
    );
  }
}

/** Headers as fetch shows them: lower-case names, repeated values joined by ", ". */
export class AnswerHeaders {
  readonly #map = new Map<string, string>();
  constructor(raw: Record<string, string | string[] | undefined>) {
    for (const [k, v] of Object.entries(raw))
      if (v !== undefined) this.#map.set(k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v);
  }
  get(name: string): string | null {
    return this.#map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.#map.entries();
  }
}
