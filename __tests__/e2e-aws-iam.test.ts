// AWS IAM end to end: the bundled action against the GitHub and IAM/STS emulators. The promise: the
// key that was active before the run signs until every target holds the new one and the new one
// signs; the user never holds a key nobody knows; an Active key the action did not replace, and the
// key the run signs in with, are never touched.
import { describe as describeInOrder, expect, it } from 'vitest';
import { awsError } from './emulators/aws-iam.ts';
import { requestProblems } from './emulators/aws-models.ts';
import {
  AWS_OLD_KEY_ID,
  AWS_USER,
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
const aws = (o: { propagationDelayMs?: number } = {}): Promise<World> => start('aws-iam', o);
const clean = (run: Run): void => expectClean(worldOf(run), run);

const ID_NAME = 'AWS_ACCESS_KEY_ID';
const keysOf = (w: World) => w.aws!.user(AWS_USER).keys;
const actions = (w: World, action: string) =>
  w.aws!.calls('POST', '/').filter((r) => new URLSearchParams(r.body).get('Action') === action);
const stored = (w: World, name = SECRET_NAME): string | undefined =>
  w.github.secret(`repo:${REPO}`, name)?.value;
const newKey = (w: World) => keysOf(w).find((k) => k.id !== AWS_OLD_KEY_ID)!;

describe('aws-iam rotation', () => {
  // This suite's runs spawn the bundle, as the runner does; the file's other suites run in process.
  useBundle();
  it('signs in from the environment, creates one key, stores id and secret, confirms it, deactivates the previous key', async () => {
    const w = await aws();
    const run = await w.run({ 'client-id-secret-name': ID_NAME });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(w.aws!.creations()).toBe(1);
    const added = newKey(w);
    expect(stored(w)).toBe(added.secret);
    expect(stored(w, ID_NAME)).toBe(added.id);
    expect(keysOf(w).find((k) => k.id === AWS_OLD_KEY_ID)!.status).toBe('Inactive');
    expect(w.aws!.keyWorks(AWS_OLD_KEY_ID, OLD_SECRET)).toBe(false);
    expect(w.aws!.keyWorks(added.id, added.secret)).toBe(true);
    expect(actions(w, 'DeleteAccessKey')).toEqual([]);
    // The confirm (STS, signed with the new key) came after every store, before the deactivation.
    const confirm = w.aws!.calls('POST', '/sts/').at(-1)!;
    const lastStore = Math.max(...w.github.calls('PUT', /\/secrets\//).map((r) => r.at));
    expect(confirm.at).toBeGreaterThanOrEqual(lastStore);
    expect(actions(w, 'UpdateAccessKey')[0]!.at).toBeGreaterThanOrEqual(confirm.at);
    expect(run.outputs).toMatchObject({ rotated: 'true', 'client-id': added.id });
    const masked = lineOf(run, (l) => l === `::add-mask::${added.secret}`);
    expect(masked).toBeGreaterThan(-1);
    expect(masked).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
    clean(run);
  });

  it('with aws-iam-retire-previous deletes the previous key; the next run rotates again', async () => {
    const w = await aws();
    const first = await w.run({ 'aws-iam-retire-previous': 'true' });
    expect(first.errors).toEqual([]);
    expect(keysOf(w).map((k) => k.id)).not.toContain(AWS_OLD_KEY_ID);
    expect(w.aws!.deleted.map((k) => [k.id, k.wasStatus])).toEqual([[AWS_OLD_KEY_ID, 'Inactive']]);
    const second = await w.run({ 'aws-iam-retire-previous': 'true' });
    expect(second.errors).toEqual([]);
    expect(keysOf(w)).toHaveLength(1);
    expect(stored(w)).toBe(keysOf(w)[0]!.secret);
    clean(first);
    clean(second);
  });

  it('signs in with explicit inputs (a user key of another user)', async () => {
    const w = await aws();
    w.aws!.addUser('rotator', {
      keys: [{ id: 'AKIAROTATOR000000001', secret: 'Rotator-Secret-0123456789abcdefghij' }],
      manages: [AWS_USER],
    });
    const run = await w.run(
      {
        'aws-access-key-id': 'AKIAROTATOR000000001',
        'aws-secret-access-key': 'Rotator-Secret-0123456789abcdefghij',
      },
      { env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '' } },
    );
    expect(run.errors).toEqual([]);
    expect(run.stdout).toContain(':user/rotator');
    expect(run.masks).toContain('Rotator-Secret-0123456789abcdefghij');
    expectClean(w, run, ['Rotator-Secret-0123456789abcdefghij']);
  });

  it('lists the access keys beside GetCallerIdentity, not after it (one round trip less)', async () => {
    const w = await aws();
    w.aws!.fault('*', /.*/, { delayMs: 80 });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    const sts = w.aws!.calls('POST', '/sts/')[0]!;
    const [listed] = actions(w, 'ListAccessKeys');
    expect(listed!.receivedAt).toBeLessThan(sts.at);
    expect(sts.receivedAt).toBeLessThan(listed!.at);
    // Nothing changes before both are answered.
    expect(actions(w, 'CreateAccessKey')[0]!.receivedAt).toBeGreaterThanOrEqual(
      Math.max(sts.at, listed!.at),
    );
    clean(run);
  });

  it('a refused GetCallerIdentity is what preflight reports, whatever the listing says', async () => {
    const w = await aws();
    w.aws!.fault('POST', '/sts/', {
      status: 403,
      body: awsError(
        'InvalidClientTokenId',
        'The security token included in the request is invalid.',
        'Sender',
      ),
    });
    w.aws!.fault('POST', '/', { bodyIncludes: 'Action=ListAccessKeys', status: 500, body: 'x' });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(/GetCallerIdentity.*InvalidClientTokenId/);
    expect(actions(w, 'CreateAccessKey')).toEqual([]);
    clean(run);
  });

  it('waits for the new key to sign (eventual consistency) before deactivating the previous one', async () => {
    const w = await aws({ propagationDelayMs: 3_000 });
    const run = await w.run({ 'aws-iam-confirm-timeout': '30s' });
    expect(run.errors).toEqual([]);
    const sts = w.aws!.calls('POST', '/sts/').map((r) => r.status);
    expect(sts[0]).toBe(200); // preflight, signed in
    expect(sts.slice(1, -1).every((s) => s === 403)).toBe(true);
    expect(sts.slice(1).length).toBeGreaterThan(1);
    expect(sts.at(-1)).toBe(200);
    expect(keysOf(w).find((k) => k.id === AWS_OLD_KEY_ID)!.status).toBe('Inactive');
    clean(run);
  });

  it('keeps the previous key active when the new key does not sign within aws-iam-confirm-timeout', async () => {
    const w = await aws({ propagationDelayMs: 60_000 });
    const run = await w.run({ 'aws-iam-confirm-timeout': '3s' });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toContain('aws-iam-confirm-timeout');
    expect(keysOf(w).find((k) => k.id === AWS_OLD_KEY_ID)!.status).toBe('Active');
    expect(stored(w)).toBe(newKey(w).secret);
    clean(run);
  });

  it('refuses in preflight when the user holds two Active keys; never deletes one', async () => {
    const w = await aws();
    w.aws!.addUser(AWS_USER, {
      keys: [
        { id: AWS_OLD_KEY_ID, secret: OLD_SECRET },
        { id: 'AKIASECONDKEY0000001', secret: 'Second-Active-Secret-0123456789' },
      ],
    });
    const run = await w.run({ 'aws-iam-delete-inactive': 'true' });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toContain('neither is Inactive');
    expect(w.aws!.creations()).toBe(0);
    expect(w.aws!.deleted).toEqual([]);
    expect(w.github.secret(`repo:${REPO}`, SECRET_NAME)).toBeUndefined();
    expectClean(w, run, ['Second-Active-Secret-0123456789']);
  });

  it('a full slot with an Inactive key: refused without aws-iam-delete-inactive, deleted right before the create with it', async () => {
    const w = await aws();
    w.aws!.addUser(AWS_USER, {
      keys: [
        { id: 'AKIAINACTIVE00000001', secret: 'Inactive-Secret-0123456789', status: 'Inactive' },
        { id: AWS_OLD_KEY_ID, secret: OLD_SECRET },
      ],
    });
    const refused = await w.run();
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toContain('aws-iam-delete-inactive');
    expect(w.aws!.creations()).toBe(0);
    expect(w.aws!.deleted).toEqual([]);
    const run = await w.run({ 'aws-iam-delete-inactive': 'true' });
    expect(run.errors).toEqual([]);
    expect(w.aws!.deleted.map((k) => [k.id, k.wasStatus])).toEqual([
      ['AKIAINACTIVE00000001', 'Inactive'],
    ]);
    const del = actions(w, 'DeleteAccessKey')[0]!;
    const create = actions(w, 'CreateAccessKey')[0]!;
    expect(del.at).toBeLessThanOrEqual(create.at);
    expect(w.aws!.requests.indexOf(del)).toBe(w.aws!.requests.indexOf(create) - 1);
    expectClean(w, run, ['Inactive-Secret-0123456789']);
    clean(refused);
  });

  it('a lost CreateAccessKey answer: not repeated, the orphan key deleted, the old key still active', async () => {
    const w = await aws();
    w.aws!.fault('POST', '/', {
      bodyIncludes: 'Action=CreateAccessKey',
      afterEffect: true,
      drop: true,
    });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(actions(w, 'CreateAccessKey')).toHaveLength(1);
    expect(w.aws!.creations()).toBe(1);
    expect(keysOf(w).map((k) => [k.id, k.status])).toEqual([[AWS_OLD_KEY_ID, 'Active']]);
    expect(w.aws!.deleted).toHaveLength(1);
    expect(run.errors.join('\n')).toContain('they were deleted');
    expect(w.github.secret(`repo:${REPO}`, SECRET_NAME)).toBeUndefined();
    clean(run);
  });

  it('Throttling (HTTP 400) on the create is sent again: AWS refused it before acting', async () => {
    const w = await aws();
    w.aws!.fault('POST', '/', {
      bodyIncludes: 'Action=CreateAccessKey',
      status: 400,
      body: awsError('Throttling', 'Rate exceeded'),
      times: 1,
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(actions(w, 'CreateAccessKey').map((r) => r.status)).toEqual([400, 200]);
    expect(w.aws!.creations()).toBe(1);
    clean(run);
  });

  it('an answer with a document type (an entity bomb) is not AWS XML: refused before any change', async () => {
    const w = await aws();
    const bomb = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata><member><AccessKeyId>&c;</AccessKeyId><Status>Active</Status></member></AccessKeyMetadata></ListAccessKeysResult></ListAccessKeysResponse>`;
    w.aws!.fault('POST', '/', { bodyIncludes: 'Action=ListAccessKeys', status: 200, body: bomb });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toContain('was not AWS XML');
    expect(w.aws!.creations()).toBe(0);
    clean(run);
  });

  it('store failure without a recovery key: the new key is deleted, the old one stays active', async () => {
    const w = await aws();
    w.github.fault('PUT', /\/secrets\//, { status: 422, body: { message: 'nope' } });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(keysOf(w).map((k) => [k.id, k.status])).toEqual([[AWS_OLD_KEY_ID, 'Active']]);
    expect(w.aws!.deleted.map((k) => k.wasStatus)).toEqual(['Active']);
    expect(run.outputs['recovery'] ?? '').toBe('');
    clean(run);
  });

  it('store failure with a recovery key: the sealed secret is handed over, the old key keeps working', async () => {
    const w = await aws();
    const key = await recoveryKey();
    w.github.fault('PUT', /\/secrets\//, { status: 422, body: { message: 'nope' } });
    const run = await w.run({ 'recovery-public-key': key.input });
    expect(run.code).toBe(1);
    expect(w.aws!.keyWorks(AWS_OLD_KEY_ID, OLD_SECRET)).toBe(true);
    expect(run.outputs['recovery']).toBeTruthy();
    const opened = key.open(run.outputs['recovery']!);
    expect(w.aws!.issuedSecrets).toContain(opened);
    // No target received it, so the new key was deleted again and the run says so: the blob's
    // key works nowhere, and nobody is told to store it.
    expect(w.aws!.deleted.map((k) => k.secret)).toEqual([opened]);
    expect(run.errors.join('\n')).toContain('Undid the rotation');
    clean(run);
  });

  it('never touches the key the run signs in with', async () => {
    const w = await aws();
    // The user rotates its own key: it signs in with the old key.
    w.aws!.user(AWS_USER).manages = [AWS_USER];
    const run = await w.run(
      {
        'aws-access-key-id': AWS_OLD_KEY_ID,
        'aws-secret-access-key': OLD_SECRET,
        'aws-iam-retire-previous': 'true',
      },
      { env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '' } },
    );
    expect(run.errors).toEqual([]);
    expect(run.warnings.join('\n')).toContain('never deactivated or deleted');
    expect(keysOf(w).find((k) => k.id === AWS_OLD_KEY_ID)!.status).toBe('Active');
    expect(actions(w, 'UpdateAccessKey')).toEqual([]);
    clean(run);
  });
});

describe('aws-iam re-runs', () => {
  // A lost create is resolved by key id: a key preflight did not list is this run's. An earlier run in
  // the same second cannot fool it: the key it left is in this run's preflight listing.
  const pin = { nodeArgs: pinnedClock(Math.floor(Date.now() / 1000) * 1000 + 100) };
  const retire = { 'aws-iam-retire-previous': 'true', 'client-id-secret-name': ID_NAME };

  it("a re-run within the same second whose create never reached IAM: the earlier run's key is not taken for a new one, nothing is deleted", async () => {
    const w = await aws();
    const first = await w.run(retire, pin);
    expect(first.errors).toEqual([]);
    const firstKey = newKey(w);
    expect(stored(w)).toBe(firstKey.secret);
    w.aws!.fault('POST', '/', {
      bodyIncludes: 'Action=CreateAccessKey',
      times: 1,
      drop: true,
    });
    const second = await w.run(retire, pin);
    expect(second.code).toBe(1);
    expect(second.outputs['rotated']).toBe('false');
    expect(actions(w, 'CreateAccessKey')).toHaveLength(2);
    expect(keysOf(w).map((k) => [k.id, k.status])).toEqual([[firstKey.id, 'Active']]);
    expect(stored(w)).toBe(firstKey.secret);
    expect(stored(w, ID_NAME)).toBe(firstKey.id);
    clean(first);
    clean(second);
  });

  it('a re-run within the same second whose create took effect unanswered: only the key preflight did not list is deleted', async () => {
    const w = await aws();
    const first = await w.run(retire, pin);
    expect(first.errors).toEqual([]);
    const firstKey = newKey(w);
    w.aws!.fault('POST', '/', {
      bodyIncludes: 'Action=CreateAccessKey',
      times: 1,
      afterEffect: true,
      drop: true,
    });
    const second = await w.run(retire, pin);
    expect(second.code).toBe(1);
    expect(w.aws!.creations()).toBe(2);
    expect(keysOf(w).map((k) => [k.id, k.status])).toEqual([[firstKey.id, 'Active']]);
    expect(w.aws!.deleted.map((k) => k.id)).not.toContain(firstKey.id);
    expect(stored(w)).toBe(firstKey.secret);
    clean(first);
    clean(second);
  });
});

describe('aws-iam orphans are dated', () => {
  // A preflight listing answered 200 with no keys (a faulty proxy, an eventually consistent read) must
  // not make the key every target holds look like this attempt's orphan after a lost create: a key
  // counts as this attempt's only when preflight did not list it and IAM dates it no earlier than the
  // create was sent (less a minute for the clocks), as for Google Cloud (seed 28926886).
  it('a lost create after a preflight listing that showed no keys deletes only the key dated after the create was sent', async () => {
    const w = await aws();
    // The user's key was made months ago (the fixture dates it 2026-01-05), as a rotation finds it.
    w.aws!.fault('POST', '/', {
      bodyIncludes: 'Action=ListAccessKeys',
      times: 1,
      status: 200,
      body: `<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListAccessKeysResult><UserName>${AWS_USER}</UserName><AccessKeyMetadata/><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></ListAccessKeysResponse>`,
    });
    w.aws!.fault('POST', '/', {
      bodyIncludes: 'Action=CreateAccessKey',
      afterEffect: true,
      drop: true,
    });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(keysOf(w).map((k) => [k.id, k.status])).toEqual([[AWS_OLD_KEY_ID, 'Active']]);
    expect(w.aws!.deleted.map((k) => k.id)).not.toContain(AWS_OLD_KEY_ID);
    expect(w.aws!.deleted).toHaveLength(1);
    expect(run.errors.join('\n')).toContain(
      `${AWS_OLD_KEY_ID}, not listed in preflight but dated before this attempt: left alone`,
    );
    clean(run);
  });
});

describe("aws-iam requests, by AWS's service model", () => {
  it('every request the action sends names an operation and members that botocore’s IAM and STS models have', async () => {
    const w = await aws();
    w.aws!.addUser(AWS_USER, {
      keys: [
        { id: 'AKIAINACTIVE00000001', secret: 'Inactive-Secret-0123456789', status: 'Inactive' },
        { id: AWS_OLD_KEY_ID, secret: OLD_SECRET },
      ],
    });
    const run = await w.run({
      'aws-iam-delete-inactive': 'true',
      'aws-iam-retire-previous': 'true',
      'client-id-secret-name': ID_NAME,
    });
    expect(run.errors).toEqual([]);
    const sent = w.aws!.requests.map((r) => ({
      service: r.path.startsWith('/sts') ? ('sts' as const) : ('iam' as const),
      body: r.body,
    }));
    // Every call of the rotation was made: preflight, the delete before the create, the confirm, the retire.
    expect(sent.map((r) => new URLSearchParams(r.body).get('Action'))).toEqual(
      expect.arrayContaining([
        'GetCallerIdentity',
        'ListAccessKeys',
        'DeleteAccessKey',
        'CreateAccessKey',
        'UpdateAccessKey',
      ]),
    );
    for (const r of sent) expect(requestProblems(r.service, r.body), r.body).toEqual([]);
    expectClean(w, run, ['Inactive-Secret-0123456789']);
  });
});
