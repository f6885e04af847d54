// Auth0 end to end: the bundled action against the GitHub and Auth0 emulators. The old secret dies
// with rotate-secret, so the promise rests on checking everything first, rotating once, storing
// everywhere (or sealing to the recovery key), and only then confirming the new secret works.
import { describe as describeInOrder, expect, it } from 'vitest';
import { auth0Error } from './emulators/auth0.ts';
import type { Fault } from './emulators/server.ts';
import {
  AUTH0_API,
  AUTH0_CLIENT,
  AUTH0_MANAGER,
  OLD_SECRET,
  REPO,
  SECRET_NAME,
  type World,
  worldOf,
  type WorldOptions,
} from './fixtures.ts';
import { expectClean, recoveryKey, worldPerTest } from './checks.ts';
import { lineOf, type Run, targets, useBundle } from './harness.ts';

// Each test starts its own world, so the tests of every describe in this file run concurrently.
const describe = describeInOrder.concurrent;
const start = worldPerTest();
const auth0 = (o?: WorldOptions): Promise<World> => start('auth0', o);

const clean = (run: Run): void => expectClean(worldOf(run), run);

const ROTATE = /^\/api\/v2\/clients\/[^/]+\/rotate-secret$/;
const READ = /^\/api\/v2\/clients\/[^/]+$/;
const TOKEN = '/oauth/token';

const stored = (w: World, scope = `repo:${REPO}`): string | undefined =>
  w.github.secret(scope, SECRET_NAME)?.value;
const rotations = (w: World): number => w.auth0!.client(AUTH0_CLIENT).rotations;
/** Token requests for auth0-confirm-audience: the confirmations of the new secret. */
const confirmations = (w: World) =>
  w
    .auth0!.calls('POST', TOKEN)
    .filter((r) => new URLSearchParams(r.body).get('audience') === AUTH0_API);
/** Token requests of the management application. */
const signIns = (w: World) =>
  w
    .auth0!.calls('POST', TOKEN)
    .filter((r) => new URLSearchParams(r.body).get('client_id') === AUTH0_MANAGER);

