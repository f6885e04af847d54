// GitHub App sign-in, end to end through dist/index.js: one step across owners, one installation
// token per owner with only what its targets need, every token revoked when the run ends (also when
// it fails), and an owner without an installation stopped in preflight before anything rotates.
import { describe, expect, it } from 'vitest';
import { expectClean, worldPerTest } from './checks.ts';
import { ORG, REPO, SECRET_NAME, WHMCS_CREDENTIAL, type World } from './fixtures.ts';
import { type Run, targets } from './harness.ts';

const startWorld = worldPerTest();

/** A world signed in as an App installed on `octo` (the fixture's) and on `acme`. */
async function twoOrgs(): Promise<World> {
  const world = await startWorld('whmcs', { app: true });
  world.github.addOrg('acme');
  world.github.addRepo('acme/api', { environments: ['production'] });
  world.github.apps.install(world.app!.id, 'acme');
  return world;
}

const rotations = (world: World): number => world.whmcs!.rotations(WHMCS_CREDENTIAL);
const signIn = (world: World) => ({
  lookups: world.github.calls('GET', /\/installation$/).length,
  mints: world.github.calls('POST', /\/access_tokens$/).length,
  revokes: world.github.calls('DELETE', /\/installation\/token$/).length,
});

function expectAllRevoked(world: World, run: Run): void {
  const minted = world.github.apps.minted;
  expect(minted.length).toBeGreaterThan(0);
  for (const t of minted) {
    expect(t.revoked, `token for ${t.account}`).toBe(true);
    // Masked before anything could print it.
    expect(run.masks).toContain(t.token);
  }
}

