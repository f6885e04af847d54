// Keycloak end to end: the bundled action against the GitHub and Keycloak emulators, without a client
// policy (the old secret dies at once) and with the realm's secret-rotation policy (it stays valid).
import { describe as describeInOrder, expect, it } from 'vitest';
import {
  adminError,
  oauthError,
  type SecretRotationPolicy,
  startKeycloak,
  STRIPPED,
} from './emulators/keycloak.ts';
import type { Fault } from './emulators/server.ts';
import {
  CREDENTIALS,
  KC_ADMIN,
  KC_CLIENT,
  KC_REALM,
  OLD_SECRET,
  REPO,
  SECRET_NAME,
  type World,
  worldOf,
} from './fixtures.ts';
import { expectClean, recoveryKey, worldPerTest } from './checks.ts';
import { lineOf, pinnedClock, type Run, targets, useBundle } from './harness.ts';

// Each test starts its own world, so the tests of every describe in this file run concurrently.
const describe = describeInOrder.concurrent;
const start = worldPerTest();
const POLICY: SecretRotationPolicy = {
  expirationSeconds: 30 * 86_400,
  rotatedExpirationSeconds: 2 * 86_400,
};
const plain = (): Promise<World> => start('keycloak');
const withPolicy = (policy = POLICY): Promise<World> =>
  start('keycloak', { keycloakPolicy: policy });

const clean = (run: Run, extra: readonly string[] = []): void =>
  expectClean(worldOf(run), run, extra);
const client = (w: World) => w.keycloak!.client(KC_REALM, KC_CLIENT);
const valid = (w: World) => w.keycloak!.validSecrets(KC_REALM, KC_CLIENT);
const rotations = (w: World) => w.keycloak!.rotations(KC_REALM, KC_CLIENT);
const stored = (w: World, scope = `repo:${REPO}`) => w.github.secret(scope, SECRET_NAME)?.value;
const REGENERATE = /\/client-secret$/;
const ROTATED = /\/client-secret\/rotated$/;
const TOKEN = /\/protocol\/openid-connect\/token$/;
/** Token requests of the rotating client itself: the confirmation. */
const confirmations = (w: World) =>
  w.keycloak!.calls('POST', TOKEN).filter((r) => r.body.includes(`client_id=${KC_CLIENT}&`));
const lastVerify = (w: World) =>
  Math.max(...w.github.calls('GET', new RegExp(`/secrets/${SECRET_NAME}$`)).map((r) => r.at));

