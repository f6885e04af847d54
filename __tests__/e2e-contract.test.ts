// One contract for every provider in the registry: the bundled action, run on the loopback emulators,
// keeps the order of effects of README "What happens, in order" / action-contract.md "Order of effects".
// A provider added to `PROVIDERS` (src/inputs) without an entry in CONTRACT fails to compile; one
// without a world in the fixtures fails the registry test and every test of its describe block.
import { describe as describeInOrder, expect, it } from 'vitest';
import { PROVIDERS, type ProviderName } from '../src/inputs/index.ts';
import type { LoggedRequest } from './emulators/server.ts';
import {
  OLD_SECRET,
  PROVIDERS as FIXTURE_PROVIDERS,
  REPO,
  SECRET_NAME,
  type World,
} from './fixtures.ts';
import { expectClean, worldPerTest } from './checks.ts';
import { lineOf, targets, useBundle } from './harness.ts';

// Every run of this file spawns the bundle, as the runner does (harness.ts).
useBundle();

type Match = (r: LoggedRequest) => boolean;

interface Contract {
  /** Every state-changing call at the provider. Sign-in (token endpoints), reads and listings are not. */
  readonly rotating: Match;
  /** The calls that issue or save the new secret: each exactly once in a full run. Any other rotating
   *  call (removing earlier passwords, retiring the previous secret) must come after every target is verified. */
  readonly once: readonly Match[];
}

const CSP_SECRET = /\/orgs\/[^/]+\/oauth-apps\/[^/]+\/secret$/;
const csp: Match = (r) => ['PUT', 'POST', 'DELETE'].includes(r.method) && CSP_SECRET.test(r.path);
const whmcs: Match = (r) =>
  /^(UpdateOAuthCredential|Create.*|Delete.*)$/.test(
    new URLSearchParams(r.body).get('action') ?? '',
  );
const addPassword: Match = (r) => r.method === 'POST' && r.path.endsWith('/addPassword');
const removePassword: Match = (r) => r.method === 'POST' && r.path.endsWith('/removePassword');
const woodpecker: Match = (r) =>
  ['POST', 'PATCH', 'DELETE'].includes(r.method) &&
  /\/v2\/mailboxes\/microsoft\/credentials(\/|$)/.test(r.path);
const auth0Rotate: Match = (r) =>
  r.method === 'POST' && /^\/api\/v2\/clients\/[^/]+\/rotate-secret$/.test(r.path);
const kcRegenerate: Match = (r) => r.method === 'POST' && r.path.endsWith('/client-secret');
const kcRetire: Match = (r) => r.method === 'DELETE' && r.path.endsWith('/client-secret/rotated');
const OKTA_SECRETS = /\/api\/v1\/apps\/[^/]+\/credentials\/secrets(\/|$)/;
const okta: Match = (r) => ['POST', 'DELETE'].includes(r.method) && OKTA_SECRETS.test(r.path);
const oktaCreate: Match = (r) => r.method === 'POST' && /\/credentials\/secrets$/.test(r.path);
/** Every IAM call but ListAccessKeys changes the user's keys; STS GetCallerIdentity changes nothing. */
const awsAction = (r: LoggedRequest) =>
  r.path === '/' ? (new URLSearchParams(r.body).get('Action') ?? '') : '';
const awsChange: Match = (r) =>
  /^(CreateAccessKey|UpdateAccessKey|DeleteAccessKey)$/.test(awsAction(r));
const awsCreate: Match = (r) => awsAction(r) === 'CreateAccessKey';
/** Every IAM write changes the account's keys (create, disable, enable, delete); STS, IAM Credentials and the token endpoint are sign-in. */
const GCP_KEYS = /^\/iam\/v1\/projects\/[^/]+\/serviceAccounts\/[^/]+\/keys(\/|$)/;
const gcpChange: Match = (r) => r.method !== 'GET' && GCP_KEYS.test(r.path);
const gcpCreate: Match = (r) => r.method === 'POST' && r.path.endsWith('/keys');
const woodpeckerSave: Match = (r) => (r.method === 'POST' || r.method === 'PATCH') && woodpecker(r);

const CONTRACT = {
  'vmware-csp': { rotating: csp, once: [csp] },
  whmcs: { rotating: whmcs, once: [whmcs] },
  entra: { rotating: (r) => addPassword(r) || removePassword(r), once: [addPassword] },
  woodpecker: {
    rotating: (r) => addPassword(r) || removePassword(r) || woodpecker(r),
    once: [addPassword, woodpeckerSave],
  },
  auth0: {
    // Any change through the Management API (the token endpoint is sign-in, not a change).
    rotating: (r) => r.method !== 'GET' && r.path.startsWith('/api/v2/'),
    once: [auth0Rotate],
  },
  keycloak: { rotating: (r) => kcRegenerate(r) || kcRetire(r), once: [kcRegenerate] },
  okta: { rotating: okta, once: [oktaCreate] },
  'aws-iam': { rotating: awsChange, once: [awsCreate] },
  'gcp-service-account': { rotating: gcpChange, once: [gcpCreate] },
} satisfies Record<ProviderName, Contract>;

/** Printed after preflight but before the rotating call, by design (README: warn before rotating). */
const PRE_ROTATION_WARNING = 'kills the old secret at once';

