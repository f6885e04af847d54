// Woodpecker end to end: the bundled action against the GitHub, Entra and Woodpecker emulators. The new
// secret is minted in Entra (or brought by the workflow) and saved in Woodpecker, which checks it
// against Entra first. What e2e-reliability.test.ts already covers (a bad API key or a read-only
// token stopping before any rotating call) is not repeated here beyond the error text.
import { describe as describeInOrder, expect, it } from 'vitest';
import { woodpeckerError } from './emulators/woodpecker.ts';
import {
  APP_ID,
  OLD_SECRET,
  REPO,
  SECRET_NAME,
  TENANT,
  WOODPECKER_CREDENTIAL,
  type World,
  worldOf,
} from './fixtures.ts';
import { expectClean, recoveryKey, worldPerTest } from './checks.ts';
import { lineOf, pinnedClock, type Run, targets, useBundle } from './harness.ts';

// Each test starts its own world, so the tests of every describe in this file run concurrently.
const describe = describeInOrder.concurrent;
const start = worldPerTest();
const woodpecker = (propagationDelayMs = 0): Promise<World> =>
  start('woodpecker', { propagationDelayMs });

const CREDENTIAL_PATH = new RegExp(`/credentials/${WOODPECKER_CREDENTIAL}$`);
const LIST_PATH = /\/v2\/mailboxes\/microsoft\/credentials$/;
const OTHER_CLIENT = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';

/** The bodies the action sent to Woodpecker to save a secret (PATCH and POST), parsed. */
function saves(w: World, method: 'PATCH' | 'POST'): Record<string, string>[] {
  const path = method === 'PATCH' ? /\/credentials\/\d+$/ : LIST_PATH;
  return w.woodpecker!.calls(method, path).map((r) => JSON.parse(r.body) as Record<string, string>);
}

const addPasswords = (w: World): number => w.entra!.calls('POST', /addPassword$/).length;
const stored = (w: World): string | undefined =>
  w.github.secret(`repo:${REPO}`, SECRET_NAME)?.value;
const entraSecrets = (w: World): string[] => w.entra!.passwords(APP_ID).map((p) => p.secretText);
const held = (w: World, id = WOODPECKER_CREDENTIAL) => w.woodpecker!.credential(id)!;

/**
 * Holds after every run: nothing leaked (every secret the world knows, every secret sent to Woodpecker,
 * even one Entra has since removed, and everything the run masked), GitHub saw only requests its
 * OpenAPI description allows, and Woodpecker never saw two requests at once.
 */
function clean(run: Run): void {
  const w = worldOf(run);
  const sent = [...saves(w, 'PATCH'), ...saves(w, 'POST')]
    .map((b) => b['client_secret'])
    .filter((s): s is string => !!s);
  expectClean(w, run, [...sent, ...run.masks.filter((m) => m.length >= 6)]);
}

/** Nothing stored in GitHub, Woodpecker and Entra as before the run: the old secret works on both sides. */
function untouched(w: World): void {
  expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
  expect(stored(w)).toBeUndefined();
  expect(held(w).secret).toBe(OLD_SECRET);
  expect(held(w).secretUpdates).toBe(0);
  expect(entraSecrets(w)).toEqual([OLD_SECRET]);
  expect(w.entra!.secretWorks(APP_ID, OLD_SECRET)).toBe(true);
}