describe('auth0 rotation', () => {
  // This suite's runs spawn the bundle, as the runner does; the file's other suites run in process.
  useBundle();
  it('reads the client without its secret, rotates once, stores, then confirms the new secret', async () => {
    const w = await auth0();
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const secret = w.currentSecret();
    expect(secret).not.toBe(OLD_SECRET);
    expect(stored(w)).toBe(secret);
    expect(rotations(w)).toBe(1);
    expect(w.auth0!.secretWorks(AUTH0_CLIENT, OLD_SECRET)).toBe(false);
    expect(w.auth0!.secretWorks(AUTH0_CLIENT, secret)).toBe(true);
    // Preflight asked only for the fields it needs: never client_secret.
    expect(w.auth0!.clientReads).toHaveLength(1);
    const fields = w.auth0!.clientReads[0]!.get('fields')!.split(',');
    expect(fields).toContain('token_endpoint_auth_method');
    expect(fields).not.toContain('client_secret');
    expect(w.auth0!.clientReads[0]!.get('include_fields')).toBe('true');
    // One management sign-in for the Management API audience; one confirmation, after GitHub verified.
    expect(signIns(w)).toHaveLength(1);
    expect(new URLSearchParams(signIns(w)[0]!.body).get('audience')).toBe(
      w.auth0!.managementAudience,
    );
    const confirmed = confirmations(w);
    expect(confirmed.map((c) => c.status)).toEqual([200]);
    expect(new URLSearchParams(confirmed[0]!.body).get('client_secret')).toBe(secret);
    const lastVerify = Math.max(
      ...w.github.calls('GET', new RegExp(`/secrets/${SECRET_NAME}$`)).map((r) => r.at),
    );
    expect(confirmed[0]!.at).toBeGreaterThanOrEqual(lastVerify);
    expect(run.outputs).toMatchObject({
      rotated: 'true',
      'client-id': AUTH0_CLIENT,
      'credential-id': AUTH0_CLIENT,
    });
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'written' },
    ]);
    const masked = lineOf(run, (l) => l === `::add-mask::${secret}`);
    expect(masked).toBeGreaterThan(-1);
    expect(masked).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
    expect(run.stdout).toContain('The new secret obtains a token for auth0-confirm-audience');
    expect(run.summary).toContain('Client secret rotated');
    clean(run);
  });

  it('waits out the propagation delay: the new secret is refused at first, then confirmed', async () => {
    const w = await auth0({ propagationDelayMs: 3_000 });
    const run = await w.run({ targets: `repo ${REPO}\nenvironment ${REPO} production` });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const secret = w.currentSecret();
    for (const scope of [`repo:${REPO}`, `env:${REPO}:production`])
      expect(stored(w, scope), scope).toBe(secret);
    const statuses = confirmations(w).map((c) => c.status);
    expect(statuses.length).toBeGreaterThan(1);
    expect(statuses.at(-1)).toBe(200);
    expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
    expect(run.stdout).toContain('does not work yet (Auth0 propagation); waiting');
    const rotatedAt = w.auth0!.calls('POST', ROTATE)[0]!.at;
    expect(confirmations(w).at(-1)!.at - rotatedAt).toBeGreaterThanOrEqual(3_000);
    expect(run.outputs['rotated']).toBe('true');
    clean(run);
  });

  it('fails after auth0-confirm-timeout when the new secret never works, with every target written', async () => {
    const w = await auth0({ propagationDelayMs: 600_000 });
    const run = await w.run({ 'auth0-confirm-timeout': '3s' });
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(20_000);
    const error = run.errors.join('\n');
    expect(error).toContain('confirming it at the provider failed');
    expect(error).toContain('auth0-confirm-timeout (3 s)');
    expect(run.summary).toContain('the old one no longer works');
    expect(stored(w)).toBe(w.currentSecret());
    expect(targets(run).map((t) => t.status)).toEqual(['written']);
    expect(rotations(w)).toBe(1);
    const tries = confirmations(w);
    expect(tries.length).toBeGreaterThan(1);
    expect(tries.every((c) => c.status === 401)).toBe(true);
    const span = tries.at(-1)!.at - tries[0]!.at;
    expect(span).toBeGreaterThanOrEqual(2_500);
    expect(span).toBeLessThan(6_000);
    clean(run);
  });

  it('fails at once, every target written, when the confirmation is refused with 403 (no client grant)', async () => {
    const w = await auth0();
    delete w.auth0!.client(AUTH0_CLIENT).grants[AUTH0_API];
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(confirmations(w).map((c) => c.status)).toEqual([403]);
    expect(stored(w)).toBe(w.currentSecret());
    expect(targets(run).map((t) => t.status)).toEqual(['written']);
    expect(rotations(w)).toBe(1);
    // Stored and verified everywhere: rotated, though the step fails, and no blob is needed.
    expect(run.outputs['rotated']).toBe('true');
    expect(run.outputs['recovery'] ?? '').toBe('');
    const error = run.errors.join('\n');
    expect(error).toContain('confirming it at the provider failed');
    expect(error).toMatch(
      /HTTP 403.*not allowed a client-credentials token for auth0-confirm-audience/,
    );
    expect(run.summary).toContain('the old one no longer works');
    clean(run);
  });

  it('confirms with HTTP Basic for an application that uses client_secret_basic', async () => {
    const w = await auth0();
    w.auth0!.client(AUTH0_CLIENT).tokenEndpointAuthMethod = 'client_secret_basic';
    const run = await w.run();
    expect(run.errors).toEqual([]);
    const confirmed = confirmations(w);
    expect(confirmed.map((c) => c.status)).toEqual([200]);
    expect(new URLSearchParams(confirmed[0]!.body).has('client_secret')).toBe(false);
    clean(run);
  });

  it('stores without confirming, saying so, when auth0-confirm-audience is not set', async () => {
    const w = await auth0();
    const run = await w.run({ 'auth0-confirm-audience': '' });
    expect(run.errors).toEqual([]);
    expect(run.stdout).toContain('auth0-confirm-audience is not set');
    expect(stored(w)).toBe(w.currentSecret());
    expect(confirmations(w)).toEqual([]);
    clean(run);
  });

  it('skips the confirmation with an info line for an application without client credentials', async () => {
    const w = await auth0();
    w.auth0!.client(AUTH0_CLIENT).grantTypes = ['authorization_code', 'refresh_token'];
    w.auth0!.client(AUTH0_CLIENT).appType = 'regular_web';
    const run = await w.run({ 'auth0-confirm-audience': '' });
    expect(run.errors).toEqual([]);
    expect(run.stdout).toContain('cannot use client credentials');
    expect(stored(w)).toBe(w.currentSecret());
    expect(confirmations(w)).toEqual([]);
    clean(run);
  });

  it('works behind a custom domain with the canonical Management API audience', async () => {
    const w = await auth0();
    const custom = w.auth0!.customDomainUrl;
    const refused = await w.run({ 'auth0-domain': custom });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(/HTTP 403.*auth0-management-audience/);
    expect(rotations(w)).toBe(0);
    const run = await w.run({
      'auth0-domain': custom,
      'auth0-management-audience': w.auth0!.managementAudience,
    });
    expect(run.errors).toEqual([]);
    expect(stored(w)).toBe(w.currentSecret());
    expect(rotations(w)).toBe(1);
    clean(run);
  });
});

