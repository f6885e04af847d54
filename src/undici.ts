// Undici as this action loads it: the client pieces, never the whole package. `undici`'s index loads
// all of it (fetch, WebSocket, EventSource, cache, cookies, mocks: 0.9 MB of source that every run
// compiled and evaluated before its first request, about 20 ms) for the one API this action uses.
//
// tsconfig.json maps the bare name `undici` to this file, so ncc bundles this module in its place
// for every importer: src/ and the toolkit (@actions/http-client takes ProxyAgent, @actions/github
// takes fetch). Tests that import src/ run on the real package; `__tests__/bundle.test.ts` checks
// that the bundle holds no second copy. What the toolkit may import from `undici` is what this
// module exports: a name missing here fails the build.
import AgentImpl from 'undici/lib/dispatcher/agent.js';
import ProxyAgentImpl from 'undici/lib/dispatcher/proxy-agent.js';
import requestImpl from 'undici/lib/api/api-request.js';
import type { Dispatcher as DispatcherT } from 'undici/types/index.js';

export type { Dispatcher } from 'undici/types/index.js';
export const Agent = AgentImpl;
export const ProxyAgent = ProxyAgentImpl;

/** The keep-alive agent for every call without a proxy, as undici's own default dispatcher. */
let shared: DispatcherT | undefined;

export type RequestOptions = { dispatcher?: DispatcherT | undefined } & Omit<
  DispatcherT.RequestOptions,
  'origin' | 'path'
>;

/** undici's `request(url, options)`: one exchange; the answer's body is a stream to read or dump. */
export function request(url: string, opts: RequestOptions): Promise<DispatcherT.ResponseData> {
  const u = new URL(url);
  const { dispatcher, ...rest } = opts;
  const call = requestImpl as (
    this: DispatcherT,
    o: DispatcherT.RequestOptions,
  ) => Promise<DispatcherT.ResponseData>;
  return call.call(dispatcher ?? (shared ??= new AgentImpl()), {
    ...rest,
    origin: u.origin,
    path: `${u.pathname}${u.search}`,
  });
}

/**
 * undici's fetch, loaded on first use only: @actions/github builds a fetch for proxies that this
 * action replaces with its own (src/github/fetch.ts), so no run loads it.
 */
export async function fetch(...args: unknown[]): Promise<unknown> {
  const m = (await import('undici/lib/web/fetch/index.js')) as {
    fetch: (...a: unknown[]) => Promise<unknown>;
  };
  return m.fetch(...args);
}