describe('woodpecker rotation', () => {
  // This suite's runs spawn the bundle, as the runner does; the file's other suites run in process.
  useBundle();
  it('PATCHes the credential named by woodpecker-credential-id with secret, expiry and name together, and stores the same secret', async () => {
    const w = await woodpecker();
    const run = await w.run({
      'woodpecker-credential-id': String(WOODPECKER_CREDENTIAL),
      'woodpecker-credential-name': 'MS Graph app - production',
      'entra-secret-lifetime-days': '90',
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(addPasswords(w)).toBe(1);
    const secret = stored(w)!;
    expect(secret).not.toBe(OLD_SECRET);
    expect(secret).toBe(held(w).secret);
    expect(secret).toBe(entraSecrets(w).at(-1));
    const patches = saves(w, 'PATCH');
    expect(w.woodpecker!.calls('PATCH', CREDENTIAL_PATH)).toHaveLength(1);
    expect(patches).toEqual([
      {
        client_secret: secret,
        secret_expires_at: held(w).secretExpiresAt,
        name: 'MS Graph app - production',
      },
    ]);
    expect(saves(w, 'POST')).toHaveLength(0);
    expect(held(w)).toMatchObject({ name: 'MS Graph app - production', secretUpdates: 1 });
    // The expiry is Entra's, to the second, about 90 days out.
    const expires = run.outputs['secret-expires-at']!;
    expect(expires).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(expires).toBe(held(w).secretExpiresAt);
    expect(expires).toBe(
      w
        .entra!.passwords(APP_ID)
        .at(-1)!
        .endDateTime.replace(/\.\d{3}Z$/, 'Z'),
    );
    expect(Math.abs(Date.parse(expires) - (Date.now() + 90 * 86_400_000))).toBeLessThan(3_600_000);
    expect(run.outputs).toMatchObject({
      rotated: 'true',
      'client-id': APP_ID,
      'credential-id': String(WOODPECKER_CREDENTIAL),
    });
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'written' },
    ]);
    // The person-made password stays; the new one works.
    expect(entraSecrets(w)).toEqual([OLD_SECRET, secret]);
    expect(w.entra!.secretWorks(APP_ID, secret)).toBe(true);
    const masked = lineOf(run, (l) => l === `::add-mask::${secret}`);
    expect(masked).toBeGreaterThan(-1);
    expect(masked).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
    clean(run);
  });

  it('finds the credential by client id in the listing, PATCHes it, and only then retires the password it replaced', async () => {
    const w = await woodpecker();
    w.woodpecker!.addCredential({
      credentialId: 11112222,
      tenantId: TENANT,
      clientId: OTHER_CLIENT,
      secret: 'Other-Client-Secret-0123',
      secretExpiresAt: '2027-06-01T00:00:00Z',
    });
    // Woodpecker's current secret was made by an earlier run of this action.
    w.entra!.addApp(APP_ID, {
      initialPasswords: [
        {
          secretText: OLD_SECRET,
          displayName:
            'rotated by rotate-client-secret-action [woodpecker octo/app CLIENT_SECRET] 2025-01-01T00:00:00.000Z run 1-1',
        },
      ],
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    const secret = stored(w)!;
    expect(w.woodpecker!.calls('PATCH', /\/credentials\/\d+$/).map((r) => r.path)).toEqual([
      `/rest/v2/mailboxes/microsoft/credentials/${WOODPECKER_CREDENTIAL}`,
    ]);
    expect(saves(w, 'PATCH')).toEqual([
      { client_secret: secret, secret_expires_at: held(w).secretExpiresAt },
    ]);
    expect(saves(w, 'POST')).toHaveLength(0);
    expect(held(w).secret).toBe(secret);
    expect(held(w).name).toBe('MS Graph app');
    expect(w.woodpecker!.credential(11112222)).toMatchObject({
      secret: 'Other-Client-Secret-0123',
      secretUpdates: 0,
    });
    expect(run.outputs['credential-id']).toBe(String(WOODPECKER_CREDENTIAL));
    expect(entraSecrets(w)).toEqual([secret]);
    const removed = w.entra!.calls('POST', /removePassword$/);
    expect(removed).toHaveLength(1);
    expect(removed[0]!.at).toBeGreaterThanOrEqual(
      w.woodpecker!.calls('PATCH', CREDENTIAL_PATH)[0]!.at,
    );
    expect(removed[0]!.at).toBeGreaterThanOrEqual(
      Math.max(...w.github.calls('GET', /secrets\/CLIENT_SECRET$/).map((r) => r.at)),
    );
    clean(run);
  });

  it('creates the credential with POST when none exists for the client id, and outputs the new id', async () => {
    const w = await woodpecker();
    w.woodpecker!.removeCredential(WOODPECKER_CREDENTIAL);
    w.woodpecker!.addCredential({
      credentialId: 11112222,
      tenantId: TENANT,
      clientId: OTHER_CLIENT,
      secret: 'Other-Client-Secret-0123',
      secretExpiresAt: '2027-06-01T00:00:00Z',
    });
    const run = await w.run({ 'woodpecker-credential-name': 'MS Graph app - created' });
    expect(run.errors).toEqual([]);
    expect(addPasswords(w)).toBe(1);
    expect(saves(w, 'PATCH')).toHaveLength(0);
    const secret = stored(w)!;
    const posts = saves(w, 'POST');
    expect(posts).toEqual([
      {
        tenant_id: TENANT,
        client_id: APP_ID,
        client_secret: secret,
        secret_expires_at: expect.stringMatching(/Z$/),
        name: 'MS Graph app - created',
      },
    ]);
    const created = w.woodpecker!.credentials().filter((c) => c.clientId === APP_ID);
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      tenantId: TENANT,
      secret,
      name: 'MS Graph app - created',
      secretExpiresAt: posts[0]!['secret_expires_at'],
    });
    expect([WOODPECKER_CREDENTIAL, 11112222]).not.toContain(created[0]!.credentialId);
    expect(run.outputs).toMatchObject({
      rotated: 'true',
      'credential-id': String(created[0]!.credentialId),
      'client-id': APP_ID,
      'secret-expires-at': posts[0]!['secret_expires_at'],
    });
    expect(w.woodpecker!.credential(11112222)!.secret).toBe('Other-Client-Secret-0123');
    clean(run);
  });

  it('saves and stores a secret brought by the workflow without minting one in Entra', async () => {
    const w = await woodpecker();
    const given = 'Given-Secret-Value-9876543210~';
    w.entra!.addApp(APP_ID, {
      initialPasswords: [
        { secretText: OLD_SECRET, displayName: 'made by a person' },
        { secretText: given, displayName: 'made by hand for Woodpecker' },
      ],
    });
    const run = await w.run({
      'woodpecker-credential-id': String(WOODPECKER_CREDENTIAL),
      'woodpecker-client-secret': given,
      'woodpecker-secret-expires-at': '2028-06-30T12:00:00Z',
    });
    expect(run.errors).toEqual([]);
    expect(w.entra!.requests).toEqual([]);
    expect(stored(w)).toBe(given);
    expect(held(w)).toMatchObject({
      secret: given,
      secretExpiresAt: '2028-06-30T12:00:00Z',
      secretUpdates: 1,
    });
    expect(saves(w, 'PATCH')).toEqual([
      { client_secret: given, secret_expires_at: '2028-06-30T12:00:00Z' },
    ]);
    expect(run.outputs).toMatchObject({
      rotated: 'true',
      'credential-id': String(WOODPECKER_CREDENTIAL),
      'secret-expires-at': '2028-06-30T12:00:00Z',
    });
    expect(entraSecrets(w)).toEqual([OLD_SECRET, given]);
    expect(lineOf(run, (l) => l === `::add-mask::${given}`)).toBeLessThan(
      lineOf(run, (l) => l.startsWith('Rotated ')),
    );
    clean(run);
  });

  it('does nothing on a dry run: no Entra password, no save, nothing stored', async () => {
    const w = await woodpecker();
    const run = await w.run({ 'dry-run': 'true' });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({
      rotated: 'false',
      'credential-id': String(WOODPECKER_CREDENTIAL),
      'secret-expires-at': '',
    });
    expect(addPasswords(w)).toBe(0);
    expect(w.woodpecker!.calls('PATCH', /.*/)).toHaveLength(0);
    expect(w.woodpecker!.calls('POST', /.*/)).toHaveLength(0);
    expect(w.woodpecker!.calls('GET', LIST_PATH)).toHaveLength(1);
    expect(w.github.calls('GET', /public-key$/)).toHaveLength(1);
    untouched(w);
    expect(run.summary).toContain('Dry run');
    clean(run);
  });
});

