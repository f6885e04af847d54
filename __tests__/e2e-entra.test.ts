// Microsoft Entra end to end: the bundled action against the GitHub and Entra emulators. The promise:
// the person-made password always works, the new one is stored before anything is removed, and a run
// that stored nowhere takes its own password away again.
import { describe as describeInOrder, expect, it } from 'vitest';
import { MARKER } from '../src/providers/entra-app.ts';
import {
  APP_ID,
  MANAGER_ID,
  OLD_SECRET,
  REPO,
  SECRET_NAME,
  type World,
  worldOf,
  type WorldOptions,
} from './fixtures.ts';
import { expectClean, worldPerTest } from './checks.ts';
import { lineOf, pinnedClock, type Run, targets, useBundle } from './harness.ts';

// Each test starts its own world, so the tests of every describe in this file run concurrently.
const describe = describeInOrder.concurrent;
const start = worldPerTest();
const entra = (o?: WorldOptions): Promise<World> => start('entra', o);

/** Nothing leaked (removed passwords included: the world forgets them), GitHub saw only allowed requests. */
const clean = (run: Run): void => expectClean(worldOf(run), run);

const texts = (w: World): string[] => w.entra!.passwords(APP_ID).map((p) => p.secretText);
const made = (w: World) =>
  w.entra!.passwords(APP_ID).filter((p) => p.displayName?.startsWith(MARKER));
const stored = (w: World, name = SECRET_NAME): string | undefined =>
  w.github.secret(`repo:${REPO}`, name)?.value;
const adds = (w: World) => w.entra!.calls('POST', /\/addPassword$/);
const removes = (w: World) => w.entra!.calls('POST', /\/removePassword$/);
const removedKeyIds = (w: World): string[] =>
  removes(w).map((r) => (JSON.parse(r.body) as { keyId: string }).keyId);

/** Token requests with their form decoded; `client` filters by client_id. */
function tokenCalls(
  w: World,
  client?: string,
): { form: URLSearchParams; status: number | string; at: number }[] {
  return w
    .entra!.calls('POST', /\/oauth2\/v2\.0\/token$/)
    .map((r) => ({ form: new URLSearchParams(r.body), status: r.status, at: r.at }))
    .filter((c) => client === undefined || c.form.get('client_id') === client);
}

/** Token requests that tried `secret` as the target app's own secret: the confirmation. */
const confirmations = (w: World, secret: string) =>
  tokenCalls(w, APP_ID).filter((c) => c.form.get('client_secret') === secret);

