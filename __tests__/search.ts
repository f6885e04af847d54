// The invariant search: random schedules of faults on the provider and on GitHub, each run in process
// through the same wiring as src/main.ts, against fresh loopback emulators, on a virtual clock (retries,
// pacing, Retry-After and propagation cost no real time). After each run the world is checked:
//   no lock-out, no loss, at most one rotating call, no leak, and the report matches the world.
// Plain module (no vitest), so that scripts/fuzz.ts can run it under node as well as the tests.
import fc from 'fast-check';
import sodium from 'libsodium-wrappers';
import { setClock } from '../src/clock.js';
import { createGitHub, type GitHub } from '../src/github/client.js';
import { fileWithApp } from '../src/github/issue-app.js';
import { RetryPolicy } from '../src/policy.js';
import { GRACE_MS, type Stop, StopController } from '../src/stop.js';
import { parseInputs } from '../src/inputs/index.js';
import {
  concernsIssue,
  type FailureIssue,
  fileFailureIssue,
  parseFailureIssue,
} from '../src/issue.js';
import { NotYet } from '../src/previous.js';
import type { Report } from '../src/pipeline.js';
import { MARKER } from '../src/providers/entra-app.js';
import { setOutputs, summaryMarkdown } from '../src/summary.js';
import { execute as wire } from '../src/wire.js';
import { auth0Error } from './emulators/auth0.ts';
import { cspError } from './emulators/csp.ts';
import { graphError } from './emulators/entra.ts';
import { adminError, oauthError } from './emulators/keycloak.ts';
import { oktaError } from './emulators/okta.ts';
import { awsError } from './emulators/aws-iam.ts';
import { GITHUB_ISSUER, gcpError } from './emulators/gcp.ts';
import type { Emulator, Fault } from './emulators/server.ts';
import { fastZeroTimeouts, type Outgoing, RunProcess, VirtualClock } from './search-process.ts';
export { VirtualClock } from './search-process.ts';
import { woodpeckerError } from './emulators/woodpecker.ts';
import {
  APP_ID,
  AUTH0_CLIENT,
  CREDENTIALS,
  CSP_APP,
  KC_CLIENT,
  KC_REALM,
  OKTA_APP,
  AWS_OLD_KEY_ID,
  AWS_USER,
  GCP_ROTATOR,
  GCP_SA,
  OKTA_CLIENT_ID,
  OLD_SECRET,
  ORG,
  REPO,
  SECRET_NAME,
  startWorld,
  WHMCS_CREDENTIAL,
  WOODPECKER_CREDENTIAL,
  type ProviderName,
  type World,
} from './fixtures.ts';
import { findLeaks, type Run } from './harness.ts';

await sodium.ready;

/** Per-attempt HTTP limit in the searched configuration: a hung request costs this much real time. */
export const REQUEST_TIMEOUT_MS = 40;
/** A run that takes longer than this in real time is a violation (the action would hang). */
const RUN_LIMIT_MS = 15_000;
/** This rotation's Entra password tag (input entra-password-tag). */
const PASSWORD_TAG = 'fuzz-search';
/** Where failure issues go (failure-issue-repository): a repository every world has. */
const ISSUE_REPO = 'octo/lib';
/** Virtual time at the start of every run. */
const T0 = Date.parse('2026-11-23T03:00:00Z');

export type Variant =
  | 'csp-regenerate'
  | 'csp-overlap'
  | 'whmcs'
  | 'entra'
  | 'woodpecker'
  | 'auth0'
  | 'keycloak'
  | 'keycloak-policy'
  | 'okta'
  | 'aws-iam'
  | 'gcp-service-account';
export const VARIANTS: readonly Variant[] = [
  'csp-regenerate',
  'csp-overlap',
  'whmcs',
  'entra',
  'woodpecker',
  'auth0',
  'keycloak',
  'keycloak-policy',
  'okta',
  'aws-iam',
  'gcp-service-account',
];

const providerOf: Record<Variant, ProviderName> = {
  'csp-regenerate': 'vmware-csp',
  'csp-overlap': 'vmware-csp',
  whmcs: 'whmcs',
  entra: 'entra',
  woodpecker: 'woodpecker',
  auth0: 'auth0',
  keycloak: 'keycloak',
  'keycloak-policy': 'keycloak',
  okta: 'okta',
  'aws-iam': 'aws-iam',
  'gcp-service-account': 'gcp-service-account',
};

/** A request class that faults can hit: which emulator, which method and path (and WHMCS action). */
interface Route {
  readonly name: string;
  readonly on:
    | 'github'
    | 'csp'
    | 'whmcs'
    | 'entra'
    | 'woodpecker'
    | 'auth0'
    | 'keycloak'
    | 'okta'
    | 'aws'
    | 'gcp';
  readonly method: string;
  readonly path: RegExp;
  readonly bodyIncludes?: string;
}

