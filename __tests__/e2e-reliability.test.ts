// The promise under faults: a rotation never leaves the user locked out and never loses the new
// secret. Each `describe` is one property of the reliability issue; every run ends with the leak scan.
import { describe as describeInOrder, expect, it } from 'vitest';
import {
  APP_ID,
  CSP_APP,
  OLD_SECRET,
  ORG,
  REPO,
  SECRET_NAME,
  WHMCS_CREDENTIAL,
  type startWorld,
  type World,
  worldOf,
} from './fixtures.ts';
import { expectClean, recoveryKey, worldPerTest } from './checks.ts';
import { pinnedClock, type Run, targets } from './harness.ts';
import type { LoggedRequest } from './emulators/server.ts';

// Each test starts its own world, so the tests of every describe in this file run concurrently.
const describe = describeInOrder.concurrent;
const start = worldPerTest();

const clean = (run: Run): void => expectClean(worldOf(run), run);

const statuses = (run: Run): string[] => targets(run).map((t) => t.status);

const stored = (w: World, scope = `repo:${REPO}`): string | undefined =>
  w.github.secret(scope, SECRET_NAME)?.value;
const puts = (w: World): number => w.github.calls('PUT', /secrets\/CLIENT_SECRET$/).length;

/**
 * Every request that changes a credential at a provider: Entra addPassword, CSP's PUT/POST/DELETE
 * on the app secret, Woodpecker's create and update, WHMCS UpdateOAuthCredential. Path and body are
 * matched apart (a pattern over path + body cannot anchor at the end of the path).
 */
function rotatingCalls(w: World): LoggedRequest[] {
  return w.providerEmulators
    .flatMap((e) => e.requests)
    .filter(
      (r) =>
        r.method !== 'GET' &&
        (/\/addPassword$/.test(r.path) ||
          /\/oauth-apps\/[^/]+\/secret$/.test(r.path) ||
          /\/mailboxes\/microsoft\/credentials(\/\d+)?$/.test(r.path) ||
          /(^|&)action=UpdateOAuthCredential(&|$)/.test(r.body)),
    );
}

describe('the rotating-call pattern', () => {
  // Property 1 asserts that it finds nothing; this proves it finds each provider's rotating calls.
  it.each([
    ['vmware-csp', ['PUT']],
    ['whmcs', ['POST']],
    ['entra', ['POST']],
    ['woodpecker', ['POST', 'PATCH']],
  ] as const)('matches the rotating calls of a real %s rotation', async (provider, methods) => {
    const w = await start(provider);
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(rotatingCalls(w).map((r) => r.method)).toEqual(methods);
    clean(run);
  });
});

describe('property 1: preflight failures stop the run before any rotating call', () => {
  const cases: [string, Parameters<typeof startWorld>[0], (w: World) => Record<string, string>][] =
    [
      ['bad CSP token', 'vmware-csp', () => ({ 'csp-api-token': 'wrong-token-value' })],
      ['bad WHMCS API secret', 'whmcs', () => ({ 'whmcs-secret': 'wrong-whmcs-secret' })],
      [
        'bad Entra manager secret',
        'entra',
        () => ({ 'entra-auth-client-secret': 'wrong-entra-secret' }),
      ],
      [
        'bad Woodpecker API key',
        'woodpecker',
        () => ({ 'woodpecker-api-key': 'wrong-woodpecker-key' }),
      ],
      ['a missing repository', 'entra', () => ({ targets: 'repo octo/ghost' })],
      ['a missing environment', 'whmcs', () => ({ targets: `environment ${REPO} staging` })],
      ['403 on a public key', 'woodpecker', (w) => ({ 'github-token': w.github.readOnlyToken })],
      ['a missing organization', 'vmware-csp', () => ({ targets: `repo ${REPO}\norg ghost-org` })],
    ];
  it.each(cases)('%s (%s)', async (_name, provider, extra) => {
    const w = await start(provider);
    const run = await w.run(extra(w));
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(w.currentSecret()).toBe(OLD_SECRET);
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    expect(rotatingCalls(w)).toEqual([]);
    clean(run);
  });
});

