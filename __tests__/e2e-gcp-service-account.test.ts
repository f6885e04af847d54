// Google Cloud service account keys end to end: the bundled action against the GitHub and Google
// Cloud emulators, signed in through Workload Identity Federation with the job's OIDC token. The
// promise: the keys enabled before the run sign until every target holds the new key file and the new
// key mints a token; the account never keeps a key nobody holds; a full account and the organization
// policy are refused before anything changes; the key the run signs in with is never touched.
import { describe as describeInOrder, expect, it } from 'vitest';
import { gcpError } from './emulators/gcp.ts';
import { methodOf, requestProblems } from './emulators/gcp-models.ts';
import {
  GCP_ROTATOR,
  GCP_SA,
  OLD_SECRET,
  REPO,
  SECRET_NAME,
  type World,
  worldOf,
} from './fixtures.ts';
import { expectClean, recoveryKey, worldPerTest } from './checks.ts';
import { lineOf, pinnedClock, type Run, useBundle } from './harness.ts';

const describe = describeInOrder.concurrent;
const start = worldPerTest();
const gcp = (o: { propagationDelayMs?: number } = {}): Promise<World> =>
  start('gcp-service-account', o);
const clean = (run: Run): void => expectClean(worldOf(run), run);

const ID_NAME = 'GCP_KEY_ID';
const keysOf = (w: World) => w.gcp!.account(GCP_SA).keys;
const oldKey = (w: World) => keysOf(w).find((k) => k.file === OLD_SECRET);
const newKey = (w: World) => keysOf(w).find((k) => k.file !== OLD_SECRET)!;
const stored = (w: World, name = SECRET_NAME): string | undefined =>
  w.github.secret(`repo:${REPO}`, name)?.value;
const KEYS = /^\/iam\/v1\/projects\/-\/serviceAccounts\/[^/]+\/keys/;
const creates = (w: World) => w.gcp!.calls('POST', new RegExp(`${KEYS.source}$`));
const changes = (w: World) =>
  w.gcp!.requests.filter((r) => r.method !== 'GET' && KEYS.test(r.path));
const mints = (w: World) => w.gcp!.calls('POST', '/oauth2/token');