/** The failure issue's calls (failure-issue-repository): they may fail too. */
const ISSUE_ROUTES: Route[] = [
  { name: 'GitHub GET issues', on: 'github', method: 'GET', path: /\/issues$/ },
  { name: 'GitHub POST issue', on: 'github', method: 'POST', path: /\/issues(\/\d+\/comments)?$/ },
  { name: 'GitHub PATCH issue', on: 'github', method: 'PATCH', path: /\/issues\/\d+$/ },
];
const GITHUB_ROUTES: Route[] = [
  { name: 'GitHub GET public-key', on: 'github', method: 'GET', path: /\/secrets\/public-key$/ },
  { name: 'GitHub PUT secret', on: 'github', method: 'PUT', path: /\/secrets\/[^/]+$/ },
  {
    name: 'GitHub GET secret',
    on: 'github',
    method: 'GET',
    path: /\/secrets\/(?!public-key$)[^/]+$/,
  },
  { name: 'GitHub list repositories', on: 'github', method: 'GET', path: /\/orgs\/[^/]+\/repos$/ },
  { name: 'GitHub POST variable', on: 'github', method: 'POST', path: /\/variables$/ },
  { name: 'GitHub PATCH variable', on: 'github', method: 'PATCH', path: /\/variables\/[^/]+$/ },
  { name: 'GitHub GET variable', on: 'github', method: 'GET', path: /\/variables(\/[^/]+)?$/ },
  // GitHub App sign-in (schedules with `app`): finding the installation, minting, revoking.
  { name: 'GitHub GET installation', on: 'github', method: 'GET', path: /\/installation$/ },
  { name: 'GitHub POST access_tokens', on: 'github', method: 'POST', path: /\/access_tokens$/ },
  { name: 'GitHub DELETE token', on: 'github', method: 'DELETE', path: /^\/installation\/token$/ },
  ...ISSUE_ROUTES,
];
const CSP_ROUTES: Route[] = [
  { name: 'CSP token', on: 'csp', method: 'POST', path: /\/auth\// },
  { name: 'CSP GET app', on: 'csp', method: 'GET', path: /\/oauth-apps\/[^/]+$/ },
  { name: 'CSP DELETE secret', on: 'csp', method: 'DELETE', path: /\/secret$/ },
];
const ENTRA_ROUTES: Route[] = [
  { name: 'Entra token', on: 'entra', method: 'POST', path: /\/oauth2\/v2\.0\/token$/ },
  { name: 'Graph GET app', on: 'entra', method: 'GET', path: /^\/v1\.0\/[^/]+$/ },
  { name: 'Graph addPassword', on: 'entra', method: 'POST', path: /\/addPassword$/ },
  { name: 'Graph removePassword', on: 'entra', method: 'POST', path: /\/removePassword$/ },
];
const KEYCLOAK_ROUTES: Route[] = [
  { name: 'Keycloak token', on: 'keycloak', method: 'POST', path: /\/openid-connect\/token$/ },
  { name: 'Keycloak GET clients', on: 'keycloak', method: 'GET', path: /\/clients$/ },
  { name: 'Keycloak GET client', on: 'keycloak', method: 'GET', path: /\/clients\/[^/]+$/ },
  { name: 'Keycloak GET secret', on: 'keycloak', method: 'GET', path: /\/client-secret$/ },
  { name: 'Keycloak POST secret', on: 'keycloak', method: 'POST', path: /\/client-secret$/ },
];
// Okta: sign-in (service app schedules), the app, the secrets listing, create, deactivate, delete.
const OKTA_ROUTES: Route[] = [
  { name: 'Okta token', on: 'okta', method: 'POST', path: /^\/oauth2\/v1\/token$/ },
  { name: 'Okta GET app', on: 'okta', method: 'GET', path: /^\/api\/v1\/apps\/[^/]+$/ },
  { name: 'Okta list secrets', on: 'okta', method: 'GET', path: /\/credentials\/secrets$/ },
  { name: 'Okta create secret', on: 'okta', method: 'POST', path: /\/credentials\/secrets$/ },
  { name: 'Okta deactivate', on: 'okta', method: 'POST', path: /\/lifecycle\/deactivate$/ },
  { name: 'Okta delete', on: 'okta', method: 'DELETE', path: /\/credentials\/secrets\/[^/]+$/ },
];
// AWS: STS GetCallerIdentity (preflight's sign-in check and the new key's confirm) and the IAM actions.
const iam = (action: string): Route => ({
  name: `IAM ${action}`,
  on: 'aws',
  method: 'POST',
  path: /^\/$/,
  bodyIncludes: `Action=${action}`,
});
const AWS_ROUTES: Route[] = [
  { name: 'STS GetCallerIdentity', on: 'aws', method: 'POST', path: /^\/sts\/$/ },
  iam('ListAccessKeys'),
  iam('CreateAccessKey'),
  iam('UpdateAccessKey'),
  iam('DeleteAccessKey'),
];
// Google Cloud: sign-in (STS, generateAccessToken; WIF schedules), the key listing, create, the
// new key's confirm at the token endpoint, disable, delete.
const GCP_KEYS = '/iam/v1/projects/-/serviceAccounts/[^/]+/keys';
const GCP_ROUTES: Route[] = [
  { name: 'GCP STS token', on: 'gcp', method: 'POST', path: /^\/sts\/v1\/token$/ },
  { name: 'GCP generateAccessToken', on: 'gcp', method: 'POST', path: /:generateAccessToken$/ },
  { name: 'GCP list keys', on: 'gcp', method: 'GET', path: new RegExp(`^${GCP_KEYS}$`) },
  { name: 'GCP create key', on: 'gcp', method: 'POST', path: new RegExp(`^${GCP_KEYS}$`) },
  { name: 'GCP OAuth token', on: 'gcp', method: 'POST', path: /^\/oauth2\/token$/ },
  {
    name: 'GCP disable key',
    on: 'gcp',
    method: 'POST',
    path: new RegExp(`^${GCP_KEYS}/[^/]+:disable$`),
  },
  { name: 'GCP get key', on: 'gcp', method: 'GET', path: new RegExp(`^${GCP_KEYS}/[^/]+$`) },
  { name: 'GCP delete key', on: 'gcp', method: 'DELETE', path: new RegExp(`^${GCP_KEYS}/[^/]+$`) },
];
const whmcs = (action: string): Route => ({
  name: `WHMCS ${action}`,
  on: 'whmcs',
  method: 'POST',
  path: /^\/includes\/api\.php$/,
  bodyIncludes: `action=${action}`,
});

export const ROUTES: Record<Variant, readonly Route[]> = {
  'csp-regenerate': [
    ...GITHUB_ROUTES,
    ...CSP_ROUTES,
    { name: 'CSP PUT secret', on: 'csp', method: 'PUT', path: /\/secret$/ },
  ],
  'csp-overlap': [
    ...GITHUB_ROUTES,
    ...CSP_ROUTES,
    { name: 'CSP POST secret', on: 'csp', method: 'POST', path: /\/secret$/ },
  ],
  whmcs: [...GITHUB_ROUTES, whmcs('ListOAuthCredentials'), whmcs('UpdateOAuthCredential')],
  entra: [...GITHUB_ROUTES, ...ENTRA_ROUTES],
  woodpecker: [
    ...GITHUB_ROUTES,
    ...ENTRA_ROUTES,
    { name: 'Woodpecker list', on: 'woodpecker', method: 'GET', path: /\/credentials$/ },
    { name: 'Woodpecker PATCH', on: 'woodpecker', method: 'PATCH', path: /\/credentials\/\d+$/ },
  ],
  auth0: [
    ...GITHUB_ROUTES,
    // The management sign-in and the confirmation of the new secret alike.
    { name: 'Auth0 token', on: 'auth0', method: 'POST', path: /^\/oauth\/token$/ },
    { name: 'Auth0 GET client', on: 'auth0', method: 'GET', path: /^\/api\/v2\/clients\/[^/]+$/ },
    {
      name: 'Auth0 rotate-secret',
      on: 'auth0',
      method: 'POST',
      path: /^\/api\/v2\/clients\/[^/]+\/rotate-secret$/,
    },
  ],
  keycloak: [...GITHUB_ROUTES, ...KEYCLOAK_ROUTES],
  'keycloak-policy': [
    ...GITHUB_ROUTES,
    ...KEYCLOAK_ROUTES,
    { name: 'Keycloak DELETE rotated', on: 'keycloak', method: 'DELETE', path: /\/rotated$/ },
  ],
  okta: [...GITHUB_ROUTES, ...OKTA_ROUTES],
  'aws-iam': [...GITHUB_ROUTES, ...AWS_ROUTES],
  'gcp-service-account': [...GITHUB_ROUTES, ...GCP_ROUTES],
};

/**
 * The rotating call of each variant (Woodpecker: Entra's addPassword and Woodpecker's PATCH that saves
 * it), and the requests that prove what happened after it: listings, read-backs, confirmations and
 * the retire. Faults are drawn on them more often than on the rest.
 */
export const ROTATING: Record<Variant, readonly string[]> = {
  'csp-regenerate': ['CSP PUT secret'],
  'csp-overlap': ['CSP POST secret'],
  whmcs: ['WHMCS UpdateOAuthCredential'],
  entra: ['Graph addPassword'],
  woodpecker: ['Graph addPassword', 'Woodpecker PATCH'],
  auth0: ['Auth0 rotate-secret'],
  keycloak: ['Keycloak POST secret'],
  'keycloak-policy': ['Keycloak POST secret'],
  okta: ['Okta create secret'],
  'aws-iam': ['IAM CreateAccessKey'],
  'gcp-service-account': ['GCP create key'],
};
const GITHUB_PROOFS = ['GitHub PUT secret', 'GitHub GET secret'];
export const PROOFS: Record<Variant, readonly string[]> = {
  'csp-regenerate': [...GITHUB_PROOFS, 'CSP GET app', 'CSP token'],
  'csp-overlap': [...GITHUB_PROOFS, 'CSP GET app', 'CSP token', 'CSP DELETE secret'],
  whmcs: [...GITHUB_PROOFS, 'WHMCS ListOAuthCredentials'],
  entra: [...GITHUB_PROOFS, 'Graph GET app', 'Entra token', 'Graph removePassword'],
  woodpecker: [...GITHUB_PROOFS, 'Woodpecker list', 'Graph GET app', 'Entra token'],
  auth0: [...GITHUB_PROOFS, 'Auth0 GET client', 'Auth0 token'],
  keycloak: [...GITHUB_PROOFS, 'Keycloak GET secret', 'Keycloak token'],
  'keycloak-policy': [
    ...GITHUB_PROOFS,
    'Keycloak GET secret',
    'Keycloak token',
    'Keycloak DELETE rotated',
  ],
  okta: [...GITHUB_PROOFS, 'Okta list secrets', 'Okta deactivate', 'Okta delete'],
  'aws-iam': [
    ...GITHUB_PROOFS,
    'IAM ListAccessKeys',
    'STS GetCallerIdentity',
    'IAM UpdateAccessKey',
    'IAM DeleteAccessKey',
  ],
  'gcp-service-account': [
    ...GITHUB_PROOFS,
    'GCP list keys',
    'GCP OAuth token',
    'GCP disable key',
    'GCP get key',
    'GCP delete key',
  ],
};

export const KINDS = [
  'hang', // timeout before the effect
  'hang-after', // timeout after the effect
  'lost', // effect, then the connection drops: the answer is lost
  'drop', // the connection drops before the effect
  '5xx',
  '5xx-after',
  '3xx',
  '401', // an expired or revoked token
  '403', // GitHub: secondary rate limit with Retry-After; providers: forbidden
  '429',
  'slow',
  'noop', // answers success and changes nothing
  'stall', // answers normally, but only after `param` × 10 s of virtual time (tokens may expire meanwhile)
] as const;
/**
 * Kinds only some variants draw (so that the other variants' seeded schedules stay as they were):
 * Keycloak, a 401 answered after the effect (a proxy in front of Keycloak; Keycloak itself refuses a
 * stale token before acting).
 */
const EXTRA_KINDS = ['401-after'] as const;
export type Kind = (typeof KINDS)[number] | (typeof EXTRA_KINDS)[number];
const kindsOf = (variant: Variant): readonly Kind[] =>
  variant === 'keycloak' || variant === 'keycloak-policy' ? [...KINDS, ...EXTRA_KINDS] : KINDS;

export interface FaultSpec {
  /** A route name from ROUTES[variant]. */
  readonly route: string;
  readonly kind: Kind;
  /** How many matching requests it hits. */
  readonly times: number;
  /** How many matching requests it lets through first. */
  readonly skip: number;
  /** Retry-After seconds for 403/429, status variant for 5xx/3xx, delay for slow. */
  readonly param: number;
}

export interface Schedule {
  readonly variant: Variant;
  /**
   * Per-attempt HTTP limit in real ms (default REQUEST_TIMEOUT_MS). Example tests without a hang
   * that assert exact logs set it high: on a loaded machine a slow answer must not become a timeout.
   */
  readonly timeoutMs?: number;
  readonly faults: readonly FaultSpec[];
  /** Targets besides `repo octo/app`. */
  readonly environment: boolean;
  readonly dependabot: boolean;
  readonly org: boolean;
  /** Sign in as a GitHub App (one installation token, revoked at the end) instead of with a token. */
  readonly app: boolean;
  /** Codespaces secrets: a repository's, and an organization's scoped to selected repositories. */
  readonly codespaces?: boolean;
  readonly codespacesOrg?: boolean;
  /** A pattern line, `repos octo/svc-*`, that expands to two repositories (a third is archived). */
  readonly pattern?: boolean;
  /** Input client-id-variable-name: the client id as a variable where targets have variables. */
  readonly variable?: boolean;
  readonly recoveryKey: boolean;
  /** Entra's propagation delay for new passwords, virtual ms (the action waits up to 30 s). */
  readonly propagationMs: number;
  readonly storeTimeout: '1m' | '10m';
  /** CSP overlap only: csp-retire-previous. */
  readonly retirePrevious: boolean;
  /** Entra and Woodpecker: the previous password was added by an earlier run of the action (its marker). */
  readonly oldByAction: boolean;
  /** Seeds Math.random for the run (backoff jitter), so that a schedule replays the same way. */
  readonly random: number;
  /**
   * Whether the run is due (src/due.ts): rotate-if-expires-within 1h, 30d or 366d (Woodpecker's
   * credential expires in 39 days, this rotation's earlier Entra password, which the targets hold, in
   * 20: with it that decides, for Woodpecker too; CSP and WHMCS fall back to the day-old target
   * secret), or skip-if-rotated-within 2d (skips). Absent: always due. A run skipped by the expiry
   * while a target holds an Entra password that expires within the window breaks an invariant.
   */
  readonly due?: 'expires-1h' | 'expires-30d' | 'expires-366d' | 'skip-2d' | undefined;
  /** failure-issue-repository: none, none open yet, or one open from an earlier failed run. */
  readonly issue?: 'fresh' | 'open' | undefined;
  /**
   * keycloak-policy only: the policy's Rotated Secret Expiration is 0, so it keeps no previous secret
   * although it stamps the client as the usual policy does (preflight cannot tell the two apart).
   */
  readonly keepsNone?: boolean;
  /**
   * csp-overlap only: CSP's app details carry no lastUpdatedAt (unverified that CSP shows it), so a
   * rotation whose every write failed is seen only by the open failure issue. Applied only with a
   * failure issue: without one the run warns that it cannot see it (docs/failure-modes.md).
   */
  readonly hidesLastUpdated?: boolean;
  /** How run 1 ends before its end (absent: it runs to its end). */
  readonly stop?: StopSpec;
  /** The runs after the first, over the same world (the same inputs, the same emulators, one clock). */
  readonly then?: readonly RunSpec[];
}

/**
 * A run stopped at a request: SIGKILL abandons it there (nothing of it is sent, answered or logged
 * again); SIGINT is the runner's cancel (SIGTERM 7.5 s later, the kill 2.5 s after that, virtual time).
 */
export interface StopSpec {
  readonly signal: 'SIGKILL' | 'SIGINT';
  /** A route name from ROUTES[variant], or `any`: every request counts. */
  readonly route: string;
  /** Which matching request of the run, from 0. A run with fewer ends by itself. */
  readonly nth: number;
  /** Before the request is sent, or once its answer starts to arrive (the provider has acted). */
  readonly after: boolean;
}

/** One run of a sequence after the first. */
export interface RunSpec {
  readonly faults: readonly FaultSpec[];
  readonly stop?: StopSpec;
  /** Virtual ms between the end of the previous run and the start of this one (0: the same second). */
  readonly gapMs: number;
}

/** A fault outlasts every retry of a call (the policy makes 4 attempts). */
const LASTING = 8;

function faultArb(variant: Variant) {
  const all = ROUTES[variant].map((r) => r.name);
  return fc.record({
    // The rotating call and its proofs draw most faults: a fault elsewhere mostly never changes
    // what the run does after the rotation.
    route: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...ROTATING[variant]) },
      { weight: 3, arbitrary: fc.constantFrom(...PROOFS[variant]) },
      { weight: 3, arbitrary: fc.constantFrom(...all) },
    ),
    kind: fc.constantFrom(...kindsOf(variant)),
    times: fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) },
      { weight: 1, arbitrary: fc.constant(LASTING) },
    ),
    skip: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }) },
    ),
    param: fc.integer({ min: 0, max: 90 }),
  });
}

