// WHMCS end to end: the bundled action against the GitHub and WHMCS emulators. WHMCS kills the old
// secret with the reset and has no overlap, so the one UpdateOAuthCredential call and the recovery blob matter most.
import { describe as describeInOrder, expect, it } from 'vitest';
import {
  OLD_SECRET,
  REPO,
  SECRET_NAME,
  WHMCS_CREDENTIAL,
  type World,
  worldOf,
} from './fixtures.ts';
import { expectClean, recoveryKey, worldPerTest } from './checks.ts';
import { lineOf, pinnedClock, type Run, targets, useBundle } from './harness.ts';

const CLIENT = 'client-7-identifier';
const ACCESS_KEY = 'whmcs-access-key-0123456789';

// Each test starts its own world, so the tests of every describe in this file run concurrently.
const describe = describeInOrder.concurrent;
const start = worldPerTest();
const whmcs = (): Promise<World> => start('whmcs');

/** Checks that hold after every run: nothing leaked, GitHub saw only requests its OpenAPI description allows. */
const clean = (run: Run, extra: string[] = []): void => expectClean(worldOf(run), run, extra);

/** The form fields of every API call of `action` that WHMCS received. */
function sent(w: World, action: string): URLSearchParams[] {
  return w
    .whmcs!.requests.map((r) => new URLSearchParams(r.body))
    .filter((f) => f.get('action') === action);
}
const updates = (w: World): URLSearchParams[] => sent(w, 'UpdateOAuthCredential');
const stored = (w: World, name = SECRET_NAME): string | undefined =>
  w.github.secret(`repo:${REPO}`, name)?.value;
const puts = (w: World): number => w.github.calls('PUT', /.*/).length;

/** Nothing changed anywhere: the old secret is current, never reset, nothing written to GitHub. */
function unchanged(w: World): void {
  expect(w.currentSecret()).toBe(OLD_SECRET);
  expect(w.whmcs!.rotations(WHMCS_CREDENTIAL)).toBe(0);
  expect(puts(w)).toBe(0);
}

