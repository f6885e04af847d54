// Okta end to end: the bundled action against the GitHub and Okta emulators. The promise: the secret
// that was active before the run works until every target holds the new one; the app never holds a
// secret nobody knows; an active secret the action did not replace is never touched.
import { createPrivateKey, createVerify, generateKeyPairSync } from 'node:crypto';
import { describe as describeInOrder, expect, it } from 'vitest';
import { oktaError } from './emulators/okta.ts';
import type { LoggedRequest } from './emulators/server.ts';
import {
  CREDENTIALS,
  OKTA_APP,
  OKTA_CLIENT_ID,
  OKTA_KID,
  OKTA_SERVICE,
  oktaKeys,
  OLD_SECRET,
  ORG,
  REPO,
  SECRET_NAME,
  type World,
  worldOf,
} from './fixtures.ts';
import { expectClean, recoveryKey, worldPerTest } from './checks.ts';
import { lineOf, type Run, targets, useBundle } from './harness.ts';

// Each test starts its own world, so the tests of every describe in this file run concurrently.
const describe = describeInOrder.concurrent;
const start = worldPerTest();
const okta = (): Promise<World> => start('okta');
const clean = (run: Run): void => expectClean(worldOf(run), run);

/** Sign in with an API token (SSWS) instead of the world's service app. */
const SSWS = {
  'okta-api-token': CREDENTIALS.oktaApiToken,
  'okta-client-id': '',
  'okta-private-key': '',
};

const SECRETS = /^\/api\/v1\/apps\/[^/]+\/credentials\/secrets$/;
const DEACTIVATE = /\/credentials\/secrets\/[^/]+\/lifecycle\/deactivate$/;
const ONE_SECRET = /\/credentials\/secrets\/[^/]+$/;
const TOKEN = '/oauth2/v1/token';

const secretsOf = (w: World) => w.okta!.app(OKTA_APP).secrets;
const creates = (w: World) => w.okta!.calls('POST', SECRETS);
const deactivations = (w: World) => w.okta!.calls('POST', DEACTIVATE);
const deletions = (w: World) => w.okta!.calls('DELETE', ONE_SECRET);
const stored = (w: World, scope = `repo:${REPO}`): string | undefined =>
  w.github.secret(scope, SECRET_NAME)?.value;
const lastVerify = (w: World): number =>
  Math.max(...w.github.calls('GET', new RegExp(`/secrets/${SECRET_NAME}$`)).map((r) => r.at));
const tokenForms = (w: World) =>
  w
    .okta!.calls('POST', TOKEN)
    .map((r) => ({ form: new URLSearchParams(r.body), status: r.status }));
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
const headerOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
const idOf = (r: LoggedRequest): string => r.path.split('/')[7]!;

/** Seeds the app's secrets (oldest first) in place of the world's single active one. */
function seed(w: World, list: { secret: string; status: 'ACTIVE' | 'INACTIVE' }[]): string[] {
  const app = w.okta!.addApp(OKTA_APP, {
    clientId: OKTA_CLIENT_ID,
    secrets: list.map((x, i) => ({ ...x, created: `2026-0${i + 1}-05T10:00:00.000Z` })),
  });
  return app.secrets.map((x) => x.id);
}