export function scheduleArb(variant: Variant, o: { recoveryKey?: boolean } = {}) {
  const fault = faultArb(variant);
  return fc.record({
    variant: fc.constant(variant),
    faults: fc.array(fault, { maxLength: 5 }),
    environment: fc.boolean(),
    dependabot: fc.boolean(),
    org: fc.boolean(),
    app: fc.boolean(),
    codespaces: fc.boolean(),
    codespacesOrg: fc.boolean(),
    pattern: fc.boolean(),
    variable: fc.boolean(),
    recoveryKey:
      o.recoveryKey === undefined
        ? fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, fc.constant(false))
        : fc.constant(o.recoveryKey),
    propagationMs: fc.constantFrom(0, 3_000, 45_000),
    storeTimeout: fc.constantFrom('1m' as const, '10m' as const),
    retirePrevious: fc.boolean(),
    oldByAction: fc.boolean(),
    random: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    issue: fc.constantFrom(undefined, 'fresh' as const, 'open' as const),
    due: fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      fc.constantFrom(
        'expires-1h' as const,
        'expires-30d' as const,
        'expires-366d' as const,
        'skip-2d' as const,
      ),
    ),
    ...(variant === 'keycloak-policy' ? { keepsNone: fc.boolean() } : {}),
    ...(variant === 'csp-overlap' ? { hidesLastUpdated: fc.boolean() } : {}),
  });
}

/** The kinds of run sequences over one world (scripts/fuzz.ts and the tests run each). */
export const SEQUENCES = ['killed', 'failed', 'same-second', 'back-to-back'] as const;
export type Sequence = (typeof SEQUENCES)[number];

function stopArb(variant: Variant, signals: readonly StopSpec['signal'][]) {
  return fc.oneof(
    // At the rotating call or one of its proofs, mostly the first of them.
    {
      weight: 3,
      arbitrary: fc.record({
        signal: fc.constantFrom(...signals),
        route: fc.constantFrom(...ROTATING[variant], ...PROOFS[variant]),
        nth: fc.oneof(
          { weight: 3, arbitrary: fc.constant(0) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) },
        ),
        after: fc.boolean(),
      }),
    },
    // At any request of the run.
    {
      weight: 1,
      arbitrary: fc.record({
        signal: fc.constantFrom(...signals),
        route: fc.constant('any'),
        nth: fc.integer({ min: 0, max: 40 }),
        after: fc.boolean(),
      }),
    },
  );
}

/**
 * Sequences of runs over one world: `killed`, run 1 stopped at a request, then a re-run; `failed`,
 * run 1 meets faults that outlast every retry, then a re-run; `same-second`, a clean run, then a re-run
 * with faults in the same second; `back-to-back`, three runs of the credential one after the other.
 */
export function sequenceArb(
  variant: Variant,
  kind: Sequence,
  o: { recoveryKey?: boolean; signals?: readonly StopSpec['signal'][] } = {},
) {
  const fault = faultArb(variant);
  const signals = o.signals ?? ['SIGKILL', 'SIGINT'];
  const faults = fc.array(fault, { maxLength: 3 });
  const gap = fc.constantFrom(0, 1_000, 3_600_000, 26 * 3_600_000);
  const rerun = fc.record({ faults, gapMs: gap });
  const base = scheduleArb(variant, o);
  switch (kind) {
    case 'killed':
      return fc
        .tuple(base, stopArb(variant, signals), rerun)
        .map(([s, stop, r]) => ({ ...s, stop, then: [r] }));
    case 'failed':
      return (
        fc
          .tuple(
            base,
            fc.array(
              fault.map((f) => ({ ...f, times: LASTING })),
              { minLength: 1, maxLength: 2 },
            ),
            rerun,
            fc.boolean(),
          )
          // Half the re-runs meet the same cause again (nobody fixed it): a target that fails twice.
          .map(([s, lasting, r, again]) => ({
            ...s,
            faults: lasting,
            then: [again ? { ...r, faults: [...lasting, ...r.faults] } : r],
          }))
      );
    case 'same-second':
      return fc
        .tuple(base, fc.array(fault, { minLength: 1, maxLength: 4 }))
        .map(([s, f]) => ({ ...s, faults: [], then: [{ faults: f, gapMs: 0 }] }));
    case 'back-to-back':
      return fc
        .tuple(base, faults, faults, fc.option(stopArb(variant, signals), { nil: undefined }))
        .map(([s, f2, f3, stop]) => ({
          ...s,
          then: [
            { faults: f2, gapMs: 0, ...(stop ? { stop } : {}) },
            { faults: f3, gapMs: 0 },
          ],
        }));
  }
}