describe('whmcs reset', () => {
  // This suite's runs spawn the bundle, as the runner does; the file's other suites run in process.
  useBundle();
  it('resets by credential id in one UpdateOAuthCredential, stores the new secret, and the old one is dead', async () => {
    const w = await whmcs();
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const secret = stored(w)!;
    expect(secret).toBe(w.currentSecret());
    expect(secret).not.toBe(OLD_SECRET);
    expect(w.whmcs!.credential(WHMCS_CREDENTIAL).clientSecret).not.toBe(OLD_SECRET);
    expect(w.whmcs!.rotations(WHMCS_CREDENTIAL)).toBe(1);
    const [update, ...more] = updates(w);
    expect(more).toEqual([]);
    expect(update!.get('credentialId')).toBe(String(WHMCS_CREDENTIAL));
    expect(update!.get('resetSecret')).toBe('1');
    expect(update!.get('responsetype')).toBe('json');
    expect(run.outputs).toMatchObject({
      rotated: 'true',
      'client-id': CLIENT,
      'credential-id': String(WHMCS_CREDENTIAL),
    });
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'written' },
    ]);
    // The other credential is untouched.
    expect(w.whmcs!.credential(8).clientSecret).toBe('Other-Credential-Secret-8');
    const masked = lineOf(run, (l) => l === `::add-mask::${secret}`);
    expect(masked).toBeGreaterThan(-1);
    expect(masked).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
    expect(run.summary).toContain('Client secret rotated');
    clean(run);
  });

  it('addresses the credential by whmcs-client-identifier instead of the id', async () => {
    const w = await whmcs();
    const run = await w.run({ 'whmcs-credential-id': '', 'whmcs-client-identifier': CLIENT });
    expect(run.errors).toEqual([]);
    expect(stored(w)).toBe(w.currentSecret());
    expect(stored(w)).not.toBe(OLD_SECRET);
    expect(w.whmcs!.rotations(WHMCS_CREDENTIAL)).toBe(1);
    expect(w.whmcs!.rotations(8)).toBe(0);
    expect(updates(w)).toHaveLength(1);
    expect(updates(w)[0]!.get('resetSecret')).toBe('1');
    expect(run.outputs).toMatchObject({
      rotated: 'true',
      'client-id': CLIENT,
      'credential-id': String(WHMCS_CREDENTIAL),
    });
    clean(run);
  });

  it('sends every optional update in the same single UpdateOAuthCredential call', async () => {
    const w = await whmcs();
    const run = await w.run({
      'whmcs-name': 'Nightly SSO',
      'whmcs-description': 'Rotated by CI',
      'whmcs-grant-type': 'single_sign_on',
      'whmcs-scope': 'clientarea:sso clientarea:billing_info',
      'whmcs-service-id': '42',
      'whmcs-logo-uri': 'https://example.com/logo.png',
      'whmcs-redirect-uris': 'https://app.example.com/callback\nmyapp://oauth/callback\n',
    });
    expect(run.errors).toEqual([]);
    const [update, ...more] = updates(w);
    expect(more).toEqual([]);
    expect(update!.get('resetSecret')).toBe('1');
    expect(update!.get('name')).toBe('Nightly SSO');
    expect(update!.get('description')).toBe('Rotated by CI');
    expect(update!.get('grantType')).toBe('single_sign_on');
    expect(update!.get('scope')).toBe('clientarea:sso clientarea:billing_info');
    expect(update!.get('serviceId')).toBe('42');
    expect(update!.get('logoUri')).toBe('https://example.com/logo.png');
    expect(update!.getAll('redirectUri[]')).toEqual([
      'https://app.example.com/callback',
      'myapp://oauth/callback',
    ]);
    expect(w.whmcs!.credential(WHMCS_CREDENTIAL)).toMatchObject({
      name: 'Nightly SSO',
      description: 'Rotated by CI',
      grantType: 'single_sign_on',
      scope: 'clientarea:sso clientarea:billing_info',
      serviceId: 42,
      logoUri: 'https://example.com/logo.png',
      redirectUri: ['https://app.example.com/callback', 'myapp://oauth/callback'],
      rotations: 1,
    });
    expect(stored(w)).toBe(w.currentSecret());
    clean(run);
  });

  it('stores the client identifier in client-id-secret-name beside the secret', async () => {
    const w = await whmcs();
    const run = await w.run({ 'client-id-secret-name': 'CLIENT_ID' });
    expect(run.errors).toEqual([]);
    expect(stored(w)).toBe(w.currentSecret());
    expect(stored(w, 'CLIENT_ID')).toBe(CLIENT);
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'written' },
      { target: `repo ${REPO}`, secret: 'CLIENT_ID', status: 'written' },
    ]);
    expect(updates(w)).toHaveLength(1);
    clean(run);
  });

  it('sends whmcs-access-key as accesskey on every call, passing the IP allow-list', async () => {
    const w = await whmcs();
    w.whmcs!.ipAllowList = true;
    w.whmcs!.accessKey = ACCESS_KEY;
    const run = await w.run({ 'whmcs-access-key': ACCESS_KEY });
    expect(run.errors).toEqual([]);
    expect(stored(w)).toBe(w.currentSecret());
    expect(stored(w)).not.toBe(OLD_SECRET);
    const calls = w.whmcs!.requests.map((r) => new URLSearchParams(r.body));
    expect(calls.map((f) => f.get('action'))).toEqual([
      'ListOAuthCredentials',
      'UpdateOAuthCredential',
    ]);
    expect(calls.map((f) => f.get('accesskey'))).toEqual([ACCESS_KEY, ACCESS_KEY]);
    clean(run, [ACCESS_KEY]);
  });

  it('sends no accesskey when whmcs-access-key is not given', async () => {
    const w = await whmcs();
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(w.whmcs!.requests.length).toBeGreaterThan(0);
    expect(w.whmcs!.requests.every((r) => !new URLSearchParams(r.body).has('accesskey'))).toBe(
      true,
    );
    clean(run);
  });
});