describe('keycloak without a client policy: the old secret dies at once', () => {
  // This suite's runs spawn the bundle, as the runner does; the file's other suites run in process.
  useBundle();
  it('regenerates once, stores the new secret, confirms it, and the old one is dead', async () => {
    const w = await plain();
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const secret = stored(w)!;
    expect(secret).toBe(w.currentSecret());
    expect(secret).not.toBe(OLD_SECRET);
    expect(valid(w)).toEqual([secret]);
    expect(rotations(w)).toBe(1);
    expect(w.keycloak!.calls('POST', REGENERATE)).toHaveLength(1);
    expect(run.outputs).toMatchObject({
      rotated: 'true',
      'client-id': KC_CLIENT,
      'credential-id': client(w).id,
    });
    // Masked the instant it existed; confirmed with a token request after every target was verified.
    const masked = lineOf(run, (l) => l === `::add-mask::${secret}`);
    expect(masked).toBeGreaterThan(-1);
    expect(masked).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
    expect(confirmations(w)).toHaveLength(1);
    expect(confirmations(w)[0]!.at).toBeGreaterThanOrEqual(lastVerify(w));
    expect(run.stdout).toContain('Keycloak kept no previous secret');
    expect(w.keycloak!.calls('DELETE', ROTATED)).toHaveLength(0);
    // Without a recovery key, a warning before the rotating call.
    const warned = lineOf(
      run,
      (l) => l.startsWith('::warning') && l.includes('recovery-public-key'),
    );
    expect(warned).toBeGreaterThan(-1);
    expect(warned).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
    clean(run);
  });

  it('signs in through master with keycloak-admin-realm', async () => {
    const w = await plain();
    w.keycloak!.addRealm('master');
    w.keycloak!.addClient('master', {
      clientId: 'ci-admin',
      secret: CREDENTIALS.keycloakAdminSecret,
      roles: { [KC_REALM]: ['manage-clients'] },
    });
    const run = await w.run({
      'keycloak-admin-realm': 'master',
      'keycloak-admin-client-id': 'ci-admin',
    });
    expect(run.errors).toEqual([]);
    expect(stored(w)).toBe(w.currentSecret());
    expect(w.keycloak!.calls('POST', '/realms/master/protocol/openid-connect/token')).not.toEqual(
      [],
    );
    clean(run);
  });

  it('rotates a client that manages itself, signing in with the new secret afterwards', async () => {
    const w = await plain();
    client(w).roles = { [KC_REALM]: ['manage-clients'] };
    // Every admin token expires when the first read after the rotation arrives (deterministic: not a
    // timer racing the action): the next sign-in needs the new secret.
    w.keycloak!.fault('GET', /\/clients\/[^/]+$/, {
      times: 1,
      onMatch: () => w.keycloak!.expireAccessTokens(),
    });
    const run = await w.run({
      'keycloak-admin-client-id': KC_CLIENT,
      'keycloak-admin-client-secret': OLD_SECRET,
    });
    expect(run.errors).toEqual([]);
    // Had it signed in with the old secret, reading the client after the rotation would have warned.
    expect(run.warnings.filter((l) => !l.includes('recovery-public-key'))).toEqual([]);
    expect(w.keycloak!.calls('GET', /\/clients\/[^/]+$/).map((r) => r.status)).toEqual([401, 200]);
    expect(stored(w)).toBe(w.currentSecret());
    expect(rotations(w)).toBe(1);
    clean(run);
  });

  it('works under the /auth prefix of Keycloak 16 and older', async () => {
    const w = await plain();
    const legacy = await startKeycloak({ prefix: '/auth' });
    try {
      legacy.addRealm(KC_REALM);
      legacy.addClient(KC_REALM, { clientId: KC_CLIENT, secret: OLD_SECRET });
      legacy.addClient(KC_REALM, {
        clientId: KC_ADMIN,
        secret: CREDENTIALS.keycloakAdminSecret,
        roles: { [KC_REALM]: ['manage-clients'] },
      });
      const run = await w.run({ 'keycloak-url': `${legacy.url}/auth` });
      expect(run.errors).toEqual([]);
      const fresh = legacy.client(KC_REALM, KC_CLIENT).secret;
      expect(stored(w)).toBe(fresh);
      expect(legacy.validSecrets(KC_REALM, KC_CLIENT)).toEqual([fresh]);
      expectClean(w, run, legacy.generatedSecrets);
      // Without /auth, the old server answers 404 and the message says what to try.
      const wrong = await w.run({ 'keycloak-url': legacy.url, 'dry-run': 'true' });
      expect(wrong.code).toBe(1);
      expect(wrong.errors.join('\n')).toMatch(/HTTP 404.*\/auth/);
      expectClean(w, wrong, legacy.generatedSecrets);
    } finally {
      await legacy.close();
    }
  });

  it('skips the confirmation, saying why, when the client has no service account', async () => {
    const w = await plain();
    client(w).serviceAccountsEnabled = false;
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(stored(w)).toBe(w.currentSecret());
    expect(confirmations(w)).toHaveLength(0);
    expect(run.stdout).toContain('not confirmed with a token request');
    clean(run);
  });

  it('emits a recovery blob that opens to the new secret when every write fails', async () => {
    const w = await plain();
    const key = await recoveryKey();
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, { status: 422, body: { message: 'No' } });
    const run = await w.run({ 'recovery-public-key': key.input });
    expect(run.code).toBe(1);
    const opened = key.open(run.outputs['recovery']!);
    expect(opened).toBe(w.currentSecret());
    expect(valid(w)).toEqual([opened]);
    expect(run.errors.join('\n')).toContain('old secret no longer works');
    expect(targets(run).map((t) => t.status)).toEqual(['failed']);
    expect(confirmations(w)).toHaveLength(0);
    clean(run);
  });
});