/** mulberry32: a small seeded generator for Math.random during a run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function faultFor(route: Route, spec: FaultSpec, clock: VirtualClock): Fault {
  const common = {
    times: spec.times,
    skip: spec.skip,
    ...(route.bodyIncludes ? { bodyIncludes: route.bodyIncludes } : {}),
  };
  const status = (s: number): Fault => ({ ...common, status: s, body: errorBody(route, s) });
  switch (spec.kind) {
    case 'hang':
      return { ...common, hang: true };
    case 'hang-after':
      return { ...common, hang: true, afterEffect: true };
    case 'lost':
      return { ...common, drop: true, afterEffect: true };
    case 'drop':
      return { ...common, drop: true };
    case '5xx':
      return status([500, 502, 503][spec.param % 3]!);
    case '5xx-after':
      return { ...status(502), afterEffect: true };
    case '3xx':
      // No Location: fetch hands GitHub's 3xx back as is, undici never follows.
      return { ...common, status: [302, 307][spec.param % 2]!, body: '' };
    case '401':
      return status(401);
    case '401-after':
      return { ...status(401), afterEffect: true };
    case '403':
      return route.on === 'github'
        ? {
            ...common,
            status: 403,
            headers: { 'retry-after': String(spec.param) },
            body: {
              message:
                'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
            },
          }
        : status(403);
    case '429':
      return { ...status(429), headers: { 'retry-after': String(spec.param) } };
    case 'slow':
      return { ...common, delayMs: 1 + (spec.param % 10) };
    case 'stall':
      return { ...common, onMatch: () => clock.advance(spec.param * 10_000) };
    case 'noop':
      if (route.on === 'github') return { ...common, status: 204 };
      if (route.on === 'whmcs') return { ...common, status: 200, body: { result: 'success' } };
      return { ...common, status: 200, body: {} };
  }
}

function errorBody(route: Route, status: number): unknown {
  switch (route.on) {
    case 'github':
      return { message: status === 401 ? 'Bad credentials' : 'Server Error' };
    case 'csp':
      return cspError(status);
    case 'whmcs':
      return status === 401
        ? { result: 'error', message: 'Authentication Failed' }
        : `<html><body>${status}</body></html>`;
    case 'entra':
      return graphError(
        status,
        status === 401 ? 'InvalidAuthenticationToken' : 'ServiceUnavailable',
        status === 401 ? 'Lifetime validation failed, the token is expired.' : 'Try again.',
      ).body;
    case 'woodpecker':
      return woodpeckerError(status);
    case 'auth0':
      return auth0Error(status);
    case 'keycloak':
      return route.path.test('/protocol/openid-connect/token')
        ? oauthError(status, status === 401 ? 'invalid_client' : 'server_error', 'Emulated').body
        : adminError(status).body;
    case 'okta':
      return oktaError(status);
    case 'aws':
      // AWS's own codes for what the search draws (it never answers 401 or 429 itself).
      return status >= 500
        ? awsError('ServiceFailure', 'Emulated', 'Receiver')
        : status === 429
          ? awsError('Throttling', 'Rate exceeded')
          : awsError(status === 403 ? 'AccessDenied' : 'InvalidClientTokenId', 'Emulated');
    case 'gcp':
      // OAuth endpoints (STS, the token endpoint) answer OAuth errors, the APIs Google's JSON errors.
      return route.path.test('/oauth2/token') || route.path.test('/sts/v1/token')
        ? {
            error: status >= 500 ? 'internal_failure' : 'access_denied',
            error_description: 'Emulated',
          }
        : gcpError(
            status,
            status >= 500
              ? 'UNAVAILABLE'
              : status === 429
                ? 'RESOURCE_EXHAUSTED'
                : status === 403
                  ? 'PERMISSION_DENIED'
                  : 'UNAUTHENTICATED',
            'Emulated',
          );
  }
}

/** What one run of a sequence did; `report` and `outputs` are empty for a killed run. */
export interface RunOutcome {
  readonly violations: string[];
  readonly report: Report;
  readonly outputs: Record<string, string>;
  readonly log: string[];
  readonly killed: boolean;
  /** It ran past RUN_LIMIT_MS of real time (abandoned, and the sequence ends). */
  readonly hung: boolean;
}

/** A schedule's violations (each run's prefixed `run N:` in a sequence) and its last run. */
export interface Outcome {
  readonly violations: string[];
  readonly report: Report;
  readonly outputs: Record<string, string>;
  readonly log: string[];
  readonly runs: readonly RunOutcome[];
}

/** The variable that receives the client id when a schedule has `variable`. */
const VARIABLE = 'CLIENT_ID';

/** A target line, the emulator's scope of its secret, and of its variables where it has them. */
interface ScopeSpec {
  readonly line: string;
  /** Not a line of the input: a target the pattern line expands to. */
  readonly fromPattern?: boolean;
  readonly scope: string;
  readonly variables?: string;
}

const SCOPES = {
  repo: { line: `repo ${REPO}`, scope: `repo:${REPO}`, variables: `repo:${REPO}` },
  environment: {
    line: `environment ${REPO} production`,
    scope: `env:${REPO}:production`,
    variables: `env:${REPO}:production`,
  },
  dependabot: { line: `dependabot ${REPO}`, scope: `dependabot:${REPO}` },
  org: { line: `org ${ORG} private`, scope: `org:${ORG}`, variables: `org:${ORG}` },
  codespaces: { line: `codespaces ${REPO}`, scope: `codespaces:${REPO}` },
  codespacesOrg: {
    line: `codespaces-org ${ORG} selected ${REPO}`,
    scope: `codespaces-org:${ORG}`,
  },
} satisfies Record<string, ScopeSpec>;

/** The pattern line of schedules with `pattern`, and the targets it must expand to. */
const PATTERN = `repos ${ORG}/svc-*`;
const PATTERN_SCOPES: ScopeSpec[] = ['svc-1', 'svc-2'].map((n) => ({
  line: `repo ${ORG}/${n}`,
  scope: `repo:${ORG}/${n}`,
  variables: `repo:${ORG}/${n}`,
  fromPattern: true,
}));

/** keycloak-policy: the realm's secret-rotation executor (30 days a secret, the previous one kept 2). */
const KEYCLOAK_POLICY = { expirationSeconds: 30 * 86_400, rotatedExpirationSeconds: 2 * 86_400 };

/** How often faults of one route and kind were drawn, applied at least once, and hit a request. */
export interface FaultTally {
  drawn: number;
  applied: number;
  hits: number;
}
/** Every schedule run in this process adds to it (key: variant, route, kind, tab-separated); scripts/fuzz.ts prints it. */
export const faultStats = new Map<string, FaultTally>();

function tally(variant: Variant, spec: FaultSpec, hits: number): void {
  const key = `${variant}\t${spec.route}\t${spec.kind}`;
  const t = faultStats.get(key) ?? { drawn: 0, applied: 0, hits: 0 };
  t.drawn += 1;
  if (hits > 0) t.applied += 1;
  t.hits += hits;
  faultStats.set(key, t);
}

