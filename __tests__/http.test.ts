import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttp, type Http, HttpError, MAX_BODY_BYTES } from '../src/http.ts';
import { RetryPolicy } from '../src/policy.ts';
import { realClock, setClock } from '../src/clock.ts';
import { backoffMs, retryAfterMs } from '../src/retry.ts';
import { Emulator } from './emulators/server.ts';

const waits: number[] = [];
let server: Emulator;
let call: Http;
const httpWithin = (timeoutMs: number): Http =>
  createHttp(new RetryPolicy({ timeoutMs, storeTimeoutMs: 60_000, attempts: 4 }));

beforeAll(async () => {
  setClock({ now: realClock.now, sleep: async (ms) => void waits.push(ms) });
  call = httpWithin(300);
  server = await new Emulator()
    .route('GET', '/ok', () => ({ status: 200, body: { fine: true } }))
    .route('PUT', '/rotate', () => ({ status: 200, body: { secret: 'x' } }))
    .listen();
});
afterAll(() => server.close());
afterEach(() => {
  server.clearFaults();
  server.requests.length = 0;
  waits.length = 0;
});

const get = () => call({ method: 'GET', url: `${server.url}/ok`, what: 'read', retry: 'safe' });
const rotate = () =>
  call({ method: 'PUT', url: `${server.url}/rotate`, what: 'rotate', retry: 'once', json: {} });

describe('safe calls', () => {
  it('retry 502, 503, 429 and dropped connections, then succeed', async () => {
    server
      .fault('GET', '/ok', { status: 503, times: 1 })
      .fault('GET', '/ok', { drop: true, times: 1 })
      .fault('GET', '/ok', { status: 429, times: 1, headers: { 'retry-after': '2' } });
    const res = await get();
    expect(res.body).toEqual({ fine: true });
    expect(server.requests).toHaveLength(4);
    expect(waits[2]).toBe(2000);
  });

  it('give up after the attempts, with a message that carries no body', async () => {
    server.fault('GET', '/ok', { status: 500, body: { leaked: 'SECRET-IN-BODY' } });
    const err = (await get().catch((e: unknown) => e)) as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err.message).toMatch(/^Could not read: HTTP 500 from 127\.0\.0\.1:\d+\.$/);
    expect(err.message).not.toContain('SECRET');
    expect(server.requests).toHaveLength(4);
  });

  it('do not retry other 4xx', async () => {
    server.fault('GET', '/ok', { status: 404 });
    await expect(get()).rejects.toMatchObject({ status: 404, outcomeUnknown: false });
    expect(server.requests).toHaveLength(1);
  });

  it('time out a hanging server', async () => {
    server.fault('GET', '/ok', { hang: true });
    const err = (await get().catch((e: unknown) => e)) as HttpError;
    expect(err.message).toContain('no answer within 0.3 s');
    expect(server.requests).toHaveLength(4);
  });
});

describe('rotating calls', () => {
  it('are never repeated after a 5xx: the outcome is unknown', async () => {
    server.fault('PUT', '/rotate', { status: 502 });
    await expect(rotate()).rejects.toMatchObject({ status: 502, outcomeUnknown: true });
    expect(server.requests).toHaveLength(1);
  });

  it('are never repeated after a timeout or a dropped connection', async () => {
    server.fault('PUT', '/rotate', { hang: true, afterEffect: true, times: 1 });
    await expect(rotate()).rejects.toMatchObject({ outcomeUnknown: true });
    server.fault('PUT', '/rotate', { drop: true, afterEffect: true, times: 1 });
    await expect(rotate()).rejects.toMatchObject({ outcomeUnknown: true });
    expect(server.requests).toHaveLength(2);
  });

  it('are retried after 429, which refuses before processing', async () => {
    server.fault('PUT', '/rotate', { status: 429, times: 1 });
    await expect(rotate()).resolves.toMatchObject({ status: 200 });
    expect(server.requests).toHaveLength(2);
  });

  it('are retried when the connection was refused (never sent)', async () => {
    const closed = await new Emulator().listen();
    const url = closed.url;
    await closed.close();
    const err = (await call({
      method: 'PUT',
      url: `${url}/rotate`,
      what: 'rotate',
      retry: 'once',
    }).catch((e: unknown) => e)) as HttpError;
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.outcomeUnknown).toBe(false);
    expect(waits).toHaveLength(2);
  });
});

describe('bounded answers', () => {
  const big = { pad: 'x'.repeat(MAX_BODY_BYTES) };
  // Several MiB on a loaded machine: a generous timeout, so only the cap can end the call.
  beforeAll(() => {
    call = httpWithin(20_000);
  });
  afterAll(() => {
    call = httpWithin(300);
  });
  it('a safe call above the cap fails clearly, once, without a retry', async () => {
    server.fault('GET', '/ok', { status: 200, body: big });
    const err = (await get().catch((e: unknown) => e)) as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err.message).toMatch(/^Could not read: the answer \(HTTP 200\) is larger than 4 MiB/);
    expect(server.requests).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('a rotating call above the cap is not repeated, even on 429; its outcome follows the status', async () => {
    server.fault('PUT', '/rotate', { status: 429, body: big, times: 1 });
    const refused = (await rotate().catch((e: unknown) => e)) as HttpError;
    expect(refused.outcomeUnknown).toBe(false);
    expect(server.requests).toHaveLength(1);
    server.fault('PUT', '/rotate', { afterEffect: true, status: 200, body: big, times: 1 });
    const unread = (await rotate().catch((e: unknown) => e)) as HttpError;
    expect(unread.outcomeUnknown).toBe(true);
    expect(server.requests).toHaveLength(2);
  });
});

describe('backoff', () => {
  it('is exponential, capped and fully jittered', () => {
    expect(backoffMs(1, () => 1)).toBe(500);
    expect(backoffMs(4, () => 1)).toBe(4000);
    expect(backoffMs(30, () => 1)).toBe(20_000);
    expect(backoffMs(4, () => 0)).toBe(0);
  });

  it('reads Retry-After as seconds or a date, capped', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('100000')).toBe(60_000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 5_000)).toBe(5000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});
