// VMware CSP end to end: the bundled action against the GitHub and CSP emulators.
import { describe as describeInOrder, expect, it } from 'vitest';
import { cspError } from './emulators/csp.ts';
import { CSP_APP, OLD_SECRET, ORG, REPO, SECRET_NAME, type World, worldOf } from './fixtures.ts';
import { expectClean, recoveryKey, worldPerTest } from './checks.ts';
import { lineOf, pinnedClock, type Run, targets, useBundle } from './harness.ts';

// Each test starts its own world, so the tests of every describe in this file run concurrently.
const describe = describeInOrder.concurrent;
const start = worldPerTest();
const csp = (): Promise<World> => start('vmware-csp');

const clean = (run: Run): void => expectClean(worldOf(run), run);

describe('vmware-csp regenerate', () => {
  // This suite's runs spawn the bundle, as the runner does; the file's other suites run in process.
  useBundle();
  it('rotates once, stores the new secret, and the old one is dead', async () => {
    const w = await csp();
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const stored = w.github.secret(`repo:${REPO}`, SECRET_NAME)!.value;
    expect(stored).toBe(w.currentSecret());
    expect(stored).not.toBe(OLD_SECRET);
    expect(w.csp!.validSecrets(CSP_APP)).toEqual([stored]);
    expect(w.csp!.rotations(CSP_APP)).toBe(1);
    expect(run.outputs).toMatchObject({
      rotated: 'true',
      'client-id': CSP_APP,
      'credential-id': CSP_APP,
    });
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'written' },
    ]);
    // Masked the instant it existed: the mask line comes before anything about storing it.
    const masked = lineOf(run, (l) => l === `::add-mask::${stored}`);
    expect(masked).toBeGreaterThan(-1);
    expect(masked).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
    expect(run.summary).toContain('Client secret rotated');
    clean(run);
  });

  it('writes every target kind, each sealed to its own scope key, with the client id beside it', async () => {
    const world = await start('vmware-csp', { sameKeyIds: true });
    const run = await world.run({
      'client-id-secret-name': 'CLIENT_ID',
      targets: [
        `repo ${REPO}`,
        `environment ${REPO} production`,
        `org ${ORG} selected ${REPO} octo/lib`,
        `dependabot ${REPO}`,
        `dependabot-org ${ORG} all`,
      ].join('\n'),
    });
    expect(run.errors).toEqual([]);
    const secret = world.currentSecret();
    for (const scope of [
      `repo:${REPO}`,
      `env:${REPO}:production`,
      `org:${ORG}`,
      `dependabot:${REPO}`,
      `dependabot-org:${ORG}`,
    ]) {
      expect(world.github.secret(scope, SECRET_NAME)?.value, scope).toBe(secret);
      expect(world.github.secret(scope, 'CLIENT_ID')?.value, scope).toBe(CSP_APP);
    }
    expect(world.github.secret(`org:${ORG}`, SECRET_NAME)).toMatchObject({
      visibility: 'selected',
    });
    expect(world.github.secret(`org:${ORG}`, SECRET_NAME)!.selected_repository_ids).toHaveLength(2);
    expect(world.github.secret(`dependabot-org:${ORG}`, SECRET_NAME)).toMatchObject({
      visibility: 'all',
    });
    // One public key per scope, three calls per written secret at most.
    expect(world.github.calls('GET', /public-key$/)).toHaveLength(5);
    expect(targets(run).every((t) => t.status === 'written')).toBe(true);
    expect(targets(run)).toHaveLength(10);
    clean(run);
  });

  it('signs in with client credentials: an app may rotate itself', async () => {
    const w = await csp();
    const run = await w.run({
      'csp-api-token': '',
      'csp-client-id': CSP_APP,
      'csp-client-secret': OLD_SECRET,
    });
    expect(run.errors).toEqual([]);
    expect(w.github.secret(`repo:${REPO}`, SECRET_NAME)!.value).toBe(w.currentSecret());
    clean(run);
  });
});