/** Runs one schedule from a fresh world (one run, or a sequence of runs over it) and returns every invariant it broke. */
export async function runSchedule(
  s: Schedule,
  /** Test-only: changes the world or the log after the last run, before its checks (checker self-tests). */
  tamper?: (world: World, log: string[]) => void,
): Promise<Outcome> {
  const clock = new VirtualClock(T0);
  const realRandom = Math.random;
  Math.random = seeded(s.random);
  const restoreTimeouts = fastZeroTimeouts();
  setClock(clock);
  const name = providerOf[s.variant];
  const world = await startWorld(name, {
    now: clock.now,
    propagationDelayMs: s.propagationMs,
    woodpeckerProcessingMs: 0,
    ...(s.app ? { app: true } : {}),
    ...(s.variant === 'keycloak-policy'
      ? {
          keycloakPolicy: s.keepsNone
            ? { ...KEYCLOAK_POLICY, rotatedExpirationSeconds: 0 }
            : KEYCLOAK_POLICY,
        }
      : {}),
  });
  try {
    const scopes: ScopeSpec[] = [
      SCOPES.repo,
      ...(s.environment ? [SCOPES.environment] : []),
      ...(s.dependabot ? [SCOPES.dependabot] : []),
      ...(s.org ? [SCOPES.org] : []),
      ...(s.codespaces ? [SCOPES.codespaces] : []),
      ...(s.codespacesOrg ? [SCOPES.codespacesOrg] : []),
      ...(s.pattern ? PATTERN_SCOPES : []),
    ];
    if (s.pattern) {
      for (const t of PATTERN_SCOPES) world.github.addRepo(t.line.slice('repo '.length));
      world.github.addRepo('octo/svc-3', { archived: true });
    }
    // The previous run stored the current secret a day ago.
    const dayAgo = new Date(T0 - 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (const t of scopes) world.github.seedSecret(t.scope, SECRET_NAME, OLD_SECRET, dayAgo);
    if (world.entra && s.oldByAction)
      world.entra.addApp(APP_ID, {
        initialPasswords: [
          // The form of a password this rotation (tag PASSWORD_TAG) added on an earlier run.
          {
            secretText: OLD_SECRET,
            displayName: `${MARKER} [${PASSWORD_TAG}] ${dayAgo} run 4141-1`,
            // Created just before that run stored it.
            startDateTime: new Date(T0 - 86_400_000 - 1000).toISOString(),
            endDateTime: new Date(T0 + 20 * 86_400_000).toISOString(),
          },
        ],
      });
    // Okta: an app already at its two-secret limit (an older INACTIVE secret beside the active one),
    // with okta-retire-previous, so that the run deletes it first (without, preflight refuses: e2e-okta).
    if (world.okta && s.oldByAction && s.retirePrevious)
      world.okta.addApp(OKTA_APP, {
        clientId: OKTA_CLIENT_ID,
        secrets: [
          { secret: 'Inactive-Okta-Secret-0123', status: 'INACTIVE', created: dayAgo },
          { secret: OLD_SECRET, created: dayAgo },
        ],
      });
    // AWS: likewise a user at its two-key limit (an Inactive key beside the active one), with
    // aws-iam-delete-inactive, so that the run deletes it right before the create.
    if (world.aws && s.oldByAction && s.retirePrevious)
      world.aws.addUser(AWS_USER, {
        keys: [
          { secret: 'Inactive-Aws-Secret-0123456789', status: 'Inactive', created: dayAgo },
          { id: AWS_OLD_KEY_ID, secret: OLD_SECRET, created: dayAgo },
        ],
      });
    // Google Cloud: an account one key short of its limit of 10 (eight disabled keys beside the
    // enabled one): the new key fills it, and a re-run without gcp-retire-previous is refused.
    if (world.gcp && s.oldByAction)
      for (let i = 0; i < 8; i++) world.gcp.addKey(GCP_SA, { disabled: true, validAfter: dayAgo });
    if (world.csp && s.hidesLastUpdated && s.issue) world.csp.showsLastUpdated = false;
    const awsEnv = world.env();
    const { publicKey, privateKey } = sodium.crypto_box_keypair();
    const extra: Record<string, string> = {
      targets: [
        ...scopes.filter((t) => !t.fromPattern).map((t) => t.line),
        ...(s.pattern ? [PATTERN] : []),
      ].join('\n'),
      'store-timeout': s.storeTimeout,
      ...(s.recoveryKey
        ? { 'recovery-public-key': Buffer.from(publicKey).toString('base64') }
        : {}),
      'entra-password-tag': PASSWORD_TAG,
      // With App sign-in the issue is filed with a token of its own (src/github/issue-app.ts).
      ...(s.issue ? { 'failure-issue-repository': ISSUE_REPO } : {}),
      ...(s.due?.startsWith('expires-')
        ? { 'rotate-if-expires-within': s.due.slice('expires-'.length) }
        : {}),
      ...(s.due === 'skip-2d' ? { 'skip-if-rotated-within': '2d' } : {}),
      ...(s.variable ? { 'client-id-variable-name': VARIABLE } : {}),
      ...(s.variant === 'csp-regenerate' ? { 'csp-rotation': 'regenerate' } : {}),
      ...(s.variant === 'csp-overlap'
        ? { 'csp-rotation': 'overlap', 'csp-retire-previous': String(s.retirePrevious) }
        : {}),
      ...(s.variant === 'keycloak-policy'
        ? { 'keycloak-retire-previous': String(s.retirePrevious) }
        : {}),
      // AWS: the run's credentials as configure-aws-credentials leaves them, given as inputs (the
      // search parses inputs with no environment).
      ...(s.variant === 'aws-iam'
        ? {
            'aws-access-key-id': awsEnv['AWS_ACCESS_KEY_ID']!,
            'aws-secret-access-key': awsEnv['AWS_SECRET_ACCESS_KEY']!,
            'aws-session-token': awsEnv['AWS_SESSION_TOKEN']!,
            'aws-iam-retire-previous': String(s.retirePrevious),
            'aws-iam-delete-inactive': String(s.retirePrevious),
          }
        : {}),
      // Google Cloud: half the schedules sign in through WIF (a virtual OIDC token, see execute),
      // half with an access token of the rotator that outlives every sequence.
      ...(s.variant === 'gcp-service-account'
        ? {
            'gcp-retire-previous': String(s.retirePrevious),
            ...(s.random % 2
              ? {
                  'gcp-workload-identity-provider': '',
                  'gcp-auth-service-account': '',
                  'gcp-access-token': world.gcp!.addAccessToken(GCP_ROTATOR, 30 * 86_400_000),
                }
              : {}),
          }
        : {}),
      // Okta: half the schedules sign in with an API token (SSWS), half as the service app.
      ...(s.variant === 'okta'
        ? {
            'okta-retire-previous': String(s.retirePrevious),
            ...(s.random % 2
              ? {
                  'okta-api-token': CREDENTIALS.oktaApiToken,
                  'okta-client-id': '',
                  'okta-private-key': '',
                }
              : {}),
          }
        : {}),
    };
    const issue = parseFailureIssue((n) => world.inputs(extra)[n] ?? '');
    if (s.issue === 'open' && issue)
      world.github.seedIssue(ISSUE_REPO, { title: issue.title, labels: [issue.label] });
    const open = (blob: string): string | undefined => {
      try {
        return sodium.to_string(
          sodium.crypto_box_seal_open(
            sodium.from_base64(blob, sodium.base64_variants.ORIGINAL),
            publicKey,
            privateKey,
          ),
        );
      } catch {
        return undefined;
      }
    };

    const ctx: Ctx = { s, world, clock, scopes, inputs: world.inputs(extra), issue, open };
    const specs: RunSpec[] = [
      { faults: s.faults, gapMs: 0, ...(s.stop ? { stop: s.stop } : {}) },
      ...(s.then ?? []),
    ];
    const operator = new Set<string>();
    const runs: RunOutcome[] = [];
    const violations: string[] = [];
    for (const [i, spec] of specs.entries()) {
      clock.advance(spec.gapMs);
      const last = i === specs.length - 1;
      const o = await runOnce(ctx, spec, operator, i, last ? tamper : undefined);
      runs.push(o);
      const label = specs.length > 1 ? `run ${i + 1}${o.killed ? ' (killed)' : ''}: ` : '';
      violations.push(...o.violations.map((v) => `${label}${v}`));
      if (o.hung) break;
    }
    const last = runs.at(-1)!;
    return { violations, report: last.report, outputs: last.outputs, log: last.log, runs };
  } finally {
    delete process.env['GITHUB_RUN_ID'];
    delete process.env['GITHUB_RUN_ATTEMPT'];
    await world.close();
    setClock();
    restoreTimeouts();
    Math.random = realRandom;
  }
}

/** What every run of a schedule shares: the world and how the action is started in it. */
interface Ctx {
  readonly s: Schedule;
  readonly world: World;
  readonly clock: VirtualClock;
  readonly scopes: readonly ScopeSpec[];
  readonly inputs: Record<string, string>;
  readonly issue: FailureIssue | undefined;
  /** Opens a blob sealed to the schedule's recovery key. */
  readonly open: (blob: string) => string | undefined;
}

/** The world as a run found it, for the checks after it. */
interface Before {
  readonly held: ReadonlyMap<string, string | undefined>;
  /** Whether what each target held worked at the provider. */
  readonly worked: ReadonlyMap<string, boolean>;
  readonly rotations: number;
  readonly providerSecrets: ReadonlySet<string>;
  readonly minted: number;
  readonly revoked: number;
  readonly removed: number;
  readonly variables: ReadonlyMap<string, string | undefined>;
  /** The comments on the open failure issue, when one was open. */
  readonly comments: number | undefined;
}

function snapshot(ctx: Ctx): Before {
  const { world, scopes } = ctx;
  const works = worksAt(world);
  const held = new Map(
    scopes.map((t) => [t.scope, world.github.secret(t.scope, SECRET_NAME)?.value] as const),
  );
  const open = world.github
    .issues(ISSUE_REPO)
    .find((i) => i.state === 'open' && i.title === ctx.issue?.title);
  return {
    held,
    worked: new Map([...held].map(([k, v]) => [k, v !== undefined && works(v)] as const)),
    rotations: rotationCount(world),
    providerSecrets: new Set(providerSecrets(world)),
    minted: world.github.apps.minted.length,
    revoked: world.github.calls('DELETE', '/installation/token').filter((r) => r.status === 204)
      .length,
    removed: world.entra?.removedPasswords(APP_ID).length ?? 0,
    variables: new Map(
      scopes
        .filter((t) => t.variables !== undefined)
        .map((t) => [t.scope, world.github.variable(t.variables!, VARIABLE)?.value] as const),
    ),
    comments: open?.comments.length,
  };
}

/** The emulator a client request goes to, by port. */
function emulatorOn(world: World, port: number): Route['on'] | undefined {
  const ons: Route['on'][] = [
    'github',
    'csp',
    'whmcs',
    'entra',
    'woodpecker',
    'auth0',
    'keycloak',
    'okta',
    'aws',
    'gcp',
  ];
  return ons.find((on) => {
    const e = on === 'github' ? world.github : world[on];
    return e !== undefined && Number(new URL(e.url).port) === port;
  });
}

/** Whether a request the client sends is one of `route`'s. */
function matches(world: World, route: Route, r: Outgoing): boolean {
  return (
    emulatorOn(world, r.port) === route.on &&
    route.method === r.method &&
    route.path.test(r.path) &&
    (route.bodyIncludes === undefined || r.body.includes(route.bodyIncludes))
  );
}

/** The lines of a log that carry the new secret sealed to the recovery key (write-ahead escrow). */
const ESCROW = 'Recovery escrow:';
function escrowBlobs(log: readonly string[]): string[] {
  return log
    .filter((l) => l.startsWith(ESCROW))
    .flatMap((l) => l.slice(ESCROW.length).match(/[A-Za-z0-9+/]{40,}={0,2}/g) ?? []);
}

/** One run of a sequence: arm its faults, start the action as src/main.ts does, stop it where the spec says, check. */
async function runOnce(
  ctx: Ctx,
  spec: RunSpec,
  operator: Set<string>,
  index: number,
  tamper: ((world: World, log: string[]) => void) | undefined,
): Promise<RunOutcome> {
  const { s, world, clock, issue, open } = ctx;
  for (const e of [world.github, ...world.providerEmulators]) e.clearFaults();
  const hits = spec.faults.map(() => 0);
  spec.faults.forEach((f, i) => {
    const route = ROUTES[s.variant].find((r) => r.name === f.route);
    if (!route) throw new Error(`no route ${f.route} for ${s.variant}`);
    const armed = faultFor(route, f, clock);
    emulator(world, route.on).fault(route.method, route.path, {
      ...armed,
      onMatch: () => {
        hits[i]! += 1;
        armed.onMatch?.();
      },
    });
  });
  const before = snapshot(ctx);

  // Each run is a new attempt of one workflow run (its identity, e.g. in Entra password names).
  process.env['GITHUB_RUN_ID'] = '5151';
  process.env['GITHUB_RUN_ATTEMPT'] = String(index + 1);
  const proc = new RunProcess();
  // The runner's cancel, on the virtual clock: SIGINT where the spec says, SIGTERM 7.5 s later, the
  // kill 2.5 s after that (src/stop.ts counts the same grace from the same clock).
  const stopper = new StopController();
  let cancelledAt: number | undefined;
  let termed = false;
  const grace = (t: number): void => {
    if (cancelledAt === undefined) return;
    if (!termed && t >= cancelledAt + GRACE_MS.SIGINT - GRACE_MS.SIGTERM) {
      termed = true;
      stopper.request('SIGTERM');
    }
    if (t >= cancelledAt + GRACE_MS.SIGINT) proc.kill();
  };
  proc.onSignal = () => {
    cancelledAt ??= clock.now();
    stopper.request('SIGINT');
  };
  proc.onSleep = (_from, to) => grace(to);
  if (spec.stop) {
    const stop = spec.stop;
    const route =
      stop.route === 'any' ? undefined : ROUTES[s.variant].find((r) => r.name === stop.route);
    if (stop.route !== 'any' && !route) throw new Error(`no route ${stop.route} for ${s.variant}`);
    let seen = 0;
    proc.onRequest = (r) => {
      grace(clock.now());
      if (proc.dead) return 'die-before';
      if (route && !matches(world, route, r)) return 'send';
      seen += 1;
      if (seen - 1 !== stop.nth) return 'send';
      if (stop.signal === 'SIGINT') return stop.after ? 'signal-after' : 'signal-before';
      return stop.after ? 'die-after' : 'die-before';
    };
  }
  const log: string[] = [];
  const masks = new Set<string>();
  const say = (m: string) => void (proc.dead || log.push(m));
  const timeoutMs = s.timeoutMs ?? REQUEST_TIMEOUT_MS;
  // src/main.ts: the report, the outputs and the summary, then the failure issue. A stop may come
  // at any request of it, the issue's included.
  const main = proc.run(async () => {
    const report = await execute(ctx.inputs, say, masks, timeoutMs, stopper, (aud) =>
      oidcToken(world, clock, aud),
    );
    const outputs: Record<string, string> = {};
    setOutputs(report, {
      setOutput: (k: string, v: unknown) => void (outputs[k] = String(v)),
      info: say,
    });
    const summary = summaryMarkdown(providerOf[s.variant], report);
    const filedBefore = JSON.stringify(report);
    // Stopped before the rotation, or refused as too soon: nothing changed, no issue is filed or closed.
    if (issue && concernsIssue(report)) {
      const policy = new RetryPolicy({ timeoutMs, storeTimeoutMs: timeoutMs, stop: stopper });
      policy.startPublishing();
      const warn = (m: string) => say(`::warning::${m}`);
      const apiUrl = world.github.apiUrl;
      const file = (gh: GitHub, who?: string) =>
        fileFailureIssue(gh, issue, providerOf[s.variant], report, undefined, warn, who);
      const filed = world.app
        ? await fileWithApp(
            { kind: 'app', appId: String(world.app.id), privateKey: world.app.privateKey },
            issue,
            !!report.failure,
            { apiUrl, policy, mask: (v) => void masks.add(v), warn },
            file,
          )
        : await file(createGitHub({ token: world.github.token, apiUrl, policy, warn }));
      if (filed) say(filed);
    }
    if (report.failure) say(`::error::${report.failure}`);
    return { report, outputs, summary, filedBefore };
  });
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), RUN_LIMIT_MS);
  });
  const result = await Promise.race([main, limit, proc.death]).finally(() => clearTimeout(timer));
  spec.faults.forEach((f, i) => tally(s.variant, f, hits[i]!));
  const empty: Report = { outcome: 'failed', rotated: false, targets: [] };
  if (result === 'hung') {
    proc.kill();
    return {
      violations: [`the run did not finish within ${RUN_LIMIT_MS / 1000} s of real time`],
      report: empty,
      outputs: {},
      log,
      killed: false,
      hung: true,
    };
  }
  tamper?.(world, log);
  const escrowed = escrowBlobs(log).map(open);
  const violations: string[] = [];
  if (escrowed.some((x) => x === undefined))
    violations.push('a Recovery escrow line does not open with the recovery key');
  for (const x of escrowed) if (x !== undefined) operator.add(x);

  if (result === 'killed') {
    await proc.settled();
    violations.push(...checkKilled(ctx, before, log, masks, operator));
    return { violations, report: empty, outputs: {}, log, killed: true, hung: false };
  }
  const { report, outputs, summary, filedBefore } = result;
  const recovered = outputs['recovery'] ? open(outputs['recovery']) : undefined;
  if (outputs['recovery'] && recovered === undefined)
    violations.push('output recovery does not open with the recovery key');
  if (recovered !== undefined) operator.add(recovered);
  const issueText = world.github
    .issues(ISSUE_REPO)
    .flatMap((i) => [i.title, i.body, ...i.comments])
    .join('\n');
  violations.push(
    ...checkIssue(world, issue, report, filedBefore, log, before),
    ...check(ctx, before, report, outputs, `${summary}\n${issueText}`, log, masks, {
      operator,
      recovered,
    }),
  );
  return { violations, report, outputs, log, killed: false, hung: false };
}

