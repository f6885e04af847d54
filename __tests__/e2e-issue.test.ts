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
function issuesClean(w: World, repo = ISSUES): void {
  const text = w.github
    .issues(repo)
    .flatMap((i) => [i.title, i.body, ...i.comments])
    .join('\n');
  for (const secret of [...w.secrets(), WRONG_TOKEN]) expect(text).not.toContain(secret);
}

const failing = { 'failure-issue-repository': ISSUES, 'csp-api-token': WRONG_TOKEN };
const ok = { 'failure-issue-repository': ISSUES };

describe.concurrent('failure-issue-repository', () => {
  it('a run refused only because it came too soon after a write files no issue and leaves an open one open', async () => {
    const w = await world();
    const overlap = { ...ok, 'csp-rotation': 'overlap' };
    const first = await w.run(overlap, { env });
    expect(first.code, first.stdout).toBe(0);
    const soon = await w.run(overlap, { env });
    expect(soon.code).toBe(1);
    expect(soon.errors.join('\n')).toMatch(/^Refusing to rotate yet: /);
    expect(soon.summary).toContain('nothing needs fixing: re-run at the time above');
    expect(w.github.issues(ISSUES)).toHaveLength(0);
    expect(w.github.calls('POST', /\/issues/)).toHaveLength(0);
    // An issue left open by an earlier failure stays open: a refusal proves nothing fixed.
    w.github.seedIssue(ISSUES, { title: TITLE, labels: ['secret-rotation'] });
    const again = await w.run(overlap, { env });
    expect(again.code).toBe(1);
    expect(w.github.issues(ISSUES).map((i) => [i.state, i.comments.length])).toEqual([['open', 0]]);
    expect(w.github.calls('PATCH', /\/issues/)).toHaveLength(0);
    for (const r of [first, soon, again]) expectClean(w, r);
    issuesClean(w);
  });

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

describe.concurrent('failure-issue-repository with GitHub App sign-in', () => {
  // The issues live with another owner than the targets: the issue's token is that owner's.
  const ALERTS = 'ops/alerts';
  const appOk = { 'failure-issue-repository': ALERTS };
  const appFailing = { ...appOk, 'csp-api-token': WRONG_TOKEN };

  /** A world signed in as an App installed on octo (the targets) and, unless `install` is false, on ops. */
  async function appWorld(install: Record<string, 'read' | 'write'> | false = { issues: 'write' }) {
    const w = await start('vmware-csp', { app: true });
    w.github.addOrg('ops');
    w.github.addRepo(ALERTS);
    w.github.addRepo('ops/other');
    if (install) w.github.apps.install(w.app!.id, 'ops', { permissions: install });
    return w;
  }

  const issueTokens = (w: World) => w.github.apps.minted.filter((t) => t.account === 'ops');

  /** Every token minted from the `from`-th on (by this run): revoked, and masked by the run. */
  function expectRevokedAndMasked(w: World, run: Run, from = 0): void {
    for (const t of w.github.apps.minted.slice(from)) {
      expect(t.revoked, `token for ${t.account}`).toBe(true);
      expect(run.masks).toContain(t.token);
    }
  }

  it("files the issue with a token for the issue repository's owner, issues: write on it only, revoked; a success closes it", async () => {
    const w = await appWorld();
    const failed = await w.run(appFailing, { env });
    expect(failed.code).toBe(1);
    expect(failed.errors).toEqual([expect.stringMatching(/Could not exchange csp-api-token/)]);
    expect(failed.warnings).toEqual([]);
    const issues = w.github.issues(ALERTS);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ title: TITLE, state: 'open' });
    expect(failed.stdout).toContain(`Opened failure issue ${ALERTS}#1.`);
    const [token] = issueTokens(w);
    expect(issueTokens(w)).toHaveLength(1);
    expect(token!.permissions).toEqual({ issues: 'write' });
    expect(token!.repositories).toEqual([ALERTS]);
    // Found through the repository, minted, revoked: and nothing else with that token.
    expect(w.github.calls('GET', `/repos/${ALERTS}/installation`)).toHaveLength(1);
    expectRevokedAndMasked(w, failed);

    const before = w.github.apps.minted.length;
    const passed = await w.run(appOk, { env });
    expect(passed.code, passed.stdout).toBe(0);
    expect(passed.outputs['rotated']).toBe('true');
    expect(w.github.issues(ALERTS)[0]).toMatchObject({ state: 'closed', stateReason: 'completed' });
    expect(passed.stdout).toContain(`closed failure issue ${ALERTS}#1.`);
    expect(issueTokens(w)).toHaveLength(2);
    expect(issueTokens(w)[1]!.permissions).toEqual({ issues: 'write' });
    expectRevokedAndMasked(w, passed, before);
    issuesClean(w, ALERTS);
    for (const run of [failed, passed]) expectClean(w, run, [WRONG_TOKEN]);
  });

  it('warns once, naming the missing installation and the permission, when the App is not installed on the owner', async () => {
    const w = await appWorld(false);
    const run = await w.run(appFailing, { env });
    expect(run.code).toBe(1);
    expect(run.errors).toEqual([expect.stringMatching(/Could not exchange csp-api-token/)]);
    expect(run.warnings).toEqual([
      `Could not file the failure issue in ${ALERTS} (GitHub App ${w.app!.id} needs "Issues: write" there): GitHub App 'secret-rotator' (id ${w.app!.id}) is not installed on account ops (with access to ${ALERTS}): install it there (https://github.com/apps/secret-rotator/installations/new), with access to the repositories the failure issue's requests name. The run's outcome is unchanged.`,
    ]);
    expect(w.github.issues(ALERTS)).toHaveLength(0);
    expect(issueTokens(w)).toEqual([]);
    expectRevokedAndMasked(w, run);
    expectClean(w, run, [WRONG_TOKEN]);
  });

  it('warns, naming issues: write, when the installation does not grant Issues; a success stays a success', async () => {
    const w = await appWorld({ metadata: 'read' });
    const run = await w.run(appOk, { env });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['rotated']).toBe('true');
    // (The other warning is CSP's: no recovery-public-key.)
    const issueWarnings = run.warnings.filter((m) => m.includes('failure issue'));
    expect(issueWarnings).toHaveLength(1);
    expect(issueWarnings[0]).toContain(
      `Could not close the failure issue in ${ALERTS} (GitHub App ${w.app!.id} needs "Issues: write" there): GitHub App ${w.app!.id}'s installation on ops cannot grant what the failure issue's requests need (issues: write; repositories alerts)`,
    );
    expectRevokedAndMasked(w, run);
    expectClean(w, run);
  });

  it('an issue API that refuses (403) is one warning naming the App and the permission', async () => {
    const w = await appWorld();
    w.github.denyIssueWrites();
    const run = await w.run(appFailing, { env });
    expect(run.code).toBe(1);
    expect(run.errors).toEqual([expect.stringMatching(/Could not exchange csp-api-token/)]);
    expect(run.warnings).toEqual([
      `Could not file the failure issue in ${ALERTS} (GitHub App ${w.app!.id} needs "Issues: write" there): HTTP 403. The run's outcome is unchanged.`,
    ]);
    expect(issueTokens(w)).toHaveLength(1);
    expectRevokedAndMasked(w, run);
    expectClean(w, run, [WRONG_TOKEN]);
  });

  it('files the issue with the App when the other inputs are invalid', async () => {
    const w = await appWorld();
    const run = await w.run({ ...appOk, 'request-timeout': 'soon' }, { env });
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(/^Input 'request-timeout'/);
    const issues = w.github.issues(ALERTS);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.body).toContain('An input is invalid');
    // Only the issue's token: the run never signed in for its targets.
    expect(w.github.apps.minted.map((t) => t.account)).toEqual(['ops']);
    expectRevokedAndMasked(w, run);
    // Every line of the key is masked in this path too.
    for (const line of w.app!.privateKey.split('\n').filter((l) => l.length > 16))
      if (!line.startsWith('-----')) expect(run.masks).toContain(line);
    expectClean(w, run);
  });

  it('with github-token beside the App inputs (refused for the run), files the issue with the token as before', async () => {
    const w = await appWorld();
    const run = await w.run({ ...appOk, 'github-token': w.github.token }, { env });
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(/^Inputs 'github-token' and 'github-app-id' are both set/);
    expect(w.github.issues(ALERTS)).toHaveLength(1);
    expect(w.github.apps.minted).toEqual([]);
    expectClean(w, run);
  });
});