describe('auth0 preflight', () => {
  // The management application has only read:clients, which does not show
  // client_authentication_methods: preflight must tell from token_endpoint_auth_method alone.
  it.each([
    ['with auth0-confirm-audience', AUTH0_API],
    ['without auth0-confirm-audience', ''],
  ])('refuses a Private Key JWT application before rotating, %s', async (_name, audience) => {
    const w = await auth0();
    const c = w.auth0!.client(AUTH0_CLIENT);
    c.privateKeyJwt = true;
    c.tokenEndpointAuthMethod = undefined;
    const run = await w.run({ 'auth0-confirm-audience': audience });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toContain('Private Key JWT');
    expect(run.errors.join('\n')).toContain('Nothing was changed');
    expect(w.auth0!.calls('POST', ROTATE)).toEqual([]);
    expect(w.github.calls('PUT', /.*/)).toEqual([]);
    expect(run.outputs['rotated']).toBe('false');
    // Only the fields read:clients may see were asked for.
    const fields = w.auth0!.clientReads[0]!.get('fields')!.split(',');
    expect(fields).not.toContain('client_authentication_methods');
    clean(run);
  });

  it('refuses a public application (token_endpoint_auth_method none): its secret authenticates nothing', async () => {
    const w = await auth0();
    const c = w.auth0!.client(AUTH0_CLIENT);
    c.tokenEndpointAuthMethod = 'none';
    c.appType = 'spa';
    c.grantTypes = ['authorization_code', 'refresh_token'];
    const run = await w.run({ 'auth0-confirm-audience': '' });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/token_endpoint_auth_method none.*Nothing was changed/);
    expect(w.auth0!.calls('POST', ROTATE)).toEqual([]);
    expect(rotations(w)).toBe(0);
    clean(run);
  });

  it('refuses auth0-confirm-audience for an application without the client_credentials grant', async () => {
    const w = await auth0();
    w.auth0!.client(AUTH0_CLIENT).grantTypes = ['authorization_code'];
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/'auth0-confirm-audience' is set.*client_credentials/);
    expect(w.auth0!.calls('POST', ROTATE)).toEqual([]);
    clean(run);
  });

  it('refuses a management token without update:client_keys before rotating', async () => {
    const w = await auth0();
    w.auth0!.client(AUTH0_MANAGER).grants[w.auth0!.managementAudience] = ['read:clients'];
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toContain('lacks the scope(s) update:client_keys');
    expect(w.auth0!.calls('POST', ROTATE)).toEqual([]);
    expect(w.auth0!.calls('GET', READ)).toEqual([]);
    clean(run);
  });

  const failures: [string, Record<string, string>, RegExp][] = [
    [
      'a refused management secret',
      { 'auth0-management-client-secret': 'wrong-secret-value' },
      /HTTP 401.*auth0-management-client-id/,
    ],
    [
      'an unknown application',
      { 'auth0-client-id': 'NoSuchClient0000' },
      /HTTP 404.*inexistent_client/,
    ],
  ];
  it.each(failures)('stops before rotating on %s', async (_name, extra, message) => {
    const w = await auth0();
    const run = await w.run(extra);
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(message);
    expect(w.auth0!.calls('POST', ROTATE)).toEqual([]);
    expect(w.github.calls('PUT', /.*/)).toEqual([]);
    clean(run);
  });

  const bad: [string, string, string][] = [
    ['auth0-domain', 'tenant.auth0.com/api', 'without a path'],
    ['auth0-domain', 'http://tenant.auth0.com', 'https://'],
    ['auth0-client-id', 'a/b', 'auth0-client-id'],
    ['auth0-management-client-id', '', 'auth0-management-client-id'],
    ['auth0-management-client-secret', '', 'auth0-management-client-secret'],
    ['auth0-management-audience', 'not a url', 'auth0-management-audience'],
    ['auth0-confirm-timeout', '11m', 'at most 10m'],
    ['auth0-domain', 'tenant.auth0.com?x=1', 'without credentials, query or fragment'],
    ['auth0-domain', 'tenant.auth0.com#x', 'without credentials, query or fragment'],
    ['auth0-client-id', '..', 'auth0-client-id'],
  ];
  it.each(bad)('names the bad input %s=%s before any request', async (name, value, text) => {
    const w = await auth0();
    const run = await w.run({ [name]: value });
    expect(run.code).toBe(1);
    const error = run.errors.join('\n');
    expect(error).toContain(`'${name}'`);
    expect(error).toContain(text);
    expect(w.auth0!.requests).toEqual([]);
    expect(w.github.requests).toEqual([]);
    clean(run);
  });

  // A password typed into the domain is refused, and the refusal does not repeat it.
  it.each(['https://admin:Hunter2-pass@tenant.auth0.com', 'admin:Hunter2-pass@tenant.auth0.com'])(
    'refuses auth0-domain %s without printing its password',
    async (domain) => {
      const w = await auth0();
      const run = await w.run({ 'auth0-domain': domain });
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toContain("'auth0-domain'");
      expect(run.errors.join('\n')).toContain('credentials');
      for (const printed of [run.stdout, run.stderr, run.summary, JSON.stringify(run.outputs)])
        expect(printed).not.toContain('Hunter2-pass');
      expect(w.auth0!.requests).toEqual([]);
      clean(run);
    },
  );
});