function emulator(world: World, on: Route['on']): Emulator {
  const e = on === 'github' ? world.github : world[on];
  if (!e) throw new Error(`no ${on} emulator in this world`);
  return e;
}

/**
 * The job's OIDC token as GitHub's runner hands it out, on the virtual clock, for Google Cloud's WIF;
 * every other variant has no OIDC in the search. Kept among the world's secrets for the leak scans.
 */
function oidcToken(world: World, clock: VirtualClock, aud: string): Promise<string> {
  if (!world.gcp) return Promise.reject(new Error('no OIDC in the search'));
  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = {
    aud,
    iss: GITHUB_ISSUER,
    sub: 'repo:octo/app:environment:secret-rotation',
    exp: Math.floor(clock.now() / 1000) + 300,
  };
  const jwt = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.${b64({ n: Math.random() })}`;
  world.github.issuedOidcTokens.push(jwt);
  return Promise.resolve(jwt);
}

/** src/main.ts's steps in process: inputs -> src/wire.ts (the same wiring) -> report, and a catch-all report. */
async function execute(
  inputs: Record<string, string>,
  say: (m: string) => void,
  masks: Set<string>,
  timeoutMs: number,
  stop: Stop,
  idToken: (audience: string) => Promise<string>,
): Promise<Report> {
  try {
    const parsed = parseInputs((n) => inputs[n] ?? '', { GITHUB_REPOSITORY: REPO });
    return await wire(
      { ...parsed, requestTimeoutMs: timeoutMs },
      {
        stop,
        mask: (v: string) => void masks.add(v),
        info: say,
        warn: (m: string) => say(`::warning::${m}`),
        idToken,
      },
    );
  } catch (err) {
    return {
      outcome: 'failed',
      rotated: false,
      targets: [],
      failure: err instanceof Error ? err.message : String(err),
      nextStep: 'Nothing was changed at the provider unless the message says otherwise.',
      ...(err instanceof NotYet ? { notYet: true as const } : {}),
    };
  }
}

/**
 * The failure issue changes nothing else: the report is the same after filing. It is never silent:
 * a failed run leaves at most one open issue, commented when one was open, or warns that it could
 * not; a successful run leaves none open, or warns.
 */
function checkIssue(
  world: World,
  issue: FailureIssue | undefined,
  report: Report,
  filedBefore: string,
  log: readonly string[],
  before: Before,
): string[] {
  if (!issue) return [];
  const v: string[] = [];
  if (JSON.stringify(report) !== filedBefore)
    v.push('issue: filing the failure issue changed the report');
  const open = world.github
    .issues(ISSUE_REPO)
    .filter((i) => i.state === 'open' && i.title === issue.title);
  if (open.length > 1) v.push(`issue: ${open.length} issues are open for one rotation`);
  // Stopped before the rotation, or refused as too soon: nothing changed and nothing needs a person,
  // so the issue is left as it was (src/main.ts files nothing: concernsIssue).
  if (!concernsIssue(report)) {
    const was = before.comments;
    if (
      open.length !== (was === undefined ? 0 : 1) ||
      (was !== undefined && open[0]!.comments.length !== was)
    )
      v.push(
        `issue: a run ${report.notYet ? 'refused as too soon' : 'stopped before the rotation'} filed, commented on or closed the failure issue`,
      );
    return v;
  }
  const warned = log.some(
    (l) => l.startsWith('::warning::Could not') && l.includes('failure issue'),
  );
  // With App sign-in, the issue's tokens (the ones with Issues: preflight's read, the filing's write)
  // ask for nothing else, on nothing else.
  for (const t of world.github.apps.minted
    .slice(before.minted)
    .filter((t) => 'issues' in t.permissions))
    if (
      !['{"issues":"write"}', '{"issues":"read"}'].includes(JSON.stringify(t.permissions)) ||
      JSON.stringify(t.repositories) !== JSON.stringify([ISSUE_REPO])
    )
      v.push(`issue: the issue's token asked for ${JSON.stringify(t)}`.replace(t.token, '***'));
  if (warned) return v;
  if (report.failure) {
    if (open.length !== 1) v.push('issue: the run failed, no issue is open, and nothing warned');
    else if (before.comments !== undefined && open[0]!.comments.length <= before.comments)
      v.push('issue: the run failed again, the open issue got no comment, and nothing warned');
  } else if (report.outcome !== 'rotated' && report.outcome !== 'checked') {
    // A skipped run (or a dry run) proves nothing fixed: it leaves an open issue open.
    if (before.comments !== undefined && open.length !== 1)
      v.push(`issue: a ${report.outcome} run closed the failure issue`);
  } else if (open.length !== 0)
    v.push('issue: the run succeeded, the issue is still open, and nothing warned');
  return v;
}