describe('property 2: GitHub writes are retried where safe', () => {
  it('retries 502, 503 and connection resets with backoff', async () => {
    const w = await start('vmware-csp');
    w.github
      .fault('PUT', /secrets\/CLIENT_SECRET$/, { status: 502, times: 1 })
      .fault('PUT', /secrets\/CLIENT_SECRET$/, { drop: true, times: 1 })
      .fault('PUT', /secrets\/CLIENT_SECRET$/, { status: 503, times: 1 });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(puts(w)).toBe(4);
    expect(stored(w)).toBe(w.currentSecret());
    clean(run);
  });

  it('honours Retry-After on 429', async () => {
    const w = await start('vmware-csp');
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, {
      status: 429,
      times: 1,
      headers: { 'retry-after': '2' },
      body: { message: 'Too many requests' },
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    const [first, second] = w.github.calls('PUT', /secrets\/CLIENT_SECRET$/);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1900);
    expect(stored(w)).toBe(w.currentSecret());
    clean(run);
  });

  it('honours Retry-After on a secondary rate limit 403', async () => {
    const w = await start('vmware-csp');
    w.github.secondaryRateLimit('PUT', /secrets\/CLIENT_SECRET$/, {
      times: 1,
      retryAfterSeconds: 1,
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    const [first, second] = w.github.calls('PUT', /secrets\/CLIENT_SECRET$/);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(900);
    clean(run);
  });

  it('honours x-ratelimit-reset on an exhausted primary rate limit', async () => {
    const w = await start('vmware-csp');
    const reset = Math.ceil(Date.now() / 1000) + 1;
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, {
      status: 403,
      times: 1,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      body: { message: 'API rate limit exceeded' },
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    const [, second] = w.github.calls('PUT', /secrets\/CLIENT_SECRET$/);
    expect(second!.at).toBeGreaterThanOrEqual(reset * 1000);
    clean(run);
  });

  it.each([401, 404, 422])('does not retry %i', async (status) => {
    const w = await start('entra');
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, { status, body: { message: 'no' } });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(puts(w)).toBe(1);
    expect(run.errors[0]).toContain(`HTTP ${status}`);
    clean(run);
  });

  it('keeps retrying for a long time after the rotation', async () => {
    const w = await start('vmware-csp');
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, { status: 503, times: 4 });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(puts(w)).toBe(5);
    expect(stored(w)).toBe(w.currentSecret());
    clean(run);
  });

  it('gives up early before the rotation', async () => {
    const w = await start('vmware-csp');
    w.github.fault('GET', /public-key$/, { status: 503 });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(25_000);
    expect(w.csp!.rotations(CSP_APP)).toBe(0);
    clean(run);
  }, 40_000);
});

describe('property 3: every HTTP call has a timeout', () => {
  it('a hanging provider fails the preflight in bounded time', async () => {
    const w = await start('vmware-csp');
    w.csp!.fault('*', /.*/, { hang: true });
    const run = await w.run({ 'request-timeout': '1s' }, { killAfterMs: 30_000 });
    expect(run.code).toBe(1);
    expect(run.errors[0]).toContain('no answer within 1 s');
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    clean(run);
  });

  it('a hanging GitHub after the rotation ends at store-timeout with the recovery blob', async () => {
    const w = await start('whmcs');
    const key = await recoveryKey();
    w.github.fault('PUT', /.*/, { hang: true });
    const run = await w.run(
      { 'request-timeout': '1s', 'store-timeout': '4s', 'recovery-public-key': key.input },
      { killAfterMs: 30_000 },
    );
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(15_000);
    expect(key.open(run.outputs['recovery']!)).toBe(w.currentSecret());
    expect(statuses(run)).toEqual(['failed']);
    clean(run);
  });
});

describe('property 4: a rotating call is never repeated when it may have reached the provider', () => {
  it('CSP regenerate: a timeout after sending says so and does not rotate again', async () => {
    const w = await start('vmware-csp');
    w.csp!.fault('PUT', /secret$/, { hang: true, afterEffect: true });
    const run = await w.run({ 'request-timeout': '1s' });
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(/may have reached CSP.*not retried/);
    expect(w.csp!.rotations(CSP_APP)).toBe(1);
    expect(w.csp!.calls('PUT', /secret$/)).toHaveLength(1);
    clean(run);
  });

  it('CSP overlap: a lost answer is resolved by signing in with the new secret, then stored', async () => {
    const w = await start('vmware-csp');
    w.csp!.fault('POST', /secret$/, { drop: true, afterEffect: true });
    const run = await w.run({ 'csp-rotation': 'overlap' });
    expect(run.errors).toEqual([]);
    expect(w.csp!.calls('POST', /secret$/)).toHaveLength(1);
    expect(stored(w)).toBe(w.currentSecret());
    expect(w.csp!.validSecrets(CSP_APP)).toContain(OLD_SECRET);
    clean(run);
  });

  it('CSP overlap: a request that never took effect stops cleanly', async () => {
    const w = await start('vmware-csp');
    w.csp!.fault('POST', /secret$/, { drop: true });
    const run = await w.run({ 'csp-rotation': 'overlap' });
    expect(run.code).toBe(1);
    expect(run.errors[0]).toContain('nothing changed');
    expect(w.csp!.validSecrets(CSP_APP)).toEqual([OLD_SECRET]);
    clean(run);
  });

  it('Entra: a lost addPassword answer is found in the listing and removed', async () => {
    const w = await start('entra');
    w.entra!.fault('POST', /addPassword$/, { hang: true, afterEffect: true });
    const run = await w.run({ 'request-timeout': '1s' });
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(/not repeated.*found 1 password.*now removed/);
    expect(w.entra!.calls('POST', /addPassword$/)).toHaveLength(1);
    expect(w.entra!.passwords(APP_ID).map((p) => p.secretText)).toEqual([OLD_SECRET]);
    clean(run);
  });

  it('WHMCS: a 5xx after the reset is resolved by listing the credential, not by repeating it', async () => {
    const w = await start('whmcs');
    w.whmcs!.fault('POST', '/includes/api.php', {
      status: 502,
      afterEffect: true,
      bodyIncludes: 'UpdateOAuthCredential',
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(run.warnings.join('\n')).toMatch(/HTTP 502.*may have reached WHMCS.*not repeated/);
    expect(w.whmcs!.requests.filter((r) => r.body.includes('UpdateOAuthCredential'))).toHaveLength(
      1,
    );
    expect(stored(w)).toBe(w.currentSecret());
    expect(w.whmcs!.rotations(WHMCS_CREDENTIAL)).toBe(1);
    clean(run);
  });
});

describe('property 5: partial failure', () => {
  it('one of three targets always fails: the rest are verified, nothing retired, recovery emitted', async () => {
    const w = await start('vmware-csp');
    const key = await recoveryKey();
    w.github.fault('PUT', /environments\/production\/secrets/, {
      status: 404,
      body: { message: 'Not Found' },
    });
    const run = await w.run({
      'csp-rotation': 'overlap',
      'csp-retire-previous': 'true',
      'recovery-public-key': key.input,
      targets: `repo ${REPO}\nenvironment ${REPO} production\norg ${ORG} all`,
    });
    expect(run.code).toBe(1);
    expect(statuses(run)).toEqual(['written', 'failed', 'written']);
    expect(stored(w)).toBe(w.currentSecret());
    expect(stored(w, `org:${ORG}`)).toBe(w.currentSecret());
    expect(w.csp!.calls('DELETE', /.*/)).toHaveLength(0);
    expect(w.csp!.validSecrets(CSP_APP)).toContain(OLD_SECRET);
    expect(key.open(run.outputs['recovery']!)).toBe(w.currentSecret());
    expect(run.summary).toMatch(/environment octo\/app production.*failed/);
    expect(run.summary).toContain('Next step');
    clean(run);
  });
});

describe('property 6: a write that answers success but changes nothing', () => {
  it('is treated as failed', async () => {
    const w = await start('entra');
    w.github.seedSecret(`repo:${REPO}`, SECRET_NAME, OLD_SECRET, '2026-01-01T00:00:00Z');
    w.github.freezeUpdates(`repo:${REPO}`);
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors[0]).toContain('updated_at did not move');
    expect(statuses(run)).toEqual(['failed']);
    // GitHub claimed success, so the write may have landed: both passwords are kept, the old one works.
    expect(w.entra!.passwords(APP_ID).map((p) => p.secretText)).toEqual([
      OLD_SECRET,
      w.currentSecret(),
    ]);
    expect(w.entra!.secretWorks(APP_ID, OLD_SECRET)).toBe(true);
    clean(run);
  });
});

describe('property 7: safe re-runs', () => {
  it('skip-if-rotated-within skips when the first target is fresh, and not otherwise', async () => {
    const w = await start('whmcs');
    w.github.seedSecret(
      `repo:${REPO}`,
      SECRET_NAME,
      OLD_SECRET,
      new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    );
    const skipped = await w.run({ 'skip-if-rotated-within': '2h' });
    expect(skipped.code).toBe(0);
    expect(skipped.outputs['rotated']).toBe('false');
    expect(w.whmcs!.rotations(7)).toBe(0);
    const rotated = await w.run({ 'skip-if-rotated-within': '30m' });
    expect(rotated.outputs['rotated']).toBe('true');
    expect(w.whmcs!.rotations(7)).toBe(1);
    clean(skipped);
    clean(rotated);
  });

  it('Entra: after a partial failure, a re-run leaves exactly the person-made and the newest password', async () => {
    const w = await start('entra');
    w.github.fault('PUT', /environments/, { status: 404, body: { message: 'Not Found' } });
    const first = await w.run({ targets: `repo ${REPO}\nenvironment ${REPO} production` });
    expect(first.code).toBe(1);
    expect(w.entra!.passwords(APP_ID)).toHaveLength(2);
    w.github.clearFaults();
    const second = await w.run({ targets: `repo ${REPO}\nenvironment ${REPO} production` });
    expect(second.errors).toEqual([]);
    const left = w.entra!.passwords(APP_ID).map((p) => p.secretText);
    expect(left).toEqual([OLD_SECRET, w.currentSecret()]);
    expect(stored(w)).toBe(w.currentSecret());
    expect(stored(w, `env:${REPO}:production`)).toBe(w.currentSecret());
    clean(first);
    clean(second);
  });

  it('CSP overlap: after a partial failure, a re-run ends with one live secret everywhere', async () => {
    const w = await start('vmware-csp');
    const inputs = {
      'csp-rotation': 'overlap',
      'csp-retire-previous': 'true',
      targets: `repo ${REPO}\ndependabot ${REPO}`,
    };
    w.github.fault('PUT', /dependabot/, { status: 503 });
    const first = await w.run({ ...inputs, 'store-timeout': '3s' });
    expect(first.code).toBe(1);
    w.github.clearFaults();
    // Later than the wait after the first run's write (store-timeout plus 2 minutes, src/previous.ts).
    const second = await w.run(inputs, { nodeArgs: pinnedClock(Date.now() + 800_000) });
    expect(second.errors).toEqual([]);
    expect(w.csp!.validSecrets(CSP_APP)).toEqual([w.currentSecret()]);
    expect(stored(w, `dependabot:${REPO}`)).toBe(w.currentSecret());
    clean(first);
    clean(second);
  });

  it('WHMCS: after every write failed, a re-run stores a working secret everywhere', async () => {
    const w = await start('whmcs');
    w.github.fault('PUT', /.*/, { status: 422, body: { message: 'no' } });
    const first = await w.run();
    expect(first.code).toBe(1);
    w.github.clearFaults();
    const second = await w.run();
    expect(second.errors).toEqual([]);
    expect(stored(w)).toBe(w.currentSecret());
    expect(w.whmcs!.rotations(7)).toBe(2);
    clean(first);
    clean(second);
  });
});