describe('okta rotation', () => {
  // This suite's runs spawn the bundle, as the runner does; the file's other suites run in process.
  useBundle();
  it('signs in with an API token (SSWS), adds one secret, stores it, keeps the previous one working', async () => {
    const w = await okta();
    const run = await w.run(SSWS);
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(tokenForms(w)).toEqual([]);
    expect(creates(w).map((r) => r.status)).toEqual([201]);
    expect(w.okta!.creations(OKTA_APP)).toBe(1);
    const [old, added] = secretsOf(w);
    expect(old!.secret).toBe(OLD_SECRET);
    expect(added!.status).toBe('ACTIVE');
    expect(stored(w)).toBe(added!.secret);
    expect(w.okta!.secretWorks(OKTA_APP, OLD_SECRET)).toBe(true);
    expect(deactivations(w)).toEqual([]);
    expect(deletions(w)).toEqual([]);
    expect(run.outputs).toMatchObject({
      rotated: 'true',
      'client-id': OKTA_CLIENT_ID,
      'credential-id': added!.id,
    });
    const masked = lineOf(run, (l) => l === `::add-mask::${added!.secret}`);
    expect(masked).toBeGreaterThan(-1);
    expect(masked).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
    // The create answer is the only place the value appears; it went out nowhere else.
    expect(run.stdout).toContain('Nightly build client');
    clean(run);
  });

  it('signs in as a service app with an RS256 client assertion (PEM key) and the okta.apps.manage scope', async () => {
    const w = await okta();
    const run = await w.run();
    expect(run.errors).toEqual([]);
    const [sign] = tokenForms(w);
    expect(tokenForms(w)).toHaveLength(1);
    expect(sign!.status).toBe(200);
    expect(sign!.form.get('grant_type')).toBe('client_credentials');
    expect(sign!.form.get('scope')).toBe('okta.apps.manage');
    expect(sign!.form.get('client_assertion_type')).toBe(
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    );
    const jwt = sign!.form.get('client_assertion')!;
    const claims = claimsOf(jwt);
    expect(claims).toMatchObject({
      iss: OKTA_SERVICE,
      sub: OKTA_SERVICE,
      aud: `${w.okta!.url}/oauth2/v1/token`,
    });
    expect(Number(claims['exp']) - Number(claims['iat'])).toBeLessThanOrEqual(3600);
    expect(typeof claims['jti']).toBe('string');
    expect(headerOf(jwt)).toEqual({ alg: 'RS256', typ: 'JWT' });
    const [h, p, s] = jwt.split('.');
    expect(
      createVerify('RSA-SHA256')
        .update(`${h}.${p}`)
        .verify(oktaKeys().publicPem, Buffer.from(s!, 'base64url')),
    ).toBe(true);
    expect(run.masks).toContain(jwt);
    expect(stored(w)).toBe(w.currentSecret());
    clean(run);
  });

  it('takes the key as a JWK and sends its kid; okta-key-id overrides it', async () => {
    const w = await okta();
    const jwk = JSON.stringify(oktaKeys().privateJwk);
    const run = await w.run({ 'okta-private-key': jwk });
    expect(run.errors).toEqual([]);
    expect(headerOf(tokenForms(w)[0]!.form.get('client_assertion')!)['kid']).toBe(OKTA_KID);
    const wrong = await w.run({ 'okta-private-key': jwk, 'okta-key-id': 'another-key' });
    expect(wrong.code).toBe(1);
    expect(wrong.errors[0]).toContain('HTTP 401');
    expect(wrong.errors[0]).toContain('invalid_client');
    expect(headerOf(tokenForms(w)[1]!.form.get('client_assertion')!)['kid']).toBe('another-key');
    expect(creates(w)).toHaveLength(1);
    clean(run);
    clean(wrong);
  });

  it('stores the new secret in every target; each one opened equals the secret Okta now holds', async () => {
    const w = await okta();
    const run = await w.run({
      targets: `repo ${REPO}\nenvironment ${REPO} production\norg ${ORG} private\ndependabot ${REPO}`,
      'client-id-secret-name': 'CLIENT_ID',
    });
    expect(run.errors).toEqual([]);
    const value = w.currentSecret();
    expect(value).not.toBe(OLD_SECRET);
    for (const scope of [
      `repo:${REPO}`,
      `env:${REPO}:production`,
      `org:${ORG}`,
      `dependabot:${REPO}`,
    ]) {
      expect(stored(w, scope), scope).toBe(value);
      expect(w.github.secret(scope, 'CLIENT_ID')?.value, scope).toBe(OKTA_CLIENT_ID);
    }
    expect(w.okta!.secretWorks(OKTA_APP, value)).toBe(true);
    expect(targets(run).every((t) => t.status === 'written')).toBe(true);
    clean(run);
  });

  it('never prints a plaintext client_secret that a listing carries', async () => {
    const w = await okta();
    w.okta!.fault('GET', SECRETS, {
      status: 200,
      times: 1,
      body: [
        {
          id: 'ocsOld',
          status: 'ACTIVE',
          client_secret: OLD_SECRET,
          created: '2026-01-05T10:00:00.000Z',
        },
      ],
    });
    const run = await w.run({ 'dry-run': 'true' });
    expect(run.code).toBe(0);
    clean(run);
  });
});

