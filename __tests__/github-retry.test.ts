// The GitHub client's waits, in process on a virtual clock: backoff against the budget's deadline,
// Retry-After, secondary rate limits. Each wait is asserted exactly and costs no real time; the
// end-to-end tests in e2e-reliability.test.ts keep a few that really wait, to prove the wiring.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { setClock } from '../src/clock.ts';
import { type Budget, createGitHub } from '../src/github/client.ts';
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

/** Reads the repository's public key with a client whose budget ends `budgetMs` from now. */
async function readKey(budgetMs: number, warnings: string[] = []): Promise<unknown> {
  const budget: Budget = { deadline: t + budgetMs };
  const gh = createGitHub({
    token: github.token,
    apiUrl: github.url,
    timeoutMs: 5_000,
    budget,
    warn: (m) => void warnings.push(m),
  });
  return gh.request(`GET /repos/${REPO}/actions/secrets/public-key`).then(
    (res) => res.status,
    (err: unknown) => err,
  );
}

describe('GitHub client waits (virtual clock)', () => {
  it('backs off exponentially on 5xx and stops before a wait would pass the deadline', async () => {
    github.fault('GET', KEY, { status: 503 });
    const err = await readKey(15_000);
    expect(err).toMatchObject({ name: 'FinalError', status: 503 });
    // 500 + 1000 + 2000 + 4000 = 7500; the next wait, 8000, would end past 15 000.
    expect(sleeps).toEqual([500, 1000, 2000, 4000]);
    expect(github.calls('GET', KEY)).toHaveLength(5);
  });

  it('with a far deadline, keeps retrying with capped waits until GitHub answers', async () => {
    github.fault('GET', KEY, { status: 502, times: 7 });
    expect(await readKey(600_000)).toBe(200);
    expect(sleeps).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 20_000]);
    expect(github.calls('GET', KEY)).toHaveLength(8);
  });

  it('waits exactly Retry-After on 429', async () => {
    github.fault('GET', KEY, { status: 429, times: 1, headers: { 'retry-after': '3' } });
    expect(await readKey(15_000)).toBe(200);
    expect(sleeps).toEqual([3000]);
    expect(github.calls('GET', KEY)).toHaveLength(2);
  });

  it('waits exactly Retry-After on a secondary rate limit, and says so', async () => {
    github.secondaryRateLimit('GET', KEY, { times: 1, retryAfterSeconds: 7 });
    const warnings: string[] = [];
    expect(await readKey(15_000, warnings)).toBe(200);
    expect(sleeps).toEqual([7000]);
    expect(warnings).toEqual([expect.stringMatching(/secondary rate limit.*retrying in 7 s/)]);
  });

  it('gives up at once on a secondary rate limit whose wait passes the deadline', async () => {
    github.secondaryRateLimit('GET', KEY, { times: 1, retryAfterSeconds: 20 });
    const warnings: string[] = [];
    const err = await readKey(15_000, warnings);
    expect(err).toMatchObject({ status: 403 });
    expect(sleeps).toEqual([]);
    expect(github.calls('GET', KEY)).toHaveLength(1);
    expect(warnings).toEqual([expect.stringMatching(/secondary rate limit.*giving up/)]);
  });
});