// Each test starts its own world, so the tests of every describe in this file run concurrently.
const describe = describeInOrder.concurrent;
const startOwn = worldPerTest();

describe('the registry', () => {
  it('lists the same providers in src, in the contract table and in the fixtures', () => {
    expect([...PROVIDERS].sort()).toEqual(Object.keys(CONTRACT).sort());
    expect([...PROVIDERS].sort()).toEqual([...FIXTURE_PROVIDERS].sort());
    expect(PROVIDERS.length).toBeGreaterThan(0);
  });
});

describe.each(PROVIDERS)('contract: %s', (name) => {
  const contract: Contract = CONTRACT[name];
  const start = (): Promise<World> => startOwn(name);
  const providerRequests = (w: World): LoggedRequest[] =>
    w.providerEmulators.flatMap((e) => e.requests);
  const rotatingCalls = (w: World): LoggedRequest[] =>
    providerRequests(w).filter(contract.rotating);

  it('preflight (dry run) changes nothing at the provider or at GitHub', async () => {
    const w = await start();
    const run = await w.run({ 'dry-run': 'true' });
    expect(run.process).toBe('bundle');
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    // Preflight did sign in (a POST the predicate must not count), yet nothing rotated.
    expect(providerRequests(w).filter((r) => r.method === 'POST').length).toBeGreaterThan(0);
    expect(rotatingCalls(w)).toEqual([]);
    expect(w.github.calls('GET', /public-key$/)).toHaveLength(1);
    expect(w.github.calls('PUT', /.*/)).toEqual([]);
    expect(w.github.calls('DELETE', /.*/)).toEqual([]);
    expect(w.currentSecret()).toBe(OLD_SECRET);
    expect(run.outputs['rotated']).toBe('false');
    expect(targets(run).length).toBeGreaterThan(0);
    expect(targets(run).every((t) => t.status === 'skipped')).toBe(true);
    expectClean(w, run);
  });

  it('rotates exactly once, after preflight; anything else rotating waits until every target is verified', async () => {
    const w = await start();
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const rotating = rotatingCalls(w);
    // Counted among the rotating calls: a predicate that misses the rotation fails here, not silently in the dry run.
    for (const [i, once] of contract.once.entries())
      expect(rotating.filter(once), `once[${i}]`).toHaveLength(1);
    const lastKey = Math.max(...w.github.calls('GET', /public-key$/).map((r) => r.at));
    const firstWrite = Math.min(...w.github.calls('PUT', /.*/).map((r) => r.at));
    const lastVerify = Math.max(
      ...w.github.calls('GET', new RegExp(`/secrets/${SECRET_NAME}$`)).map((r) => r.at),
    );
    for (const r of rotating) expect(r.at, `${r.method} ${r.path}`).toBeGreaterThanOrEqual(lastKey);
    for (const r of rotating.filter((r) => contract.once.some((m) => m(r))))
      expect(r.at).toBeLessThanOrEqual(firstWrite);
    for (const r of rotating.filter((r) => !contract.once.some((m) => m(r))))
      expect(r.at, `${r.method} ${r.path}`).toBeGreaterThanOrEqual(lastVerify);
    expectClean(w, run);
  });

  it('masks the new secret before any line about rotating or storing it', async () => {
    const w = await start();
    const run = await w.run();
    expect(run.code).toBe(0);
    const secret = w.currentSecret();
    expect(secret).not.toBe(OLD_SECRET);
    // As @actions/core writes a command's data: a multi-line secret (a key file) on one line.
    const data = secret.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
    const masked = lineOf(run, (l) => l === `::add-mask::${data}`);
    expect(masked).toBeGreaterThan(-1);
    const preflightDone = lineOf(run, (l) => l.startsWith('Found '));
    expect(preflightDone).toBeGreaterThan(-1);
    const lines = run.stdout.split('\n');
    const mentions = lines.findIndex(
      (l, i) =>
        l.startsWith('Rotated ') ||
        l.includes('Stored') ||
        (i > preflightDone && /^::(warning|error)/.test(l) && !l.includes(PRE_ROTATION_WARNING)),
    );
    expect(mentions, 'a line about the rotation').toBeGreaterThan(-1);
    expect(masked).toBeLessThan(mentions);
    expectClean(w, run);
  });

  it('stores exactly the new secret and reports it in the outputs', async () => {
    const w = await start();
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const stored = w.github.secret(`repo:${REPO}`, SECRET_NAME)?.value;
    expect(stored).toBe(w.currentSecret());
    expect(stored).not.toBe(OLD_SECRET);
    expect(targets(run)).toEqual([
      { target: `repo ${REPO}`, secret: SECRET_NAME, status: 'written' },
    ]);
    expect(run.outputs['rotated']).toBe('true');
    expect(run.outputs['client-id']).toBeTruthy();
    expectClean(w, run);
  });

  it('fails a bad input naming it, before any request anywhere', async () => {
    const w = await start();
    const run = await w.run({ 'secret-name': 'GITHUB_X' });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/'secret-name'/);
    expect(providerRequests(w)).toEqual([]);
    expect(w.github.requests).toEqual([]);
    expect(w.currentSecret()).toBe(OLD_SECRET);
    expect(run.outputs['rotated']).toBe('false');
    expectClean(w, run);
  });
});