describe('keycloak with the secret-rotation policy: the previous secret stays valid', () => {
  it('keeps the previous secret, reports until when, and removes nothing', async () => {
    const w = await withPolicy();
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(run.warnings).toEqual([]);
    const secret = stored(w)!;
    expect(secret).toBe(w.currentSecret());
    expect(valid(w)).toEqual([secret, OLD_SECRET]);
    expect(run.stdout).toMatch(/keeps the previous secret valid until \d{4}-/);
    expect(run.stdout).toContain('set keycloak-retire-previous: true');
    expect(w.keycloak!.calls('DELETE', ROTATED)).toHaveLength(0);
    expect(confirmations(w)).toHaveLength(1);
    clean(run);
  });

  it('never removes the rotated secret once someone else regenerated: it is then the one the targets hold', async () => {
    const w = await withPolicy();
    // Someone regenerates in the admin console while the run confirms its new secret.
    w.keycloak!.fault('POST', TOKEN, {
      bodyIncludes: `client_id=${KC_CLIENT}&`,
      times: 1,
      onMatch: () => w.keycloak!.regenerateByHand(KC_REALM, KC_CLIENT),
    });
    const run = await w.run({ 'keycloak-retire-previous': 'true' });
    expect(run.code).toBe(1);
    expect(w.keycloak!.calls('DELETE', ROTATED)).toHaveLength(0);
    const secret = stored(w)!;
    expect(valid(w)).toContain(secret);
    expect(run.errors.join('\n')).toContain(
      'its current secret is no longer the one this run stored (it was regenerated meanwhile)',
    );
    clean(run);
  });

  it('retires the previous secret only after every target is verified and the new one works', async () => {
    const w = await withPolicy();
    const run = await w.run({
      'keycloak-retire-previous': 'true',
      targets: `repo ${REPO}\nenvironment ${REPO} production`,
    });
    expect(run.errors).toEqual([]);
    const secret = stored(w)!;
    expect(stored(w, `env:${REPO}:production`)).toBe(secret);
    expect(valid(w)).toEqual([secret]);
    const deleted = w.keycloak!.calls('DELETE', ROTATED);
    expect(deleted).toHaveLength(1);
    expect(deleted[0]!.at).toBeGreaterThanOrEqual(lastVerify(w));
    expect(deleted[0]!.at).toBeGreaterThanOrEqual(confirmations(w)[0]!.at);
    expect(run.summary).toContain('Retired');
    clean(run);
  });

  it('keeps the previous secret when a target fails, and says it still works', async () => {
    const w = await withPolicy();
    const key = await recoveryKey();
    w.github.fault('PUT', /environments/, { status: 404, body: { message: 'Not Found' } });
    const run = await w.run({
      'keycloak-retire-previous': 'true',
      'recovery-public-key': key.input,
      targets: `repo ${REPO}\nenvironment ${REPO} production`,
    });
    expect(run.code).toBe(1);
    expect(w.keycloak!.calls('DELETE', ROTATED)).toHaveLength(0);
    expect(valid(w)).toContain(OLD_SECRET);
    expect(key.open(run.outputs['recovery']!)).toBe(w.currentSecret());
    expect(stored(w)).toBe(w.currentSecret());
    expect(run.errors.join('\n')).toContain('previous secret was kept and still works');
    clean(run);
  });

  it('someone regenerated between preflight and the rotating call: the kept secret is theirs, so the report says the old one died', async () => {
    const w = await withPolicy();
    const key = await recoveryKey();
    const theirs = 'Concurrent-Regeneration-0123456789';
    // Another admin regenerates just before the action's call: Keycloak then keeps theirs, not OLD_SECRET.
    w.keycloak!.fault('POST', REGENERATE, {
      times: 1,
      onMatch: () => {
        const c = client(w);
        const t = String(Math.floor(w.keycloak!.now() / 1000));
        c.attributes['client.secret.rotated'] = c.secret;
        c.attributes['client.secret.rotated.creation.time'] = t;
        c.attributes['client.secret.rotated.expiration.time'] = String(Number(t) + 86_400);
        c.secret = theirs;
      },
    });
    w.github.fault('PUT', /environments/, { status: 404, body: { message: 'Not Found' } });
    const run = await w.run({
      'recovery-public-key': key.input,
      targets: `repo ${REPO}\nenvironment ${REPO} production`,
    });
    expect(run.code).toBe(1);
    expect(valid(w)).not.toContain(OLD_SECRET);
    expect(valid(w)).toEqual([w.currentSecret(), theirs]);
    expect(run.stdout).toContain('not the one from before this rotation');
    const said = run.errors.join('\n');
    expect(said).not.toMatch(/previous secret (was kept and )?still works/);
    expect(said).toContain('The old secret no longer works');
    expect(key.open(run.outputs['recovery']!)).toBe(w.currentSecret());
    clean(run, [theirs]);
  });

  it('keeps the previous secret when the new one does not obtain a token', async () => {
    const w = await withPolicy();
    w.keycloak!.fault('POST', TOKEN, {
      bodyIncludes: `client_id=${KC_CLIENT}&`,
      ...oauthError(401, 'invalid_client', 'Invalid client or Invalid client credentials'),
    });
    const started = Date.now();
    const run = await w.run({
      'keycloak-retire-previous': 'true',
      'keycloak-confirm-timeout': '3s',
    });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(
      /did not obtain a token within keycloak-confirm-timeout \(3 s: /,
    );
    // It kept trying for the whole window (the action's clock is real here), and no longer.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(w.keycloak!.calls('DELETE', ROTATED)).toHaveLength(0);
    expect(valid(w)).toContain(OLD_SECRET);
    // Stored everywhere, so rotated=true; the next step must not send the operator to remove the
    // only secret known to work.
    expect(run.outputs['rotated']).toBe('true');
    expect(run.summary).toContain('once the new one works');
    clean(run);
  });

  it('a client the policy has not stamped yet: warned as if the old secret died, then told it was kept', async () => {
    const w = await withPolicy();
    delete client(w).attributes['client.secret.expiration.time'];
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(run.warnings.join('\n')).toContain('recovery-public-key');
    expect(valid(w)).toEqual([stored(w), OLD_SECRET]);
    expect(run.stdout).toMatch(/keeps the previous secret valid until/);
    clean(run);
  });

  it('a policy that keeps no rotated secret: said plainly after the rotation', async () => {
    const w = await withPolicy({ expirationSeconds: 86_400, rotatedExpirationSeconds: 0 });
    const run = await w.run({ 'keycloak-retire-previous': 'true' });
    expect(run.code).toBe(0);
    expect(valid(w)).toEqual([stored(w)]);
    expect(run.stdout).toContain('Keycloak kept no previous secret');
    // Nothing to retire, and the report does not claim a retirement.
    expect(run.stdout).toContain('Nothing to retire');
    expect(w.keycloak!.calls('DELETE', ROTATED)).toHaveLength(0);
    expect(run.summary).not.toContain('Retired');
    clean(run);
  });

  it('when the read after the rotation fails: warns, still retires as asked, and the report never claims the previous secret works', async () => {
    const w = await withPolicy();
    w.keycloak!.fault('GET', /\/clients\/[^/]+$/, adminError(503));
    const run = await w.run({ 'keycloak-retire-previous': 'true' });
    expect(run.errors).toEqual([]);
    expect(run.warnings.join('\n')).toContain('Could not read the client after the rotation');
    expect(valid(w)).toEqual([stored(w)]);
    expect(w.keycloak!.calls('DELETE', ROTATED)).toHaveLength(1);
    expect(run.stdout).toContain(
      'Retired the previous Keycloak client secret, if the secret-rotation policy kept one',
    );
    expect(run.summary).toContain('Retired');
    clean(run);
  });

  it('when the read after the rotation fails and storing fails: the report takes the safe side (old secret dead)', async () => {
    const w = await withPolicy();
    const key = await recoveryKey();
    w.keycloak!.fault('GET', /\/clients\/[^/]+$/, adminError(503));
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, { status: 422, body: { message: 'No' } });
    const run = await w.run({ 'recovery-public-key': key.input });
    expect(run.code).toBe(1);
    expect(key.open(run.outputs['recovery']!)).toBe(w.currentSecret());
    expect(run.errors.join('\n')).toContain('old secret no longer works');
    clean(run);
  });

  // Whether the previous secret was kept is known only once the rotation is read back; the failure
  // report must say what Keycloak did, not what preflight guessed from the client's attributes.
  const kept: [string, SecretRotationPolicy, boolean, (w: World) => void][] = [
    [
      'a policy that keeps no rotated secret',
      { ...POLICY, rotatedExpirationSeconds: 0 },
      false,
      () => {},
    ],
    [
      'a client the policy has not stamped yet',
      POLICY,
      true,
      (w) => delete client(w).attributes['client.secret.expiration.time'],
    ],
  ];
  it.each(kept)(
    'a failed store after the rotation reports what Keycloak did with the previous secret: %s',
    async (_name, policy, previousWorks, setup) => {
      const w = await withPolicy(policy);
      setup(w);
      const key = await recoveryKey();
      w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, { status: 422, body: { message: 'No' } });
      const run = await w.run({ 'recovery-public-key': key.input });
      expect(run.code).toBe(1);
      expect(valid(w).includes(OLD_SECRET)).toBe(previousWorks);
      expect(key.open(run.outputs['recovery']!)).toBe(w.currentSecret());
      const errors = run.errors.join('\n');
      expect(errors).toContain(
        previousWorks ? 'previous secret was kept and still works' : 'old secret no longer works',
      );
      expect(errors).not.toContain(
        previousWorks ? 'old secret no longer works' : 'previous secret was kept',
      );
      clean(run);
    },
  );

  it('reports the current secret expiry for rotate-if-expires-within', async () => {
    const w = await withPolicy({ expirationSeconds: 3 * 86_400, rotatedExpirationSeconds: 3600 });
    const skip = await w.run({ 'rotate-if-expires-within': '1d' });
    expect(skip.code).toBe(0);
    expect(skip.outputs['rotated']).toBe('false');
    expect(rotations(w)).toBe(0);
    const due = await w.run({ 'rotate-if-expires-within': '7d' });
    expect(due.errors).toEqual([]);
    expect(rotations(w)).toBe(1);
    clean(due);
  });
});

