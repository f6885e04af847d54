// The invariant search: random schedules of faults on the provider and on GitHub, each run in process
// through the same wiring as src/main.ts, against fresh loopback emulators, on a virtual clock (retries,
// pacing, Retry-After and propagation cost no real time). After each run the world is checked:
//   no lock-out, no loss, at most one rotating call, no leak, and the report matches the world.
// Plain module (no vitest), so that scripts/fuzz.ts can run it under node as well as the tests.
import fc from 'fast-check';
import sodium from 'libsodium-wrappers';
import { setClock, type Clock } from '../src/clock.js';
import { createGitHub, type GitHub } from '../src/github/client.js';
import { fileWithApp } from '../src/github/issue-app.js';
import { RetryPolicy } from '../src/policy.js';
import { parseInputs } from '../src/inputs/index.js';
import { type FailureIssue, fileFailureIssue, parseFailureIssue } from '../src/issue.js';
import type { Report } from '../src/pipeline.js';
import { MARKER } from '../src/providers/entra-app.js';
import { setOutputs, summaryMarkdown } from '../src/summary.js';
import { execute as wire } from '../src/wire.js';
import { auth0Error } from './emulators/auth0.ts';
import { cspError } from './emulators/csp.ts';
import { graphError } from './emulators/entra.ts';
import { adminError, oauthError } from './emulators/keycloak.ts';
import { oktaError } from './emulators/okta.ts';
import type { Emulator, Fault } from './emulators/server.ts';
import { woodpeckerError } from './emulators/woodpecker.ts';
import {
  APP_ID,
  AUTH0_CLIENT,
  CREDENTIALS,
  CSP_APP,
  KC_CLIENT,
  KC_REALM,
  OKTA_APP,
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
  | 'okta';
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
};

/** A request class that faults can hit: which emulator, which method and path (and WHMCS action). */
interface Route {
  readonly name: string;
  readonly on: 'github' | 'csp' | 'whmcs' | 'entra' | 'woodpecker' | 'auth0' | 'keycloak' | 'okta';
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
   * credential expires in 39 days, this rotation's earlier Entra password in 20, and CSP and WHMCS
   * fall back to the day-old target secret), or skip-if-rotated-within 2d (skips). Absent: always due.
   */
  readonly due?: 'expires-1h' | 'expires-30d' | 'expires-366d' | 'skip-2d' | undefined;
  /** failure-issue-repository: none, none open yet, or one open from an earlier failed run. */
  readonly issue?: 'fresh' | 'open' | undefined;
  /**
   * keycloak-policy only: the policy's Rotated Secret Expiration is 0, so it keeps no previous secret
   * although it stamps the client as the usual policy does (preflight cannot tell the two apart).
   */
  readonly keepsNone?: boolean;
}

export function scheduleArb(variant: Variant, o: { recoveryKey?: boolean } = {}) {
  const fault = fc.record({
    route: fc.constantFrom(...ROUTES[variant].map((r) => r.name)),
    kind: fc.constantFrom(...kindsOf(variant)),
    times: fc.integer({ min: 1, max: 3 }),
    skip: fc.integer({ min: 0, max: 3 }),
    param: fc.integer({ min: 0, max: 90 }),
  });
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
  });
}

/** Virtual time: sleeping moves it on (never back) and resolves at once. */
export class VirtualClock implements Clock {
  #t: number;
  constructor(start: number) {
    this.#t = start;
  }
  readonly now = (): number => this.#t;
  /** Time passing while nobody sleeps: a request that takes minutes. */
  advance(ms: number): void {
    this.#t += ms;
  }
  readonly sleep = async (ms: number): Promise<void> => {
    const wake = this.#t + Math.max(0, ms);
    await new Promise((resolve) => setImmediate(resolve));
    if (wake > this.#t) this.#t = wake;
  };
}

/**
 * Bottleneck (inside Octokit's throttling and retry plugins) yields about a dozen times a request with
 * setTimeout(0), which Node rounds up to 1 ms. During a run, zero-delay timeouts run on setImmediate
 * instead: a schedule then costs a few milliseconds, not a hundred. Returns the undo.
 */
function fastZeroTimeouts(): () => void {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const immediates = new WeakSet<object>();
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    if (ms !== undefined && ms > 0) return realSet(fn, ms, ...args);
    const handle = setImmediate(fn, ...args);
    immediates.add(handle);
    return handle;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((handle?: object) => {
    if (handle && immediates.has(handle)) clearImmediate(handle as NodeJS.Immediate);
    else realClear(handle as NodeJS.Timeout);
  }) as typeof clearTimeout;
  return () => {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  };
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
  }
}

