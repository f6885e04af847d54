// Stopping, end to end: the bundled action sent real signals as GitHub's runner sends them when a job
// is cancelled (SIGINT, SIGTERM 7.5 s later, the process tree killed 2.5 s after that), or killed
// outright. The grace periods are shortened in proportion through GRACE_SCALE_ENV, so that most tests
// wait seconds, not ten; the one whose second signal must arrive while storing goes on keeps them.
import type { ChildProcess } from 'node:child_process';
import { describe as describeInOrder, expect, it } from 'vitest';
import { ESCROW_PREFIX } from '../src/pipeline.ts';
import { GRACE_MS, GRACE_SCALE_ENV } from '../src/stop.ts';
import { expectClean, recoveryKey, worldPerTest } from './checks.ts';
import { CSP_APP, CSP_ORG, OLD_SECRET, REPO, SECRET_NAME, type World } from './fixtures.ts';
import { checkRequest, checkResponse } from './emulators/github-openapi.ts';
import { type Run, targets, useBundle } from './harness.ts';

// Every run of this file spawns the bundle, as the runner does (harness.ts).
useBundle();

const describe = describeInOrder.concurrent;
const start = worldPerTest();

/**
 * The runner's timings, shortened: SIGINT, SIGTERM 3 s later, the kill 1 s after that. (The action's
 * margins are not scaled: it stops storing 2.5 s before the kill whatever the grace.)
 */
const SCALE = 0.4;
const grace = (scale: number) => ({
  env: { [GRACE_SCALE_ENV]: String(scale) },
  sigtermAfterMs: (GRACE_MS.SIGINT - GRACE_MS.SIGTERM) * scale,
  killAfterMs: GRACE_MS.SIGINT * scale,
});
const { env, sigtermAfterMs: SIGTERM_AFTER_MS } = grace(SCALE);
/**
 * The action plans to be done before the runner's kill; on a loaded machine (the full suite on two
 * shared cores) it may get the processor late, so the test's kill comes this much later than the
 * runner's would. A run that ignored the grace would still be killed: it never exits by itself.
 */
const LOAD_ALLOWANCE_MS = 3000;

const CSP_SECRET = `/csp/gateway/am/api/orgs/${CSP_ORG}/oauth-apps/${CSP_APP}/secret`;
const GITHUB_SECRET = new RegExp(`/secrets/${SECRET_NAME}$`);
const ESCROW = new RegExp(`^${ESCROW_PREFIX} (\\S+)`, 'm');

/** A child process, and the runner's way of cancelling it. */
class Runner {
  readonly #timing: ReturnType<typeof grace>;
  child: ChildProcess | undefined;
  /** When the cancel began (Date.now()), once it did. */
  cancelledAt: number | undefined;
  readonly onSpawn = (c: ChildProcess): void => {
    this.child = c;
  };

  constructor(scale = SCALE) {
    this.#timing = grace(scale);
  }