describe('keycloak preflight refusals: nothing changes', () => {
  const refusals: [string, (w: World) => Record<string, string> | void, RegExp][] = [
    [
      'a public client',
      (w) => {
        client(w).publicClient = true;
      },
      /public client/,
    ],
    [
      'a client that authenticates with a signed JWT',
      (w) => {
        client(w).clientAuthenticatorType = 'client-jwt';
      },
      /'client-jwt'.*not 'client-secret'/,
    ],
    [
      'an X.509 client',
      (w) => {
        client(w).clientAuthenticatorType = 'client-x509';
      },
      /'client-x509'/,
    ],
    [
      'a disabled client',
      (w) => {
        client(w).enabled = false;
      },
      /disabled/,
    ],
    ['an unknown clientId', () => ({ 'keycloak-client-id': 'billing' }), /Found no client billing/],
    [
      'two clients with the same clientId',
      (w) => {
        w.keycloak!.addClient(KC_REALM, { clientId: KC_CLIENT, secret: 'Twin-Secret-0123' });
      },
      /Found 2 clients/,
    ],
    [
      'a service account with only view-clients',
      (w) => {
        w.keycloak!.client(KC_REALM, KC_ADMIN).roles = { [KC_REALM]: ['view-clients'] };
      },
      /HTTP 403.*manage-clients/,
    ],
    [
      'a service account with only query-clients',
      (w) => {
        w.keycloak!.client(KC_REALM, KC_ADMIN).roles = { [KC_REALM]: ['query-clients'] };
      },
      /did not say whether it is public/,
    ],
    [
      'a refused admin secret',
      () => ({ 'keycloak-admin-client-secret': 'wrong-secret-0123' }),
      /HTTP 401.*invalid_client/,
    ],
    ['an unknown realm', () => ({ 'keycloak-realm': 'nowhere' }), /HTTP 404.*realm/],
  ];
  it.each(refusals)('stops before rotating on %s', async (_name, setup, message) => {
    const w = await plain();
    const extra = setup(w) ?? {};
    const run = await w.run(extra);
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(message);
    // Keycloak's placeholder for a secret the caller may not see is not a secret to mask.
    expect(run.masks).not.toContain(STRIPPED);
    expect(w.keycloak!.calls('POST', REGENERATE)).toHaveLength(0);
    expect(rotations(w)).toBe(0);
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    expect(client(w).secret).toBe(OLD_SECRET);
    expectClean(w, run, ['wrong-secret-0123', 'Twin-Secret-0123']);
  });

  const badInputs: [Record<string, string>, RegExp][] = [
    [{ 'keycloak-url': 'http://sso.example.com' }, /'keycloak-url'/],
    [{ 'keycloak-url': '' }, /'keycloak-url' is required/],
    [{ 'keycloak-realm': '../master' }, /'keycloak-realm'/],
    [{ 'keycloak-admin-realm': 'other' }, /'keycloak-admin-realm'.*master/],
    [{ 'keycloak-client-id': '' }, /'keycloak-client-id' is required/],
    [{ 'keycloak-client-id': 'a\u0007b' }, /'keycloak-client-id'/],
    [{ 'keycloak-admin-client-secret': '' }, /'keycloak-admin-client-secret' is required/],
    [{ 'keycloak-retire-previous': 'yes' }, /'keycloak-retire-previous'/],
    [{ 'keycloak-confirm-timeout': '11m' }, /'keycloak-confirm-timeout'.*10m/],
    [{ 'keycloak-confirm-timeout': '30' }, /'keycloak-confirm-timeout'.*duration/],
  ];
  it.each(badInputs)('names a bad input before any request: %o', async (extra, message) => {
    const w = await plain();
    const run = await w.run(extra);
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(message);
    expect(w.keycloak!.requests).toEqual([]);
    expect(w.github.requests).toEqual([]);
    clean(run);
  });
});