describe('vmware-csp overlap', () => {
  it('keeps the old secret valid during the window', async () => {
    const w = await csp();
    const run = await w.run({ 'csp-rotation': 'overlap', 'csp-overlap-seconds': '3600' });
    expect(run.errors).toEqual([]);
    const stored = w.github.secret(`repo:${REPO}`, SECRET_NAME)!.value;
    expect(w.csp!.validSecrets(CSP_APP)).toEqual([stored, OLD_SECRET]);
    expect(stored).toMatch(/[a-z]/);
    expect(stored).toMatch(/[A-Z]/);
    expect(stored).toMatch(/[0-9]/);
    expect(stored).toMatch(/[^A-Za-z0-9]/);
    expect(w.csp!.calls('DELETE', /secret$/)).toHaveLength(0);
    clean(run);
  });

  it('retires the previous secret only after every target is verified', async () => {
    const w = await csp();
    const run = await w.run({
      'csp-rotation': 'overlap',
      'csp-retire-previous': 'true',
      targets: `repo ${REPO}\nenvironment ${REPO} production`,
    });
    expect(run.errors).toEqual([]);
    expect(w.csp!.validSecrets(CSP_APP)).toEqual([w.currentSecret()]);
    const deleted = w.csp!.calls('DELETE', /secret$/);
    expect(deleted).toHaveLength(1);
    const lastVerify = Math.max(
      ...w.github.calls('GET', new RegExp(`/secrets/${SECRET_NAME}$`)).map((r) => r.at),
    );
    expect(deleted[0]!.at).toBeGreaterThanOrEqual(lastVerify);
    expect(run.summary).toContain('Retired');
    clean(run);
  });

  it('keeps the previous secret when a target fails', async () => {
    const w = await csp();
    w.github.fault('PUT', /environments/, { status: 404, body: { message: 'Not Found' } });
    const run = await w.run({
      'csp-rotation': 'overlap',
      'csp-retire-previous': 'true',
      targets: `repo ${REPO}\nenvironment ${REPO} production`,
    });
    expect(run.code).toBe(1);
    expect(w.csp!.calls('DELETE', /secret$/)).toHaveLength(0);
    expect(w.csp!.validSecrets(CSP_APP)).toContain(OLD_SECRET);
    expect(targets(run).map((t) => t.status)).toEqual(['written', 'failed']);
    clean(run);
  });
});

describe('vmware-csp dry run and preflight', () => {
  it('dry run authenticates and fetches keys, changes nothing', async () => {
    const w = await csp();
    const run = await w.run({ 'dry-run': 'true', targets: `repo ${REPO}\norg ${ORG} private` });
    expect(run.code).toBe(0);
    expect(run.outputs['rotated']).toBe('false');
    expect(w.csp!.rotations(CSP_APP)).toBe(0);
    expect(w.github.calls('GET', /public-key$/)).toHaveLength(2);
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    expect(run.summary).toContain('Dry run');
    clean(run);
  });

  const failures: [string, (w: World) => Record<string, string>, RegExp][] = [
    ['a refused API token', () => ({ 'csp-api-token': 'not-a-valid-token-123' }), /csp-api-token/],
    [
      'an unknown OAuth app',
      () => ({ 'csp-oauth-app-id': 'no-such-app' }),
      /HTTP 404.*does not exist/,
    ],
    [
      'a token without Secrets: write',
      (w) => ({ 'github-token': w.github.readOnlyToken }),
      /Secrets: write.*GITHUB_TOKEN cannot write secrets/,
    ],
    [
      'a missing environment',
      () => ({ targets: `environment ${REPO} staging` }),
      /environment does not exist/,
    ],
    ['a missing organization', () => ({ targets: 'org nobody-here' }), /HTTP 404/],
    [
      'a missing selected repository',
      () => ({ targets: `org ${ORG} selected octo/ghost` }),
      /octo\/ghost.*HTTP 404/,
    ],
  ];
  it.each(failures)('stops before rotating on %s', async (_name, extra, message) => {
    const w = await csp();
    const run = await w.run(extra(w));
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(message);
    expect(w.csp!.rotations(CSP_APP)).toBe(0);
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    expect(w.csp!.validSecrets(CSP_APP)).toEqual([OLD_SECRET]);
    clean(run);
  });
});

