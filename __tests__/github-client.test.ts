// The GitHub client's scheduling: Octokit's retry and throttling plugins queue every request through
// Bottleneck. Its zero-length turns must not cost timer turns, and its pacing of writes must stay.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { setClock } from '../src/clock.ts';
import { createGitHub } from '../src/github/client.ts';
import { fastTurns } from '../src/github/scheduler.ts';
import { SecretStore } from '../src/github/store.ts';
import { RetryPolicy } from '../src/policy.ts';
import { startGitHub, type GitHubEmulator } from './emulators/github.ts';

const REPO = 'octo/app';
let github: GitHubEmulator;

beforeAll(async () => {
  github = await startGitHub();
  github.addRepo(REPO);
});
afterAll(() => github.close());

const client = (emulator = github) => {
  const policy = new RetryPolicy({ timeoutMs: 5_000, storeTimeoutMs: 60_000 });
  policy.startStoring();
  return createGitHub({
    token: emulator.token,
    apiUrl: emulator.url,
    policy,
    warn: () => undefined,
  });
};

describe('GitHub client scheduling', () => {
  it('applies to the Bottleneck version the plugins bundle', () => {
    // Fails when a dependency update brings another Bottleneck: re-read its internals, then update.
    expect(fastTurns()).toBe(true);
  });

  it('sends a request without zero-length timer turns', async () => {
    const gh = client();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      await gh.request(`GET /repos/${REPO}/actions/secrets/public-key`);
      const zero = spy.mock.calls.filter(([, ms]) => !ms || ms <= 1);
      // Bottleneck's stock datastore takes a dozen such turns for one GET (at least 1 ms each).
      expect(zero.length).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('still paces writes one second apart, as GitHub asks', async () => {
    // On a virtual clock whose sleeps the test releases: real time under a loaded machine cannot
    // make the second write look early or late, and the wait asked for is exact.
    let t = 1_700_000_000_000;
    const sleeps: number[] = [];
    let release: (() => void) | undefined;
    setClock({
      now: () => t,
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          sleeps.push(ms);
          release = () => {
            t += ms;
            resolve();
          };
        }),
    });
    const paced = await startGitHub({ now: () => t });
    try {
      paced.addRepo(REPO);
      const store = new SecretStore(client(paced));
      const target = { kind: 'repo', repo: REPO, line: `repo ${REPO}` } as const;
      const both = Promise.all([
        store.store(target, 'FIRST_SECRET', 'first-value-0123'),
        store.store(target, 'SECOND_SECRET', 'second-value-0123'),
      ]);
      const puts = () => paced.requests.filter((r) => r.method === 'PUT');
      // The first write is sent and read back (after the read of what was there, which the
      // store's preflight would have made); the second waits on the clock, not sent yet.
      // Loopback answers take real time: seconds on a loaded machine.
      await vi.waitFor(() => expect(paced.calls('GET', /FIRST_SECRET$/)).toHaveLength(2), {
        timeout: 30_000,
      });
      expect(sleeps).toEqual([1000]);
      expect(puts()).toHaveLength(1);
      release!();
      await both;
      expect(sleeps).toEqual([1000]);
      expect(puts()).toHaveLength(2);
      expect(puts()[1]!.at - puts()[0]!.at).toBe(1000);
    } finally {
      setClock();
      await paced.close();
    }
  });
});