export interface Outcome {
  readonly violations: string[];
  readonly report: Report;
  readonly outputs: Record<string, string>;
  readonly log: string[];
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

/** Runs one schedule from a fresh world and returns every invariant it broke. */
export async function runSchedule(
  s: Schedule,
  /** Test-only: changes the world or the log after the run, before the checks (checker self-tests). */
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
    for (const spec of s.faults) {
      const route = ROUTES[s.variant].find((r) => r.name === spec.route);
      if (!route) throw new Error(`no route ${spec.route} for ${s.variant}`);
      emulator(world, route.on).fault(route.method, route.path, faultFor(route, spec, clock));
    }

    const issue = parseFailureIssue((n) => world.inputs(extra)[n] ?? '');
    if (s.issue === 'open' && issue)
      world.github.seedIssue(ISSUE_REPO, { title: issue.title, labels: [issue.label] });

    const log: string[] = [];
    const masks = new Set<string>();
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => resolve('hung'), RUN_LIMIT_MS);
    });
    const result = await Promise.race([
      execute(world.inputs(extra), log, masks, s.timeoutMs ?? REQUEST_TIMEOUT_MS),
      limit,
    ]).finally(() => clearTimeout(timer));
    if (result === 'hung')
      return {
        violations: [`the run did not finish within ${RUN_LIMIT_MS / 1000} s of real time`],
        report: { outcome: 'failed', rotated: false, targets: [] },
        outputs: {},
        log,
      };
    const report = result;
    const outputs: Record<string, string> = {};
    setOutputs(report, {
      setOutput: (k: string, v: unknown) => void (outputs[k] = String(v)),
      info: (m: string) => void log.push(m),
    });
    const summary = summaryMarkdown(name, report);
    // Filed as src/main.ts does, once the outcome is final; its calls may meet faults too.
    const before = JSON.stringify(report);
    if (issue) {
      const policy = new RetryPolicy({
        timeoutMs: s.timeoutMs ?? REQUEST_TIMEOUT_MS,
        storeTimeoutMs: 30_000,
      });
      policy.startPreflight();
      const warn = (m: string) => void log.push(`::warning::${m}`);
      const apiUrl = world.github.apiUrl;
      const file = (gh: GitHub, who?: string) =>
        fileFailureIssue(gh, issue, name, report, undefined, warn, who);
      const filed = world.app
        ? await fileWithApp(
            { kind: 'app', appId: String(world.app.id), privateKey: world.app.privateKey },
            issue,
            !!report.failure,
            { apiUrl, policy, mask: (v) => void masks.add(v), warn },
            file,
          )
        : await file(createGitHub({ token: world.github.token, apiUrl, policy, warn }));
      if (filed) log.push(filed);
    }
    if (report.failure) log.push(`::error::${report.failure}`);
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
    tamper?.(world, log);
    const issueViolations = checkIssue(world, s, issue, report, before, log);
    const issueText = world.github
      .issues(ISSUE_REPO)
      .flatMap((i) => [i.title, i.body, ...i.comments])
      .join('\n');
    const violations = [
      ...issueViolations,
      ...check(world, s, scopes, report, outputs, `${summary}\n${issueText}`, log, masks, open),
    ];
    return { violations, report, outputs, log };
  } finally {
    await world.close();
    setClock();
    restoreTimeouts();
    Math.random = realRandom;
  }
}

function emulator(world: World, on: Route['on']): Emulator {
  const e = on === 'github' ? world.github : world[on];
  if (!e) throw new Error(`no ${on} emulator in this world`);
  return e;
}