/** One target after a run: what it holds now and what it held before the run. */
interface Held extends ScopeSpec {
  readonly value: string | undefined;
  readonly before: string | undefined;
  /** What it held before the run worked then. */
  readonly worked: boolean;
}

function heldAfter(ctx: Ctx, before: Before): Held[] {
  return ctx.scopes.map((t) => ({
    ...t,
    value: ctx.world.github.secret(t.scope, SECRET_NAME)?.value,
    before: before.held.get(t.scope),
    worked: before.worked.get(t.scope) ?? false,
  }));
}

/** The checks a killed run answers to: no lock-out and no loss (its escrow lines count), one rotating call, no leak. */
function checkKilled(
  ctx: Ctx,
  before: Before,
  log: string[],
  masks: Set<string>,
  operator: ReadonlySet<string>,
): string[] {
  const { s, world } = ctx;
  const v: string[] = [];
  const works = worksAt(world);
  const rotations = rotationCount(world) - before.rotations;
  if (rotations > 1) v.push(`${rotations} rotating calls took effect`);
  const held = heldAfter(ctx, before);
  const unknowable = providerSecrets(world).some(
    (x) => !before.providerSecrets.has(x) && !masks.has(x),
  );
  const operatorWorks = [...operator].some(works);
  for (const t of held) {
    if (t.value !== undefined && works(t.value)) continue;
    // Broken before this run, untouched by it, and nothing rotated: judged when it broke.
    if (!t.worked && t.value === t.before && rotations === 0) continue;
    if (operatorWorks || unknowable || !s.recoveryKey) continue;
    v.push(
      `lock-out: ${t.line} holds ${describe(t)} that does not work, and no escrow line holds a working secret`,
    );
  }
  v.push(...checkSides(ctx, before, held, operator, undefined));
  v.push(...leaks(world, log.join('\n'), {}, '', masks));
  return v;
}

/** Checks every run answers to, killed or not: Entra's removal order, Woodpecker's credential. */
function checkSides(
  ctx: Ctx,
  before: Before,
  held: readonly Held[],
  operator: ReadonlySet<string>,
  said: boolean | undefined,
): string[] {
  const { world } = ctx;
  const v: string[] = [];
  const works = worksAt(world);
  // Entra: a password goes only once the new one obtains a token (propagated), or clients that
  // switch to the new one are locked out meanwhile. Removing an orphan (a password of this run's
  // that no target held before or holds now, e.g. after a lost addPassword answer) harms nobody.
  const heldValues = new Set(held.flatMap((t) => [t.value, t.before]));
  const removedHeld =
    world.entra
      ?.removedPasswords(APP_ID)
      .slice(before.removed)
      .some((p) => heldValues.has(p.secretText) || operator.has(p.secretText)) ?? false;
  if (removedHeld)
    for (const t of held)
      if (t.value !== undefined && works(t.value) && !world.entra!.secretWorks(APP_ID, t.value))
        v.push(`lock-out: a password was removed before ${t.line}'s secret obtained a token`);
  if (world.woodpecker) {
    const c = world.woodpecker.credential(WOODPECKER_CREDENTIAL);
    if (!c || !works(c.secret)) v.push('lock-out: Woodpecker holds a secret that no longer works');
  }
  // Okta: the app never keeps an ACTIVE secret made by this run that no target holds and no
  // recovery carries (it counts against the two-secret limit and nobody can use it), unless the run
  // failed and said so: that the undo failed, what to remove in the Admin Console, or that a write
  // failed (one that may have landed, e.g. after a redirect, keeps the new secret: the action cannot
  // tell). A killed run says nothing and cleans nothing up: its secret is the next run's to find.
  if (world.okta && said !== undefined) {
    const known = new Set([...held.flatMap((t) => [t.value, t.before]), ...operator]);
    for (const x of world.okta.app(OKTA_APP).secrets)
      if (
        x.status === 'ACTIVE' &&
        !before.providerSecrets.has(x.secret) &&
        !known.has(x.secret) &&
        !said
      )
        v.push(`orphan: Okta keeps an active secret that no target holds and no recovery carries`);
  }
  // AWS: likewise for access keys; and an Active key that was there before the run is never deleted
  // (a client may use it), nor the one the run signs in with ever touched.
  if (world.aws) {
    const known = new Set([...held.flatMap((t) => [t.value, t.before]), ...operator]);
    if (said !== undefined)
      for (const k of world.aws.user(AWS_USER).keys)
        if (
          k.status === 'Active' &&
          !before.providerSecrets.has(k.secret) &&
          !known.has(k.secret) &&
          !said
        )
          v.push('orphan: IAM keeps an active key that no target holds and no recovery carries');
    for (const k of world.aws.deleted)
      if (k.wasStatus === 'Active' && before.providerSecrets.has(k.secret))
        v.push(`deleted: an access key that was Active before the run (${k.id})`);
  }
  // Google Cloud: likewise for service account keys (an enabled one counts against the limit of 10).
  if (world.gcp) {
    const known = new Set([...held.flatMap((t) => [t.value, t.before]), ...operator]);
    if (said !== undefined)
      for (const k of world.gcp.account(GCP_SA).keys)
        if (!k.disabled && !before.providerSecrets.has(k.file) && !known.has(k.file) && !said)
          v.push(
            'orphan: Google keeps an enabled key that no target holds and no recovery carries',
          );
    for (const k of world.gcp.deleted)
      if (!k.wasDisabled && before.providerSecrets.has(k.file))
        v.push(`deleted: a key that was enabled before the run (${k.id})`);
  }
  return v;
}

function describe(t: Held): string {
  if (t.value === undefined) return 'nothing';
  if (t.value === OLD_SECRET) return 'the original secret';
  if (t.value === t.before) return 'the secret it held before the run';
  return 'a secret';
}

function leaks(
  world: World,
  stdout: string,
  outputs: Record<string, string>,
  summary: string,
  masks: Set<string>,
): string[] {
  const run: Run = {
    code: 0,
    stdout,
    stderr: '',
    outputs,
    summary,
    errors: [],
    warnings: [],
    masks: [],
    ms: 0,
    process: 'in-process',
  };
  const secrets = [...new Set([...world.secrets(), ...masks])].filter((x) => x.length >= 6);
  return findLeaks(run, secrets).map((l) => `leak: ${l}`);
}