describe('whmcs dry run and preflight', () => {
  it('dry run lists the credential and fetches the key, changes nothing', async () => {
    const w = await whmcs();
    const run = await w.run({ 'dry-run': 'true' });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(sent(w, 'ListOAuthCredentials')).toHaveLength(1);
    expect(updates(w)).toHaveLength(0);
    expect(w.github.calls('GET', /public-key$/)).toHaveLength(1);
    unchanged(w);
    expect(run.outputs).toMatchObject({
      rotated: 'false',
      'client-id': CLIENT,
      'credential-id': String(WHMCS_CREDENTIAL),
    });
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'skipped' },
    ]);
    expect(run.outputs['recovery']).toBeUndefined();
    expect(run.summary).toContain('Dry run');
    clean(run);
  });

  it.each([
    [
      'an unknown credential id',
      { 'whmcs-credential-id': '99' },
      'WHMCS has no OAuth credential with whmcs-credential-id 99 (2 credential(s) listed)',
    ],
    [
      'an unknown client identifier',
      { 'whmcs-credential-id': '', 'whmcs-client-identifier': 'no-such-client' },
      'whmcs-client-identifier no-such-client',
    ],
  ])('stops before resetting on %s, naming it', async (_name, extra, message) => {
    const w = await whmcs();
    const run = await w.run(extra);
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain(message);
    expect(updates(w)).toHaveLength(0);
    unchanged(w);
    expect(run.outputs['rotated']).toBe('false');
    clean(run);
  });

  it('an IP allow-list refusal (403 Invalid IP) stops the preflight with a hint at whmcs-access-key, not retried', async () => {
    const w = await whmcs();
    w.whmcs!.ipAllowList = true;
    w.whmcs!.accessKey = ACCESS_KEY;
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(
      /HTTP 403.*Invalid IP 127\.0\.0\.1.*allow the runner's IP.*whmcs-access-key/,
    );
    expect(w.whmcs!.requests).toHaveLength(1);
    expect(updates(w)).toHaveLength(0);
    unchanged(w);
    clean(run, [ACCESS_KEY]);
  });
});

describe('whmcs errors on the reset', () => {
  /** WHMCS answers the reset with `result: error` (and `status`) instead of resetting. */
  const refuse = (status: number, message: string) => (w: World) => {
    w.whmcs!.fault('POST', '/includes/api.php', {
      status,
      bodyIncludes: 'UpdateOAuthCredential',
      body: { result: 'error', message },
    });
    return {};
  };
  const cases: [string, (w: World) => Record<string, string>, string][] = [
    [
      'an invalid scope (HTTP 200, result=error, from WHMCS itself)',
      () => ({ 'whmcs-scope': 'clientarea:sso admin:all' }),
      'WHMCS says "The requested scope “admin:all” is invalid."',
    ],
    [
      'Invalid Credential ID (HTTP 200, result=error)',
      refuse(200, 'Invalid Credential ID provided.'),
      'WHMCS says "Invalid Credential ID provided."',
    ],
    [
      'a name required error (HTTP 200, result=error)',
      refuse(200, 'A name for the Client Credential is required.'),
      'WHMCS says "A name for the Client Credential is required."',
    ],
    ['403 Invalid IP', refuse(403, 'Invalid IP 10.1.2.3'), 'HTTP 403'],
    [
      'Invalid IP (HTTP 200, result=error)',
      refuse(200, 'Invalid IP 10.1.2.3'),
      'WHMCS says "Invalid IP 10.1.2.3"',
    ],
  ];
  it.each(cases)('reports %s clearly, sent once, nothing stored', async (_name, arm, message) => {
    const w = await whmcs();
    const run = await w.run(arm(w));
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    const error = run.errors[0]!;
    expect(error).toContain('Could not reset the WHMCS OAuth credential secret');
    expect(error).toContain(message);
    // The allow-list hint follows WHMCS's message, whatever the HTTP status.
    if (/HTTP 403|Invalid IP/.test(message))
      expect(error).toMatch(/Invalid IP 10\.1\.2\.3.*whmcs-access-key/);
    expect(error).not.toContain('may have reached WHMCS');
    expect(updates(w)).toHaveLength(1);
    unchanged(w);
    expect(run.outputs['rotated']).toBe('false');
    clean(run);
  });
});