  /** SIGINT now, SIGTERM and SIGKILL after the runner's (scaled) waits, unless the process exited. */
  cancel(): void {
    const child = this.child!;
    this.cancelledAt = Date.now();
    child.kill('SIGINT');
    const term = setTimeout(() => child.kill('SIGTERM'), this.#timing.sigtermAfterMs);
    const kill = setTimeout(
      () => child.kill('SIGKILL'),
      this.#timing.killAfterMs + LOAD_ALLOWANCE_MS,
    );
    child.on('exit', () => {
      clearTimeout(term);
      clearTimeout(kill);
    });
  }
}

/** Exited by itself (not killed), non-zero, before the runner's kill. */
function expectExitedInTime(run: Run, runner: Runner): void {
  // Not killed: the hanging write would otherwise keep it alive until the kill.
  expect(run.signal, run.stdout).toBeNull();
  expect(run.code, run.stdout).toBe(1);
  expect(runner.cancelledAt).toBeDefined();
}

function escrowed(run: Run): string {
  const m = ESCROW.exec(run.stdout);
  expect(m, run.stdout).not.toBeNull();
  return m![1]!;
}

const clean = (w: World, run: Run): void => expectClean(w, run);

/**
 * The emulator compiles a schema the first time it checks an answer against it; the issue list's
 * takes a second or more on a loaded machine, which the stopped run's short budget would pay for.
 */
function warmIssueSchemas(): void {
  checkResponse(checkRequest('GET', '/repos/ops/alerts/issues', undefined), 'GET', 200, []);
  const made = checkRequest('POST', '/repos/ops/alerts/issues', { title: 't' });
  checkResponse(made, 'POST', 201, {});
}

describe('SIGINT after the rotating call: the store completes within the grace', () => {
  for (const recovery of [true, false])
    for (const [kind, extra, path] of [
      ['vmware-csp regenerate (the old secret dies)', {}, 'PUT'],
      [
        'vmware-csp overlap with csp-retire-previous (the old secret is kept)',
        { 'csp-rotation': 'overlap', 'csp-retire-previous': 'true' },
        'POST',
      ],
    ] as const)
      it(`${kind}, ${recovery ? 'with' : 'without'} recovery-public-key`, async () => {
        const w = await start('vmware-csp');
        const key = await recoveryKey();
        const runner = new Runner();
        w.csp!.fault(path, CSP_SECRET, { times: 1, onAnswered: () => runner.cancel() });
        const run = await w.run(
          { ...extra, ...(recovery ? { 'recovery-public-key': key.input } : {}) },
          { env, onSpawn: runner.onSpawn },
        );
        expectExitedInTime(run, runner);
        expect(w.csp!.rotations(CSP_APP)).toBe(1);
        const current = w.currentSecret();
        expect(current).not.toBe(OLD_SECRET);
        // Opened with the emulator's private key for the repository.
        expect(w.github.secret(`repo:${REPO}`, SECRET_NAME)?.value).toBe(current);
        expect(targets(run)).toEqual([
          { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'written' },
        ]);
        if (recovery) expect(key.open(escrowed(run))).toBe(current);
        else expect(run.stdout).not.toMatch(ESCROW);
        if (path === 'POST') {
          // Retiring waits for nothing under a stop: the previous secret still works.
          expect(w.csp!.validSecrets(CSP_APP)).toEqual([current, OLD_SECRET]);
          expect(w.csp!.calls('DELETE', CSP_SECRET)).toHaveLength(0);
        }
        expect(run.stdout).toContain('Received SIGINT: stopping.');
        expect(run.errors).toEqual([
          expect.stringMatching(
            /^The run was stopped \(SIGINT\) after the rotation of .*The new secret is stored and verified in every target\./,
          ),
        ]);
        expect(JSON.parse(run.outputs['report']!)).toMatchObject({ stopped: 'SIGINT' });
        expect(run.summary).toContain('## Stopped (SIGINT) after the rotation');
        clean(w, run);
      });
});

describe('SIGINT, then SIGTERM 7.5 s later, while a write hangs', () => {
  it('publishes the report, files the issue and revokes every App token before the kill; the escrow line is in the log', async () => {
    // Long enough that storing still goes on when SIGTERM arrives: a second signal must not end it.
    const timing = grace(1);
    warmIssueSchemas();
    const w = await start('vmware-csp', { app: true });
    w.github.addOrg('ops');
    w.github.addRepo('ops/alerts');
    w.github.apps.install(w.app!.id, 'ops', { permissions: { issues: 'write' } });
    const key = await recoveryKey();
    const runner = new Runner(1);
    w.csp!.fault('PUT', CSP_SECRET, { times: 1, onAnswered: () => runner.cancel() });
    w.github.fault('PUT', GITHUB_SECRET, { hang: true });
    const run = await w.run(
      { 'recovery-public-key': key.input, 'failure-issue-repository': 'ops/alerts' },
      { env: timing.env, onSpawn: runner.onSpawn },
    );
    expectExitedInTime(run, runner);
    const ms = Date.now() - runner.cancelledAt!;
    // After the SIGTERM (the store went on as long as the grace allowed), before the kill.
    expect(ms).toBeGreaterThan(timing.sigtermAfterMs);
    expect(ms).toBeLessThan(timing.killAfterMs + LOAD_ALLOWANCE_MS);
    expect(run.stdout).toContain('Received SIGTERM: stopping.');
    const current = w.currentSecret();
    expect(key.open(escrowed(run))).toBe(current);
    expect(key.open(run.outputs['recovery']!)).toBe(current);
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'failed' },
    ]);
    const report = JSON.parse(run.outputs['report']!) as { failure: string; stopped: string };
    expect(report.stopped).toBe('SIGINT');
    expect(report.failure).toMatch(/^The run was stopped \(SIGINT\) after the rotation\. 1 of 1/);
    expect(report.failure).toContain('The old secret no longer works.');
    expect(run.summary).toContain('## Stopped (SIGINT) after the rotation');
    expect(w.github.issues('ops/alerts')).toHaveLength(1);
    // Every installation token minted (the targets' and the issue's) was revoked.
    expect(w.github.apps.minted.length).toBeGreaterThanOrEqual(2);
    for (const t of w.github.apps.minted) expect(t.revoked, t.account).toBe(true);
    clean(w, run);
  });
});

describe('SIGINT in preflight', () => {
  it('aborts the request in flight, changes nothing, files no issue and exits non-zero with a clear message', async () => {
    const w = await start('vmware-csp');
    const runner = new Runner();
    w.csp!.fault('GET', `/csp/gateway/am/api/orgs/${CSP_ORG}/oauth-apps/${CSP_APP}`, {
      hang: true,
      onMatch: () => runner.cancel(),
    });
    const run = await w.run(
      { 'failure-issue-repository': REPO, 'csp-rotation': 'regenerate' },
      { env, onSpawn: runner.onSpawn },
    );
    expectExitedInTime(run, runner);
    // Aborted at once: well before request-timeout (5 s) or the runner's SIGTERM.
    expect(Date.now() - runner.cancelledAt!).toBeLessThan(SIGTERM_AFTER_MS);
    expect(w.csp!.rotations(CSP_APP)).toBe(0);
    expect(w.csp!.validSecrets(CSP_APP)).toEqual([OLD_SECRET]);
    expect(w.github.calls('PUT', /./)).toHaveLength(0);
    expect(w.github.issues(REPO)).toHaveLength(0);
    expect(run.errors).toEqual([
      'The run was stopped (SIGINT) before the rotation: nothing was changed.',
    ]);
    expect(run.outputs['rotated']).toBe('false');
    expect(run.summary).toContain('## Stopped (SIGINT) before the rotation: nothing changed');
    clean(w, run);
  });
});

describe('SIGKILL after the rotating call', () => {
  it('leaves the escrow line in what the step printed, and it opens to the secret the provider holds', async () => {
    const w = await start('vmware-csp');
    const key = await recoveryKey();
    const runner = new Runner();
    w.github.fault('PUT', GITHUB_SECRET, {
      hang: true,
      onMatch: () => runner.child!.kill('SIGKILL'),
    });
    const run = await w.run({ 'recovery-public-key': key.input }, { onSpawn: runner.onSpawn });
    expect(run.signal).toBe('SIGKILL');
    expect(w.csp!.rotations(CSP_APP)).toBe(1);
    expect(w.github.secret(`repo:${REPO}`, SECRET_NAME)).toBeUndefined();
    expect(key.open(escrowed(run))).toBe(w.currentSecret());
    clean(w, run);
  });
});