describe('okta private key masking', () => {
  // The runner masks a multi-line value only line by line: every line of the input as given must be
  // registered, not only the lines of the PKCS#8 PEM the action makes from it.
  it('registers every line of a PKCS#1 PEM key as given', async () => {
    const w = await okta();
    const pkcs1 = createPrivateKey(oktaKeys().privatePem)
      .export({ type: 'pkcs1', format: 'pem' })
      .toString();
    const run = await w.run({ 'okta-private-key': pkcs1 });
    expect(run.errors).toEqual([]);
    const lines = pkcs1.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(run.masks).toContain(line);
    clean(run);
  });

  it("registers every line of a pretty-printed JWK and each private member's value", async () => {
    const w = await okta();
    const jwk = oktaKeys().privateJwk;
    const pretty = JSON.stringify(jwk, null, 2);
    const run = await w.run({ 'okta-private-key': pretty });
    expect(run.errors).toEqual([]);
    for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(run.masks).toContain(jwk[m]);
    for (const line of pretty.split('\n').map((l) => l.trim()))
      if (line.length >= 16) expect(run.masks).toContain(line);
    clean(run);
  });
});

describe('okta retiring the previous secret', () => {
  it('with okta-retire-previous, deactivates and then deletes the previous secret after every target is verified', async () => {
    const w = await okta();
    const [oldId] = secretsOf(w).map((x) => x.id);
    const run = await w.run({ 'okta-retire-previous': 'true' });
    expect(run.errors).toEqual([]);
    expect(deactivations(w).map(idOf)).toEqual([oldId]);
    expect(deletions(w).map(idOf)).toEqual([oldId]);
    expect(deactivations(w)[0]!.at).toBeGreaterThanOrEqual(lastVerify(w));
    expect(deletions(w)[0]!.at).toBeGreaterThanOrEqual(deactivations(w)[0]!.at);
    expect(secretsOf(w).map((x) => x.secret)).toEqual([w.currentSecret()]);
    expect(w.okta!.secretWorks(OKTA_APP, OLD_SECRET)).toBe(false);
    expect(stored(w)).toBe(w.currentSecret());
    expect(run.summary).toMatch(/Retired.*deactivated and deleted/);
    clean(run);
  });

  it('a second run without okta-retire-previous stops in preflight: two active secrets, none touched', async () => {
    const w = await okta();
    const first = await w.run();
    expect(first.errors).toEqual([]);
    const second = await w.run({ 'okta-retire-previous': 'true' });
    expect(second.code).toBe(1);
    expect(second.errors[0]).toMatch(/already holds two active client secrets.*never deactivates/);
    expect(creates(w)).toHaveLength(1);
    expect(deactivations(w)).toEqual([]);
    expect(secretsOf(w).every((x) => x.status === 'ACTIVE')).toBe(true);
    expect(second.outputs['rotated']).toBe('false');
    clean(first);
    clean(second);
  });

  it('an app with an active and an inactive secret: refused without okta-retire-previous', async () => {
    const w = await okta();
    seed(w, [
      { secret: 'Inactive-Secret-0123456789', status: 'INACTIVE' },
      { secret: OLD_SECRET, status: 'ACTIVE' },
    ]);
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(/already holds two client secrets.*okta-retire-previous: true/);
    expect(w.okta!.requests.filter((r) => r.method !== 'GET' && r.path !== TOKEN)).toEqual([]);
    expect(w.github.calls('PUT', /.*/)).toEqual([]);
    clean(run);
  });

  it('with okta-retire-previous, deletes the oldest inactive secret first, then rotates and retires the active one', async () => {
    const w = await okta();
    const [inactiveId, oldId] = seed(w, [
      { secret: 'Inactive-Secret-0123456789', status: 'INACTIVE' },
      { secret: OLD_SECRET, status: 'ACTIVE' },
    ]);
    const run = await w.run({ 'okta-retire-previous': 'true' });
    expect(run.errors).toEqual([]);
    expect(deletions(w).map(idOf)).toEqual([inactiveId, oldId]);
    // The inactive one is deleted before the create; the active one only after every target.
    expect(deletions(w)[0]!.at).toBeLessThanOrEqual(creates(w)[0]!.at);
    expect(deactivations(w).map(idOf)).toEqual([oldId]);
    expect(secretsOf(w).map((x) => x.secret)).toEqual([w.currentSecret()]);
    expect(stored(w)).toBe(w.currentSecret());
    expect(run.stdout).toContain('Deleted the oldest inactive client secret');
    clean(run);
  });

  it('two inactive secrets: the oldest goes; the dry run deletes nothing', async () => {
    const w = await okta();
    const [oldest, younger] = seed(w, [
      { secret: 'Inactive-Secret-AAAAAAAAAA', status: 'INACTIVE' },
      { secret: 'Inactive-Secret-BBBBBBBBBB', status: 'INACTIVE' },
    ]);
    const dry = await w.run({ 'okta-retire-previous': 'true', 'dry-run': 'true' });
    expect(dry.code).toBe(0);
    expect(deletions(w)).toEqual([]);
    const run = await w.run({ 'okta-retire-previous': 'true' });
    expect(run.errors).toEqual([]);
    expect(deletions(w).map(idOf)).toEqual([oldest]);
    expect(secretsOf(w).map((x) => x.id)).toEqual([younger, expect.any(String)]);
    expect(deactivations(w)).toEqual([]);
    clean(dry);
    clean(run);
  });

  it('keeps the previous secret when the new one was deactivated meanwhile', async () => {
    const w = await okta();
    // The read-back's GET, after preflight's read of updated_at.
    w.github.fault('GET', new RegExp(`/secrets/${SECRET_NAME}$`), {
      afterEffect: true,
      headers: {},
      times: 1,
      skip: 1,
      onMatch: () => {
        const added = secretsOf(w).find((x) => x.secret !== OLD_SECRET);
        if (added) added.status = 'INACTIVE';
      },
    });
    const run = await w.run({ 'okta-retire-previous': 'true' });
    expect(run.code).toBe(1);
    expect(run.errors[0]).toContain('no longer active at Okta, so the previous one was kept');
    expect(deactivations(w)).toEqual([]);
    expect(w.okta!.secretWorks(OKTA_APP, OLD_SECRET)).toBe(true);
    clean(run);
  });
});