describe('whmcs recovery', () => {
  it('when every GitHub write fails after the reset, the recovery blob opens to the secret WHMCS now holds', async () => {
    const w = await whmcs();
    const { input, open } = await recoveryKey();
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, {
      status: 422,
      body: { message: 'Unprocessable' },
    });
    const run = await w.run({ 'recovery-public-key': input });
    expect(run.code).toBe(1);
    expect(w.whmcs!.rotations(WHMCS_CREDENTIAL)).toBe(1);
    expect(updates(w)).toHaveLength(1);
    expect(w.github.calls('PUT', /secrets\/CLIENT_SECRET$/)).toHaveLength(1);
    expect(stored(w)).toBeUndefined();
    const blob = run.outputs['recovery']!;
    expect(blob).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(open(blob)).toBe(w.currentSecret());
    expect(open(blob)).not.toBe(OLD_SECRET);
    expect(run.stdout).toContain(blob);
    expect(run.summary).toContain(blob);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain('old secret no longer works');
    expect(run.errors[0]).toContain('recovery');
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'failed' },
    ]);
    expect(run.outputs['rotated']).toBe('false');
    clean(run);
  });

  it('warns to set recovery-public-key before resetting when none is given', async () => {
    const w = await whmcs();
    const run = await w.run();
    expect(run.code).toBe(0);
    const warned = lineOf(
      run,
      (l) => l.startsWith('::warning') && l.includes('recovery-public-key'),
    );
    expect(warned).toBeGreaterThan(-1);
    expect(warned).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
    expect(run.warnings.filter((m) => m.includes('recovery-public-key'))).toHaveLength(1);
    clean(run);
  });

  it('gives no recovery warning when recovery-public-key is set', async () => {
    const w = await whmcs();
    const run = await w.run({ 'recovery-public-key': (await recoveryKey()).input });
    expect(run.errors).toEqual([]);
    expect(run.warnings).toEqual([]);
    expect(run.outputs['recovery']).toBeUndefined();
    clean(run);
  });
});

describe('whmcs lost answers to the reset', () => {
  /** Arms a fault on the reset only. */
  const onReset = (w: World, fault: Parameters<World['github']['fault']>[2]): void =>
    void w.whmcs!.fault('POST', '/includes/api.php', {
      bodyIncludes: 'UpdateOAuthCredential',
      times: 1,
      ...fault,
    });
  const lists = (w: World): number => sent(w, 'ListOAuthCredentials').length;

  it.each([
    ['the connection dropped after WHMCS reset the secret', { drop: true }, {}],
    ['no answer within request-timeout', { hang: true }, { 'request-timeout': '1s' }],
    ['HTTP 502 after WHMCS reset the secret', { status: 502 }, {}],
    [
      'success without newClientSecret',
      { status: 200, body: { result: 'success', credentialId: String(WHMCS_CREDENTIAL) } },
      {},
    ],
  ] as const)(
    'recovers from %s: the listing shows the new secret, which is stored, and the reset is not repeated',
    async (_name, fault, extra) => {
      const w = await whmcs();
      onReset(w, { afterEffect: true, ...fault });
      const run = await w.run(extra);
      expect(run.errors).toEqual([]);
      expect(run.code).toBe(0);
      expect(updates(w)).toHaveLength(1);
      expect(w.whmcs!.rotations(WHMCS_CREDENTIAL)).toBe(1);
      expect(lists(w)).toBe(2);
      expect(stored(w)).toBe(w.currentSecret());
      expect(stored(w)).not.toBe(OLD_SECRET);
      expect(run.outputs['rotated']).toBe('true');
      expect(run.warnings.some((m) => /not repeated/.test(m))).toBe(true);
      expect(run.stdout).toContain('WHMCS now lists a new one, and it is the one stored');
      // The new secret was masked before anything else was printed about it.
      const masked = lineOf(run, (l) => l === `::add-mask::${w.currentSecret()}`);
      expect(masked).toBeGreaterThan(-1);
      expect(masked).toBeLessThan(lineOf(run, (l) => l.startsWith('Rotated ')));
      clean(run);
    },
  );

  it('a reset lost before it reached WHMCS: the listing still shows the old secret, nothing is stored, and the old secret works', async () => {
    const w = await whmcs();
    onReset(w, { status: 502 });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(
      /HTTP 502.*listed 3 times over 4 s, still has the secret preflight saw.*old secret still works/,
    );
    expect(run.errors[0]).not.toContain('may have reset the secret');
    expect(updates(w)).toHaveLength(1);
    expect(lists(w)).toBe(4);
    unchanged(w);
    expect(run.outputs['rotated']).toBe('false');
    clean(run);
  });

  it('someone else reset the secret meanwhile: the secret that works now is stored, not the dead one', async () => {
    const w = await whmcs();
    const theirs = 'Someone-Elses-Reset-Secret-42';
    // The reset is refused by a proxy before WHMCS; a person resets the credential at that moment.
    onReset(w, {
      status: 503,
      onMatch: () => void (w.whmcs!.credential(WHMCS_CREDENTIAL).clientSecret = theirs),
    });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(stored(w)).toBe(theirs);
    expect(w.currentSecret()).toBe(theirs);
    expect(w.whmcs!.rotations(WHMCS_CREDENTIAL)).toBe(0);
    expect(updates(w)).toHaveLength(1);
    clean(run, [theirs]);
  });

  it('when the listing fails too, the outcome stays unknown and the message says where to look', async () => {
    const w = await whmcs();
    onReset(w, { afterEffect: true, drop: true });
    w.whmcs!.fault('POST', '/includes/api.php', {
      bodyIncludes: 'ListOAuthCredentials',
      skip: 1,
      status: 500,
      body: 'oops',
    });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(
      /may have reached WHMCS.*Listing the credentials to find out failed too.*HTTP 500.*may have reset the secret.*store the secret it shows/,
    );
    expect(updates(w)).toHaveLength(1);
    expect(w.whmcs!.rotations(WHMCS_CREDENTIAL)).toBe(1);
    expect(puts(w)).toBe(0);
    expect(run.summary).toContain('may have taken effect');
    clean(run);
  });
});

