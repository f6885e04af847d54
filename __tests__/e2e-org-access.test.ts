// Targets never widen access: `org ORG` and `dependabot-org ORG` without a visibility word keep the
// existing secret's visibility and selected repositories; a secret that does not exist yet needs an
// explicit visibility, asked for in preflight before anything rotates.
import { describe as describeInOrder, expect, it } from 'vitest';
import { expectClean, worldPerTest } from './checks.ts';
import { CSP_APP, OLD_SECRET, ORG, REPO, SECRET_NAME } from './fixtures.ts';

// Each test starts its own world, so the tests of every describe in this file run concurrently.
const describe = describeInOrder.concurrent;
const start = worldPerTest();

const ORG_SCOPE = `org:${ORG}`;
const DEPENDABOT_SCOPE = `dependabot-org:${ORG}`;

describe('org targets keep who can read the secret', () => {
  it('rotating an org secret scoped to two selected repositories keeps exactly those two', async () => {
    const world = await start('vmware-csp');
    const gh = world.github;
    gh.addRepo('octo/other');
    gh.seedSecret(ORG_SCOPE, SECRET_NAME, OLD_SECRET);
    gh.setAccess(ORG_SCOPE, SECRET_NAME, { visibility: 'selected', repos: [REPO, 'octo/lib'] });
    // The client id secret beside it keeps its own, different visibility.
    gh.seedSecret(ORG_SCOPE, 'CLIENT_ID', 'old-client-id');
    gh.setAccess(ORG_SCOPE, 'CLIENT_ID', { visibility: 'all' });
    const run = await world.run({ targets: `org ${ORG}`, 'client-id-secret-name': 'CLIENT_ID' });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(gh.secret(ORG_SCOPE, SECRET_NAME)).toMatchObject({
      value: world.currentSecret(),
      visibility: 'selected',
    });
    expect(gh.selectedRepos(ORG_SCOPE, SECRET_NAME).sort()).toEqual(['octo/app', 'octo/lib']);
    expect(gh.secret(ORG_SCOPE, 'CLIENT_ID')).toMatchObject({ value: CSP_APP, visibility: 'all' });
    expectClean(world, run);
  });

  it('keeps a Dependabot org secret private, and reads every page of a long selection', async () => {
    const world = await start('vmware-csp');
    const gh = world.github;
    const many = Array.from({ length: 150 }, (_, i) => `octo/service-${i}`);
    for (const r of many) gh.addRepo(r);
    gh.seedSecret(ORG_SCOPE, SECRET_NAME, OLD_SECRET);
    gh.setAccess(ORG_SCOPE, SECRET_NAME, { visibility: 'selected', repos: many });
    gh.seedSecret(DEPENDABOT_SCOPE, SECRET_NAME, OLD_SECRET);
    gh.setAccess(DEPENDABOT_SCOPE, SECRET_NAME, { visibility: 'private' });
    const run = await world.run({ targets: `org ${ORG}\ndependabot-org ${ORG}  # keep as is` });
    expect(run.errors).toEqual([]);
    expect(gh.secret(ORG_SCOPE, SECRET_NAME)?.value).toBe(world.currentSecret());
    expect(gh.selectedRepos(ORG_SCOPE, SECRET_NAME).sort()).toEqual([...many].sort());
    expect(gh.calls('GET', /\/repositories$/)).toHaveLength(2);
    expect(gh.secret(DEPENDABOT_SCOPE, SECRET_NAME)).toMatchObject({
      value: world.currentSecret(),
      visibility: 'private',
    });
    expect(gh.secret(DEPENDABOT_SCOPE, SECRET_NAME)?.selected_repository_ids).toBeUndefined();
    expectClean(world, run);
  });

  it('applies an explicit visibility as written', async () => {
    const world = await start('vmware-csp');
    const gh = world.github;
    gh.seedSecret(ORG_SCOPE, SECRET_NAME, OLD_SECRET);
    gh.setAccess(ORG_SCOPE, SECRET_NAME, { visibility: 'selected', repos: [REPO, 'octo/lib'] });
    gh.seedSecret(DEPENDABOT_SCOPE, SECRET_NAME, OLD_SECRET);
    gh.setAccess(DEPENDABOT_SCOPE, SECRET_NAME, { visibility: 'all' });
    const run = await world.run({
      targets: `org ${ORG} private\ndependabot-org ${ORG} selected ${REPO}`,
    });
    expect(run.errors).toEqual([]);
    expect(gh.secret(ORG_SCOPE, SECRET_NAME)).toMatchObject({ visibility: 'private' });
    expect(gh.secret(DEPENDABOT_SCOPE, SECRET_NAME)).toMatchObject({ visibility: 'selected' });
    expect(gh.selectedRepos(DEPENDABOT_SCOPE, SECRET_NAME)).toEqual([REPO]);
    expectClean(world, run);
  });

  it.each([
    ['the secret', `dependabot-org ${ORG}`, {}, SECRET_NAME],
    ['the client id secret', `org ${ORG}`, { 'client-id-secret-name': 'CLIENT_ID' }, 'CLIENT_ID'],
    ['the secret, in a dry run', `org ${ORG}`, { 'dry-run': 'true' }, SECRET_NAME],
  ])(
    'asks for a visibility in preflight when %s does not exist yet',
    async (_what, line, extra: Record<string, string>, missing) => {
      const world = await start('vmware-csp');
      const gh = world.github;
      // The main secret exists where the line does not ask for it to be missing.
      if (missing !== SECRET_NAME) {
        gh.seedSecret(ORG_SCOPE, SECRET_NAME, OLD_SECRET);
        gh.setAccess(ORG_SCOPE, SECRET_NAME, { visibility: 'private' });
      }
      const run = await world.run({ targets: line, ...extra });
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toMatch(
        new RegExp(`Secret ${missing} does not exist yet in ${line}.*add one to the target line`),
      );
      expect(world.csp!.rotations(CSP_APP)).toBe(0);
      expect(gh.calls('PUT', /.*/)).toHaveLength(0);
      expectClean(world, run);
    },
  );
});