describe('entra rotation', () => {
  // This suite's runs spawn the bundle, as the runner does; the file's other suites run in process.
  useBundle();
  it('adds one marked password with the asked lifetime, stores it, masks it first and confirms it signs in', async () => {
    const w = await entra();
    const before = Date.now();
    const run = await w.run({ 'entra-secret-lifetime-days': '30' });
    const after = Date.now();
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(adds(w)).toHaveLength(1);
    expect(texts(w)).toHaveLength(2);
    expect(texts(w)[0]).toBe(OLD_SECRET);
    const [p] = made(w);
    expect(p!.displayName!.startsWith(`${MARKER} `)).toBe(true);
    const end = Date.parse(p!.endDateTime);
    expect(end).toBeGreaterThanOrEqual(before + 30 * 86_400_000 - 1000);
    expect(end).toBeLessThanOrEqual(after + 30 * 86_400_000);
    expect(stored(w)).toBe(p!.secretText);
    expect(run.outputs).toMatchObject({
      rotated: 'true',
      'client-id': APP_ID,
      'credential-id': p!.keyId,
      'secret-expires-at': p!.endDateTime,
    });
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'written' },
    ]);
    const masked = lineOf(run, (l) => l === `::add-mask::${p!.secretText}`);
    expect(masked).toBeGreaterThan(-1);
    expect(masked).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
    // Confirmed once, with the new secret, after GitHub verified it; the person-made password is untouched.
    const confirmed = confirmations(w, p!.secretText);
    expect(confirmed.map((c) => c.status)).toEqual([200]);
    const lastVerify = Math.max(
      ...w.github.calls('GET', new RegExp(`/secrets/${SECRET_NAME}$`)).map((r) => r.at),
    );
    expect(confirmed[0]!.at).toBeGreaterThanOrEqual(lastVerify);
    expect(removes(w)).toHaveLength(0);
    expect(w.entra!.secretWorks(APP_ID, OLD_SECRET)).toBe(true);
    expect(run.summary).toContain('Client secret rotated');
    clean(run);
  });

  it('signs in with the job OIDC token as the client assertion (no client secret) and rotates', async () => {
    const w = await entra();
    const run = await w.run({ 'entra-auth': 'oidc', 'entra-auth-client-secret': '' });
    expect(run.errors).toEqual([]);
    expect(w.github.issuedOidcTokens).toHaveLength(1);
    expect(w.github.oidcAudiences).toEqual(['api://AzureADTokenExchange']);
    const signIns = tokenCalls(w, MANAGER_ID);
    expect(signIns).toHaveLength(1);
    expect(signIns[0]!.status).toBe(200);
    expect(signIns[0]!.form.get('client_assertion')).toBe(w.github.issuedOidcTokens[0]);
    expect(signIns[0]!.form.get('client_assertion_type')).toBe(
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    );
    expect(signIns[0]!.form.has('client_secret')).toBe(false);
    expect(run.masks).toContain(w.github.issuedOidcTokens[0]);
    expect(adds(w)).toHaveLength(1);
    expect(stored(w)).toBe(made(w)[0]!.secretText);
    expect(run.outputs['rotated']).toBe('true');
    clean(run);
  });

  it('fails clearly, asking for id-token: write, when the job cannot get an OIDC token; nothing rotated', async () => {
    const w = await entra();
    const run = await w.run(
      { 'entra-auth': 'oidc', 'entra-auth-client-secret': '' },
      { env: { ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' } },
    );
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain('id-token: write');
    expect(w.entra!.requests).toHaveLength(0);
    expect(texts(w)).toEqual([OLD_SECRET]);
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    expect(run.outputs['rotated']).toBe('false');
    clean(run);
  });
});

describe('entra removal of earlier passwords', () => {
  it('a second run removes the password the first run made and keeps the person-made one', async () => {
    const w = await entra();
    const first = await w.run();
    expect(first.errors).toEqual([]);
    const firstMade = made(w)[0]!;
    const second = await w.run();
    expect(second.errors).toEqual([]);
    expect(removedKeyIds(w)).toEqual([firstMade.keyId]);
    expect(texts(w)).toEqual([OLD_SECRET, w.currentSecret()]);
    expect(w.currentSecret()).not.toBe(firstMade.secretText);
    expect(stored(w)).toBe(w.currentSecret());
    expect(second.summary).toMatch(/Retired.*1 earlier password/);
    clean(first);
    clean(second);
  });

  it('with entra-remove-previous: false nothing is removed', async () => {
    const w = await entra();
    const first = await w.run({ 'entra-remove-previous': 'false' });
    const second = await w.run({ 'entra-remove-previous': 'false' });
    expect(first.errors).toEqual([]);
    expect(second.errors).toEqual([]);
    expect(removes(w)).toHaveLength(0);
    expect(made(w)).toHaveLength(2);
    expect(texts(w)[0]).toBe(OLD_SECRET);
    expect(stored(w)).toBe(made(w)[1]!.secretText);
    // Still confirmed before the run counts as done.
    expect(confirmations(w, made(w)[1]!.secretText).at(-1)!.status).toBe(200);
    clean(first);
    clean(second);
  });
});

