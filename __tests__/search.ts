// The invariant search: random schedules of faults on the provider and on GitHub, each run in process
// through the same wiring as src/main.ts, against fresh loopback emulators, on a virtual clock (retries,
// pacing, Retry-After and propagation cost no real time). After each run the world is checked:
//   no lock-out, no loss, at most one rotating call, no leak, and the report matches the world.
// Plain module (no vitest), so that scripts/fuzz.ts can run it under node as well as the tests.
import sodium from 'libsodium-wrappers';
import { setClock } from '../src/clock.js';
import { createGitHub, type GitHub } from '../src/github/client.js';
import { fileWithApp } from '../src/github/issue-app.js';
import { RetryPolicy } from '../src/policy.js';
import { GRACE_MS, type Stop, StopController } from '../src/stop.js';
import { parseInputs } from '../src/inputs/index.js';
import { concernsIssue, fileFailureIssue, parseFailureIssue } from '../src/issue.js';
import { NotYet } from '../src/previous.js';
import type { Report } from '../src/pipeline.js';
import { MARKER } from '../src/providers/entra-app.js';
import { setOutputs, summaryMarkdown } from '../src/summary.js';
import { execute as wire } from '../src/wire.js';
import { GITHUB_ISSUER } from './emulators/gcp.ts';
import { fastZeroTimeouts, RunProcess, VirtualClock } from './search-process.ts';
import {
  APP_ID,
  CREDENTIALS,
  OKTA_APP,
  AWS_OLD_KEY_ID,
  AWS_USER,
  GCP_ROTATOR,
  GCP_SA,
  OKTA_CLIENT_ID,
  OLD_SECRET,
  REPO,
  SECRET_NAME,
  startWorld,
  type World,
} from './fixtures.ts';
import { providerOf, ROUTES, type RunSpec, type Schedule } from './search-schedule.ts';
import { emulator, faultFor, matches, tally } from './search-faults.ts';
import { check, checkIssue, checkKilled } from './search-check.ts';
import {
  type Ctx,
  ISSUE_REPO,
  PASSWORD_TAG,
  PATTERN,
  PATTERN_SCOPES,
  REQUEST_TIMEOUT_MS,
  RUN_LIMIT_MS,
  SCOPES,
  type ScopeSpec,
  T0,
  VARIABLE,
  escrowBlobs,
  snapshot,
} from './search-world.ts';
export { VirtualClock } from './search-process.ts';
// The vocabulary and the checker's counters, for the tests and scripts/fuzz.ts.
export * from './search-schedule.ts';
export { type FaultTally, faultStats } from './search-faults.ts';
export { REQUEST_TIMEOUT_MS } from './search-world.ts';

await sodium.ready;

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

/** keycloak-policy: the realm's secret-rotation executor (30 days a secret, the previous one kept 2). */
const KEYCLOAK_POLICY = { expirationSeconds: 30 * 86_400, rotatedExpirationSeconds: 2 * 86_400 };

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

/** The property: a schedule breaks no invariant. Throws with the violations and the log. */
export async function holds(s: Schedule): Promise<void> {
  const o = await runSchedule(s);
  if (o.violations.length > 0) {
    throw new Error(
      `${o.violations.join('\n')}\n--- outputs ${JSON.stringify(o.outputs)}\n--- log\n${o.log.join('\n')}`,
    );
  }
}