describe('vmware-csp errors', () => {
  it.each([401, 403, 404, 409, 500])(
    'maps HTTP %i on the rotating call to a clear message, sent once',
    async (status) => {
      const w = await csp();
      w.csp!.fault('PUT', /secret$/, {
        status,
        body: { ...cspError(status, `emulated ${status}`, `E${status}`), requestId: 'req-123' },
      });
      const run = await w.run();
      expect(run.code).toBe(1);
      const error = run.errors.join('\n');
      expect(error).toContain(`HTTP ${status}`);
      expect(error).toContain(`errorCode E${status}`);
      expect(error).toContain(`emulated ${status}`);
      expect(error).toContain('requestId req-123');
      if (status === 500) expect(error).toContain('may have reached CSP');
      expect(w.csp!.calls('PUT', /secret$/)).toHaveLength(1);
      expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
      clean(run);
    },
  );

  it('waits out a 429 on the rotating call (refused before processing) and rotates once', async () => {
    const w = await csp();
    w.csp!.fault('PUT', /secret$/, {
      status: 429,
      body: cspError(429),
      headers: { 'retry-after': '1' },
      times: 1,
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(w.csp!.rotations(CSP_APP)).toBe(1);
    expect(w.github.secret(`repo:${REPO}`, SECRET_NAME)!.value).toBe(w.currentSecret());
    clean(run);
  });
});

describe('vmware-csp recovery', () => {
  it('emits a recovery blob that opens to the new secret when every write fails', async () => {
    const w = await csp();
    const key = await recoveryKey();
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, {
      status: 422,
      body: { message: 'Unprocessable' },
    });
    const run = await w.run({ 'recovery-public-key': key.input });
    expect(run.code).toBe(1);
    const blob = run.outputs['recovery']!;
    const opened = key.open(blob);
    expect(opened).toBe(w.currentSecret());
    expect(opened).not.toBe(OLD_SECRET);
    expect(run.stdout).toContain(blob);
    expect(run.summary).toContain(blob);
    expect(run.errors.join('\n')).toContain('old secret no longer works');
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'failed' },
    ]);
    expect(run.outputs['rotated']).toBe('false');
    clean(run);
  });

  it('warns before rotating when the old secret dies and there is no recovery key', async () => {
    const w = await csp();
    const run = await w.run();
    expect(run.code).toBe(0);
    const warned = lineOf(
      run,
      (l) => l.startsWith('::warning') && l.includes('recovery-public-key'),
    );
    expect(warned).toBeGreaterThan(-1);
    expect(warned).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
    clean(run);
  });
});