describe('okta retiring: what the report says is true', () => {
  it('the previous secret deactivated but its delete failing: retired with a warning, never "still works"', async () => {
    const w = await okta();
    const [oldId] = secretsOf(w).map((x) => x.id);
    w.okta!.fault('DELETE', ONE_SECRET, { status: 500, body: oktaError(500) });
    const run = await w.run({ 'okta-retire-previous': 'true' });
    // Deactivated, the old secret signs nobody in: the report must not say it still works.
    expect(w.okta!.secretWorks(OKTA_APP, OLD_SECRET)).toBe(false);
    expect(run.errors.join('\n')).not.toContain('still works');
    expect(run.code).toBe(0);
    expect(run.outputs['rotated']).toBe('true');
    expect(deactivations(w).map(idOf)).toEqual([oldId]);
    expect(run.warnings.join('\n')).toMatch(
      new RegExp(`${oldId} of Okta app .* is deactivated but deleting it failed.*no longer works`),
    );
    expect(run.summary).toContain('deactivated; deleting it failed');
    expect(stored(w)).toBe(w.currentSecret());
    clean(run);
  });

  it('storing fails in one of two targets: both secrets stay active, nothing is retired, the recovery blob opens', async () => {
    const w = await okta();
    const key = await recoveryKey();
    w.github.fault('PUT', /environments\/production\/secrets\/CLIENT_SECRET$/, {
      status: 422,
      body: { message: 'Unprocessable' },
    });
    const run = await w.run({
      'okta-retire-previous': 'true',
      'recovery-public-key': key.input,
      targets: `repo ${REPO}\nenvironment ${REPO} production`,
    });
    expect(run.code).toBe(1);
    expect(run.outputs['rotated']).toBe('false');
    const opened = key.open(run.outputs['recovery']!);
    expect(opened).toBe(w.currentSecret());
    expect(stored(w)).toBe(opened);
    expect(stored(w, `env:${REPO}:production`)).toBeUndefined();
    expect(targets(run).map((t) => t.status)).toEqual(['written', 'failed']);
    expect(w.okta!.secretWorks(OKTA_APP, opened)).toBe(true);
    expect(w.okta!.secretWorks(OKTA_APP, OLD_SECRET)).toBe(true);
    expect(deactivations(w)).toEqual([]);
    expect(deletions(w)).toEqual([]);
    expect(run.errors.join('\n')).toContain('previous secret was kept and still works');
    clean(run);
  });
  it('storing fails everywhere and deleting the new secret fails: it is deactivated, the run says undone, not "open the recovery"', async () => {
    const w = await okta();
    const key = await recoveryKey();
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, {
      status: 422,
      body: { message: 'Unprocessable' },
    });
    w.okta!.fault('DELETE', ONE_SECRET, { status: 500, body: oktaError(500) });
    const run = await w.run({ 'recovery-public-key': key.input });
    expect(run.code).toBe(1);
    const opened = key.open(run.outputs['recovery']!);
    // The sealed secret no longer works: the report must not send anyone to store it.
    expect(w.okta!.secretWorks(OKTA_APP, opened)).toBe(false);
    expect(w.okta!.secretWorks(OKTA_APP, OLD_SECRET)).toBe(true);
    expect(run.errors.join('\n')).toMatch(
      /Undid the rotation \(deactivated the new Okta client secret .* no longer works/,
    );
    expect(run.errors.join('\n')).not.toContain('The new secret is in output `recovery`');
    expect(run.warnings.join('\n')).toContain('is deactivated but deleting it failed');
    clean(run);
  });
  it('the previous secret deactivated but every answer a 500: a listing shows it inactive, and retiring completes', async () => {
    const w = await okta();
    w.okta!.fault('POST', DEACTIVATE, { afterEffect: true, status: 500, body: oktaError(500) });
    const run = await w.run({ 'okta-retire-previous': 'true' });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(w.okta!.secretWorks(OKTA_APP, OLD_SECRET)).toBe(false);
    expect(secretsOf(w).map((x) => x.secret)).toEqual([w.currentSecret()]);
    expect(run.summary).toMatch(/Retired.*deactivated and deleted/);
    clean(run);
  });

  it('undoing: the new secret deactivated but every answer a 500: reported undone, never "open the recovery"', async () => {
    const w = await okta();
    const key = await recoveryKey();
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, {
      status: 422,
      body: { message: 'Unprocessable' },
    });
    w.okta!.fault('POST', DEACTIVATE, { afterEffect: true, status: 500, body: oktaError(500) });
    const run = await w.run({ 'recovery-public-key': key.input });
    expect(run.code).toBe(1);
    expect(w.okta!.secretWorks(OKTA_APP, key.open(run.outputs['recovery']!))).toBe(false);
    expect(secretsOf(w).map((x) => x.secret)).toEqual([OLD_SECRET]);
    expect(run.errors.join('\n')).toContain('Undid the rotation (deactivated and deleted the new');
    expect(run.errors.join('\n')).not.toContain('The new secret is in output `recovery`');
    clean(run);
  });
});

