// The GitHub client's scheduling: Octokit's retry and throttling plugins queue every request through
// Bottleneck. Its zero-length turns must not cost timer turns, and its pacing of writes must stay.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGitHub } from '../src/github/client.ts';
import { fastTurns } from '../src/github/scheduler.ts';
import { SecretStore } from '../src/github/store.ts';
import { startGitHub, type GitHubEmulator } from './emulators/github.ts';

const REPO = 'octo/app';
let github: GitHubEmulator;

beforeAll(async () => {
  github = await startGitHub();
  github.addRepo(REPO);
});
afterAll(() => github.close());

const client = () =>
  createGitHub({
    token: github.token,
    apiUrl: github.url,
    timeoutMs: 5_000,
    budget: { deadline: Date.now() + 60_000 },
    warn: () => undefined,
  });

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
    const store = new SecretStore(client());
    const target = { kind: 'repo', repo: REPO, line: `repo ${REPO}` } as const;
    const before = github.requests.length;
    await Promise.all([
      store.store(target, 'FIRST_SECRET', 'first-value-0123'),
      store.store(target, 'SECOND_SECRET', 'second-value-0123'),
    ]);
    const puts = github.requests.slice(before).filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(2);
    // Logged when answered: the second starts at least 1000 ms after the first started.
    expect(puts[1]!.at - puts[0]!.at).toBeGreaterThanOrEqual(950);
  });
});