describe('keycloak faults', () => {
  const calls: [string, string, RegExp, string?][] = [
    ['sign-in', 'POST', TOKEN, `client_id=${KC_ADMIN}&`],
    ['client lookup', 'GET', /\/clients$/],
    ['secret read', 'GET', REGENERATE],
    ['read after the rotation', 'GET', /\/clients\/[^/]+$/],
    ['confirmation', 'POST', TOKEN, `client_id=${KC_CLIENT}&`],
    ['retire', 'DELETE', ROTATED],
  ];
  const faults: [string, Fault][] = [
    ['429', { ...adminError(429), headers: { 'retry-after': '0' } }],
    ['503', adminError(503)],
    ['a dropped connection', { drop: true }],
  ];
  for (const [what, method, path, body] of calls)
    it.each(faults)(`rides out %s on the ${what}`, async (_kind, fault) => {
      const w = await withPolicy();
      w.keycloak!.fault(method, path, {
        ...fault,
        times: 1,
        ...(body ? { bodyIncludes: body } : {}),
      });
      const run = await w.run({ 'keycloak-retire-previous': 'true' });
      expect(run.errors).toEqual([]);
      expect(rotations(w)).toBe(1);
      expect(stored(w)).toBe(w.currentSecret());
      expect(valid(w)).toEqual([stored(w)]);
      clean(run);
    });

  it('waits out a 429 on the regenerate call (refused before processing) and rotates once', async () => {
    const w = await plain();
    w.keycloak!.fault('POST', REGENERATE, {
      ...adminError(429),
      headers: { 'retry-after': '1' },
      times: 1,
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(rotations(w)).toBe(1);
    expect(w.keycloak!.calls('POST', REGENERATE)).toHaveLength(2);
    clean(run);
  });

  it('signs in again after a 401 on the regenerate call (the admin token expired) and rotates once', async () => {
    const w = await plain();
    w.keycloak!.fault('POST', REGENERATE, {
      times: 1,
      onMatch: () => w.keycloak!.expireAccessTokens(),
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(rotations(w)).toBe(1);
    expect(w.keycloak!.calls('POST', REGENERATE).map((r) => r.status)).toEqual([401, 200]);
    expect(stored(w)).toBe(w.currentSecret());
    clean(run);
  });

  it('a 401 on the regenerate call that came after the effect: reads the secret instead of regenerating twice', async () => {
    // Keycloak refuses an expired token before acting, but a proxy in front of it may answer 401
    // after Keycloak acted. A second regenerate under the policy would make the unknown first new
    // secret "the previous one" and kill the old secret at once.
    const w = await withPolicy();
    w.keycloak!.fault('POST', REGENERATE, { ...adminError(401), afterEffect: true, times: 1 });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(rotations(w)).toBe(1);
    expect(w.keycloak!.calls('POST', REGENERATE)).toHaveLength(1);
    expect(stored(w)).toBe(w.currentSecret());
    expect(valid(w)).toEqual([stored(w), OLD_SECRET]);
    expect(run.stdout).toContain('read back');
    clean(run);
  });

  it('a 401 on the regenerate call that came after the effect: a client that manages itself cannot look, and says the secret may have changed', async () => {
    const w = await plain();
    client(w).roles = { [KC_REALM]: ['manage-clients'] };
    w.keycloak!.fault('POST', REGENERATE, { ...adminError(401), afterEffect: true, times: 1 });
    const run = await w.run({
      'keycloak-admin-client-id': KC_CLIENT,
      'keycloak-admin-client-secret': OLD_SECRET,
    });
    expect(run.code).toBe(1);
    expect(rotations(w)).toBe(1);
    expect(w.keycloak!.calls('POST', REGENERATE)).toHaveLength(1);
    expect(run.errors.join('\n')).toMatch(/may have regenerated it.*Credentials tab/);
    expect(run.summary).toContain('may have taken effect');
    clean(run);
  });

  const lost: [string, Fault][] = [
    ['dropped after the effect', { drop: true, afterEffect: true }],
    ['a 502 after the effect', { ...adminError(502), afterEffect: true }],
    ['a success without the secret', { status: 200, body: {}, afterEffect: true }],
  ];
  it.each(lost)(
    'recovers the new secret from Keycloak when the regenerate answer is lost (%s)',
    async (_kind, fault) => {
      const w = await plain();
      w.keycloak!.fault('POST', REGENERATE, { ...fault, times: 1 });
      const run = await w.run();
      expect(run.errors).toEqual([]);
      expect(run.code).toBe(0);
      expect(rotations(w)).toBe(1);
      expect(w.keycloak!.calls('POST', REGENERATE)).toHaveLength(1);
      expect(stored(w)).toBe(w.currentSecret());
      expect(run.stdout).toContain('read back');
      // The read-back secret was masked before the line that says it was read back.
      const masked = lineOf(run, (l) => l === `::add-mask::${w.currentSecret()}`);
      expect(masked).toBeGreaterThan(-1);
      expect(masked).toBeLessThan(lineOf(run, (l) => l.includes('read back')));
      clean(run);
    },
  );

  it('a regenerate call that never took effect: said so after reading the secret, nothing stored', async () => {
    const w = await plain();
    w.keycloak!.fault('POST', REGENERATE, { drop: true, times: 1 });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/still the one from before.*old secret still works/);
    expect(rotations(w)).toBe(0);
    expect(w.keycloak!.calls('POST', REGENERATE)).toHaveLength(1);
    expect(valid(w)).toEqual([OLD_SECRET]);
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    clean(run);
  });

  it('a lost answer that cannot be resolved either: says the secret may have changed, nothing stored', async () => {
    const w = await plain();
    w.keycloak!.fault('POST', REGENERATE, { drop: true, afterEffect: true, times: 1 });
    w.keycloak!.fault('GET', REGENERATE, { ...adminError(503), skip: 1 });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/may have regenerated it.*Credentials tab/);
    expect(rotations(w)).toBe(1);
    expect(w.keycloak!.calls('POST', REGENERATE)).toHaveLength(1);
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    clean(run);
  });
});

describe('keycloak policy: one previous-secret slot across runs', () => {
  const TARGETS = `repo ${REPO}\nenvironment ${REPO} production`;
  const seeded = async (): Promise<World> => {
    const w = await withPolicy();
    const dayAgo = new Date(Date.now() - 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (const scope of [`repo:${REPO}`, `env:${REPO}:production`])
      w.github.seedSecret(scope, SECRET_NAME, OLD_SECRET, dayAgo);
    return w;
  };

  it('a re-run after a partial failure refuses before the rotating call while the failed target holds the rotated secret', async () => {
    const w = await seeded();
    const key = await recoveryKey();
    w.github.fault('PUT', /environments/, { status: 404, body: { message: 'Not Found' } });
    const inputs = { 'recovery-public-key': key.input, targets: TARGETS };
    const first = await w.run(inputs);
    expect(first.code).toBe(1);
    expect(first.errors.join('\n')).toMatch(
      /previous secret was kept and still works until \d{4}-/,
    );
    const second = await w.run(inputs);
    expect(second.code).toBe(1);
    expect(rotations(w)).toBe(1);
    const said = second.errors.join('\n');
    expect(said).toMatch(/Refusing to rotate: keycloak keeps one previous secret/);
    expect(said).toContain(`environment ${REPO} production was last written before that`);
    expect(said).toContain('keycloak-overwrite-previous: true');
    expect(valid(w)).toContain(OLD_SECRET);
    clean(first);
    clean(second);
  });

  it('with keycloak-overwrite-previous the re-run rotates, and its report never says the overwritten secret still works', async () => {
    const w = await seeded();
    const key = await recoveryKey();
    w.github.fault('PUT', /environments/, { status: 404, body: { message: 'Not Found' } });
    const inputs = { 'recovery-public-key': key.input, targets: TARGETS };
    expect((await w.run(inputs)).code).toBe(1);
    const second = await w.run({ ...inputs, 'keycloak-overwrite-previous': 'true' });
    expect(second.code).toBe(1);
    expect(rotations(w)).toBe(2);
    expect(valid(w)).not.toContain(OLD_SECRET);
    expect(second.errors.join('\n')).toContain(
      `environment ${REPO} production held the secret before it, which this rotation overwrote: it no longer works there.`,
    );
    clean(second);
  });

  it('rotate-if-expires-within decides by the rotated secret a failed target holds, not by the current one', async () => {
    const w = await seeded();
    const key = await recoveryKey();
    w.github.fault('PUT', /environments/, { status: 404, body: { message: 'Not Found' } });
    const inputs = { 'recovery-public-key': key.input, targets: TARGETS };
    expect((await w.run(inputs)).code).toBe(1);
    // The current secret lives 30 days, the rotated one that the environment holds 2: a run that
    // read the current expiry would skip as not due, and the environment would be locked out.
    const second = await w.run({ ...inputs, 'rotate-if-expires-within': '7d' });
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(
      /rotate-if-expires-within: the secret the targets hold \(the newest this rotation made by the time the oldest of 2 target secrets, \S+ in environment \S+ production, was last written, \S+\) expires at \S+ \(in (1|2) days?\), within the window; rotating\. The current secret was created after that/,
    );
    expect(second.errors.join('\n')).toMatch(
      /Refusing to rotate: keycloak keeps one previous secret/,
    );
    expect(rotations(w)).toBe(1);
    expect(valid(w)).toContain(OLD_SECRET);
    // Once the environment holds the current secret, the current expiry decides: not due.
    w.github.seedSecret(`env:${REPO}:production`, SECRET_NAME, client(w).secret);
    const third = await w.run({ ...inputs, 'rotate-if-expires-within': '7d' });
    expect(third.code, third.stdout).toBe(0);
    expect(third.outputs['rotated']).toBe('false');
    expect(third.stdout).toMatch(/expires at \S+ \(in (29|30) days\), outside the window/);
    clean(second);
    clean(third);
  });

  it('a run right after a fully successful one refuses to rotate yet; one more than 2 minutes after the writes rotates', async () => {
    const w = await seeded();
    expect((await w.run({ targets: TARGETS })).code).toBe(0);
    // A rotation this close after the writes could not later be told from the one before it.
    const second = await w.run({ targets: TARGETS });
    expect(second.code).toBe(1);
    expect(second.errors.join('\n')).toMatch(
      /Refusing to rotate yet: keycloak keeps one previous secret .*Nothing was changed\. Re-run after \S+/,
    );
    expect(rotations(w)).toBe(1);
    const later = { nodeArgs: pinnedClock(Date.now() + 150_000) };
    const third = await w.run({ targets: TARGETS }, later);
    expect(third.errors).toEqual([]);
    expect(rotations(w)).toBe(2);
    expect(third.stdout).toContain('every target was written since');
    clean(second);
    clean(third);
  });
});