describe('entra propagation', () => {
  it('waits for a slow new password and removes earlier ones only after it works', async () => {
    const w = await entra({ propagationDelayMs: 3000 });
    w.entra!.propagationDelayMs = 0; // the earlier run is not what is under test here
    const first = await w.run();
    expect(first.errors).toEqual([]);
    const earlier = made(w)[0]!;
    w.entra!.propagationDelayMs = 3000;
    const run = await w.run({ 'entra-propagation-timeout': '30s' });
    expect(run.errors).toEqual([]);
    expect(run.stdout).toContain('does not work yet (Entra propagation); waiting');
    const newest = w.currentSecret();
    const tries = confirmations(w, newest);
    expect(tries.length).toBeGreaterThanOrEqual(2);
    expect(tries.slice(0, -1).every((t) => t.status === 401)).toBe(true);
    expect(tries.at(-1)!.status).toBe(200);
    expect(removedKeyIds(w)).toEqual([earlier.keyId]);
    expect(removes(w)[0]!.at).toBeGreaterThanOrEqual(tries.at(-1)!.at);
    expect(texts(w)).toEqual([OLD_SECRET, newest]);
    expect(stored(w)).toBe(newest);
    clean(first);
    clean(run);
  });

  it('fails past entra-propagation-timeout, keeping the earlier passwords and the stored new one', async () => {
    const w = await entra({ propagationDelayMs: 8000 });
    w.entra!.propagationDelayMs = 0;
    const first = await w.run();
    expect(first.errors).toEqual([]);
    const earlier = made(w)[0]!;
    // Far beyond the timeout, so that giving up at the timeout shows in the run's time even on a
    // loaded machine.
    w.entra!.propagationDelayMs = 60_000;
    const run = await w.run({ 'entra-propagation-timeout': '2s' });
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(
      /stored .*did not obtain a token within entra-propagation-timeout.*earlier passwords were kept/,
    );
    expect(removes(w)).toHaveLength(0);
    const newest = made(w)[1]!;
    expect(texts(w)).toEqual([OLD_SECRET, earlier.secretText, newest.secretText]);
    expect(stored(w)).toBe(newest.secretText);
    expect(confirmations(w, newest.secretText).every((c) => c.status === 401)).toBe(true);
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'written' },
    ]);
    expect(run.outputs['rotated']).toBe('true');
    expect(run.ms).toBeLessThan(30_000);
    clean(first);
    clean(run);
  });
});

describe('entra failures', () => {
  it('removes its new password again when every GitHub write fails; the old secret still works', async () => {
    const w = await entra();
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, {
      status: 422,
      body: { message: 'Unprocessable' },
    });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(adds(w)).toHaveLength(1);
    const [gone] = w.entra!.removedPasswords(APP_ID);
    expect(gone!.displayName!.startsWith(MARKER)).toBe(true);
    expect(removedKeyIds(w)).toEqual([gone!.keyId]);
    expect(texts(w)).toEqual([OLD_SECRET]);
    expect(w.entra!.secretWorks(APP_ID, OLD_SECRET)).toBe(true);
    expect(stored(w)).toBeUndefined();
    expect(confirmations(w, gone!.secretText)).toHaveLength(0);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain('Undid the rotation (removed the new Entra password');
    expect(run.errors[0]).toContain('previous secret still works');
    expect(run.summary).toMatch(/\| Undone \| removed the new Entra password/);
    expect(run.outputs['rotated']).toBe('false');
    expect(run.outputs['recovery']).toBeUndefined();
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'failed' },
    ]);
    clean(run);
  });

  it('explains a refused addPassword with the permission the managing app needs; nothing added or stored', async () => {
    const w = await entra();
    w.entra!.setCanWrite(MANAGER_ID, false);
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain('HTTP 403');
    expect(run.errors[0]).toContain('Authorization_RequestDenied');
    expect(run.errors[0]).toContain('Application.ReadWrite.OwnedBy');
    expect(adds(w).map((r) => r.status)).toEqual([403]);
    expect(texts(w)).toEqual([OLD_SECRET]);
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    expect(run.outputs['rotated']).toBe('false');
    clean(run);
  });
});