describe('okta lost answers', () => {
  for (const [what, fault] of [
    ['the connection drops after Okta created it', { drop: true, afterEffect: true }],
    ['Okta created it and answered 502', { status: 502, afterEffect: true, body: oktaError(502) }],
  ] as const) {
    it(`create: ${what}: not repeated; the orphan found by listing is deactivated and deleted`, async () => {
      const w = await okta();
      w.okta!.fault('POST', SECRETS, { ...fault, times: 1 });
      const run = await w.run({ 'okta-retire-previous': 'true' });
      expect(run.code).toBe(1);
      expect(creates(w)).toHaveLength(1);
      expect(w.okta!.creations(OKTA_APP)).toBe(1);
      const [orphan] = w.okta!.removed(OKTA_APP);
      expect(orphan).toBeDefined();
      expect(deactivations(w).map(idOf)).toEqual([orphan!.id]);
      expect(deletions(w).map(idOf)).toEqual([orphan!.id]);
      expect(secretsOf(w).map((x) => x.secret)).toEqual([OLD_SECRET]);
      expect(w.okta!.secretWorks(OKTA_APP, OLD_SECRET)).toBe(true);
      expect(run.errors[0]).toMatch(
        /not repeated.*1 secret\(s\) from this attempt.*deactivated and deleted.*previous secret still works/,
      );
      expect(w.github.calls('PUT', /.*/)).toEqual([]);
      expect(stored(w)).toBeUndefined();
      expect(run.outputs['rotated']).toBe('false');
      clean(run);
    });
  }

  // A preflight listing answered 200 with no secrets cannot be the app's (it always has one): trusted,
  // it would make the secret every target holds look like this attempt's after a lost create.
  it('a preflight listing answered with no secrets at all stops the run before any change', async () => {
    const w = await okta();
    w.okta!.fault('GET', SECRETS, { status: 200, times: 1, body: [] });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(creates(w)).toEqual([]);
    expect(deactivations(w)).toEqual([]);
    expect(secretsOf(w).map((x) => [x.secret, x.status])).toEqual([[OLD_SECRET, 'ACTIVE']]);
    expect(run.errors[0]).toMatch(/Okta listed no client secret for app .*Nothing was changed/);
    clean(run);
  });

  it('create: the connection drops before Okta acts: not repeated, listing finds nothing to clear', async () => {
    const w = await okta();
    w.okta!.fault('POST', SECRETS, { drop: true, times: 1 });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(creates(w)).toHaveLength(1);
    expect(w.okta!.creations(OKTA_APP)).toBe(0);
    expect(run.errors[0]).toMatch(/network error.*not repeated.*found no secret from this attempt/);
    expect(deactivations(w)).toEqual([]);
    expect(secretsOf(w).map((x) => x.secret)).toEqual([OLD_SECRET]);
    expect(run.outputs['rotated']).toBe('false');
    clean(run);
  });

  it('create: no answer in time and nothing created: not repeated, nothing to clear', async () => {
    const w = await okta();
    w.okta!.fault('POST', SECRETS, { hang: true, times: 1 });
    const run = await w.run({ 'request-timeout': '1s' });
    expect(run.code).toBe(1);
    expect(creates(w)).toHaveLength(1);
    expect(run.errors[0]).toMatch(/no answer within 1 s.*found no secret from this attempt/);
    expect(secretsOf(w).map((x) => x.secret)).toEqual([OLD_SECRET]);
    clean(run);
  });

  it('create answered 429 with X-Rate-Limit-Reset: waits for the reset and sends it again', async () => {
    const w = await okta();
    const reset = Math.ceil(Date.now() / 1000) + 3;
    w.okta!.fault('POST', SECRETS, {
      status: 429,
      times: 1,
      body: oktaError(429),
      headers: {
        'x-rate-limit-limit': '50',
        'x-rate-limit-remaining': '0',
        'x-rate-limit-reset': String(reset),
      },
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    const [refused, accepted] = creates(w);
    expect([refused!.status, accepted!.status]).toEqual([429, 201]);
    expect(accepted!.at).toBeGreaterThanOrEqual(reset * 1000 - 1000);
    expect(w.okta!.creations(OKTA_APP)).toBe(1);
    expect(stored(w)).toBe(w.currentSecret());
    clean(run);
  });
});

describe('okta faults on every call', () => {
  const calls = [
    ['token', 'POST', TOKEN],
    ['read app', 'GET', /^\/api\/v1\/apps\/[^/]+$/],
    ['list secrets', 'GET', SECRETS],
    ['deactivate', 'POST', DEACTIVATE],
    ['delete', 'DELETE', ONE_SECRET],
  ] as const;
  for (const [name, method, path] of calls)
    for (const [kind, fault] of [
      ['429', { status: 429, body: oktaError(429), headers: { 'x-rate-limit-reset': '0' } }],
      ['503', { status: 503, body: oktaError(503) }],
      ['dropped connection', { drop: true }],
    ] as const)
      it(`${name}: ${kind} once is retried and the rotation completes`, async () => {
        const w = await okta();
        w.okta!.fault(method, path, { ...fault, times: 1 });
        const run = await w.run({ 'okta-retire-previous': 'true' });
        expect(run.errors).toEqual([]);
        expect(run.code).toBe(0);
        expect(w.okta!.creations(OKTA_APP)).toBe(1);
        expect(secretsOf(w).map((x) => x.secret)).toEqual([w.currentSecret()]);
        expect(stored(w)).toBe(w.currentSecret());
        clean(run);
      });

  it('a Management API error is explained from errorCode, errorSummary, errorCauses and errorId', async () => {
    const w = await okta();
    w.okta!.fault('GET', /^\/api\/v1\/apps\/[^/]+$/, {
      status: 403,
      body: oktaError(
        403,
        'You do not have permission to perform the requested action',
        'E0000006',
        ['Missing the okta.apps.manage grant'],
      ),
    });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(
      /HTTP 403.*may not manage this app.*errorCode E0000006.*cause "Missing the okta\.apps\.manage grant".*errorId oae/,
    );
    expect(creates(w)).toEqual([]);
    clean(run);
  });

  it('a revoked access token (401) on a read signs in again once and carries on', async () => {
    const w = await okta();
    w.okta!.fault('GET', SECRETS, { times: 1, status: 401, body: oktaError(401) });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(tokenForms(w).map((t) => t.status)).toEqual([200, 200]);
    clean(run);
  });

  it('the access token expires as the create arrives: Okta refused it unread, so the action signs in again and sends it once more', async () => {
    const w = await okta();
    w.okta!.fault('POST', SECRETS, { times: 1, onMatch: () => w.okta!.expireAccessTokens() });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(creates(w).map((r) => r.status)).toEqual([401, 201]);
    expect(w.okta!.creations(OKTA_APP)).toBe(1);
    expect(tokenForms(w).map((t) => t.status)).toEqual([200, 200]);
    expect(stored(w)).toBe(w.currentSecret());
    clean(run);
  });

  it('the access token expires while targets are written: retiring signs in again and completes', async () => {
    const w = await okta();
    w.github.fault('GET', new RegExp(`/secrets/${SECRET_NAME}$`), {
      times: 1,
      onMatch: () => w.okta!.expireAccessTokens(),
    });
    const run = await w.run({ 'okta-retire-previous': 'true' });
    expect(run.errors).toEqual([]);
    expect(tokenForms(w).map((t) => t.status)).toEqual([200, 200]);
    expect(w.okta!.secretWorks(OKTA_APP, OLD_SECRET)).toBe(false);
    expect(secretsOf(w).map((x) => x.secret)).toEqual([w.currentSecret()]);
    clean(run);
  });

  it('a listed secret without an id stops the run before anything changes', async () => {
    const w = await okta();
    w.okta!.fault('GET', SECRETS, {
      status: 200,
      times: 1,
      body: [{ status: 'ACTIVE', created: '2026-01-05T10:00:00.000Z' }],
    });
    const run = await w.run({ 'okta-retire-previous': 'true' });
    expect(run.code).toBe(1);
    expect(run.errors[0]).toContain('without a usable id or status; nothing was changed');
    expect(creates(w)).toEqual([]);
    expect(w.github.calls('PUT', /.*/)).toEqual([]);
    clean(run);
  });

  it('a create answer with the secret but no id: the value is masked, and the secret is taken back', async () => {
    const w = await okta();
    const value = 'Nameless-Okta-Secret-0123456789abcdef';
    w.okta!.fault('POST', SECRETS, {
      times: 1,
      afterEffect: true,
      status: 201,
      body: { status: 'ACTIVE', client_secret: value },
    });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.masks).toContain(value);
    expect(run.errors[0]).toContain('without a usable id');
    expect(secretsOf(w).map((x) => x.secret)).toEqual([OLD_SECRET]);
    const printed = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    expect(printed.join('\n')).not.toContain(value);
    clean(run);
  });

  it('a 500 on create is an unknown outcome: not repeated, listing finds nothing, the run fails', async () => {
    const w = await okta();
    w.okta!.fault('POST', SECRETS, { status: 500, body: oktaError(500), times: 1 });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(creates(w)).toHaveLength(1);
    expect(run.errors[0]).toContain('found no secret from this attempt');
    expect(secretsOf(w).map((x) => x.secret)).toEqual([OLD_SECRET]);
    clean(run);
  });

  it('storing fails everywhere: the new secret is deactivated and deleted again; the old one works', async () => {
    const w = await okta();
    const key = await recoveryKey();
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, {
      status: 422,
      body: { message: 'Unprocessable' },
    });
    const run = await w.run({ 'recovery-public-key': key.input });
    expect(run.code).toBe(1);
    const [gone] = w.okta!.removed(OKTA_APP);
    expect(deactivations(w).map(idOf)).toEqual([gone!.id]);
    expect(deletions(w).map(idOf)).toEqual([gone!.id]);
    expect(secretsOf(w).map((x) => x.secret)).toEqual([OLD_SECRET]);
    expect(run.errors[0]).toContain(
      'Undid the rotation (deactivated and deleted the new Okta client secret',
    );
    clean(run);
  });
});

