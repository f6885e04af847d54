// The searched world as the checks see it: the constants every run shares, the targets a schedule
// writes to, what one run's context holds, the snapshot taken before each run, and what the provider
// accepts (which secrets work, how many rotations it made).
import type { FailureIssue } from '../src/issue.js';
import type { VirtualClock } from './search-process.ts';
import {
  APP_ID,
  AUTH0_CLIENT,
  CSP_APP,
  KC_CLIENT,
  KC_REALM,
  OKTA_APP,
  AWS_USER,
  GCP_SA,
  OLD_SECRET,
  ORG,
  REPO,
  SECRET_NAME,
  WHMCS_CREDENTIAL,
  type World,
} from './fixtures.ts';
import type { Schedule } from './search-schedule.ts';

/** Per-attempt HTTP limit in the searched configuration: a hung request costs this much real time. */
export const REQUEST_TIMEOUT_MS = 40;
/** A run that takes longer than this in real time is a violation (the action would hang). */
export const RUN_LIMIT_MS = 15_000;
/** This rotation's Entra password tag (input entra-password-tag). */
export const PASSWORD_TAG = 'fuzz-search';
/** Where failure issues go (failure-issue-repository): a repository every world has. */
export const ISSUE_REPO = 'octo/lib';
/** Virtual time at the start of every run. */
export const T0 = Date.parse('2026-11-23T03:00:00Z');

/** The variable that receives the client id when a schedule has `variable`. */
export const VARIABLE = 'CLIENT_ID';

/** A target line, the emulator's scope of its secret, and of its variables where it has them. */
export interface ScopeSpec {
  readonly line: string;
  /** Not a line of the input: a target the pattern line expands to. */
  readonly fromPattern?: boolean;
  readonly scope: string;
  readonly variables?: string;
}

export const SCOPES = {
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
export const PATTERN = `repos ${ORG}/svc-*`;
export const PATTERN_SCOPES: ScopeSpec[] = ['svc-1', 'svc-2'].map((n) => ({
  line: `repo ${ORG}/${n}`,
  scope: `repo:${ORG}/${n}`,
  variables: `repo:${ORG}/${n}`,
  fromPattern: true,
}));

/** What every run of a schedule shares: the world and how the action is started in it. */
export interface Ctx {
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
export interface Before {
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

export function snapshot(ctx: Ctx): Before {
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

/** The lines of a log that carry the new secret sealed to the recovery key (write-ahead escrow). */
const ESCROW = 'Recovery escrow:';
export function escrowBlobs(log: readonly string[]): string[] {
  return log
    .filter((l) => l.startsWith(ESCROW))
    .flatMap((l) => l.slice(ESCROW.length).match(/[A-Za-z0-9+/]{40,}={0,2}/g) ?? []);
}

/** Whether a secret obtains a token at the provider (or will, once an Entra password propagates). */
export function worksAt(world: World): (secret: string) => boolean {
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
export function providerSecrets(world: World): string[] {
  if (world.csp) return world.csp.validSecrets(CSP_APP);
  if (world.whmcs) return [world.whmcs.credential(WHMCS_CREDENTIAL).clientSecret];
  if (world.auth0) return [world.auth0.client(AUTH0_CLIENT).secret];
  if (world.keycloak) return world.keycloak.validSecrets(KC_REALM, KC_CLIENT);
  if (world.okta) return world.okta.app(OKTA_APP).secrets.map((x) => x.secret);
  if (world.aws) return world.aws.user(AWS_USER).keys.map((k) => k.secret);
  if (world.gcp) return world.gcp.account(GCP_SA).keys.map((k) => k.file);
  return world.entra!.passwords(APP_ID).map((p) => p.secretText);
}

export function rotationCount(world: World): number {
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