describe.concurrent('GitHub App sign-in', () => {
  it('rotates one secret into two organizations in one step, one token each, both revoked', async () => {
    const world = await twoOrgs();
    const run = await world.run({ targets: `org ${ORG} private\norg acme private` });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.outputs['rotated']).toBe('true');
    for (const scope of [`org:${ORG}`, 'org:acme'])
      expect(world.github.secret(scope, SECRET_NAME)?.value).toBe(world.currentSecret());
    // Calls per owner for sign-in: find the installation, mint, revoke.
    expect(signIn(world)).toEqual({ lookups: 2, mints: 2, revokes: 2 });
    expect(world.github.calls('GET', '/app')).toEqual([]);
    const minted = world.github.apps.minted;
    expect(minted.map((t) => t.account).sort()).toEqual(['acme', 'octo']);
    for (const t of minted) {
      // Org secrets only: no repository permission, so no repository list either.
      expect(t.permissions).toEqual({ organization_secrets: 'write' });
      expect(t.repositories).toBeUndefined();
    }
    expectAllRevoked(world, run);
    // The App's private key, every line of it, is masked.
    for (const line of world.app!.privateKey.split('\n').filter((l) => l.length > 16))
      if (!line.startsWith('-----')) expect(run.masks).toContain(line);
    expectClean(world, run);
  });

  it('revokes both tokens when the run fails after the rotation', async () => {
    const world = await twoOrgs();
    world.github.fault('PUT', /^\/orgs\/acme\/actions\/secrets\//, {
      status: 422,
      body: { message: 'Validation Failed' },
    });
    const run = await world.run({ targets: `org ${ORG} private\norg acme private` });
    expect(run.code).toBe(1);
    expect(rotations(world)).toBe(1);
    expect(targets(run).find((t) => t.target === 'org acme private')?.status).toBe('failed');
    expect(signIn(world)).toEqual({ lookups: 2, mints: 2, revokes: 2 });
    expectAllRevoked(world, run);
    expectClean(world, run);
  });

  it('stops in preflight, before any rotating call and any token, when an owner has no installation', async () => {
    const world = await twoOrgs();
    world.github.addOrg('beta');
    world.github.addRepo('solo/tool');
    const run = await world.run({
      targets: `org ${ORG} private\norg beta private\nrepo solo/tool\nrepo acme/api`,
    });
    expect(run.code).toBe(1);
    expect(run.errors[0]).toContain(
      `GitHub App 'secret-rotator' (id ${world.app!.id}) is not installed on organization beta, account solo (with access to solo/tool): install it there (https://github.com/apps/secret-rotator/installations/new)`,
    );
    expect(run.summary).toContain('not installed on organization beta');
    expect(rotations(world)).toBe(0);
    expect(world.whmcs!.requests.some((r) => r.body.includes('UpdateOAuthCredential'))).toBe(false);
    // Every installation is looked up first: none missing, or nothing is minted.
    expect(world.github.apps.minted).toEqual([]);
    expect(world.github.calls('*', /\/secrets\//)).toEqual([]);
    expectClean(world, run);
  });

  it("expands a pattern line with the owner's token minted for the installation's repositories", async () => {
    const world = await twoOrgs();
    const gh = world.github;
    gh.addRepo('acme/svc-a', { topics: ['pay'] });
    gh.addRepo('acme/svc-b', { topics: ['pay'] });
    gh.addRepo('acme/svc-c', { topics: ['pay'] });
    // acme's installation covers svc-a and svc-b only: svc-c is not the App's to list or write.
    gh.apps.installations.delete(
      [...gh.apps.installations.values()].find((i) => i.account === 'acme')!.id,
    );
    gh.apps.install(world.app!.id, 'acme', { repos: ['acme/svc-a', 'acme/svc-b', 'acme/api'] });
    const run = await world.run({
      targets: `repo ${REPO}\nrepos acme/svc-* topic:pay`,
      'client-id-variable-name': 'WHMCS_CLIENT_ID',
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const secret = world.currentSecret();
    for (const r of ['acme/svc-a', 'acme/svc-b'])
      expect(gh.secret(`repo:${r}`, SECRET_NAME)?.value).toBe(secret);
    expect(gh.secret('repo:acme/svc-c', SECRET_NAME)).toBeUndefined();
    // A pattern's owner is found by account and gets no repository list; octo keeps its own.
    expect(gh.calls('GET', '/users/acme/installation')).toHaveLength(1);
    const acme = gh.apps.minted.find((t) => t.account === 'acme')!;
    expect(acme.repositories).toBeUndefined();
    expect(acme.permissions).toEqual({
      secrets: 'write',
      actions_variables: 'write',
      metadata: 'read',
    });
    const octo = gh.apps.minted.find((t) => t.account === 'octo')!;
    expect(octo.repositories).toEqual([REPO]);
    expect(signIn(world)).toEqual({ lookups: 2, mints: 2, revokes: 2 });
    expectAllRevoked(world, run);
    expectClean(world, run);
  });

  it('asks each owner for exactly the repositories and permissions its targets need', async () => {
    const world = await startWorld('whmcs', { app: true });
    const gh = world.github;
    // Installed on octo for two repositories only: a token minted for any other is refused.
    gh.apps.installations.clear();
    gh.apps.install(world.app!.id, ORG, { repos: [REPO, 'octo/lib'] });
    const run = await world.run({
      targets: `repo ${REPO}\nenvironment ${REPO} production\ndependabot octo/lib\norg ${ORG} selected octo/lib\ncodespaces ${REPO}\ncodespaces-org ${ORG} private`,
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(gh.apps.minted).toHaveLength(1);
    const t = gh.apps.minted[0]!;
    expect(t.permissions).toEqual({
      secrets: 'write',
      environments: 'write',
      dependabot_secrets: 'write',
      organization_secrets: 'write',
      codespaces_secrets: 'write',
      organization_codespaces_secrets: 'write',
      metadata: 'read',
    });
    expect([...t.repositories!].sort()).toEqual(['octo/app', 'octo/lib']);
    expect(gh.selectedRepos(`org:${ORG}`, SECRET_NAME)).toEqual(['octo/lib']);
    expectAllRevoked(world, run);
    expectClean(world, run);
  });

  it('fails in preflight, naming what to grant, when a target is outside the installation', async () => {
    const world = await startWorld('whmcs', { app: true });
    const gh = world.github;
    gh.apps.installations.clear();
    gh.apps.install(world.app!.id, ORG, { repos: [REPO] });
    const run = await world.run({ targets: `repo ${REPO}\nrepo octo/lib` });
    expect(run.code).toBe(1);
    expect(run.errors[0]).toContain(
      `installation on octo cannot grant what the targets need (secrets: write, metadata: read; repositories app, lib)`,
    );
    expect(rotations(world)).toBe(0);
    expect(gh.apps.minted).toEqual([]);
    expectClean(world, run);
  });

  it('asks for the Variables permissions only with client-id-variable-name, and writes the variable', async () => {
    const world = await startWorld('whmcs', { app: true });
    const run = await world.run({
      targets: `repo ${REPO}\nenvironment ${REPO} production\norg ${ORG} private\ndependabot ${REPO}`,
      'client-id-variable-name': 'WHMCS_CLIENT_ID',
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    for (const scope of [`repo:${REPO}`, `env:${REPO}:production`, `org:${ORG}`])
      expect(world.github.variable(scope, 'WHMCS_CLIENT_ID')?.value, scope).toBe(
        'client-7-identifier',
      );
    expect(world.github.apps.minted[0]!.permissions).toEqual({
      secrets: 'write',
      actions_variables: 'write',
      environments: 'write',
      organization_secrets: 'write',
      organization_actions_variables: 'write',
      dependabot_secrets: 'write',
      metadata: 'read',
    });
    expectAllRevoked(world, run);
    expectClean(world, run);
  });

  it('mode check signs in with a read-only token, revoked afterwards', async () => {
    const world = await startWorld('whmcs', { app: true });
    world.github.seedSecret(`repo:${REPO}`, SECRET_NAME, 'Old-Secret-Value-0123456789!');
    const run = await world.run({ mode: 'check', targets: `repo ${REPO}\norg ${ORG} private` });
    expect(run.code).toBe(1); // the org secret is missing
    expect(run.errors[0]).toContain(`org ${ORG} private`);
    expect(rotations(world)).toBe(0);
    expect(world.github.apps.minted).toHaveLength(1);
    expect(world.github.apps.minted[0]!.permissions).toEqual({
      secrets: 'read',
      organization_secrets: 'read',
      metadata: 'read',
    });
    expectAllRevoked(world, run);
    expectClean(world, run);
  });

  it('warns when a token cannot be revoked, and the rotation still succeeds', async () => {
    const world = await twoOrgs();
    world.github.fault('DELETE', '/installation/token', {
      status: 401,
      body: { message: 'Bad credentials' },
      times: 1,
    });
    const run = await world.run({ targets: `org ${ORG} private\norg acme private` });
    expect(run.code).toBe(0);
    expect(run.outputs['rotated']).toBe('true');
    const revoking = run.warnings.filter((w) => w.startsWith('Could not revoke'));
    expect(revoking).toHaveLength(1);
    expect(revoking[0]).toMatch(
      /^Could not revoke the installation token for (octo|acme): HTTP 401: GitHub no longer accepts the token\. It expires by itself within an hour\.$/,
    );
    expect(world.github.apps.minted.filter((t) => t.revoked)).toHaveLength(1);
    expectClean(world, run);
  });

  it('says the App key is refused when GitHub rejects the JWT, before anything rotates', async () => {
    const world = await startWorld('whmcs', { app: true });
    const other = world.github.apps.add();
    // The right App id, signed with another App's key: GitHub refuses the signature.
    const run = await world.run({ 'github-app-private-key': other.privateKey });
    expect(run.code).toBe(1);
    expect(run.errors[0]).toContain("HTTP 401: GitHub refused the App's JWT");
    expect(rotations(world)).toBe(0);
    expectClean(world, run);
  });
});

describe.concurrent('GitHub Enterprise', () => {
  // Server: https://HOST/api/v3. Cloud with data residency: https://api.SUBDOMAIN.ghe.com, no /api/v3.
  for (const [name, prefix] of [
    ['Enterprise Server (/api/v3)', '/api/v3'],
    ['Enterprise Cloud with data residency (root)', ''],
  ] as const) {
    for (const app of [false, true]) {
      it(`${name}, ${app ? 'App' : 'token'} sign-in: every target kind rotates`, async () => {
        const world = await startWorld('whmcs', { app, githubPrefix: prefix });
        const gh = world.github;
        expect(world.inputs()['github-api-url']).toBe(`${gh.url}${prefix}`);
        const run = await world.run({
          targets: `repo ${REPO}\nenvironment ${REPO} production\ndependabot ${REPO}\norg ${ORG} private\ndependabot-org ${ORG} selected ${REPO}`,
        });
        expect(run.errors).toEqual([]);
        expect(run.code).toBe(0);
        for (const scope of [
          `repo:${REPO}`,
          `env:${REPO}:production`,
          `dependabot:${REPO}`,
          `org:${ORG}`,
          `dependabot-org:${ORG}`,
        ])
          expect(gh.secret(scope, SECRET_NAME)?.value, scope).toBe(world.currentSecret());
        // Every request went under the API's base path and was answered by the API (a secret that
        // does not exist yet answers 404 to preflight's read of its updated_at, then is created).
        expect(gh.requests.length).toBeGreaterThan(0);
        for (const r of gh.requests) {
          expect(r.path.startsWith(`${prefix}/`), r.path).toBe(true);
          const created = r.method === 'GET' && /\/secrets\/CLIENT_SECRET$/.test(r.path);
          if (!created) expect(r.status, `${r.method} ${r.path}`).toBeLessThan(300);
        }
        if (app) {
          expect(signIn(world)).toEqual({ lookups: 1, mints: 1, revokes: 1 });
          expectAllRevoked(world, run);
        } else expect(gh.apps.minted).toEqual([]);
        expectClean(world, run);
      });

      it(`${name}, ${app ? 'App' : 'token'} sign-in: patterns, Codespaces, the client id variable and check mode`, async () => {
        const world = await startWorld('whmcs', { app, githubPrefix: prefix });
        const gh = world.github;
        const targets = `repo ${REPO}\ncodespaces ${REPO}\nrepos ${ORG}/li*\norg ${ORG} private`;
        const run = await world.run({
          targets,
          'client-id-secret-name': 'CLIENT_ID',
          'client-id-variable-name': 'CLIENT_ID_VAR',
        });
        expect(run.errors).toEqual([]);
        expect(run.code).toBe(0);
        for (const scope of [`repo:${REPO}`, `codespaces:${REPO}`, 'repo:octo/lib', `org:${ORG}`])
          expect(gh.secret(scope, SECRET_NAME)?.value, scope).toBe(world.currentSecret());
        for (const scope of [`repo:${REPO}`, 'repo:octo/lib', `org:${ORG}`])
          expect(gh.variable(scope, 'CLIENT_ID_VAR')?.value, scope).toBe('client-7-identifier');
        const check = await world.run({ targets, mode: 'check' });
        expect(check.errors).toEqual([]);
        expect(check.code).toBe(0);
        for (const r of gh.requests) {
          expect(r.path.startsWith(`${prefix}/`), r.path).toBe(true);
          // A variable or secret that does not exist yet answers 404 to its read, then is created.
          const created =
            r.method === 'GET' &&
            /\/(variables\/CLIENT_ID_VAR|secrets\/CLIENT_(SECRET|ID))$/.test(r.path);
          if (!created) expect(r.status, `${r.method} ${r.path}`).toBeLessThan(300);
        }
        expect(gh.calls('POST', /\/variables$/).length).toBe(3);
        if (app) {
          // One token per run, each revoked, each masked by the run that minted it.
          const minted = gh.apps.minted;
          expect(minted).toHaveLength(2);
          for (const t of minted) expect(t.revoked, t.account).toBe(true);
          expect(run.masks).toContain(minted[0]!.token);
          expect(check.masks).toContain(minted[1]!.token);
        }
        expectClean(world, run);
        expectClean(world, check);
      });
    }
  }
});