describe('entra options', () => {
  it('client-id-secret-name stores the application id beside the secret', async () => {
    const w = await entra();
    const run = await w.run({ 'client-id-secret-name': 'CLIENT_ID' });
    expect(run.errors).toEqual([]);
    expect(stored(w, 'CLIENT_ID')).toBe(APP_ID);
    expect(stored(w)).toBe(w.currentSecret());
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'written' },
      { target: `repo ${REPO}`, secret: 'CLIENT_ID', status: 'written' },
    ]);
    clean(run);
  });

  it('dry run signs in and lists the passwords, adds nothing and stores nothing', async () => {
    const w = await entra();
    const run = await w.run({ 'dry-run': 'true' });
    expect(run.code).toBe(0);
    expect(run.errors).toEqual([]);
    expect(tokenCalls(w, MANAGER_ID).map((c) => c.status)).toEqual([200]);
    expect(w.entra!.calls('GET', /applications/).map((r) => r.status)).toEqual([200]);
    expect(w.entra!.calls('POST', /Password$/)).toHaveLength(0);
    expect(tokenCalls(w, APP_ID)).toHaveLength(0);
    expect(texts(w)).toEqual([OLD_SECRET]);
    expect(w.github.calls('GET', /public-key$/)).toHaveLength(1);
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    expect(run.outputs['rotated']).toBe('false');
    expect(run.summary).toContain('Dry run');
    clean(run);
  });
});

describe('entra evidence unique to this run', () => {
  it('a re-run within the same second whose addPassword answer is lost removes only its own password, found by a name no earlier run can have used', async () => {
    const w = await entra();
    // Same instant, same run id and attempt: before the nonce, both passwords had one name.
    const pin = { nodeArgs: pinnedClock(Math.floor(Date.now() / 1000) * 1000 + 100) };
    const first = await w.run({}, pin);
    expect(first.errors).toEqual([]);
    const firstSecret = stored(w)!;
    w.entra!.fault('POST', /\/addPassword$/, { drop: true, afterEffect: true, times: 1 });
    const second = await w.run({}, pin);
    expect(second.code).toBe(1);
    expect(adds(w)).toHaveLength(2);
    // The target still holds the first run's password, and it still works.
    expect(stored(w)).toBe(firstSecret);
    expect(texts(w)).toEqual([OLD_SECRET, firstSecret]);
    expect(w.entra!.secretWorks(APP_ID, firstSecret)).toBe(true);
    const [one, two] = w
      .entra!.calls('POST', /\/addPassword$/)
      .map(
        (r) =>
          (JSON.parse(r.body) as { passwordCredential: { displayName: string } }).passwordCredential
            .displayName,
      );
    expect(one).not.toBe(two);
    expect(removes(w)).toHaveLength(1);
    expect(second.errors[0]).toMatch(/found 1 password\(s\) from this attempt, now removed/);
    clean(first);
    clean(second);
  }, 30_000);

  it('removes as earlier only the passwords listed before it rotated: one with the same tag added meanwhile (another workflow) stays', async () => {
    const w = await entra();
    const first = await w.run();
    expect(first.errors).toEqual([]);
    const earlier = made(w)[0]!;
    let meanwhile: string | undefined;
    // While this run stores its secret, another workflow with the same tag adds its own password.
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, {
      times: 1,
      onMatch: () => {
        meanwhile = w.entra!.addPasswordTo(APP_ID, {
          secretText: 'Other-Workflow-Secret-0123456789',
          displayName: `${earlier.displayName!.split('] ')[0]}] 2026-01-01T00:00:00.000Z run 9999-1`,
        }).keyId;
      },
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(meanwhile).toBeDefined();
    expect(removedKeyIds(w)).toEqual([earlier.keyId]);
    expect(w.entra!.passwords(APP_ID).map((p) => p.keyId)).toContain(meanwhile);
    expect(w.entra!.secretWorks(APP_ID, 'Other-Workflow-Secret-0123456789')).toBe(true);
    expect(run.summary).toMatch(/Retired.*1 earlier password/);
    clean(first);
    clean(run);
  }, 30_000);
});