describe('auth0 faults', () => {
  const inTwoSeconds = (): Record<string, string> => ({
    'x-ratelimit-limit': '10',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 1),
  });
  const tooMany = (): Fault => ({
    status: 429,
    body: auth0Error(429, 'Global limit has been reached', 'too_many_requests'),
    headers: inTwoSeconds(),
    times: 1,
  });
  const unavailable: Fault = { status: 503, body: auth0Error(503, 'Try again'), times: 1 };
  const dropped: Fault = { drop: true, times: 1 };
  // Calls safe to repeat: each fault is retried and the rotation completes, rotating once.
  const safe: [string, string, string | RegExp, () => Fault, ((w: World) => number)?][] = [
    ['429 on the management sign-in', 'POST', TOKEN, tooMany],
    ['503 on the management sign-in', 'POST', TOKEN, () => unavailable],
    ['a dropped management sign-in', 'POST', TOKEN, () => dropped],
    ['429 on the client read', 'GET', READ, tooMany],
    ['503 on the client read', 'GET', READ, () => unavailable],
    ['a dropped client read', 'GET', READ, () => dropped],
    ['429 on rotate-secret (refused before processing)', 'POST', ROTATE, tooMany],
    ['503 on the confirmation', 'POST', TOKEN, () => ({ ...unavailable, skip: 1 })],
    ['a dropped confirmation', 'POST', TOKEN, () => ({ ...dropped, skip: 1 })],
    ['429 on the confirmation', 'POST', TOKEN, () => ({ ...tooMany(), skip: 1 })],
  ];
  /** Requests a run without faults makes: two to the token endpoint (sign-in, confirmation). */
  const FAULT_FREE: Record<string, number> = { [TOKEN]: 2, [String(READ)]: 1, [String(ROTATE)]: 1 };
  it.each(safe)('retries %s and rotates once', async (_name, method, path, fault) => {
    const w = await auth0();
    const f = fault();
    w.auth0!.fault(method, path, f);
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    // The fault was served, then the call repeated: one request more than a run without it.
    const calls = w.auth0!.calls(method, path);
    expect(calls).toHaveLength(FAULT_FREE[String(path)]! + 1);
    expect(calls.map((c) => c.status)).toContain(f.drop ? 'dropped' : f.status);
    expect(rotations(w)).toBe(1);
    expect(stored(w)).toBe(w.currentSecret());
    expect(w.auth0!.secretWorks(AUTH0_CLIENT, stored(w)!)).toBe(true);
    clean(run);
  });

  it('waits for x-ratelimit-reset after a 429 (Auth0 sends no Retry-After)', async () => {
    const w = await auth0();
    // The reset is set when the 429 is sent, not when the test starts: a slow start on a loaded
    // machine must not shorten the wait the test measures.
    const headers: Record<string, string> = {};
    w.auth0!.fault('GET', READ, {
      ...tooMany(),
      headers,
      onMatch: () => void (headers['x-ratelimit-reset'] = String(Math.ceil(Date.now() / 1000) + 3)),
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    const [limited, retried] = w.auth0!.calls('GET', READ);
    expect(limited!.status).toBe(429);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(1_000);
    clean(run);
  });

  // The rotating call, faulted before Auth0 acted: never repeated, the outcome reported unknown.
  const unknown: [string, Fault][] = [
    ['503', { ...unavailable }],
    ['a dropped connection', { ...dropped }],
  ];
  it.each(unknown)(
    'never repeats rotate-secret after %s and says the old secret may be dead',
    async (_name, fault) => {
      const w = await auth0();
      w.auth0!.fault('POST', ROTATE, fault);
      const run = await w.run();
      expect(run.code).toBe(1);
      expect(w.auth0!.calls('POST', ROTATE)).toHaveLength(1);
      expect(rotations(w)).toBe(0);
      const error = run.errors.join('\n');
      expect(error).toContain('may have reached Auth0');
      expect(error).toContain('not retried');
      expect(run.summary).toContain('may have taken effect');
      expect(w.github.calls('PUT', /.*/)).toEqual([]);
      expect(stored(w)).toBeUndefined();
      clean(run);
    },
  );

  it.each([400, 401, 403, 404])(
    'maps HTTP %i on rotate-secret to a clear message, sent once',
    async (status) => {
      const w = await auth0();
      w.auth0!.fault('POST', ROTATE, {
        status,
        body: auth0Error(status, `emulated ${status}`, `E${status}`),
      });
      const run = await w.run();
      expect(run.code).toBe(1);
      const error = run.errors.join('\n');
      expect(error).toContain(`HTTP ${status}`);
      expect(error).toContain(`errorCode E${status}`);
      expect(error).toContain(`emulated ${status}`);
      expect(error).not.toContain('may have reached');
      expect(w.auth0!.calls('POST', ROTATE)).toHaveLength(1);
      expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
      clean(run);
    },
  );

  it('signs in again when Auth0 stops taking the management token at the client read', async () => {
    const w = await auth0();
    w.auth0!.fault('GET', READ, { onMatch: () => w.auth0!.expireAccessTokens(), times: 1 });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(w.auth0!.calls('GET', READ).map((r) => r.status)).toEqual([401, 200]);
    expect(signIns(w)).toHaveLength(2);
    expect(rotations(w)).toBe(1);
    expect(stored(w)).toBe(w.currentSecret());
    clean(run);
  });

  it('does not repeat rotate-secret refused with 401 (token no longer taken): nothing rotated, nothing written', async () => {
    const w = await auth0();
    const key = await recoveryKey();
    w.auth0!.fault('POST', ROTATE, { onMatch: () => w.auth0!.expireAccessTokens(), times: 1 });
    const run = await w.run({ 'recovery-public-key': key.input });
    expect(run.code).toBe(1);
    expect(w.auth0!.calls('POST', ROTATE).map((r) => r.status)).toEqual([401]);
    expect(signIns(w)).toHaveLength(1);
    expect(rotations(w)).toBe(0);
    expect(w.auth0!.secretWorks(AUTH0_CLIENT, OLD_SECRET)).toBe(true);
    const error = run.errors.join('\n');
    expect(error).toContain('HTTP 401');
    expect(error).toContain('the Management API token was refused');
    expect(error).not.toContain('may have');
    expect(run.summary).toContain('No target was written');
    expect(run.outputs['rotated']).toBe('false');
    expect(run.outputs['recovery'] ?? '').toBe('');
    expect(w.github.calls('PUT', /.*/)).toEqual([]);
    clean(run);
  });

  it('reports a lost rotate-secret answer: rotated at Auth0, old secret dead, new one unseen, no blob', async () => {
    const w = await auth0();
    const key = await recoveryKey();
    w.auth0!.fault('POST', ROTATE, { drop: true, afterEffect: true, times: 1 });
    const run = await w.run({ 'recovery-public-key': key.input });
    expect(run.code).toBe(1);
    expect(rotations(w)).toBe(1);
    expect(w.auth0!.calls('POST', ROTATE)).toHaveLength(1);
    expect(w.auth0!.secretWorks(AUTH0_CLIENT, OLD_SECRET)).toBe(false);
    const error = run.errors.join('\n');
    expect(error).toContain('may have been rotated');
    expect(error).toContain('Auth0 Dashboard');
    expect(run.outputs['recovery'] ?? '').toBe('');
    expect(run.outputs['rotated']).toBe('false');
    expect(w.github.calls('PUT', /.*/)).toEqual([]);
    // The new secret never reached the action: it is in no output, log line or mask.
    expect(run.masks).not.toContain(w.currentSecret());
    clean(run);
  });
});

describe('auth0 recovery', () => {
  it('warns before the rotating call without a recovery key, even when its answer is lost', async () => {
    const w = await auth0();
    w.auth0!.fault('POST', ROTATE, { drop: true, afterEffect: true, times: 1 });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(rotations(w)).toBe(1);
    // No line follows the rotating call here: the warning can only have come before it.
    expect(lineOf(run, (l) => l.startsWith('Rotated '))).toBe(-1);
    const warned = lineOf(
      run,
      (l) => l.startsWith('::warning') && l.includes('recovery-public-key'),
    );
    expect(warned).toBeGreaterThan(-1);
    expect(run.outputs['rotated']).toBe('false');
    expect(run.errors.join('\n')).toContain('Auth0 Dashboard');
    clean(run);
  });

  it('says where the new secret is when every target fails and there is no recovery key: the Auth0 Dashboard', async () => {
    const w = await auth0();
    w.github.fault('PUT', /\/secrets\/CLIENT_SECRET$/, {
      status: 422,
      body: { message: 'Unprocessable' },
    });
    const run = await w.run({ targets: `repo ${REPO}\nenvironment ${REPO} production` });
    expect(run.code).toBe(1);
    expect(rotations(w)).toBe(1);
    expect(stored(w)).toBeUndefined();
    expect(targets(run).map((t) => t.status)).toEqual(['failed', 'failed']);
    expect(run.outputs['rotated']).toBe('false');
    expect(run.outputs['recovery'] ?? '').toBe('');
    const error = run.errors.join('\n');
    expect(error).toContain('old secret no longer works and no recovery-public-key was given');
    expect(error).toContain(`Auth0 Dashboard shows the new secret (application ${AUTH0_CLIENT}`);
    expect(confirmations(w)).toEqual([]);
    clean(run);
  });

  it('seals the new secret when every target fails; the blob opens to the working secret', async () => {
    const w = await auth0();
    const key = await recoveryKey();
    w.github.fault('PUT', /\/secrets\/CLIENT_SECRET$/, {
      status: 422,
      body: { message: 'Unprocessable' },
    });
    const run = await w.run({
      'recovery-public-key': key.input,
      targets: `repo ${REPO}\nenvironment ${REPO} production`,
    });
    expect(run.code).toBe(1);
    const opened = key.open(run.outputs['recovery']!);
    expect(opened).toBe(w.currentSecret());
    expect(w.auth0!.secretWorks(AUTH0_CLIENT, opened)).toBe(true);
    expect(targets(run).map((t) => t.status)).toEqual(['failed', 'failed']);
    expect(run.outputs['rotated']).toBe('false');
    expect(run.errors.join('\n')).toContain('output `recovery`');
    expect(confirmations(w)).toEqual([]);
    clean(run);
  });

  it('seals the new secret to the recovery key when storing fails; the blob opens to the working secret', async () => {
    const w = await auth0();
    const key = await recoveryKey();
    w.github.fault('PUT', /environments\/production\/secrets\/CLIENT_SECRET$/, {
      status: 422,
      body: { message: 'Unprocessable' },
    });
    const run = await w.run({
      'recovery-public-key': key.input,
      targets: `repo ${REPO}\nenvironment ${REPO} production`,
    });
    expect(run.code).toBe(1);
    const opened = key.open(run.outputs['recovery']!);
    expect(opened).toBe(w.currentSecret());
    expect(opened).not.toBe(OLD_SECRET);
    expect(w.auth0!.secretWorks(AUTH0_CLIENT, opened)).toBe(true);
    // The target that was written holds the same secret; the old one is dead.
    expect(stored(w)).toBe(opened);
    expect(stored(w, `env:${REPO}:production`)).toBeUndefined();
    expect(targets(run).map((t) => t.status)).toEqual(['written', 'failed']);
    expect(run.errors.join('\n')).toContain('old secret no longer works');
    // No confirmation when a target failed: the run stops at recovery.
    expect(confirmations(w)).toEqual([]);
    clean(run);
  });

  it('warns before rotating when there is no recovery key', async () => {
    const w = await auth0();
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
