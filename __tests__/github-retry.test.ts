// The GitHub client's waits, in process on a virtual clock: backoff against each phase's deadline
// (RetryPolicy), Retry-After, secondary rate limits. Each wait is asserted exactly and costs no real time; the
// end-to-end tests in e2e-reliability.test.ts keep a few that really wait, to prove the wiring.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setClock } from '../src/clock.ts';
import { createGitHub } from '../src/github/client.ts';
import { RetryPolicy } from '../src/policy.ts';
import { startGitHub, type GitHubEmulator } from './emulators/github.ts';

const REPO = 'octo/app';
const KEY = /public-key$/;
const START = 1_700_000_000_000;

let t = START;
const sleeps: number[] = [];
let github: GitHubEmulator;

beforeAll(async () => {
  setClock({
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  });
  // The full jitter draw at its top: every backoff wait is the cap of its attempt.
  vi.spyOn(Math, 'random').mockReturnValue(1);
  github = await startGitHub({ now: () => t });
  github.addRepo(REPO);
});
afterAll(async () => {
  setClock();
  vi.restoreAllMocks();
  await github.close();
});
afterEach(() => {
  github.clearFaults();
  github.requests.length = 0;
  sleeps.length = 0;
  t = START;
});

/**
 * Reads the repository's public key in the preflight phase (15 s budget) or, after the rotating
 * call, in the storing phase (store-timeout 10 minutes).
 */
async function readKey(phase: 'preflight' | 'storing', warnings: string[] = []): Promise<unknown> {
  const policy = new RetryPolicy({ timeoutMs: 5_000, storeTimeoutMs: 600_000 });
  if (phase === 'preflight') policy.startPreflight();
  else policy.startStoring();
  const gh = createGitHub({
    token: github.token,
    apiUrl: github.url,
    policy,
    warn: (m) => void warnings.push(m),
  });
  return gh.request(`GET /repos/${REPO}/actions/secrets/public-key`).then(
    (res) => res.status,
    (err: unknown) => err,
  );
}

describe('GitHub client waits (virtual clock)', () => {
  it('in preflight, backs off exponentially on 5xx and stops before a wait would pass 15 s', async () => {
    github.fault('GET', KEY, { status: 503 });
    const err = await readKey('preflight');
    expect(err).toMatchObject({ name: 'FinalError', status: 503 });
    // 500 + 1000 + 2000 + 4000 = 7500; the next wait, 8000, would end past 15 000.
    expect(sleeps).toEqual([500, 1000, 2000, 4000]);
    expect(github.calls('GET', KEY)).toHaveLength(5);
  });

  it('after the rotation, keeps retrying with capped waits until GitHub answers', async () => {
    github.fault('GET', KEY, { status: 502, times: 7 });
    expect(await readKey('storing')).toBe(200);
    expect(sleeps).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 20_000]);
    expect(github.calls('GET', KEY)).toHaveLength(8);
  });

  it('waits exactly Retry-After on 429', async () => {
    github.fault('GET', KEY, { status: 429, times: 1, headers: { 'retry-after': '3' } });
    expect(await readKey('preflight')).toBe(200);
    expect(sleeps).toEqual([3000]);
    expect(github.calls('GET', KEY)).toHaveLength(2);
  });

  it('waits exactly Retry-After on a secondary rate limit, and says so', async () => {
    github.secondaryRateLimit('GET', KEY, { times: 1, retryAfterSeconds: 7 });
    const warnings: string[] = [];
    expect(await readKey('preflight', warnings)).toBe(200);
    expect(sleeps).toEqual([7000]);
    expect(warnings).toEqual([expect.stringMatching(/secondary rate limit.*retrying in 7 s/)]);
  });

  it('waits out a secondary rate limit in preflight longer than its own budget, within store-timeout (nothing is at stake yet)', async () => {
    github.secondaryRateLimit('GET', KEY, { times: 1, retryAfterSeconds: 20 });
    expect(await readKey('preflight')).toBe(200);
    expect(sleeps).toEqual([20_000]);
    expect(github.calls('GET', KEY)).toHaveLength(2);
  });

  it('gives up at once on a secondary rate limit whose wait passes the deadline', async () => {
    github.secondaryRateLimit('GET', KEY, { times: 1, retryAfterSeconds: 700 });
    const warnings: string[] = [];
    const err = await readKey('preflight', warnings);
    expect(err).toMatchObject({ status: 403 });
    expect(sleeps).toEqual([]);
    expect(github.calls('GET', KEY)).toHaveLength(1);
    expect(warnings).toEqual([expect.stringMatching(/secondary rate limit.*giving up/)]);
  });
});
