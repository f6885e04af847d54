// SecretStore's proof that a write of this run landed, on a virtual clock shared with GitHub's
// emulator: updated_at strictly newer than what preflight found, the write sent only once an answer
// showed GitHub's clock past that second, and a redirect never taken for a success.
import { afterEach, describe, expect, it } from 'vitest';
import { setClock } from '../src/clock.ts';
import { createGitHub, GitHubTime } from '../src/github/client.ts';
import { StoreError } from '../src/github/errors.ts';
import { SecretStore } from '../src/github/store.ts';
import { RetryPolicy } from '../src/policy.ts';
import { startGitHub, type GitHubEmulator } from './emulators/github.ts';

const REPO = 'octo/app';
const NAME = 'CLIENT_SECRET';
const SCOPE = `repo:${REPO}`;
const target = { kind: 'repo', repo: REPO, line: `repo ${REPO}` } as const;
const stamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A virtual clock for the action and the emulator; every sleep moves it and is recorded. */
function virtualClock(start: number) {
  const c = { t: start, sleeps: [] as number[] };
  setClock({
    now: () => c.t,
    sleep: async (ms) => {
      c.sleeps.push(ms);
      c.t += ms;
    },
  });
  return c;
}

let open: GitHubEmulator[] = [];
afterEach(async () => {
  setClock();
  await Promise.all(open.map((g) => g.close()));
  open = [];
});

async function world(clock: { t: number }) {
  const github = await startGitHub({ now: () => clock.t });
  open.push(github);
  github.addRepo(REPO);
  const policy = new RetryPolicy({ timeoutMs: 5_000, storeTimeoutMs: 60_000 });
  policy.startStoring();
  const gh = createGitHub({ token: github.token, apiUrl: github.url, policy, warn: () => {} });
  return { github, store: new SecretStore(gh) };
}

const failure = (p: Promise<unknown>): Promise<StoreError> =>
  p.then(
    () => {
      throw new Error('expected the write to fail');
    },
    (err: unknown) => err as StoreError,
  );

