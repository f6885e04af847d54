// The invariant search's vocabulary: the provider variants, the request classes faults can hit
// (routes), the rotating calls and their proofs, and how fault schedules and run sequences are drawn
// (fast-check arbitraries). Plain module (no vitest), as search.ts.
import fc from 'fast-check';
import type { ProviderName } from './fixtures.ts';

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

export const providerOf: Record<Variant, ProviderName> = {
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
export interface Route {
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