describe('okta refusals', () => {
  it('a service app that requires DPoP is refused with a message that says so', async () => {
    const w = await okta();
    w.okta!.service(OKTA_SERVICE).requireDpop = true;
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(
      /invalid_dpop_proof.*requires DPoP.*does not support.*okta-api-token/,
    );
    expect(tokenForms(w)).toHaveLength(1);
    expect(w.okta!.requests.filter((r) => r.path !== TOKEN)).toEqual([]);
    clean(run);
  });

  it('a service app without the okta.apps.manage grant is refused at sign-in', async () => {
    const w = await okta();
    w.okta!.service(OKTA_SERVICE).scopes = ['okta.apps.read'];
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(/HTTP 400.*invalid_scope/);
    expect(creates(w)).toEqual([]);
    clean(run);
  });

  it('signs in once, then reads the app and lists its secrets at once (one round trip less)', async () => {
    const w = await okta();
    w.okta!.fault('*', /.*/, { delayMs: 80 });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    const [token] = w.okta!.calls('POST', TOKEN);
    const [read] = w.okta!.calls('GET', `/api/v1/apps/${OKTA_APP}`);
    const [listed] = w.okta!.calls('GET', SECRETS);
    expect(w.okta!.calls('POST', TOKEN)).toHaveLength(1);
    expect(read!.receivedAt).toBeGreaterThanOrEqual(token!.at);
    // The listing was sent before the app's answer arrived, and the app read before the listing's.
    expect(listed!.receivedAt).toBeLessThan(read!.at);
    expect(read!.receivedAt).toBeLessThan(listed!.at);
    // Nothing changes before both are answered.
    expect(creates(w)[0]!.receivedAt).toBeGreaterThanOrEqual(Math.max(read!.at, listed!.at));
    clean(run);
  });

  it('an app that does not authenticate with a client secret is refused in preflight, whatever the listing says', async () => {
    const w = await okta();
    w.okta!.app(OKTA_APP).authMethod = 'private_key_jwt';
    w.okta!.fault('GET', SECRETS, { status: 500, body: oktaError(500) });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(/does not authenticate with a client secret.*private_key_jwt/);
    expect(creates(w)).toEqual([]);
    clean(run);
  });

  it('an app that does not authenticate with a client secret is refused in preflight', async () => {
    const w = await okta();
    w.okta!.app(OKTA_APP).authMethod = 'private_key_jwt';
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(/does not authenticate with a client secret.*private_key_jwt/);
    expect(creates(w)).toEqual([]);
    clean(run);
  });

  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  for (const [input, extra, named] of [
    ['okta-url', { 'okta-url': 'http://example.okta.com' }, 'okta-url'],
    ['okta-app-id', { 'okta-app-id': '../users' }, 'okta-app-id'],
    ['both sign-ins', { 'okta-api-token': CREDENTIALS.oktaApiToken }, 'okta-api-token'],
    ['no sign-in', { 'okta-client-id': '', 'okta-private-key': '' }, 'okta-api-token'],
    ['client id without key', { 'okta-private-key': '' }, 'okta-private-key'],
    ['a key that is not a key', { 'okta-private-key': 'not-a-key-0123456789' }, 'okta-private-key'],
    ['an EC key', { 'okta-private-key': ec }, 'okta-private-key'],
    ['key id with an API token', { ...SSWS, 'okta-key-id': 'k1' }, 'okta-key-id'],
    ['retire-previous', { 'okta-retire-previous': 'yes' }, 'okta-retire-previous'],
  ] as const)
    it(`names a bad input (${input}) before any request anywhere`, async () => {
      const w = await okta();
      const run = await w.run(extra);
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toContain(`'${named}'`);
      expect(w.okta!.requests).toEqual([]);
      expect(w.github.requests).toEqual([]);
      const printed = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
      expect(printed.join('\n')).not.toContain('not-a-key-0123456789');
      clean(run);
    });
});