describe('SecretStore: a write is verified only by evidence of this run', () => {
  it('a write answered 204 that changed nothing, in the same second as the value found, is not verified', async () => {
    const clock = virtualClock(1_800_000_000_300);
    const { github, store } = await world(clock);
    // An earlier run wrote in this very second.
    github.seedSecret(SCOPE, NAME, 'earlier-run-value-0123');
    await store.preflight([target], [NAME]);
    github.freezeUpdates(SCOPE);
    const err = await failure(store.store(target, NAME, 'this-run-value-0123'));
    expect(err).toBeInstanceOf(StoreError);
    expect(err.landed).toBe('maybe');
    expect(err.message).toContain('updated_at did not move');
    expect(github.secret(SCOPE, NAME)!.value).toBe('earlier-run-value-0123');
  });

  it("waits until GitHub's clock has left the second of the value found, then writes: the write is newer", async () => {
    const clock = virtualClock(1_800_000_000_300);
    const { github, store } = await world(clock);
    github.seedSecret(SCOPE, NAME, 'earlier-run-value-0123');
    const found = github.secret(SCOPE, NAME)!.updated_at;
    await store.preflight([target], [NAME]);
    await store.store(target, NAME, 'this-run-value-0123');
    const stored = github.secret(SCOPE, NAME)!;
    expect(stored.value).toBe('this-run-value-0123');
    expect(stored.updated_at > found).toBe(true);
    // One wait (the Date header floors GitHub's time: up to a second more than needed, plus the
    // margin) and one look at GitHub's clock; the PUT after.
    expect(clock.sleeps).toEqual([1100]);
    const [put] = github.calls('PUT', /CLIENT_SECRET$/);
    expect(put!.at).toBeGreaterThanOrEqual(Date.parse(found) + 1000);
    expect(github.calls('GET', /CLIENT_SECRET$/)).toHaveLength(3);
  });

  it('costs nothing when the value found is older than the second of the answers so far', async () => {
    const clock = virtualClock(1_800_000_000_300);
    const { github, store } = await world(clock);
    github.seedSecret(SCOPE, NAME, 'yesterday-value-0123', stamp(clock.t - 86_400_000));
    await store.preflight([target], [NAME]);
    await store.store(target, NAME, 'this-run-value-0123');
    expect(clock.sleeps).toEqual([]);
    // The read of preflight and the read-back: no look in between.
    expect(github.calls('GET', /CLIENT_SECRET$/)).toHaveLength(2);
    expect(github.secret(SCOPE, NAME)!.value).toBe('this-run-value-0123');
  });

  it('a write into a secret that did not exist needs no wait and is verified by its existence', async () => {
    const clock = virtualClock(1_800_000_000_300);
    const { github, store } = await world(clock);
    await store.preflight([target], [NAME]);
    await store.store(target, NAME, 'this-run-value-0123');
    expect(clock.sleeps).toEqual([]);
    expect(github.secret(SCOPE, NAME)!.value).toBe('this-run-value-0123');
    // Answered 201 and created nothing: not verified.
    github.freezeUpdates(SCOPE);
    const other = await failure(store.store(target, 'OTHER_SECRET', 'other-value-0123'));
    expect(other.message).toContain('updated_at did not move');
  });

  it('a secret absent at preflight that another writer created before this write was sent is not taken for it', async () => {
    const clock = virtualClock(1_800_000_000_300);
    const { github, store } = await world(clock);
    await store.preflight([target], [NAME]);
    // Another workflow creates the secret after preflight; five seconds later this run's write is
    // answered 201 and changes nothing.
    github.seedSecret(SCOPE, NAME, 'other-writer-value-0123', stamp(clock.t));
    clock.t += 5_000;
    github.freezeUpdates(SCOPE);
    const err = await failure(store.store(target, NAME, 'this-run-value-0123'));
    expect(err.landed).toBe('maybe');
    expect(err.message).toMatch(/it shows \S+, before this write was sent/);
    expect(github.secret(SCOPE, NAME)!.value).toBe('other-writer-value-0123');
  });

  it("gives up waiting after a few looks when GitHub's clock does not move, and lets the read-back decide", async () => {
    const clock = virtualClock(1_800_000_000_300);
    const held = clock.t;
    const github = await startGitHub({ now: () => held });
    open.push(github);
    github.addRepo(REPO);
    const policy = new RetryPolicy({ timeoutMs: 5_000, storeTimeoutMs: 60_000 });
    policy.startStoring();
    const gh = createGitHub({ token: github.token, apiUrl: github.url, policy, warn: () => {} });
    const store = new SecretStore(gh);
    github.seedSecret(SCOPE, NAME, 'earlier-run-value-0123');
    await store.preflight([target], [NAME]);
    const err = await failure(store.store(target, NAME, 'this-run-value-0123'));
    // Stamped in the same second as the value found: indistinguishable, so not verified.
    expect(err.message).toContain('updated_at did not move');
    expect(err.landed).toBe('maybe');
    expect(clock.sleeps).toHaveLength(4);
    expect(clock.sleeps.every((ms) => ms <= 1_100)).toBe(true);
  });

  it('a PUT answered with a redirect is an unknown outcome, never a success', async () => {
    const clock = virtualClock(1_800_000_000_300);
    const { github, store } = await world(clock);
    github.seedSecret(SCOPE, NAME, 'yesterday-value-0123', stamp(clock.t - 86_400_000));
    await store.preflight([target], [NAME]);
    // The write happens, but GitHub's answer is a redirect.
    github.fault('PUT', /CLIENT_SECRET$/, {
      status: 307,
      headers: { location: '/elsewhere' },
      afterEffect: true,
      times: 1,
    });
    const err = await failure(store.store(target, NAME, 'this-run-value-0123'));
    expect(err.landed).toBe('maybe');
    expect(err.message).toBe(
      `Could not write secret ${NAME} in repo ${REPO}: HTTP 307 (a redirect, not followed); whether the write took effect is unknown.`,
    );
    // Not repeated: a redirect is GitHub's answer, not a passing fault.
    expect(github.calls('PUT', /CLIENT_SECRET$/)).toHaveLength(1);
  });

  it('a read answered with a redirect is a failure, not an empty answer', async () => {
    const clock = virtualClock(1_800_000_000_300);
    const { github, store } = await world(clock);
    github.seedSecret(SCOPE, NAME, 'yesterday-value-0123', stamp(clock.t - 86_400_000));
    github.fault('GET', /CLIENT_SECRET$/, { status: 301, headers: { location: '/moved' } });
    const err = await failure(store.updatedAt(target, NAME));
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toBe(
      `Could not read secret ${NAME} in repo ${REPO}: HTTP 301 (a redirect, not followed).`,
    );
    await expect(store.preflight([target], [NAME])).rejects.toThrow(/HTTP 301/);
  });

  it('a secret whose metadata has no usable updated_at stops preflight', async () => {
    const clock = virtualClock(1_800_000_000_300);
    const { github, store } = await world(clock);
    github.seedSecret(SCOPE, NAME, 'yesterday-value-0123', 'not a date');
    await expect(store.preflight([target], [NAME])).rejects.toThrow(
      'GitHub answered without a usable updated_at',
    );
  });
});

describe("GitHubTime: GitHub's clock from its answers", () => {
  it('keeps the latest Date header and the most telling offset, ignoring what is not a date', () => {
    const clock = virtualClock(1_800_000_000_500);
    const time = new GitHubTime();
    expect(time.latest()).toBeUndefined();
    expect(time.atLeast()).toBeUndefined();
    for (const date of [undefined, 42, 'soon', 'x'.repeat(100)]) time.observe({ date });
    expect(time.latest()).toBeUndefined();
    time.observe({ date: new Date(1_800_000_000_000).toUTCString() });
    expect(time.latest()).toBe(1_800_000_000_000);
    expect(time.atLeast()).toBe(1_800_000_000_000);
    clock.t += 700;
    expect(time.atLeast()).toBe(1_800_000_000_700);
    // An older header (another host, a slower path) tells less: kept are the best of both.
    time.observe({ date: new Date(1_799_999_999_000).toUTCString() });
    expect(time.latest()).toBe(1_800_000_000_000);
    expect(time.atLeast()).toBe(1_800_000_000_700);
  });
});