describe('woodpecker and Entra propagation', () => {
  it('retries INVALID_CLIENT_SECRET while the new password propagates, minting only once', async () => {
    const w = await woodpecker(3000);
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(addPasswords(w)).toBe(1);
    const patches = w.woodpecker!.calls('PATCH', CREDENTIAL_PATH);
    expect(patches.length).toBeGreaterThanOrEqual(2);
    expect(patches.map((p) => p.status)).toEqual([
      ...Array<number>(patches.length - 1).fill(422),
      200,
    ]);
    expect(new Set(saves(w, 'PATCH').map((b) => b['client_secret'])).size).toBe(1);
    expect(run.stdout).toContain(
      'Woodpecker cannot use the new secret yet (Entra propagation); retrying.',
    );
    expect(stored(w)).toBe(held(w).secret);
    expect(stored(w)).toBe(entraSecrets(w).at(-1));
    expect(entraSecrets(w)).toEqual([OLD_SECRET, stored(w)]);
    clean(run);
  }, 20_000);

  it('gives up after entra-propagation-timeout: removes the new password, Woodpecker keeps the old secret, nothing stored', async () => {
    // Far beyond the timeout, so that giving up at the timeout shows in the run's time even on a
    // loaded machine.
    const w = await woodpecker(60_000);
    const run = await w.run({ 'entra-propagation-timeout': '2s' });
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(30_000);
    expect(addPasswords(w)).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(
      /Could not update Woodpecker credential 22334455: HTTP 422 .*INVALID_CLIENT_SECRET.* still refused the secret after 2 s of retries \(entra-propagation-timeout\)\. Removed the new Entra password; the old secret still works in Woodpecker and Entra\./,
    );
    const sent = saves(w, 'PATCH')[0]!['client_secret']!;
    expect(w.entra!.secretWorks(APP_ID, sent)).toBe(false);
    expect(w.entra!.calls('POST', /removePassword$/)).toHaveLength(1);
    untouched(w);
    expect(run.outputs['rotated']).toBe('false');
    clean(run);
  }, 20_000);
});

