// Issue 19, the GitHub side of "evidence unique to this run", end to end through the bundle: a write
// counts as done only when GitHub shows an updated_at strictly newer than the one this run found in
// preflight (and the write is sent once GitHub's clock has left that second), and an answer other
// than 2xx to a write is never a success. Each run before the change reported "written" and retired
// the previous secret while the target still held it.
import { describe as describeInOrder, expect, it } from 'vitest';
import { CSP_APP, OLD_SECRET, REPO, SECRET_NAME, type World } from './fixtures.ts';
import { expectClean, recoveryKey, worldPerTest } from './checks.ts';
import { type Run, targets } from './harness.ts';

const describe = describeInOrder.concurrent;
const start = worldPerTest();
const SCOPE = `repo:${REPO}`;
const SECRET_PATH = new RegExp(`/actions/secrets/${SECRET_NAME}$`);

/**
 * GitHub's clock, held within one second until `resume()`: then it jumps to the next second and runs
 * on. Two runs made while it is held fall in the same second, as back-to-back runs can on GitHub.
 */
function heldClock() {
  const held = Math.floor(Date.now() / 1000) * 1000 + 100;
  let resumedAt: number | undefined;
  return {
    now: (): number => (resumedAt === undefined ? held : held + 900 + (Date.now() - resumedAt)),
    resume: (): void => {
      resumedAt ??= Date.now();
    },
    /** The second every write stamps while the clock is held, as GitHub shows it. */
    second: new Date(held - 100).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

const overlap = { 'csp-rotation': 'overlap', 'csp-retire-previous': 'true' };
/**
 * The re-run: a rotation this soon after the first run's write is refused (src/previous.ts,
 * tooSoon) unless the overwrite input is set; these tests are about GitHub's evidence, so it is.
 */
const rerun = { ...overlap, 'csp-overwrite-previous': 'true' };

/** A CSP overlap world on a held GitHub clock whose first run rotated and retired OLD_SECRET. */
async function afterFirstRun(): Promise<{
  w: World;
  clock: ReturnType<typeof heldClock>;
  key: Awaited<ReturnType<typeof recoveryKey>>;
  first: Run;
}> {
  const clock = heldClock();
  const w = await start('vmware-csp', { githubNow: clock.now });
  const key = await recoveryKey();
  const first = await w.run({ ...overlap, 'recovery-public-key': key.input });
  expect(first.code, first.stdout).toBe(0);
  expect(w.github.secret(SCOPE, SECRET_NAME)!.updated_at).toBe(clock.second);
  // The second run's first read of the secret (its preflight) is in the held second; the next one
  // (its look at GitHub's clock before writing) lets the clock run on.
  w.github.fault('GET', SECRET_PATH, { skip: 1, times: 1, onMatch: clock.resume });
  return { w, clock, key, first };
}

/** The second run could not prove its write: nothing retired, the target still works, the secret handed over. */
function expectNotWritten(w: World, run: Run, held: string, open: (blob: string) => string): void {
  expect(run.code, run.stdout).toBe(1);
  expect(run.outputs['rotated']).toBe('false');
  expect(targets(run).map((t) => t.status)).toEqual(['failed']);
  // The previous secret (the first run's, still in the target) was not retired, and still works.
  expect(w.csp!.calls('DELETE', /secret$/)).toHaveLength(1);
  expect(w.github.secret(SCOPE, SECRET_NAME)!.value).toBe(held);
  expect(w.csp!.validSecrets(CSP_APP)).toContain(held);
  expect(open(run.outputs['recovery']!)).toBe(w.currentSecret());
  expect(run.outputs['undone'] ?? '').toBe('');
}

describe('a re-run in the same second as the run before it', () => {
  it('a PUT answered 204 that changed nothing is not "written": no retire, the new secret handed over', async () => {
    const { w, clock, key, first } = await afterFirstRun();
    const held = w.github.secret(SCOPE, SECRET_NAME)!.value;
    w.github.freezeUpdates(SCOPE);
    const run = await w.run({ ...rerun, 'recovery-public-key': key.input });
    expectNotWritten(w, run, held, key.open);
    expect(w.github.secret(SCOPE, SECRET_NAME)!.updated_at).toBe(clock.second);
    expect(run.errors[0]).toContain('updated_at did not move');
    for (const r of [first, run]) expectClean(w, r);
  });

  it('a PUT answered 302 is an unknown outcome, never a success', async () => {
    const { w, key, first } = await afterFirstRun();
    const held = w.github.secret(SCOPE, SECRET_NAME)!.value;
    w.github.fault('PUT', SECRET_PATH, { status: 302, headers: { location: '/elsewhere' } });
    const run = await w.run({ ...rerun, 'recovery-public-key': key.input });
    expectNotWritten(w, run, held, key.open);
    expect(run.errors[0]).toContain(
      `Could not write secret ${SECRET_NAME} in repo ${REPO}: HTTP 302 (a redirect, not followed); whether the write took effect is unknown.`,
    );
    for (const r of [first, run]) expectClean(w, r);
  });

  it('a write that works is sent once GitHub has left that second, and is verified', async () => {
    const { w, clock, key, first } = await afterFirstRun();
    const run = await w.run({ ...rerun, 'recovery-public-key': key.input });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['rotated']).toBe('true');
    const stored = w.github.secret(SCOPE, SECRET_NAME)!;
    expect(stored.value).toBe(w.currentSecret());
    expect(stored.updated_at > clock.second).toBe(true);
    // The PUT went out after the answer that showed GitHub's clock past the held second.
    const [, probe] = w.github.calls('GET', SECRET_PATH).slice(-3);
    const put = w.github.calls('PUT', SECRET_PATH).at(-1)!;
    expect(w.github.requests.indexOf(put)).toBeGreaterThan(w.github.requests.indexOf(probe!));
    expect(w.csp!.validSecrets(CSP_APP)).toEqual([w.currentSecret()]);
    for (const r of [first, run]) expectClean(w, r);
  });
});

describe('an answer other than 2xx to a GitHub write', () => {
  it('a secret PUT answered 307 after it took effect is an unknown outcome: no retire, no undo, the new secret handed over', async () => {
    const w = await start('vmware-csp');
    const key = await recoveryKey();
    w.github.fault('PUT', SECRET_PATH, {
      status: 307,
      headers: { location: '/elsewhere' },
      afterEffect: true,
    });
    const run = await w.run({ ...overlap, 'recovery-public-key': key.input });
    expect(run.code, run.stdout).toBe(1);
    expect(run.outputs['rotated']).toBe('false');
    expect(targets(run).map((t) => t.status)).toEqual(['failed']);
    expect(run.errors[0]).toContain(
      `Could not write secret ${SECRET_NAME} in repo ${REPO}: HTTP 307 (a redirect, not followed); whether the write took effect is unknown.`,
    );
    expect(w.github.calls('PUT', SECRET_PATH)).toHaveLength(1);
    expect(w.csp!.calls('DELETE', /secret$/)).toHaveLength(0);
    expect(w.csp!.validSecrets(CSP_APP)).toContain(OLD_SECRET);
    expect(run.outputs['undone'] ?? '').toBe('');
    expect(key.open(run.outputs['recovery']!)).toBe(w.currentSecret());
    expectClean(w, run);
  });
});

describe('skip-if-rotated-within after a failed run', () => {
  const ISSUES = 'octo/lib';
  const ENV_PUT = /environments\/production\/secrets\/CLIENT_SECRET$/;
  const inputs = (input: string) => ({
    'csp-rotation': 'regenerate',
    'skip-if-rotated-within': '20h',
    'failure-issue-repository': ISSUES,
    'recovery-public-key': input,
    targets: `repo ${REPO}\nenvironment ${REPO} production`,
  });

  it('the re-run after a failed environment write does not skip and does not close the issue', async () => {
    const w = await start('vmware-csp');
    const key = await recoveryKey();
    // Refused twice: the first run's write and the re-run's.
    w.github.fault('PUT', ENV_PUT, { status: 404, body: { message: 'Not Found' }, times: 2 });
    const first = await w.run(inputs(key.input));
    expect(first.code, first.stdout).toBe(1);
    expect(w.github.issues(ISSUES)).toMatchObject([{ state: 'open' }]);
    const rerun = await w.run(inputs(key.input));
    expect(rerun.code, rerun.stdout).toBe(1);
    expect(rerun.outputs['rotated']).toBe('false');
    // The environment never got a secret: the guard does not apply, and the run rotates again.
    expect(rerun.stdout).toContain(
      `skip-if-rotated-within: secret ${SECRET_NAME} in environment ${REPO} production does not exist; rotating.`,
    );
    expect(w.csp!.rotations(CSP_APP)).toBe(2);
    expect(key.open(rerun.outputs['recovery']!)).toBe(w.currentSecret());
    const [issue] = w.github.issues(ISSUES);
    expect(issue).toMatchObject({ state: 'open' });
    expect(issue!.comments).toHaveLength(1);
    for (const r of [first, rerun]) expectClean(w, r);
  });

  it('every target fresh but the failure issue open: it rotates; a success then closes the issue', async () => {
    const w = await start('vmware-csp');
    const key = await recoveryKey();
    const ok = await w.run(inputs(key.input));
    expect(ok.code, ok.stdout).toBe(0);
    // A failure after every write (here: filed by hand, as a failed retire would be).
    w.github.seedIssue(ISSUES, {
      title: `Client secret rotation failing: vmware-csp ${CSP_APP} → ${SECRET_NAME}`,
      labels: ['secret-rotation'],
    });
    const rerun = await w.run(inputs(key.input));
    expect(rerun.code, rerun.stdout).toBe(0);
    expect(rerun.outputs['rotated']).toBe('true');
    expect(rerun.stdout).toMatch(
      new RegExp(
        `within the window, but failure issue ${ISSUES}#1 is open \\(the last run failed\\); rotating\\.`,
      ),
    );
    expect(w.csp!.rotations(CSP_APP)).toBe(2);
    expect(w.github.issues(ISSUES)[0]).toMatchObject({ state: 'closed' });
    for (const r of [ok, rerun]) expectClean(w, r);
  });

  it('a skipped run never closes the failure issue', async () => {
    const w = await start('vmware-csp');
    const key = await recoveryKey();
    const ok = await w.run(inputs(key.input));
    expect(ok.code, ok.stdout).toBe(0);
    w.github.seedIssue(ISSUES, {
      title: `Client secret rotation failing: vmware-csp ${CSP_APP} → ${SECRET_NAME}`,
      labels: ['secret-rotation'],
    });
    // Preflight cannot read the issues: the targets alone decide, and say so.
    w.github.fault('GET', /\/issues$/, { status: 403, body: { message: 'no' }, times: 1 });
    const skipped = await w.run(inputs(key.input));
    expect(skipped.code, skipped.stdout).toBe(0);
    expect(skipped.outputs['rotated']).toBe('false');
    expect(w.csp!.rotations(CSP_APP)).toBe(1);
    expect(skipped.warnings).toContain(
      `Could not read the failure issues of ${ISSUES}: HTTP 403; skip-if-rotated-within decides by the target secrets alone.`,
    );
    expect(w.github.issues(ISSUES)[0]).toMatchObject({ state: 'open', comments: [] });
    expect(skipped.stdout).toContain(
      `Failure issue ${ISSUES}#1 stays open: this run skipped the rotation.`,
    );
    for (const r of [ok, skipped]) expectClean(w, r);
  });
});