/** src/main.ts's steps in process: inputs -> src/wire.ts (the same wiring) -> report, and a catch-all report. */
async function execute(
  inputs: Record<string, string>,
  log: string[],
  masks: Set<string>,
  timeoutMs: number,
): Promise<Report> {
  try {
    const parsed = parseInputs((n) => inputs[n] ?? '', { GITHUB_REPOSITORY: REPO });
    return await wire(
      { ...parsed, requestTimeoutMs: timeoutMs },
      {
        mask: (v: string) => void masks.add(v),
        info: (m: string) => void log.push(m),
        warn: (m: string) => void log.push(`::warning::${m}`),
        idToken: () => Promise.reject(new Error('no OIDC in the search')),
      },
    );
  } catch (err) {
    return {
      outcome: 'failed',
      rotated: false,
      targets: [],
      failure: err instanceof Error ? err.message : String(err),
      nextStep: 'Nothing was changed at the provider unless the message says otherwise.',
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
  s: Schedule,
  issue: FailureIssue | undefined,
  report: Report,
  before: string,
  log: readonly string[],
): string[] {
  if (!issue) return [];
  const v: string[] = [];
  if (JSON.stringify(report) !== before)
    v.push('issue: filing the failure issue changed the report');
  const open = world.github
    .issues(ISSUE_REPO)
    .filter((i) => i.state === 'open' && i.title === issue.title);
  if (open.length > 1) v.push(`issue: ${open.length} issues are open for one rotation`);
  const warned = log.some(
    (l) => l.startsWith('::warning::Could not') && l.includes('failure issue'),
  );
  // With App sign-in, the issue's tokens (the ones with Issues: preflight's read, the filing's write)
  // ask for nothing else, on nothing else.
  for (const t of world.github.apps.minted.filter((t) => 'issues' in t.permissions))
    if (
      !['{"issues":"write"}', '{"issues":"read"}'].includes(JSON.stringify(t.permissions)) ||
      JSON.stringify(t.repositories) !== JSON.stringify([ISSUE_REPO])
    )
      v.push(`issue: the issue's token asked for ${JSON.stringify(t)}`.replace(t.token, '***'));
  if (warned) return v;
  if (report.failure) {
    if (open.length !== 1) v.push('issue: the run failed, no issue is open, and nothing warned');
    else if (s.issue === 'open' && open[0]!.comments.length !== 1)
      v.push('issue: the run failed again, the open issue got no comment, and nothing warned');
  } else if (report.outcome !== 'rotated' && report.outcome !== 'checked') {
    // A skipped run (or a dry run) proves nothing fixed: it leaves an open issue open.
    if (s.issue === 'open' && open.length !== 1)
      v.push(`issue: a ${report.outcome} run closed the failure issue`);
  } else if (open.length !== 0)
    v.push('issue: the run succeeded, the issue is still open, and nothing warned');
  return v;
}

/** The invariants, against the emulators' state. Each violation is one readable line. */
function check(
  world: World,
  s: Schedule,
  scopes: readonly ScopeSpec[],
  report: Report,
  outputs: Record<string, string>,
  summary: string,
  log: string[],
  masks: Set<string>,
  open: (blob: string) => string | undefined,
): string[] {
  const v: string[] = [];
  const works = worksAt(world);

  // At most one rotating call took effect, and none when the run was not due.
  const rotations = rotationCount(world);
  if (rotations > 1) v.push(`${rotations} rotating calls took effect`);
  if (report.outcome === 'skipped' && rotations > 0)
    v.push(`skipped (${report.rule ?? 'no rule'}) but ${rotations} rotating call(s) took effect`);
  if (report.outcome === 'skipped' && !report.rule) v.push('skipped without naming the rule');
  const due = outputs['next-rotation-due'];
  if (due && Number.isNaN(Date.parse(due))) v.push(`next-rotation-due '${due}' is not a date`);

  const held = scopes.map((t) => ({
    ...t,
    value: world.github.secret(t.scope, SECRET_NAME)?.value,
  }));
  const listed = JSON.parse(outputs['targets'] ?? '[]') as {
    target: string;
    secret?: string;
    variable?: string;
    status: string;
  }[];
  const statusOf = (line: string): string | undefined =>
    listed.find((e) => e.target === line && e.secret === SECRET_NAME)?.status;
  const recovered = outputs['recovery'] ? open(outputs['recovery']) : undefined;
  if (outputs['recovery'] && recovered === undefined)
    v.push('output recovery does not open with the recovery key');
  const recoveryWorks = recovered !== undefined && works(recovered);
  // The provider changed the secret but the action never saw the new one (the answer was lost):
  // nothing can store it, and the report must say the run failed.
  const learned = (x: string): boolean => masks.has(x);
  const unknowable = providerSecrets(world).some((x) => x !== OLD_SECRET && !learned(x));
  const failedLoudly = report.failure !== undefined && outputs['rotated'] !== 'true';

  // No lock-out: every target holds the previous secret, still working, or a working secret.
  for (const t of held) {
    if (t.value !== undefined && works(t.value)) continue;
    const covered =
      statusOf(t.line) === 'failed' && failedLoudly && (s.recoveryKey ? recoveryWorks : true);
    if (covered || (unknowable && failedLoudly)) continue;
    v.push(
      `lock-out: ${t.line} holds ${t.value === OLD_SECRET ? 'the previous secret' : t.value === undefined ? 'nothing' : 'a secret'} that does not work (status ${statusOf(t.line) ?? 'not listed'})`,
    );
  }
  // Entra: the previous password goes only once the new one obtains a token (propagated), or clients
  // that switch to the new one are locked out meanwhile.
  if (world.entra && !works(OLD_SECRET))
    for (const t of held)
      if (t.value !== undefined && works(t.value) && !world.entra.secretWorks(APP_ID, t.value))
        v.push(
          `lock-out: the previous password was removed before ${t.line}'s secret obtained a token`,
        );
  // Auth0: a run that succeeds has seen the new secret obtain a token (the confirmation waited it
  // out). A failed confirmation may still say rotated=true (stored everywhere), but fails the run.
  if (world.auth0 && outputs['rotated'] === 'true' && !report.failure) {
    const current = world.auth0.client(AUTH0_CLIENT).secret;
    if (!world.auth0.secretWorks(AUTH0_CLIENT, current))
      v.push('report: the run succeeded but the new Auth0 secret does not obtain a token yet');
  }
  if (world.woodpecker) {
    const c = world.woodpecker.credential(WOODPECKER_CREDENTIAL);
    if (!c || !works(c.secret)) v.push('lock-out: Woodpecker holds a secret that no longer works');
  }

  // Okta: the app never keeps an ACTIVE secret that no target holds and no recovery carries (it
  // counts against the two-secret limit and nobody can use it), unless the run failed and said so:
  // that the undo failed, what to remove in the Admin Console, or that a write failed (one that may
  // have landed, e.g. after a redirect, keeps the new secret: the action cannot tell).
  if (world.okta) {
    const known = new Set([OLD_SECRET, ...held.map((t) => t.value), recovered]);
    const said =
      failedLoudly &&
      (/Admin Console/.test(report.failure ?? '') ||
        log.some((l) => l.includes('Could not undo the rotation')) ||
        listed.some((e) => e.status === 'failed'));
    for (const x of world.okta.app(OKTA_APP).secrets)
      if (x.status === 'ACTIVE' && !known.has(x.secret) && !said)
        v.push(`orphan: Okta keeps an active secret that no target holds and no recovery carries`);
  }

  // The report never hands over a recovery blob to store by hand whose secret works nowhere (an
  // undo that half happened). ("Still works" is checked below.)
  const told = `${report.failure ?? ''} ${report.nextStep ?? ''}`;
  if (recovered !== undefined && !report.undone && !works(recovered) && works(OLD_SECRET))
    if (/in output `recovery`/.test(told))
      v.push('report: points to output recovery, whose secret works nowhere');

  // No loss: when the previous secret is dead, the new one is in every target or in the recovery blob.
  if (!works(OLD_SECRET)) {
    const everywhere = held.every((t) => t.value !== undefined && works(t.value));
    if (!everywhere && !recoveryWorks) {
      if (!s.recoveryKey || unknowable) {
        if (!failedLoudly) v.push('loss: the previous secret is dead and the run did not fail');
      } else v.push('loss: the previous secret is dead and the new one is nowhere');
    }
  }

  // The report matches the world.
  for (const t of held) {
    const status = statusOf(t.line);
    if (status === undefined) {
      if (t.value !== OLD_SECRET)
        v.push(`report: ${t.line} changed but is missing from output targets`);
      continue;
    }
    const holdsNew = t.value !== undefined && t.value !== OLD_SECRET && works(t.value);
    if (status === 'written' && !holdsNew)
      v.push(`report: ${t.line} is 'written' but does not hold a working new secret`);
    if (status === 'skipped' && t.value !== OLD_SECRET)
      v.push(`report: ${t.line} is 'skipped' but its value changed`);
  }
  if (outputs['rotated'] === 'true' && held.some((t) => statusOf(t.line) !== 'written'))
    v.push('report: rotated=true but not every target is written');
  if (report.undone && held.some((t) => t.value !== undefined && t.value !== OLD_SECRET))
    v.push('report: says the rotation was undone but a target holds a new value');
  // A failure that says the previous secret still works sends nobody to the recovery blob.
  const says = `${report.failure ?? ''} ${report.nextStep ?? ''}`;
  if (/previous secret (was kept and )?still works/.test(says) && !works(OLD_SECRET))
    v.push('report: says the previous secret still works but it does not');

  // The client id variable: 'written' holds the client id (read back by value); every scope that
  // has variables is listed; none changes unless listed; rotated=true means every one is written.
  for (const t of scopes.filter((x) => x.variables !== undefined)) {
    const value = world.github.variable(t.variables!, VARIABLE)?.value;
    const entry = listed.find((e) => e.target === t.line && e.variable === VARIABLE);
    if (!s.variable) {
      if (entry || value !== undefined) v.push(`report: ${t.line} has a variable nobody asked for`);
      continue;
    }
    if (entry === undefined) {
      if (value !== undefined && report.targets.length > 0)
        v.push(`report: variable in ${t.line} changed but is missing from output targets`);
      continue;
    }
    if (entry.status === 'written' && value !== outputs['client-id'])
      v.push(`report: variable in ${t.line} is 'written' but holds ${value ?? 'nothing'}`);
    if (entry.status === 'skipped' && value !== undefined)
      v.push(`report: variable in ${t.line} is 'skipped' but was written`);
    if (outputs['rotated'] === 'true' && entry.status !== 'written')
      v.push(`report: rotated=true but the variable in ${t.line} is ${entry.status}`);
  }

  // Every installation token the action received was revoked (GitHub answered 204; a 204 that did
  // nothing is GitHub's word, as for any revocation), or the log warns that it could not be. A token
  // whose answer was lost never reached the action; it expires within the hour.
  const received = world.github.apps.minted.filter((t) => masks.has(t.token)).length;
  const revoked = world.github
    .calls('DELETE', '/installation/token')
    .filter((r) => r.status === 204).length;
  const warned = log.filter((l) => l.startsWith('::warning::Could not revoke')).length;
  if (received > revoked + warned)
    v.push(
      `sign-in: ${received} installation token(s) received, ${revoked} revoked, ${warned} warning(s)`,
    );

  // No leak.
  const run: Run = {
    code: 0,
    stdout: log.join('\n'),
    stderr: '',
    outputs,
    summary,
    errors: [],
    warnings: [],
    masks: [],
    ms: 0,
  };
  const secrets = [...new Set([...world.secrets(), ...masks])].filter((x) => x.length >= 6);
  v.push(...findLeaks(run, secrets).map((l) => `leak: ${l}`));
  return v;
}

/** Whether a secret obtains a token at the provider (or will, once an Entra password propagates). */
function worksAt(world: World): (secret: string) => boolean {
  if (world.csp) return (x) => world.csp!.validSecrets(CSP_APP).includes(x);
  if (world.okta) return (x) => world.okta!.secretWorks(OKTA_APP, x);
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
  return world.entra!.passwords(APP_ID).map((p) => p.secretText);
}

function rotationCount(world: World): number {
  if (world.csp) return world.csp.rotations(CSP_APP);
  if (world.whmcs) return world.whmcs.rotations(WHMCS_CREDENTIAL);
  if (world.auth0) return world.auth0.client(AUTH0_CLIENT).rotations;
  if (world.keycloak) return world.keycloak.rotations(KC_REALM, KC_CLIENT);
  if (world.okta) return world.okta.creations(OKTA_APP);
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