describe('gcp-service-account rotation', () => {
  // This suite's runs spawn the bundle, as the runner does; the file's other suites run in process.
  useBundle();
  it('signs in through WIF, creates one key, stores its key file, confirms it mints, then disables the previous key', async () => {
    const w = await gcp();
    const run = await w.run({ 'client-id-secret-name': ID_NAME });
    expect(run.process).toBe('bundle');
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(w.gcp!.creations()).toBe(1);
    const added = newKey(w);
    // The stored secret, opened with the scope's private key, is the key file Google issued.
    expect(stored(w)).toBe(added.file);
    expect(JSON.parse(stored(w)!)).toMatchObject({
      type: 'service_account',
      client_email: GCP_SA,
      private_key_id: added.id,
    });
    expect(stored(w, ID_NAME)).toBe(added.id);
    expect(oldKey(w)!.disabled).toBe(true);
    expect(w.gcp!.keyWorks(OLD_SECRET)).toBe(false);
    expect(w.gcp!.keyWorks(added.file)).toBe(true);
    expect(w.gcp!.deleted).toEqual([]);
    // Sign-in: STS then generateAccessToken for the rotator; the OIDC token asked for WIF's audience.
    expect(w.gcp!.calls('POST', '/sts/v1/token')).toHaveLength(1);
    expect(w.gcp!.calls('POST', /:generateAccessToken$/)[0]!.path).toContain(
      encodeURIComponent(GCP_ROTATOR),
    );
    expect(w.github.oidcAudiences).toEqual([`https://iam.googleapis.com/${w.gcp!.wifProvider}`]);
    // The confirm came after every store, the disable after the confirm.
    const confirm = mints(w).at(-1)!;
    expect(confirm.status).toBe(200);
    const lastStore = Math.max(...w.github.calls('PUT', /\/secrets\//).map((r) => r.at));
    expect(confirm.at).toBeGreaterThanOrEqual(lastStore);
    const disable = w.gcp!.calls('POST', /:disable$/);
    expect(disable).toHaveLength(1);
    expect(disable[0]!.at).toBeGreaterThanOrEqual(confirm.at);
    expect(run.outputs).toMatchObject({ rotated: 'true', 'client-id': added.id });
    // The whole key file, as @actions/core writes a multi-line value, and its private_key line.
    const data = added.file.replace(/%/g, '%25').replace(/\n/g, '%0A');
    const masked = lineOf(run, (l) => l === `::add-mask::${data}`);
    const pemLine = added.file
      .split('\n')
      .find((l) => l.includes('"private_key"'))!
      .trim();
    expect(run.masks).toContain(pemLine.replace(/%/g, '%25'));
    expect(masked).toBeGreaterThan(-1);
    expect(masked).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
    clean(run);
  });

  it('with gcp-retire-previous disables then deletes the previous key; the next run rotates again', async () => {
    const w = await gcp();
    const first = await w.run({ 'gcp-retire-previous': 'true' });
    expect(first.errors).toEqual([]);
    expect(oldKey(w)).toBeUndefined();
    expect(w.gcp!.deleted.map((d) => d.wasDisabled)).toEqual([true]);
    const firstKey = newKey(w);
    const second = await w.run({ 'gcp-retire-previous': 'true' });
    expect(second.errors).toEqual([]);
    expect(keysOf(w)).toHaveLength(1);
    expect(keysOf(w)[0]!.id).not.toBe(firstKey.id);
    expect(stored(w)).toBe(keysOf(w)[0]!.file);
    expect(w.gcp!.deleted.map((d) => d.id)).toContain(firstKey.id);
    clean(first);
    clean(second);
  });

  it('signs in with gcp-access-token; never touches the key it names in gcp-sign-in-key-id', async () => {
    const w = await gcp();
    const token = w.gcp!.addAccessToken(GCP_ROTATOR);
    const own = w.gcp!.addKey(GCP_SA);
    const run = await w.run({
      'gcp-workload-identity-provider': '',
      'gcp-auth-service-account': '',
      'gcp-access-token': token,
      'gcp-sign-in-key-id': own.id,
      'gcp-retire-previous': 'true',
    });
    expect(run.errors).toEqual([]);
    expect(run.masks).toContain(token);
    expect(run.warnings.join('\n')).toContain('never disabled or deleted');
    expect(w.gcp!.calls('POST', '/sts/v1/token')).toEqual([]);
    expect(keysOf(w).find((k) => k.id === own.id)!.disabled).toBe(false);
    expect(oldKey(w)).toBeUndefined();
    clean(run);
  });
});

describe('gcp-service-account failures', () => {
  // The failure paths of the provider's requirement run through the bundle too (a run costs ~140 ms).
  useBundle();
  it('waits for the new key to mint a token (eventual consistency) before disabling the previous one', async () => {
    const w = await gcp({ propagationDelayMs: 3_000 });
    const run = await w.run({ 'gcp-confirm-timeout': '30s' });
    expect(run.errors).toEqual([]);
    const statuses = mints(w).map((r) => r.status);
    expect(statuses.length).toBeGreaterThan(1);
    expect(statuses.slice(0, -1).every((s) => s === 400)).toBe(true);
    expect(statuses.at(-1)).toBe(200);
    expect(oldKey(w)!.disabled).toBe(true);
    clean(run);
  });

  it('keeps the previous key enabled when the new key does not mint within gcp-confirm-timeout', async () => {
    const w = await gcp({ propagationDelayMs: 60_000 });
    const run = await w.run({ 'gcp-confirm-timeout': '3s' });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toContain('gcp-confirm-timeout');
    expect(oldKey(w)!.disabled).toBe(false);
    expect(stored(w)).toBe(newKey(w).file);
    clean(run);
  });

  it('refuses in preflight when the account holds 10 user-managed keys: no create, nothing deleted', async () => {
    const w = await gcp();
    for (let i = 0; i < 9; i++) w.gcp!.addKey(GCP_SA, { disabled: i % 2 === 0 });
    const run = await w.run({ 'gcp-retire-previous': 'true' });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/already holds 10 user-managed keys.*key limit is 10/);
    expect(creates(w)).toEqual([]);
    expect(changes(w)).toEqual([]);
    expect(stored(w)).toBeUndefined();
    clean(run);
  });

  it('refuses when the organization policy forbids key creation, naming it; nothing changes', async () => {
    const w = await gcp();
    w.gcp!.keyCreationDisabled = true;
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toContain(
      'organization policy constraints/iam.disableServiceAccountKeyCreation',
    );
    expect(creates(w).map((r) => r.status)).toEqual([400]);
    expect(w.gcp!.creations()).toBe(0);
    expect(oldKey(w)!.disabled).toBe(false);
    expect(stored(w)).toBeUndefined();
    expect(run.outputs['rotated']).toBe('false');
    clean(run);
  });

  it('a lost keys.create answer: not repeated, the orphan found by listing and deleted, the old key still enabled', async () => {
    const w = await gcp();
    w.gcp!.fault('POST', new RegExp(`${KEYS.source}$`), { afterEffect: true, drop: true });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(creates(w)).toHaveLength(1);
    expect(w.gcp!.creations()).toBe(1);
    expect(keysOf(w).map((k) => [k.file, k.disabled])).toEqual([[OLD_SECRET, false]]);
    expect(w.gcp!.deleted).toHaveLength(1);
    expect(run.errors.join('\n')).toContain('they were deleted');
    expect(stored(w)).toBeUndefined();
    clean(run);
  });

  it('a 503 on keys.create that never took effect: not repeated, the listing finds nothing to delete', async () => {
    const w = await gcp();
    w.gcp!.fault('POST', new RegExp(`${KEYS.source}$`), {
      status: 503,
      body: gcpError(503, 'UNAVAILABLE', 'The service is currently unavailable.'),
    });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(creates(w)).toHaveLength(1);
    expect(run.errors.join('\n')).toContain('found no key from this attempt');
    expect(w.gcp!.deleted).toEqual([]);
    expect(oldKey(w)!.disabled).toBe(false);
    clean(run);
  });

  it('store failure without a recovery key: the new key is deleted, the old one stays enabled', async () => {
    const w = await gcp();
    w.github.fault('PUT', /\/secrets\//, { status: 422, body: { message: 'nope' } });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(keysOf(w).map((k) => [k.file, k.disabled])).toEqual([[OLD_SECRET, false]]);
    expect(w.gcp!.deleted.map((d) => d.wasDisabled)).toEqual([false]);
    expect(run.outputs['recovery'] ?? '').toBe('');
    clean(run);
  });

  it('store failure with a recovery key: the sealed key file is handed over, the old key keeps working', async () => {
    const w = await gcp();
    const key = await recoveryKey();
    w.github.fault('PUT', /\/secrets\//, { status: 422, body: { message: 'nope' } });
    const run = await w.run({ 'recovery-public-key': key.input });
    expect(run.code).toBe(1);
    expect(w.gcp!.keyWorks(OLD_SECRET)).toBe(true);
    expect(run.outputs['recovery']).toBeTruthy();
    const opened = key.open(run.outputs['recovery']!);
    expect(w.gcp!.issued).toContain(opened);
    expect(JSON.parse(opened)).toMatchObject({ type: 'service_account', client_email: GCP_SA });
    // No target received it: the new key was deleted again, and the run says the rotation was undone.
    expect(w.gcp!.deleted).toHaveLength(1);
    expect(w.gcp!.keyWorks(opened)).toBe(false);
    expect(run.errors.join('\n')).toContain('Undid the rotation');
    clean(run);
  });

  it("a refused sign-in (the pool may not impersonate the rotator) stops in preflight with Google's words", async () => {
    const w = await gcp();
    w.gcp!.impersonable.clear();
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/generateAccessToken.*PERMISSION_DENIED/);
    expect(w.gcp!.requests.filter((r) => KEYS.test(r.path))).toEqual([]);
    clean(run);
  });
});

describe('gcp-service-account re-runs', () => {
  // A lost create is resolved by key id: a key preflight did not list is this run's. An earlier run in
  // the same second cannot fool it: the key it left is in this run's preflight listing.
  const pin = { nodeArgs: pinnedClock(Math.floor(Date.now() / 1000) * 1000 + 100) };
  const retire = { 'gcp-retire-previous': 'true', 'client-id-secret-name': ID_NAME };

  it('a re-run within the same second whose create took effect unanswered: only the key preflight did not list is deleted', async () => {
    const w = await gcp();
    const first = await w.run(retire, pin);
    expect(first.errors).toEqual([]);
    const firstKey = newKey(w);
    w.gcp!.fault('POST', new RegExp(`${KEYS.source}$`), {
      times: 1,
      afterEffect: true,
      drop: true,
    });
    const second = await w.run(retire, pin);
    expect(second.code).toBe(1);
    expect(w.gcp!.creations()).toBe(2);
    expect(keysOf(w).map((k) => [k.id, k.disabled])).toEqual([[firstKey.id, false]]);
    expect(w.gcp!.deleted.map((d) => d.id)).not.toContain(firstKey.id);
    expect(stored(w)).toBe(firstKey.file);
    expect(stored(w, ID_NAME)).toBe(firstKey.id);
    clean(first);
    clean(second);
  });
});

describe("gcp-service-account requests, by Google's API descriptions", () => {
  it('every request the action sends to STS, IAM Credentials and IAM names a method, parameters and fields the descriptions have', async () => {
    const w = await gcp();
    const run = await w.run({ 'gcp-retire-previous': 'true' });
    expect(run.errors).toEqual([]);
    const services = ['sts', 'iamcredentials', 'iam'] as const;
    const called = new Set<string>();
    for (const r of w.gcp!.requests) {
      // The OAuth token endpoint (RFC 7523's JWT bearer grant) has no discovery document.
      if (r.path.startsWith('/oauth2/')) continue;
      const service = services.find((s) => r.path.startsWith(`/${s}/`));
      expect(service, r.path).toBeDefined();
      const path = r.path.slice(service!.length + 1);
      expect(requestProblems(service!, r.method, path, r.body), `${r.method} ${r.path}`).toEqual(
        [],
      );
      called.add(methodOf(service!, r.method, path)!);
    }
    // Every call of the rotation was made: the sign-in, the listing, the create, the retire.
    expect([...called].sort()).toEqual([
      'projects.serviceAccounts.generateAccessToken',
      'projects.serviceAccounts.keys.create',
      'projects.serviceAccounts.keys.delete',
      'projects.serviceAccounts.keys.disable',
      'projects.serviceAccounts.keys.get',
      'projects.serviceAccounts.keys.list',
      'v1.token',
    ]);
    clean(run);
  });
});
