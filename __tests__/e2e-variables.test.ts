// `client-id-variable-name`: the client id as an Actions variable in every target scope that has
// variables (repository, environment, organization), created or updated, read back by value; org
// variables never widen who can read them; a token that cannot read variables stops the run in
// preflight, before the rotating call.
import { describe, expect, it } from 'vitest';
import { expectClean, worldPerTest } from './checks.ts';
import { CSP_APP, OLD_SECRET, ORG, REPO, SECRET_NAME } from './fixtures.ts';

const startWorld = worldPerTest();
const VAR = 'CSP_CLIENT_ID';

describe.concurrent('the client id as a variable', () => {
  it('creates it where missing and updates it where present, in every scope that has variables', async () => {
    const world = await startWorld('vmware-csp');
    const gh = world.github;
    gh.seedVariable(`env:${REPO}:production`, VAR, 'an-old-client-id');
    const targets = [
      `repo ${REPO}`,
      `environment ${REPO} production`,
      `org ${ORG} private`,
      `dependabot ${REPO}`,
    ];
    const run = await world.run({
      targets: targets.join('\n'),
      'client-id-variable-name': VAR,
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(gh.variable(`repo:${REPO}`, VAR)?.value).toBe(CSP_APP);
    expect(gh.variable(`env:${REPO}:production`, VAR)?.value).toBe(CSP_APP);
    expect(gh.variable(`org:${ORG}`, VAR)).toMatchObject({ value: CSP_APP, visibility: 'private' });
    // Created once (repo, org), updated once (environment); Dependabot has no variables.
    expect(gh.calls('POST', /\/variables$/)).toHaveLength(2);
    expect(gh.calls('PATCH', /\/variables\/CSP_CLIENT_ID$/)).toHaveLength(1);
    expect(gh.calls('GET', /dependabot\/variables/)).toHaveLength(0);
    const listed = JSON.parse(run.outputs['targets']!) as Record<string, string>[];
    expect(listed.filter((e) => e['variable'] === VAR).map((e) => e['target'])).toEqual(
      targets.slice(0, 3),
    );
    expect(listed.every((e) => e['status'] === 'written')).toBe(true);
    expect(run.summary).toContain('variable <code>CSP_CLIENT_ID</code>');
    expectClean(world, run);
  });

  it('keeps an org variable exactly as readable as it was when the line names no visibility', async () => {
    const world = await startWorld('vmware-csp');
    const gh = world.github;
    gh.seedSecret(`org:${ORG}`, SECRET_NAME, OLD_SECRET);
    gh.setAccess(`org:${ORG}`, SECRET_NAME, { visibility: 'all' });
    gh.seedVariable(`org:${ORG}`, VAR, 'old-id', { visibility: 'selected', repos: ['octo/lib'] });
    const run = await world.run({ targets: `org ${ORG}`, 'client-id-variable-name': VAR });
    expect(run.errors).toEqual([]);
    expect(gh.secret(`org:${ORG}`, SECRET_NAME)).toMatchObject({ visibility: 'all' });
    expect(gh.variable(`org:${ORG}`, VAR)).toMatchObject({
      value: CSP_APP,
      visibility: 'selected',
    });
    expect(gh.variableRepos(`org:${ORG}`, VAR)).toEqual(['octo/lib']);
    expectClean(world, run);
  });

  it('asks for a visibility in preflight when the org variable does not exist yet', async () => {
    const world = await startWorld('vmware-csp');
    const gh = world.github;
    gh.seedSecret(`org:${ORG}`, SECRET_NAME, OLD_SECRET);
    gh.setAccess(`org:${ORG}`, SECRET_NAME, { visibility: 'private' });
    const run = await world.run({ targets: `org ${ORG}`, 'client-id-variable-name': VAR });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(
      /Variable CSP_CLIENT_ID does not exist yet in org octo.*add one to the target line/,
    );
    expect(world.csp!.rotations(CSP_APP)).toBe(0);
    expectClean(world, run);
  });

  it.each([
    ['403: the token lacks "Variables"', 403, /HTTP 403: the github-token lacks "Variables/],
    ['404: the token cannot see them', 404, /HTTP 404/],
  ])('stops in preflight when the variables cannot be read (%s)', async (_why, code, message) => {
    const world = await startWorld('vmware-csp');
    const gh = world.github;
    if (code === 403) gh.variablesAccess = 'none';
    else gh.fault('GET', /\/variables(\/[^/]+)?$/, { status: 404, body: { message: 'Not Found' } });
    const run = await world.run({ 'client-id-variable-name': VAR });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/Could not read the variables of repo octo\/app/);
    expect(run.errors.join('\n')).toMatch(message);
    expect(world.csp!.rotations(CSP_APP)).toBe(0);
    expect(gh.calls('PUT', /.*/)).toHaveLength(0);
    expectClean(world, run);
  });

  it('fails the variable whose read-back shows another value, and says so', async () => {
    const world = await startWorld('vmware-csp');
    const gh = world.github;
    gh.seedVariable(`repo:${REPO}`, VAR, 'an-old-client-id');
    // PATCH answers 204 and changes nothing.
    gh.freezeUpdates(`variables:repo:${REPO}`);
    const run = await world.run({ 'client-id-variable-name': VAR });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(
      /Wrote variable CSP_CLIENT_ID in repo octo\/app but reading it back shows another value/,
    );
    const listed = JSON.parse(run.outputs['targets']!) as Record<string, string>[];
    expect(listed).toContainEqual({ target: `repo ${REPO}`, variable: VAR, status: 'failed' });
    expectClean(world, run);
  });

  it('refuses the input when no target can hold a variable', async () => {
    const world = await startWorld('vmware-csp');
    const run = await world.run({
      targets: `dependabot ${REPO}`,
      'client-id-variable-name': VAR,
    });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/no target can hold an Actions variable/);
    expect(world.github.requests).toHaveLength(0);
    expectClean(world, run);
  });
});
