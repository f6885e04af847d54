// The invariants after each run of a schedule, against the emulators' state: no lock-out, no loss, at
// most one rotating call, no leak, the failure issue, and a report that matches the world. Each
// violation is one readable line.
import { concernsIssue, type FailureIssue } from '../src/issue.js';
import type { Report } from '../src/pipeline.js';
import {
  APP_ID,
  AUTH0_CLIENT,
  OKTA_APP,
  AWS_USER,
  GCP_SA,
  OLD_SECRET,
  SECRET_NAME,
  WOODPECKER_CREDENTIAL,
  type World,
} from './fixtures.ts';
import { findLeaks, type Run } from './harness.ts';
import {
  type Before,
  type Ctx,
  ISSUE_REPO,
  providerSecrets,
  rotationCount,
  type ScopeSpec,
  VARIABLE,
  worksAt,
} from './search-world.ts';

/**
 * The failure issue changes nothing else: the report is the same after filing. It is never silent:
 * a failed run leaves at most one open issue, commented when one was open, or warns that it could
 * not; a successful run leaves none open, or warns.
 */
export function checkIssue(
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
export function checkKilled(
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
export function check(
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