/** The invariants after a run that ended, against the emulators' state. Each violation is one readable line. */
function check(
  ctx: Ctx,
  before: Before,
  report: Report,
  outputs: Record<string, string>,
  summary: string,
  log: string[],
  masks: Set<string>,
  held_: { operator: ReadonlySet<string>; recovered: string | undefined },
): string[] {
  const { s, world } = ctx;
  const { operator, recovered } = held_;
  const v: string[] = [];
  const works = worksAt(world);

  // At most one rotating call took effect, and none when the run was not due.
  const rotations = rotationCount(world) - before.rotations;
  if (rotations > 1) v.push(`${rotations} rotating calls took effect`);
  if (report.outcome === 'skipped' && rotations > 0)
    v.push(`skipped (${report.rule ?? 'no rule'}) but ${rotations} rotating call(s) took effect`);
  if (report.outcome === 'skipped' && !report.rule) v.push('skipped without naming the rule');
  // Stopped before the rotation (the runner's cancel): nothing rotated, and the step fails.
  if (report.stopped && !report.rotation) {
    if (rotations > 0)
      v.push(`stopped before the rotation but ${rotations} rotating call(s) took effect`);
    if (!report.failure) v.push('stopped, yet the run did not fail');
  }
  const due = outputs['next-rotation-due'];
  if (due && Number.isNaN(Date.parse(due))) v.push(`next-rotation-due '${due}' is not a date`);

  const held = heldAfter(ctx, before);
  const listed = JSON.parse(outputs['targets'] ?? '[]') as {
    target: string;
    secret?: string;
    variable?: string;
    status: string;
  }[];
  const statusOf = (line: string): string | undefined =>
    listed.find((e) => e.target === line && e.secret === SECRET_NAME)?.status;
  const recoveryWorks = recovered !== undefined && works(recovered);
  const operatorWorks = [...operator].some(works);
  // The provider changed the secret but the action never saw the new one (the answer was lost):
  // nothing can store it, and the report must say the run failed.
  const unknowable = providerSecrets(world).some(
    (x) => !before.providerSecrets.has(x) && !masks.has(x),
  );
  const failedLoudly = report.failure !== undefined && outputs['rotated'] !== 'true';

  // Not due by the expiry means that what every target holds expires outside the window: a password
  // that a killed run added and no target holds must not make the run look not due (issue 19).
  const windowMs = s.due?.startsWith('expires-')
    ? { 'expires-1h': 3_600_000, 'expires-30d': 30 * 86_400_000, 'expires-366d': 366 * 86_400_000 }[
        s.due as 'expires-1h'
      ]
    : undefined;
  if (
    report.outcome === 'skipped' &&
    report.rule?.startsWith('rotate-if-expires-within') &&
    windowMs !== undefined &&
    world.entra
  )
    for (const t of held) {
      const p = world.entra.passwords(APP_ID).find((x) => x.secretText === t.value);
      if (p && Date.parse(p.endDateTime) - world.entra.now() <= windowMs)
        v.push(
          `skipped (${report.rule}) but ${t.line} holds an Entra password that expires within the window`,
        );
    }

  // No lock-out, per target: it holds a secret that works, or the run failed, says the target needs
  // the secret by hand (status failed), and the operator holds a working one (output recovery or an
  // escrow line, of this run or an earlier one). Without recovery-public-key a provider whose old
  // secret dies cannot hand it over (the action warns): the run must then fail and name the target.
  for (const t of held) {
    if (t.value !== undefined && works(t.value)) continue;
    if (!t.worked && t.value === t.before && rotations === 0) {
      // Broken by an earlier run and untouched by this one: this run may not say all is well.
      if (!report.failure)
        v.push(
          `lock-out: the run succeeded while ${t.line} holds ${describe(t)} that does not work`,
        );
      continue;
    }
    const covered =
      statusOf(t.line) === 'failed' && failedLoudly && (s.recoveryKey ? operatorWorks : true);
    if (covered || (unknowable && failedLoudly)) continue;
    v.push(
      `lock-out: ${t.line} holds ${describe(t)} that does not work (status ${statusOf(t.line) ?? 'not listed'})`,
    );
  }
  // Auth0: a run that succeeds has seen its new secret obtain a token (the confirmation waited it
  // out). A failed confirmation may still say rotated=true (stored everywhere), but fails the run.
  if (world.auth0 && outputs['rotated'] === 'true' && !report.failure) {
    const current = world.auth0.client(AUTH0_CLIENT).secret;
    if (!world.auth0.secretWorks(AUTH0_CLIENT, current))
      v.push('report: the run succeeded but the new Auth0 secret does not obtain a token yet');
  }
  const said =
    failedLoudly &&
    (/Admin Console|delete it in IAM|delete any access key of IAM user|delete it in the console|delete any key of service account/.test(
      report.failure ?? '',
    ) ||
      log.some((l) => l.includes('Could not undo the rotation')) ||
      listed.some((e) => e.status === 'failed'));
  v.push(...checkSides(ctx, before, held, operator, said));

  // The report never hands over a recovery blob to store by hand whose secret works nowhere (an
  // undo that half happened). ("Still works" is checked below.)
  const told = `${report.failure ?? ''} ${report.nextStep ?? ''}`;
  const previousWorks = held.some((t) => t.worked && t.before !== undefined && works(t.before));
  if (recovered !== undefined && !report.undone && !works(recovered) && previousWorks)
    if (/in output `recovery`/.test(told))
      v.push('report: points to output recovery, whose secret works nowhere');

  // No loss: when every secret the targets held is dead, the new one is in every target or with the
  // operator.
  const previousDead = held.every((t) => t.before === undefined || !works(t.before));
  if (previousDead && rotations > 0) {
    const everywhere = held.every((t) => t.value !== undefined && works(t.value));
    if (!everywhere && !recoveryWorks && !operatorWorks) {
      if (!s.recoveryKey || unknowable) {
        if (!failedLoudly) v.push('loss: the previous secret is dead and the run did not fail');
      } else v.push('loss: the previous secret is dead and the new one is nowhere');
    }
  }

  // The report matches the world: a target `written` holds a new working secret, one `skipped` or
  // not listed holds what it held before the run.
  for (const t of held) {
    const status = statusOf(t.line);
    if (status === undefined) {
      if (t.value !== t.before)
        v.push(`report: ${t.line} changed but is missing from output targets`);
      continue;
    }
    const holdsNew = t.value !== undefined && t.value !== t.before && works(t.value);
    if (status === 'written' && !holdsNew)
      v.push(`report: ${t.line} is 'written' but does not hold a working new secret`);
    if (status === 'skipped' && t.value !== t.before)
      v.push(`report: ${t.line} is 'skipped' but its value changed`);
  }
  if (outputs['rotated'] === 'true' && held.some((t) => statusOf(t.line) !== 'written'))
    v.push('report: rotated=true but not every target is written');
  if (report.undone && held.some((t) => t.value !== t.before))
    v.push('report: says the rotation was undone but a target holds a new value');
  // A failure that says the previous secret still works: every target not written holds a secret
  // that works (what it held, checked per target), and nobody is sent to the recovery blob.
  if (/previous secret (was kept and )?still works/.test(told))
    for (const t of held)
      if (statusOf(t.line) !== 'written' && (t.value === undefined || !works(t.value)))
        v.push(`report: says the previous secret still works but ${t.line}'s does not`);

  // The client id variable: 'written' holds the client id (read back by value); every scope that
  // has variables is listed; none changes unless listed; rotated=true means every one is written.
  for (const t of ctx.scopes.filter((x) => x.variables !== undefined)) {
    const value = world.github.variable(t.variables!, VARIABLE)?.value;
    const entry = listed.find((e) => e.target === t.line && e.variable === VARIABLE);
    if (!s.variable) {
      if (entry || value !== undefined) v.push(`report: ${t.line} has a variable nobody asked for`);
      continue;
    }
    if (entry === undefined) {
      if (value !== before.variables.get(t.scope) && report.targets.length > 0)
        v.push(`report: variable in ${t.line} changed but is missing from output targets`);
      continue;
    }
    if (entry.status === 'written' && value !== outputs['client-id'])
      v.push(`report: variable in ${t.line} is 'written' but holds ${value ?? 'nothing'}`);
    if (entry.status === 'skipped' && value !== before.variables.get(t.scope))
      v.push(`report: variable in ${t.line} is 'skipped' but was written`);
    if (outputs['rotated'] === 'true' && entry.status !== 'written')
      v.push(`report: rotated=true but the variable in ${t.line} is ${entry.status}`);
  }

  // Every installation token the action received and still alive was revoked (GitHub answered 204; a 204 that did
  // nothing is GitHub's word, as for any revocation), or the log warns that it could not be. A token
  // whose answer was lost never reached the action; it expires within the hour.
  // One that expired before the run ended works nowhere any more: nothing to revoke (src/github/app.ts).
  const received = world.github.apps.minted
    .slice(before.minted)
    .filter((t) => masks.has(t.token) && t.expiresAt > world.github.clock()).length;
  const revoked =
    world.github.calls('DELETE', '/installation/token').filter((r) => r.status === 204).length -
    before.revoked;
  const warned = log.filter((l) => l.startsWith('::warning::Could not revoke')).length;
  if (received > revoked + warned)
    v.push(
      `sign-in: ${received} installation token(s) received, ${revoked} revoked, ${warned} warning(s)`,
    );

  v.push(...leaks(world, log.join('\n'), outputs, summary, masks));
  return v;
}

/** Whether a secret obtains a token at the provider (or will, once an Entra password propagates). */
function worksAt(world: World): (secret: string) => boolean {
  if (world.csp) return (x) => world.csp!.validSecrets(CSP_APP).includes(x);
  if (world.okta) return (x) => world.okta!.secretWorks(OKTA_APP, x);
  // Google Cloud: an enabled key's file (one still propagating counts: it mints within seconds).
  if (world.gcp)
    return (x) => world.gcp!.account(GCP_SA).keys.some((k) => k.file === x && !k.disabled);
  // AWS: an Active key's secret (one still propagating counts: it signs within seconds).
  if (world.aws)
    return (x) =>
      world.aws!.user(AWS_USER).keys.some((k) => k.secret === x && k.status === 'Active');
  if (world.whmcs) return (x) => world.whmcs!.credential(WHMCS_CREDENTIAL).clientSecret === x;
  // Auth0: the current secret, once propagated or soon (the old one died with the rotation).
  if (world.auth0) return (x) => world.auth0!.client(AUTH0_CLIENT).secret === x;
  if (world.keycloak) return (x) => world.keycloak!.validSecrets(KC_REALM, KC_CLIENT).includes(x);
  const entra = world.entra!;
  return (x) =>
    entra
      .passwords(APP_ID)
      .some((p) => p.secretText === x && Date.parse(p.endDateTime) > entra.now());
}

/** Secrets the provider knows of now (current and in-window ones; every Entra password). */
function providerSecrets(world: World): string[] {
  if (world.csp) return world.csp.validSecrets(CSP_APP);
  if (world.whmcs) return [world.whmcs.credential(WHMCS_CREDENTIAL).clientSecret];
  if (world.auth0) return [world.auth0.client(AUTH0_CLIENT).secret];
  if (world.keycloak) return world.keycloak.validSecrets(KC_REALM, KC_CLIENT);
  if (world.okta) return world.okta.app(OKTA_APP).secrets.map((x) => x.secret);
  if (world.aws) return world.aws.user(AWS_USER).keys.map((k) => k.secret);
  if (world.gcp) return world.gcp.account(GCP_SA).keys.map((k) => k.file);
  return world.entra!.passwords(APP_ID).map((p) => p.secretText);
}

function rotationCount(world: World): number {
  if (world.csp) return world.csp.rotations(CSP_APP);
  if (world.whmcs) return world.whmcs.rotations(WHMCS_CREDENTIAL);
  if (world.auth0) return world.auth0.client(AUTH0_CLIENT).rotations;
  if (world.keycloak) return world.keycloak.rotations(KC_REALM, KC_CLIENT);
  if (world.okta) return world.okta.creations(OKTA_APP);
  if (world.aws) return world.aws.creations();
  if (world.gcp) return world.gcp.creations();
  const entra = world.entra!;
  return [...entra.passwords(APP_ID), ...entra.removedPasswords(APP_ID)].filter(
    (p) => p.secretText !== OLD_SECRET,
  ).length;
}

/** The property: a schedule breaks no invariant. Throws with the violations and the log. */
export async function holds(s: Schedule): Promise<void> {
  const o = await runSchedule(s);
  if (o.violations.length > 0) {
    throw new Error(
      `${o.violations.join('\n')}\n--- outputs ${JSON.stringify(o.outputs)}\n--- log\n${o.log.join('\n')}`,
    );
  }
}