describe('woodpecker errors', () => {
  it.each([
    [
      'a wrong API key (401)',
      { 'woodpecker-api-key': 'wrong-woodpecker-key-000' },
      /Could not list Woodpecker .*: HTTP 401 .*Unauthorized: Invalid api key; check woodpecker-api-key/,
    ],
    [
      'an unknown woodpecker-credential-id (404)',
      { 'woodpecker-credential-id': '99999999' },
      /Woodpecker has no Microsoft Graph credential 99999999 \(woodpecker-credential-id\)/,
    ],
  ])('stops at preflight on %s with a clear message', async (_name, extra, message) => {
    const w = await woodpecker();
    const run = await w.run(extra);
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(message);
    expect(addPasswords(w)).toBe(0);
    expect(w.woodpecker!.calls('PATCH', /.*/)).toHaveLength(0);
    expect(w.woodpecker!.calls('POST', /.*/)).toHaveLength(0);
    untouched(w);
    clean(run);
  });

  it('maps 422 CLIENT_SECRET_AND_EXPIRY_MUST_BE_PROVIDED_TOGETHER to a clear message and removes the new Entra password', async () => {
    const w = await woodpecker();
    w.woodpecker!.fault('PATCH', CREDENTIAL_PATH, {
      status: 422,
      body: { message: 'CLIENT_SECRET_AND_EXPIRY_MUST_BE_PROVIDED_TOGETHER' },
    });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(
      /Could not update Woodpecker credential 22334455: HTTP 422 .*Woodpecker says CLIENT_SECRET_AND_EXPIRY_MUST_BE_PROVIDED_TOGETHER.*Removed the new Entra password/,
    );
    expect(addPasswords(w)).toBe(1);
    expect(w.woodpecker!.calls('PATCH', CREDENTIAL_PATH)).toHaveLength(1);
    untouched(w);
    clean(run);
  });

  it('after a 500 on the PATCH that saved nothing: checks the listing, removes the new Entra password, keeps the old secret', async () => {
    const w = await woodpecker();
    w.woodpecker!.fault('PATCH', CREDENTIAL_PATH, { status: 500, body: woodpeckerError(500) });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(
      /Could not update Woodpecker credential 22334455: HTTP 500 .*Internal server error.*Removed the new Entra password; the old secret still works/,
    );
    expect(addPasswords(w)).toBe(1);
    const lastPatch = Math.max(...w.woodpecker!.calls('PATCH', CREDENTIAL_PATH).map((r) => r.at));
    expect(w.woodpecker!.calls('GET', LIST_PATH).filter((r) => r.at >= lastPatch)).toHaveLength(1);
    untouched(w);
    clean(run);
  }, 20_000);

  it('after a 500 on the PATCH that did save: learns it from the listing and stores the new secret', async () => {
    const w = await woodpecker();
    w.woodpecker!.fault('PATCH', CREDENTIAL_PATH, {
      status: 500,
      body: woodpeckerError(500),
      afterEffect: true,
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Woodpecker did save the new secret');
    expect(addPasswords(w)).toBe(1);
    expect(new Set(saves(w, 'PATCH').map((b) => b['client_secret'])).size).toBe(1);
    expect(stored(w)).toBe(held(w).secret);
    expect(stored(w)).toBe(entraSecrets(w).at(-1));
    expect(stored(w)).not.toBe(OLD_SECRET);
    expect(run.outputs).toMatchObject({
      rotated: 'true',
      'credential-id': String(WOODPECKER_CREDENTIAL),
      'secret-expires-at': held(w).secretExpiresAt,
    });
    clean(run);
  }, 20_000);

  it('a PATCH that saved with its answer lost, then refused with INVALID_CLIENT_SECRET on every retry: the listing shows the save, so the new password is kept and stored', async () => {
    const w = await woodpecker();
    // The first attempt saves (Woodpecker's check reached a replica of Entra that knew the password);
    // the answer is lost, and every resend meets one that does not know it yet.
    w.woodpecker!.fault('PATCH', CREDENTIAL_PATH, { drop: true, afterEffect: true, times: 1 });
    w.woodpecker!.fault('PATCH', CREDENTIAL_PATH, {
      status: 422,
      body: { message: 'INVALID_CLIENT_SECRET' },
      skip: 1,
    });
    const run = await w.run({ 'entra-propagation-timeout': '2s' });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(held(w).secretUpdates).toBe(1);
    expect(held(w).secret).not.toBe(OLD_SECRET);
    expect(stored(w)).toBe(held(w).secret);
    expect(w.entra!.secretWorks(APP_ID, held(w).secret)).toBe(true);
    expect(entraSecrets(w)).toEqual([OLD_SECRET, held(w).secret]);
    expect(run.stdout).toContain('Woodpecker did save the new secret');
    clean(run);
  }, 30_000);
});

describe('woodpecker recovery', () => {
  it('when every GitHub write fails after Woodpecker saved: keeps the new secret in Woodpecker and Entra, emits the recovery blob, fails', async () => {
    const w = await woodpecker();
    const key = await recoveryKey();
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, {
      status: 422,
      body: { message: 'Unprocessable' },
    });
    const run = await w.run({ 'recovery-public-key': key.input });
    expect(run.code).toBe(1);
    const secret = held(w).secret;
    expect(secret).not.toBe(OLD_SECRET);
    expect(key.open(run.outputs['recovery']!)).toBe(secret);
    expect(w.entra!.secretWorks(APP_ID, secret)).toBe(true);
    expect(entraSecrets(w)).toEqual([OLD_SECRET, secret]);
    expect(w.entra!.calls('POST', /removePassword$/)).toHaveLength(0);
    expect(stored(w)).toBeUndefined();
    expect(run.outputs['rotated']).toBe('false');
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'failed' },
    ]);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(
      /1 of 1 secret write\(s\) failed.*Woodpecker credential 22334455.*recovery.* Woodpecker credential 22334455 already uses the new secret\.$/,
    );
    expect(run.summary).toContain(run.outputs['recovery']);
    clean(run);
  });
});