describe('vmware-csp overlap: one previous-secret slot across runs', () => {
  const TARGETS = `repo ${REPO}\nenvironment ${REPO} production`;
  /** Both targets hold the current secret, written by an earlier run a day ago. */
  const seeded = async (): Promise<World> => {
    const w = await csp();
    const dayAgo = new Date(Date.now() - 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (const scope of [`repo:${REPO}`, `env:${REPO}:production`])
      w.github.seedSecret(scope, SECRET_NAME, OLD_SECRET, dayAgo);
    return w;
  };
  const envValue = (w: World) => w.github.secret(`env:${REPO}:production`, SECRET_NAME)?.value;

  it('a re-run after a partial failure refuses before the rotating call while the failed target holds the kept secret', async () => {
    const w = await seeded();
    const key = await recoveryKey();
    w.github.fault('PUT', /environments/, { status: 404, body: { message: 'Not Found' } });
    const inputs = {
      'csp-rotation': 'overlap',
      'recovery-public-key': key.input,
      targets: TARGETS,
    };
    const first = await w.run(inputs);
    expect(first.code).toBe(1);
    // The report gives the window's end where it says the previous secret still works, and says
    // that a plain re-run would refuse.
    expect(first.errors.join('\n')).toMatch(
      /previous secret was kept and still works until \d{4}-/,
    );
    expect(first.summary).toMatch(/a re\\?-run before that refuses to rotate/);
    const second = await w.run(inputs);
    expect(second.code).toBe(1);
    expect(w.csp!.rotations(CSP_APP)).toBe(1);
    expect(w.csp!.calls('POST', /secret$/)).toHaveLength(1);
    const said = second.errors.join('\n');
    expect(said).toMatch(/Refusing to rotate: vmware-csp keeps one previous secret/);
    expect(said).toContain(`environment ${REPO} production was last written before that`);
    expect(said).toMatch(/re-run after \d{4}-.*csp-overwrite-previous: true/);
    // The failed target's secret (the kept previous one) still works.
    expect(envValue(w)).toBe(OLD_SECRET);
    expect(w.csp!.validSecrets(CSP_APP)).toContain(OLD_SECRET);
    clean(first);
    clean(second);
  });

  it('with csp-overwrite-previous the re-run rotates, and its report never says the overwritten secret still works', async () => {
    const w = await seeded();
    const key = await recoveryKey();
    w.github.fault('PUT', /environments/, { status: 404, body: { message: 'Not Found' } });
    const inputs = {
      'csp-rotation': 'overlap',
      'recovery-public-key': key.input,
      targets: TARGETS,
    };
    expect((await w.run(inputs)).code).toBe(1);
    const second = await w.run({ ...inputs, 'csp-overwrite-previous': 'true' });
    expect(second.code).toBe(1);
    expect(w.csp!.rotations(CSP_APP)).toBe(2);
    expect(second.warnings.join('\n')).toContain('csp-overwrite-previous is set');
    // The environment still holds OLD_SECRET, which the second rotation overwrote: dead, and said so.
    expect(w.csp!.validSecrets(CSP_APP)).not.toContain(OLD_SECRET);
    expect(envValue(w)).toBe(OLD_SECRET);
    expect(second.errors.join('\n')).toContain(
      `environment ${REPO} production held the secret before it, which this rotation overwrote: it no longer works there.`,
    );
    clean(second);
  });

  describe('CSP without lastUpdatedAt: a run whose every write failed leaves no trace in the targets', () => {
    const ISSUES = `${REPO.split('/')[0]}/alerts`;
    const failEverything = (w: World): void => {
      w.github.fault('PUT', /\/secrets\/CLIENT_SECRET$/, {
        status: 404,
        body: { message: 'Not Found' },
      });
    };

    it('with the failure issue open, the re-run refuses before the rotating call', async () => {
      const w = await seeded();
      w.csp!.showsLastUpdated = false;
      w.github.addRepo(ISSUES);
      const key = await recoveryKey();
      failEverything(w);
      const inputs = {
        'csp-rotation': 'overlap',
        'recovery-public-key': key.input,
        targets: TARGETS,
        'failure-issue-repository': ISSUES,
      };
      const first = await w.run(inputs);
      expect(first.code).toBe(1);
      expect(w.github.issues(ISSUES).filter((i) => i.state === 'open')).toHaveLength(1);
      const second = await w.run(inputs);
      expect(second.code).toBe(1);
      expect(w.csp!.rotations(CSP_APP), second.stdout).toBe(1);
      const said = second.errors.join('\n');
      expect(said).toMatch(
        /Refusing to rotate: vmware-csp keeps one previous secret beside the current one, and shows no record of when it last rotated; failure issue \S+#1 is open/,
      );
      expect(said).toContain('csp-overwrite-previous: true');
      // Both targets still hold the secret CSP keeps as the previous one, and it still works.
      expect(envValue(w)).toBe(OLD_SECRET);
      expect(w.csp!.validSecrets(CSP_APP)).toContain(OLD_SECRET);
      clean(first);
      clean(second);
    });

    it('without a failure issue, the run warns that it cannot see such a rotation', async () => {
      const w = await seeded();
      w.csp!.showsLastUpdated = false;
      const run = await w.run({ 'csp-rotation': 'overlap', targets: TARGETS });
      expect(run.code, run.stdout).toBe(0);
      expect(run.warnings.join('\n')).toContain(
        'vmware-csp shows no record of when it last rotated, so a rotation after which every write failed cannot be seen in the targets; set failure-issue-repository',
      );
      clean(run);
    });
  });

  it('a run right after a fully successful one refuses to rotate yet; one 13 minutes later (store-timeout and 2 minutes) rotates', async () => {
    const w = await seeded();
    const inputs = { 'csp-rotation': 'overlap', targets: TARGETS };
    expect((await w.run(inputs)).code).toBe(0);
    const second = await w.run(inputs);
    expect(second.code).toBe(1);
    expect(second.errors.join('\n')).toMatch(
      /Refusing to rotate yet: vmware-csp keeps one previous secret .*Nothing was changed\. Re-run after \S+/,
    );
    expect(w.csp!.rotations(CSP_APP)).toBe(1);
    const third = await w.run(inputs, { nodeArgs: pinnedClock(Date.now() + 800_000) });
    expect(third.errors).toEqual([]);
    expect(third.code).toBe(0);
    expect(w.csp!.rotations(CSP_APP)).toBe(2);
    expect(third.stdout).toContain('every target was written since');
    clean(second);
    clean(third);
  });
});