describe('a selection that cannot be read whole stops the run before rotating', () => {
  it.each([
    [
      'GitHub refuses the list',
      { status: 403, body: { message: 'Resource not accessible by integration' } },
      /Could not read the selected repositories of secret CLIENT_SECRET in org octo: HTTP 403/,
    ],
    [
      'the list is shorter than its count',
      { status: 200, body: { total_count: 3, repositories: [{ id: 1 }] } },
      /selected repositories of secret CLIENT_SECRET in org octo changed while they were read \(1 of 3\)/,
    ],
  ])('%s', async (_why, fault, message) => {
    const world = await start('vmware-csp');
    const gh = world.github;
    gh.seedSecret(ORG_SCOPE, SECRET_NAME, OLD_SECRET);
    gh.setAccess(ORG_SCOPE, SECRET_NAME, { visibility: 'selected', repos: [REPO] });
    gh.fault('GET', /\/repositories$/, fault);
    const run = await world.run({ targets: `org ${ORG}` });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(message);
    expect(world.csp!.rotations(CSP_APP)).toBe(0);
    expect(gh.calls('PUT', /.*/)).toHaveLength(0);
    expect(gh.selectedRepos(ORG_SCOPE, SECRET_NAME)).toEqual([REPO]);
    expectClean(world, run);
  });
});

describe('a refused org write names the organization permission', () => {
  it('says organization "Secrets: write" when the PUT of an org secret answers 403', async () => {
    const world = await start('whmcs');
    const gh = world.github;
    gh.fault('PUT', /^\/orgs\/octo\/actions\/secrets\/CLIENT_SECRET$/, {
      status: 403,
      body: { message: 'Resource not accessible by integration' },
    });
    const run = await world.run({ targets: `org ${ORG} private` });
    expect(run.code).toBe(1);
    const text = [...run.errors, ...run.warnings].join('\n');
    expect(text).toMatch(
      /Could not write secret CLIENT_SECRET in org octo private: HTTP 403: the github-token lacks organization "Secrets: write"/,
    );
    expect(text).not.toMatch(/on this repository/);
    expectClean(world, run);
  });
});