describe('whmcs re-runs', () => {
  // WHMCS's listing tells whether a reset took effect by value: the secret preflight read, or another.
  // An earlier run in the same second cannot fool it: the secret it left is what this preflight read.
  const pin = { nodeArgs: pinnedClock(Math.floor(Date.now() / 1000) * 1000 + 100) };

  it("a re-run within the same second whose reset never reached WHMCS: the listing shows the earlier run's secret, which is what preflight read, so nothing counts as reset", async () => {
    const w = await whmcs();
    const first = await w.run({}, pin);
    expect(first.errors).toEqual([]);
    const firstSecret = w.currentSecret();
    expect(stored(w)).toBe(firstSecret);
    w.whmcs!.fault('POST', '/includes/api.php', {
      bodyIncludes: 'UpdateOAuthCredential',
      times: 1,
      status: 502,
    });
    const second = await w.run({}, pin);
    expect(second.code).toBe(1);
    expect(second.errors[0]).toMatch(/still has the secret preflight saw.*old secret still works/);
    expect(second.outputs['rotated']).toBe('false');
    expect(w.whmcs!.rotations(WHMCS_CREDENTIAL)).toBe(1);
    expect(w.currentSecret()).toBe(firstSecret);
    expect(stored(w)).toBe(firstSecret);
    clean(first);
    clean(second);
  });

  it('a re-run within the same second whose reset took effect unanswered: the listing shows a secret preflight did not see, and it is stored', async () => {
    const w = await whmcs();
    const first = await w.run({}, pin);
    expect(first.errors).toEqual([]);
    const firstSecret = w.currentSecret();
    w.whmcs!.fault('POST', '/includes/api.php', {
      bodyIncludes: 'UpdateOAuthCredential',
      times: 1,
      afterEffect: true,
      drop: true,
    });
    const second = await w.run({}, pin);
    expect(second.errors).toEqual([]);
    expect(w.whmcs!.rotations(WHMCS_CREDENTIAL)).toBe(2);
    expect(w.currentSecret()).not.toBe(firstSecret);
    expect(stored(w)).toBe(w.currentSecret());
    expect(second.outputs['rotated']).toBe('true');
    clean(first);
    clean(second);
  });
});
