// Target patterns: `repos OWNER/GLOB [topic:NAME ...]` and its `environments`, `dependabot-repos`
// and `codespaces-repos` forms expand in preflight to one target per matching repository that is
// neither archived nor disabled, listed in the log and the summary before the rotating call;
// max-targets stops a pattern that matches more than intended before anything rotates.
import { describe, expect, it } from 'vitest';
import { expectClean, worldPerTest } from './checks.ts';
import { CSP_APP, SECRET_NAME } from './fixtures.ts';

const startWorld = worldPerTest();

describe.concurrent('target patterns', () => {
  it('expands a glob with a topic, leaving out archived and disabled repositories, and lists it before rotating', async () => {
    const world = await startWorld('vmware-csp');
    const gh = world.github;
    gh.addRepo('octo/service-a', { topics: ['payments', 'go'] });
    gh.addRepo('octo/Service-E', { topics: ['payments'] });
    gh.addRepo('octo/service-b', { topics: ['payments'], archived: true });
    gh.addRepo('octo/service-c', { topics: ['payments'], disabled: true });
    gh.addRepo('octo/service-d', { topics: ['search'] });
    gh.addRepo('octo/other', { topics: ['payments'] });
    const run = await world.run({
      targets: 'repos octo/service-* topic:payments  # the payment services',
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const secret = world.currentSecret();
    expect(gh.secret('repo:octo/service-a', SECRET_NAME)?.value).toBe(secret);
    expect(gh.secret('repo:octo/service-e', SECRET_NAME)?.value).toBe(secret);
    for (const r of ['service-b', 'service-c', 'service-d', 'other'])
      expect(gh.secret(`repo:octo/${r}`, SECRET_NAME)).toBeUndefined();
    const listed = JSON.parse(run.outputs['targets']!) as { target: string }[];
    expect(listed.map((e) => e.target)).toEqual(['repo octo/service-a', 'repo octo/Service-E']);
    // Listed in the log, names and all, before the rotating call.
    const lines = run.stdout.split('\n');
    const expansion = lines.findIndex((l) =>
      l.includes(
        "Target pattern 'repos octo/service-* topic:payments' expands to 2 target(s); 2 archived or disabled left out:",
      ),
    );
    const rotated = lines.findIndex((l) => l.startsWith('Rotated '));
    expect(expansion).toBeGreaterThanOrEqual(0);
    expect(lines[expansion + 1]).toBe('  repo octo/service-a');
    expect(lines[expansion + 2]).toBe('  repo octo/Service-E');
    expect(rotated).toBeGreaterThan(expansion);
    expect(run.summary).toContain('Target pattern');
    expect(run.summary).toContain('2 target(s) (2 archived or disabled left out)');
    expectClean(world, run);
  });

  it('refuses a pattern that matches 150 repositories with max-targets 100, before any rotation', async () => {
    const world = await startWorld('vmware-csp');
    const gh = world.github;
    for (let i = 0; i < 150; i++) gh.addRepo(`octo/svc-${String(i).padStart(3, '0')}`);
    const run = await world.run({ targets: 'repos octo/svc-*', 'max-targets': '100' });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(
      /The targets \('repos octo\/svc-\*' matches 150\) come to 150, more than max-targets \(100\); nothing was changed/,
    );
    // Every page was read (150 repositories, 100 a page), and nothing else happened at GitHub.
    expect(gh.calls('GET', /^\/orgs\/octo\/repos$/)).toHaveLength(2);
    expect(gh.calls('GET', /public-key$/)).toHaveLength(0);
    expect(gh.calls('PUT', /.*/)).toHaveLength(0);
    // No rotating call reached the provider.
    expect(world.csp!.rotations(CSP_APP)).toBe(0);
    expect(world.csp!.calls('PUT', /.*/)).toHaveLength(0);
    expect(world.csp!.calls('POST', /\/secret$/)).toHaveLength(0);
    expectClean(world, run);
  });

  it('expands environment, Dependabot and Codespaces patterns beside literal targets, each target once', async () => {
    const world = await startWorld('vmware-csp');
    const gh = world.github;
    gh.addRepo('octo/api-one', { environments: ['prod eu'] });
    gh.addRepo('octo/api-two', { environments: ['prod eu'] });
    const run = await world.run({
      targets: [
        'dependabot octo/api-one',
        'environments octo/api-??? "prod eu"  # both APIs',
        'dependabot-repos octo/api-*',
        'codespaces-repos octo/API-T*',
      ].join('\n'),
    });
    expect(run.errors).toEqual([]);
    const secret = world.currentSecret();
    for (const scope of [
      'env:octo/api-one:prod eu',
      'env:octo/api-two:prod eu',
      'dependabot:octo/api-one',
      'dependabot:octo/api-two',
      'codespaces:octo/api-two',
    ])
      expect(gh.secret(scope, SECRET_NAME)?.value, scope).toBe(secret);
    const listed = JSON.parse(run.outputs['targets']!) as { target: string }[];
    expect(listed.map((e) => e.target)).toEqual([
      'dependabot octo/api-one',
      'environment octo/api-one "prod eu"',
      'environment octo/api-two "prod eu"',
      'dependabot octo/api-two',
      'codespaces octo/api-two',
    ]);
    // dependabot octo/api-one was written once: named on its own line and by the pattern.
    expect(gh.calls('PUT', /\/dependabot\/secrets\/CLIENT_SECRET$/)).toHaveLength(2);
    expectClean(world, run);
  });

  it.each([
    ['an installation token: the installation repositories', 'ghs_', '/installation/repositories'],
    ['a personal access token: the user repositories', 'github_pat_', '/users/alice/repos'],
  ])('lists a user’s repositories with %s', async (_what, prefix, path) => {
    const world = await startWorld('vmware-csp', {
      githubToken: `${prefix}emulator0000000000000000000000000`,
    });
    const gh = world.github;
    gh.addRepo('alice/tool-1');
    gh.addRepo('alice/tool-2');
    gh.addRepo('bob/tool-3');
    const run = await world.run({ targets: 'repos alice/tool-*' });
    expect(run.errors).toEqual([]);
    expect(gh.calls('GET', /^\/orgs\/alice\/repos$/)).toHaveLength(1);
    expect(gh.calls('GET', new RegExp(`^${path}$`))).toHaveLength(1);
    expect(gh.secret('repo:alice/tool-1', SECRET_NAME)?.value).toBe(world.currentSecret());
    expect(gh.secret('repo:alice/tool-2', SECRET_NAME)?.value).toBe(world.currentSecret());
    expect(gh.secret('repo:bob/tool-3', SECRET_NAME)).toBeUndefined();
    expectClean(world, run);
  });

  it.each([
    ['a pattern that matches nothing', 'repos octo/nothing-*', /matches no repository of octo/],
    [
      'an owner the installation does not cover',
      'repos nobody/x-*',
      /nobody has no repository the github-token can see/,
    ],
  ])('stops in preflight on %s', async (_what, line, message) => {
    const world = await startWorld('vmware-csp');
    const run = await world.run({ targets: `repo octo/app\n${line}` });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(message);
    expect(world.csp!.rotations(CSP_APP)).toBe(0);
    expect(world.github.calls('PUT', /.*/)).toHaveLength(0);
    expectClean(world, run);
  });
});
