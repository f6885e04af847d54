// A large fan-out within GitHub's limits (issue 20), in process on the virtual clock: 1,000
// repository targets, App sign-in, and the GitHub emulator enforcing GitHub's documented secondary
// limits. The content-creating limit of 500 an hour alone makes the run last longer than an
// installation token lives: it must wait out every Retry-After, re-mint its token before it expires
// (and revoke every token it minted), and leave every target holding the new secret. Seconds of real
// time; more than an hour on the run's clock.
import { afterEach, describe, expect, it } from 'vitest';
import { setClock } from '../src/clock.js';
import { parseInputs } from '../src/inputs/index.js';
import type { Report } from '../src/pipeline.js';
import { execute } from '../src/wire.js';
import { recoveryKey } from './checks.ts';
import { REPO, SECRET_NAME, startWorld, type World } from './fixtures.ts';
import { EventClock, fastZeroTimeouts, RunProcess } from './search-process.ts';

const START = Date.parse('2026-12-01T03:00:00Z');
const TARGETS = 1000;

let world: World | undefined;
let undo: (() => void) | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
  undo?.();
  undo = undefined;
  setClock();
});

async function fanOut(extra: Record<string, string> = {}) {
  // Its requests are counted in flight (search-process.ts), so that time moves only when it is idle.
  const proc = new RunProcess();
  const clock = new EventClock(START, () => proc.inFlight > 0);
  setClock(clock);
  undo = fastZeroTimeouts();
  const repos = Array.from({ length: TARGETS }, (_, i) => `octo/svc-${String(i).padStart(4, '0')}`);
  const w = (world = await startWorld('vmware-csp', { now: clock.now, repos, app: true }));
  w.github.limits = {
    concurrent: 100,
    pointsPerMinute: 900,
    contentPerMinute: 80,
    contentPerHour: 500,
  };
  const key = await recoveryKey();
  const inputs = w.inputs({
    targets: repos.map((r) => `repo ${r}`).join('\n'),
    'store-timeout': '3h',
    'max-targets': String(TARGETS),
    'recovery-public-key': key.input,
    ...extra,
  });
  const log: string[] = [];
  const masks = new Set<string>();
  let report: Report;
  try {
    report = await proc.run(() =>
      execute(
        parseInputs((n) => inputs[n] ?? '', { GITHUB_REPOSITORY: REPO }),
        {
          mask: (v) => void masks.add(v),
          info: (m) => void log.push(m),
          warn: (m) => void log.push(`::warning::${m}`),
          idToken: () => Promise.reject(new Error('no OIDC here')),
        },
      ),
    );
  } catch (err) {
    report = { outcome: 'failed', rotated: false, targets: [], failure: (err as Error).message };
  }
  return { w, repos, report, log, masks, elapsedMs: clock.now() - START };
}

describe('1,000 repository targets within GitHub limits', () => {
  it('waits out Retry-After, re-mints the installation token before it expires, revokes every token, and stores everywhere', async () => {
    const { w, repos, report, log, masks, elapsedMs } = await fanOut();
    expect(report.failure, log.slice(-5).join('\n')).toBeUndefined();
    expect(report.outcome).toBe('rotated');
    expect(report.targets.filter((t) => t.status === 'written')).toHaveLength(TARGETS);
    // Every target holds the new secret (opened with the emulator's private key), which works.
    const current = w.currentSecret();
    const held = repos.filter((r) => w.github.secret(`repo:${r}`, SECRET_NAME)?.value === current);
    expect(held).toHaveLength(TARGETS);
    // The limits were met and waited out: 500 writes an hour stretched the run past a token's life.
    expect(w.github.limited.some((l) => l.limit === 'contentPerHour')).toBe(true);
    expect(elapsedMs).toBeGreaterThan(60 * 60_000);
    // No request was refused for an expired or revoked token; a new one was minted in time.
    expect(w.github.requests.filter((r) => r.status === 401)).toEqual([]);
    const minted = w.github.apps.minted;
    expect(minted.length).toBeGreaterThanOrEqual(2);
    expect(log.some((l) => l.startsWith('Minted a new installation token for octo'))).toBe(true);
    // Every token minted was revoked, or had expired (and works nowhere) when the run ended.
    const end = START + elapsedMs;
    expect(minted.every((t) => t.revoked || t.expiresAt <= end)).toBe(true);
    expect(minted.filter((t) => t.revoked).length).toBeGreaterThanOrEqual(1);
    expect(minted.every((t) => masks.has(t.token))).toBe(true);
    // The log said up front how long storing takes at GitHub's pace.
    expect(
      log.some((l) => /1000 writes, a second apart as GitHub asks: at least 17 min/.test(l)),
    ).toBe(true);
    // GitHub asks for no more than 100 requests at once; the client keeps far below.
    expect(w.github.peakInFlight).toBeLessThanOrEqual(100);
    // Nothing secret in the log.
    const text = log.join('\n');
    for (const s of [current, ...minted.map((t) => t.token)]) expect(text).not.toContain(s);
  }, 120_000);

  it('refuses before any request when GitHub’s pace alone outlasts store-timeout', async () => {
    const { w, report } = await fanOut({ 'store-timeout': '10m' });
    expect(report.failure).toMatch(
      /^Input 'store-timeout' \(10 min\) is shorter than the 1000 writes to GitHub need at its pace of one a second \(at least 17 min\)/,
    );
    expect(w.github.requests).toEqual([]);
    expect(w.csp!.rotations('nightly-build-bot')).toBe(0);
  }, 60_000);
});