describe('woodpecker re-runs', () => {
  it("a re-run within the same second whose every PATCH is redirected: the listing shows the earlier run's expiry, so nothing counts as saved and nothing is removed", async () => {
    const w = await woodpecker();
    // Both runs see the same instant: their Entra passwords get the same expiry to the second.
    const pin = { nodeArgs: pinnedClock(Math.floor(Date.now() / 1000) * 1000 + 100) };
    const first = await w.run({}, pin);
    expect(first.errors).toEqual([]);
    const firstSecret = held(w).secret;
    const firstExpiry = held(w).secretExpiresAt;
    expect(stored(w)).toBe(firstSecret);
    w.woodpecker!.fault('PATCH', CREDENTIAL_PATH, { status: 307, body: '' });
    const second = await w.run({}, pin);
    expect(second.code).toBe(1);
    expect(addPasswords(w)).toBe(2);
    // Woodpecker and every target keep the first run's secret, which still works.
    expect(held(w)).toMatchObject({ secret: firstSecret, secretExpiresAt: firstExpiry });
    expect(stored(w)).toBe(firstSecret);
    expect(w.entra!.secretWorks(APP_ID, firstSecret)).toBe(true);
    // The second run's password was taken back; nothing of the first run's was removed.
    expect(entraSecrets(w)).toEqual([OLD_SECRET, firstSecret]);
    // Its expiry differed from the one Woodpecker showed in preflight, by a second at most.
    const sent = saves(w, 'PATCH').at(-1)!['secret_expires_at']!;
    expect(sent).not.toBe(firstExpiry);
    expect(Math.abs(Date.parse(sent) - Date.parse(firstExpiry))).toBeLessThanOrEqual(1000);
    expect(second.outputs['rotated']).toBe('false');
    expect(second.errors).toHaveLength(1);
    expect(second.errors[0]).toMatch(
      /Could not update Woodpecker credential 22334455: unexpected redirect \(HTTP 307\).*Removed the new Entra password; the old secret still works in Woodpecker and Entra\./,
    );
    expect(second.stdout).not.toContain('Woodpecker did save the new secret');
    clean(first);
    clean(second);
  }, 30_000);
});
