// The failure issue end to end: a failed run opens an issue in failure-issue-repository, the next
// failed run comments on it, a successful run comments and closes it; and an issue API that fails
// never changes the outcome of the rotation or hides the original failure.
import { describe, expect, it } from 'vitest';
import { expectClean, worldPerTest } from './checks.ts';
import { CSP_APP, REPO, SECRET_NAME, type World } from './fixtures.ts';
import type { Run } from './harness.ts';

const start = worldPerTest();
const ISSUES = 'octo/lib';
const WRONG_TOKEN = 'wrong-csp-api-token-0123456789';
const TITLE = `Client secret rotation failing: vmware-csp ${CSP_APP} → ${SECRET_NAME}`;
const env = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: REPO,
  GITHUB_RUN_ID: '4242',
};

async function world(): Promise<World> {
  const w = await start('vmware-csp');
  w.github.addRepo(ISSUES); // again: the fixture's octo/lib, now also where issues go
  return w;
}

/** No secret the world knows in any issue or comment. */
function issuesClean(w: World): void {
  const text = w.github
    .issues(ISSUES)
    .flatMap((i) => [i.title, i.body, ...i.comments])
    .join('\n');
  for (const secret of [...w.secrets(), WRONG_TOKEN]) expect(text).not.toContain(secret);
}

const failing = { 'failure-issue-repository': ISSUES, 'csp-api-token': WRONG_TOKEN };
const ok = { 'failure-issue-repository': ISSUES };

describe.concurrent('failure-issue-repository', () => {
  it('opens one issue, comments on it when the run fails again, and closes it on success', async () => {
    const w = await world();
    const runs: Run[] = [];
    const first = await w.run(failing, { env });
    runs.push(first);
    expect(first.code).toBe(1);
    let issues = w.github.issues(ISSUES);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ title: TITLE, labels: ['secret-rotation'], state: 'open' });
    expect(issues[0]!.body).toContain('## Rotation failed');
    expect(issues[0]!.body).toContain('**What happened:**');
    expect(issues[0]!.body).toContain('**Next step:**');
    expect(issues[0]!.body).toContain('Run: https://github.com/octo/app/actions/runs/4242');
    expect(first.stdout).toContain(`Opened failure issue ${ISSUES}#1.`);
    expect(first.summary).toContain(`Opened failure issue ${ISSUES}#1.`);
    // The original failure stays the step's error.
    expect(first.errors).toHaveLength(1);
    expect(first.errors[0]).toMatch(/Could not exchange csp-api-token/);

    const second = await w.run(failing, { env });
    runs.push(second);
    expect(second.code).toBe(1);
    issues = w.github.issues(ISSUES);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.comments).toHaveLength(1);
    expect(issues[0]!.comments[0]).toContain('**What happened:**');
    expect(second.stdout).toContain(`commented on failure issue ${ISSUES}#1.`);

    const third = await w.run(ok, { env });
    runs.push(third);
    expect(third.code, third.stdout).toBe(0);
    expect(third.outputs['rotated']).toBe('true');
    issues = w.github.issues(ISSUES);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ state: 'closed', stateReason: 'completed' });
    expect(issues[0]!.comments).toHaveLength(2);
    expect(issues[0]!.comments[1]).toMatch(/^This run succeeded \(rotated\): closing\./);
    expect(third.stdout).toContain(`closed failure issue ${ISSUES}#1.`);

    // A later success finds nothing open and files nothing.
    const fourth = await w.run(ok, { env });
    runs.push(fourth);
    expect(fourth.code).toBe(0);
    expect(w.github.issues(ISSUES)).toHaveLength(1);
    expect(w.github.calls('POST', /\/issues/)).toHaveLength(3);
    issuesClean(w);
    for (const run of runs) expectClean(w, run, [WRONG_TOKEN]);
  });

  it('an issue API that refuses leaves a failed run failed, with its own error', async () => {
    const w = await world();
    w.github.denyIssueWrites();
    const run = await w.run(failing, { env });
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(/Could not exchange csp-api-token/);
    expect(run.warnings.join('\n')).toContain(
      `Could not file the failure issue in ${ISSUES} (the github-token needs "Issues: write" there): HTTP 403. The run's outcome is unchanged.`,
    );
    expect(w.github.issues(ISSUES)).toHaveLength(0);
    expectClean(w, run, [WRONG_TOKEN]);
  });

  it('an issue API that fails leaves a successful rotation successful', async () => {
    const w = await world();
    w.github.fault('GET', /\/issues$/, { status: 500, times: 100 });
    const run = await w.run(ok, { env });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['rotated']).toBe('true');
    expect(w.github.secret(`repo:${REPO}`, SECRET_NAME)!.value).toBe(w.currentSecret());
    expect(run.errors).toEqual([]);
    expect(run.warnings.join('\n')).toContain(
      `Could not close the failure issue in ${ISSUES} (the github-token needs "Issues: write" there): HTTP 500.`,
    );
    expectClean(w, run);
  });

  it('a failing check files the issue too, and a passing one closes it', async () => {
    const w = await world();
    const check = { ...ok, mode: 'check' };
    const missing = await w.run(check, { env });
    expect(missing.code).toBe(1);
    const [issue] = w.github.issues(ISSUES);
    expect(issue!.title).toBe(TITLE);
    expect(issue!.body).toContain('## Check failed: nothing changed');
    expect(issue!.body).toContain('| **no** |');
    w.github.seedSecret(`repo:${REPO}`, SECRET_NAME, 'Restored-By-Hand-0123456789');
    const passing = await w.run(check, { env });
    expect(passing.code, passing.stdout).toBe(0);
    expect(w.github.issues(ISSUES)[0]).toMatchObject({ state: 'closed' });
    for (const run of [missing, passing]) expectClean(w, run, ['Restored-By-Hand-0123456789']);
  });

  it('files the issue when the inputs themselves are invalid', async () => {
    const w = await world();
    const run = await w.run({ ...ok, 'request-timeout': 'soon' }, { env });
    expect(run.code).toBe(1);
    const issues = w.github.issues(ISSUES);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.title).toBe(TITLE);
    expect(issues[0]!.body).toContain('An input is invalid');
    expectClean(w, run);
  });
});
