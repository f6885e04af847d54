// Codespaces secrets: `codespaces OWNER/NAME` and `codespaces-org ORG [all|private|selected ...]`,
// sealed with their own scope keys (never an Actions key), and org lines that never widen who can
// read the secret, like the other org targets.
import { describe, expect, it } from 'vitest';
import { expectClean, worldPerTest } from './checks.ts';
import { CSP_APP, OLD_SECRET, ORG, REPO, SECRET_NAME } from './fixtures.ts';

const startWorld = worldPerTest();
const REPO_SCOPE = `codespaces:${REPO}`;
const ORG_SCOPE = `codespaces-org:${ORG}`;

describe.concurrent('Codespaces secrets', () => {
  it('writes a repository and an organization Codespaces secret, each sealed to its own key', async () => {
    // Every scope's key_id is the same string: a key fetched for another scope would still seal,
    // but to the wrong key, and the emulator could not open it.
    const world = await startWorld('vmware-csp', { sameKeyIds: true });
    const gh = world.github;
    const run = await world.run({
      targets: [
        `repo ${REPO}`,
        `codespaces ${REPO}`,
        `codespaces-org ${ORG} selected ${REPO} octo/lib`,
      ].join('\n'),
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const secret = world.currentSecret();
    expect(gh.secret(`repo:${REPO}`, SECRET_NAME)?.value).toBe(secret);
    expect(gh.secret(REPO_SCOPE, SECRET_NAME)?.value).toBe(secret);
    expect(gh.secret(ORG_SCOPE, SECRET_NAME)).toMatchObject({
      value: secret,
      visibility: 'selected',
    });
    expect(gh.selectedRepos(ORG_SCOPE, SECRET_NAME).sort()).toEqual([REPO, 'octo/lib']);
    expect(gh.calls('GET', /\/codespaces\/secrets\/public-key$/)).toHaveLength(2);
    // Read in preflight (what a write must be newer than) and read back, like every other target.
    expect(gh.calls('GET', /\/codespaces\/secrets\/CLIENT_SECRET$/)).toHaveLength(4);
    expectClean(world, run);
  });

  it('keeps an org Codespaces secret exactly as readable as it was when the line names no visibility', async () => {
    const world = await startWorld('vmware-csp');
    const gh = world.github;
    gh.seedSecret(ORG_SCOPE, SECRET_NAME, OLD_SECRET);
    gh.setAccess(ORG_SCOPE, SECRET_NAME, { visibility: 'selected', repos: ['octo/lib'] });
    const run = await world.run({ targets: `codespaces-org ${ORG}` });
    expect(run.errors).toEqual([]);
    expect(gh.secret(ORG_SCOPE, SECRET_NAME)).toMatchObject({
      value: world.currentSecret(),
      visibility: 'selected',
    });
    expect(gh.selectedRepos(ORG_SCOPE, SECRET_NAME)).toEqual(['octo/lib']);
    expectClean(world, run);
  });

  it('asks for a visibility in preflight when the org Codespaces secret does not exist yet', async () => {
    const world = await startWorld('vmware-csp');
    const run = await world.run({ targets: `codespaces-org ${ORG}` });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(
      /Secret CLIENT_SECRET does not exist yet in codespaces-org octo.*add one to the target line/,
    );
    expect(world.csp!.rotations(CSP_APP)).toBe(0);
    expectClean(world, run);
  });

  it('names the Codespaces permission when the token may not read the key, before rotating', async () => {
    const world = await startWorld('vmware-csp');
    const gh = world.github;
    gh.fault('GET', /\/codespaces\/secrets\/public-key$/, {
      status: 403,
      body: { message: 'Resource not accessible by personal access token' },
    });
    const run = await world.run({ targets: `repo ${REPO}\ncodespaces ${REPO}` });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(
      /public key of codespaces octo\/app: HTTP 403: the github-token lacks "Codespaces secrets: write"/,
    );
    expect(world.csp!.rotations(CSP_APP)).toBe(0);
    expect(gh.calls('PUT', /.*/)).toHaveLength(0);
    expectClean(world, run);
  });
});
