// The rotation pipeline: preflight -> rotate once -> store and verify everywhere -> retire the
// previous secret, or, when storing fails, keep everything that still works and hand the new secret
// to the operator sealed to their recovery key.
import { writeAheadEscrow } from './escrow.js';
import { loadSodium, usable } from './github/seal.js';
import { WRITE_SPACING_MS } from './github/client.js';
import { DestinationError, type Landed } from './destination.js';
import { decide, dueAfterRotation } from './due.js';
import { withTargets } from './expand.js';
import type { PipelineDeps, Report, TargetResult } from './report.js';
import type { Settings, Target } from './inputs/index.js';
import { hasVariables } from './inputs/targets.js';
import { guardPrevious, keptWords, type Overwritten, rerunWords } from './previous.js';
import { STOP_MARGIN_MS } from './policy.js';
import { type Credential, outcomeUnknown, type Rotation } from './providers/types.js';
import { NEVER, type Stop, StopError, stopReached } from './stop.js';

export type { Destination, Landed } from './destination.js';
export type { PipelineDeps, Report, TargetResult } from './report.js';

export { ESCROW_PREFIX } from './escrow.js';

/** One write: a secret, or the client id variable. */
interface Write {
  readonly t: Target;
  readonly name: string;
  readonly variable: boolean;
}

/** Every write of a run, per target: the secret, the client id secret, the client id variable. */
function writesOf(s: Settings): Write[] {
  const { targets, secretName, clientIdSecretName, clientIdVariableName } = s.github;
  return targets.flatMap((t) => [
    ...names(secretName, clientIdSecretName).map((name) => ({ t, name, variable: false })),
    ...(clientIdVariableName && hasVariables(t)
      ? [{ t, name: clientIdVariableName, variable: true }]
      : []),
  ]);
}

function resultOf(w: Write): Pick<TargetResult, 'target' | 'secret' | 'variable'> {
  return w.variable ? { target: w.t.line, variable: w.name } : { target: w.t.line, secret: w.name };
}

/** How far a run got, for a stop: until `rotating`, a stop changes nothing anywhere. */
interface Progress {
  rotating: boolean;
  credential?: Credential;
}

export async function runPipeline(s: Settings, d: PipelineDeps): Promise<Report> {
  const stop = d.stop ?? NEVER;
  const progress: Progress = { rotating: false };
  try {
    return await withTargets(s, d, (expanded) => rotate(expanded, d, progress));
  } catch (err) {
    // Stopped before the rotating call: whatever failed was aborted by the stop, and nothing changed.
    if (stop.requested === undefined || progress.rotating) throw err;
    d.info(`Stopped (${stop.requested}) before the rotation: nothing was changed.`);
    return {
      outcome: 'failed',
      rotated: false,
      ...(progress.credential ? { credential: progress.credential } : {}),
      targets: [],
      stopped: stop.requested,
      failure: `The run was stopped (${stop.requested}) before the rotation: nothing was changed.`,
      nextStep: 'Nothing needs fixing: re-run the workflow to rotate.',
    };
  }
}

/** Before the rotating call: a requested stop ends the run here (runPipeline reports it). */
function checkpoint(stop: Stop): void {
  if (stop.requested !== undefined) throw new StopError(stop.requested);
}

async function rotate(s: Settings, d: PipelineDeps, progress: Progress): Promise<Report> {
  const stop = d.stop ?? NEVER;
  const { targets, secretName, clientIdSecretName, clientIdVariableName } = s.github;
  const plan = (status: TargetResult['status']): TargetResult[] =>
    writesOf(s).map((w) => ({ ...resultOf(w), status }));

  // A fan-out that GitHub's pace alone makes longer than store-timeout would run out of time after
  // the rotation: refused before anything else.
  const paced = writesOf(s).length * WRITE_SPACING_MS;
  if (paced > s.storeTimeoutMs)
    throw new Error(
      `Input 'store-timeout' (${spoken(s.storeTimeoutMs)}) is shorter than the ${writesOf(s).length} writes to GitHub need at its pace of one a second (at least ${spoken(paced)}): raise store-timeout (at most 6h) or split the targets over several steps.`,
    );

  // 2. Preflight: nothing changes here, and any failure stops the run.
  d.policy.startPreflight();
  d.info(
    `Preflight: authenticating to ${s.provider.name} and fetching the public key of ${targets.length} target(s).`,
  );
  // Everything the steps after the rotation need is proven here: the destination seals a probe to
  // every target's key, and the recovery key gets one too (libsodium loads beside the requests).
  const issueRead =
    s.skipIfRotatedWithinMs !== undefined && d.openIssue ? d.openIssue() : undefined;
  // Read beside the rest; a failure to read it is a warning, never a stop.
  const issueResult = issueRead?.then(
    (open) => ({ open }),
    (err: unknown) => ({ open: undefined, error: (err as Error).message }),
  );
  const [credentialResult, keysResult, recoveryResult] = await Promise.allSettled([
    d.provider.preflight(),
    d.destination.preflight(targets, names(secretName, clientIdSecretName), clientIdVariableName),
    s.recoveryKey
      ? usable(s.recoveryKey, "Input 'recovery-public-key'")
      : // Only starts the load early; the target keys' probes report a failure to load.
        loadSodium().then(
          () => undefined,
          () => undefined,
        ),
  ]);
  // Awaited before any throw, so that its own App token is revoked before the run goes on.
  const issueState = await issueResult;
  checkpoint(stop);
  if (credentialResult.status === 'rejected') throw credentialResult.reason;
  if (keysResult.status === 'rejected') throw keysResult.reason;
  if (recoveryResult.status === 'rejected') throw recoveryResult.reason;
  const { credential, found } = credentialResult.value;
  progress.credential = credential;
  d.info(`Found ${credential.description}.`);
  for (const [input, set] of [
    ['client-id-secret-name', clientIdSecretName],
    ['client-id-variable-name', clientIdVariableName],
  ] as const)
    if (set && !credential.clientId)
      throw new Error(
        `Input '${input}' is set but ${s.provider.name} did not report a client id for this credential.`,
      );

  if (issueState && 'error' in issueState)
    d.warn(`${issueState.error}; skip-if-rotated-within decides by the target secrets alone.`);
  const decision = await decide(
    s,
    credential,
    () =>
      Promise.all(
        targets.flatMap((t) =>
          names(secretName, clientIdSecretName).map(async (name) => ({
            where: `secret ${name} in ${t.line}`,
            updated: await d.destination.found(t, name),
          })),
        ),
      ),
    s.provider.name,
    issueState?.open,
  );
  const due = decision
    ? { rule: decision.rule, ...(decision.nextDue ? { nextRotationDue: decision.nextDue } : {}) }
    : {};
  checkpoint(stop);
  if (decision) d.info(decision.rule);
  if (decision && !decision.rotate)
    return { outcome: 'skipped', rotated: false, credential, targets: plan('skipped'), ...due };
  // A dry run refuses too: it checks everything the rotation would.
  // Without the provider's record of its last rotation, the failure issue tells whether the last run
  // failed (perhaps after rotating, with every write lost): read here unless read above already.
  const slot = credential.previous;
  const unrecorded = slot !== undefined && !slot.exact && slot.since === undefined;
  const lastRun =
    unrecorded && d.openIssue
      ? (issueState ??
        (await d.openIssue().then(
          (open) => ({ open }),
          (err: unknown) => ({ open: undefined, error: (err as Error).message }),
        )))
      : undefined;
  checkpoint(stop);
  const overwritten = await guardPrevious(s, credential, d.destination, d, {
    configured: d.openIssue !== undefined,
    ...(lastRun?.open ? { open: lastRun.open } : {}),
    ...(lastRun && 'error' in lastRun ? { error: String(lastRun.error) } : {}),
  });
  if (s.dryRun) {
    d.info(
      'Dry run: inputs, provider authentication and every public key check out. Nothing was changed.',
    );
    return { outcome: 'dry-run', rotated: false, credential, targets: plan('skipped'), ...due };
  }
  if (credential.oldSecretDiesOnRotate && !s.recoveryKey) {
    d.warn(
      `${s.provider.name} kills the old secret at once. Without recovery-public-key, a failure to store the new secret leaves it nowhere; set recovery-public-key.`,
    );
  }

  // 3-4. Rotate once. From here on the new secret exists only in this process until it is stored.
  // A provider that takes a secret the action chose gets it escrowed before the call: a lost answer
  // or a killed run then loses nothing.
  const chosen = d.provider.chooseSecret?.(found);
  let escrow: string | undefined;
  if (chosen !== undefined) {
    d.mask(chosen);
    d.mask(Buffer.from(chosen).toString('base64'));
    // Preflight proved the key seals: a failure here is a bug, and nothing has changed yet.
    escrow = s.recoveryKey ? await writeAheadEscrow(chosen, s.recoveryKey, d.info) : undefined;
  }
  // The last point where a stop changes nothing (a chosen secret escrowed above was never sent);
  // a stop after it lets the rotating call finish.
  checkpoint(stop);
  progress.rotating = true;
  d.policy.startStoring();
  let rotation: Rotation;
  let rotated: unknown;
  // Write-ahead escrow of an issued secret: in the log before the next request, so that even
  // SIGKILL cannot lose it. (A provider that issued another secret than the one chosen gets the
  // issued one escrowed as well.)
  const escrowed = new Set<string>(chosen !== undefined && escrow !== undefined ? [chosen] : []);
  const issued = async (secret: string): Promise<void> => {
    d.mask(secret);
    d.mask(Buffer.from(secret).toString('base64'));
    if (!s.recoveryKey || escrowed.has(secret)) return;
    escrowed.add(secret);
    escrow = await writeAheadEscrow(secret, s.recoveryKey, d.info).catch((err: unknown) => {
      d.warn(`Could not escrow the new secret: ${(err as Error).message}`);
      return undefined;
    });
  };
  try {
    ({ rotation, rotated } = await d.provider.rotate(found, chosen, issued));
  } catch (err) {
    const unknown = outcomeUnknown(err);
    return {
      outcome: 'failed',
      rotated: false,
      credential,
      targets: plan('skipped'),
      failure: (err as Error).message,
      nextStep: unknown
        ? 'The rotating call may have taken effect (see the message): check the credential at the provider before re-running the workflow.'
        : 'No target was written. The message says what happened at the provider; fix the cause and re-run the workflow.',
    };
  }
  const { secret: newSecret, ...rotationInfo } = rotation;
  // Before the first store at the latest.
  await issued(newSecret);
  const stored = { results: undefined as TargetResult[] | undefined };
  const escrowedField = escrow !== undefined ? { escrowed: true } : {};
  try {
    const after = await afterRotation(
      s,
      d,
      credential,
      rotation,
      rotated,
      stored,
      escrow,
      overwritten,
    );
    return { ...after, ...escrowedField, ...(decision ? { rule: decision.rule } : {}) };
  } catch (err) {
    // Nothing may escape once the secret exists: report every target and hand the secret over.
    const message = (err as Error).message;
    const recovery = escrow;
    const results =
      stored.results ??
      plan('failed').map((r) => ({ ...r, error: 'not written: the run stopped before storing' }));
    const held = results.filter((r) => r.status === 'written').map((r) => r.target);
    const missed = results.filter((r) => r.status !== 'written').map((r) => r.target);
    const where = recovery
      ? 'The new secret is in output `recovery`, sealed to recovery-public-key.'
      : s.recoveryKey
        ? 'Sealing the new secret to recovery-public-key failed too.'
        : 'No recovery-public-key was given.';
    return {
      outcome: 'failed',
      rotated: false,
      credential,
      rotation: rotationInfo,
      targets: results,
      ...escrowedField,
      ...(recovery ? { recovery } : {}),
      failure: `The rotation of ${credential.description} happened, but the run then failed: ${message} ${
        (rotation.oldSecretDied ?? credential.oldSecretDiesOnRotate)
          ? 'The old secret no longer works.'
          : keptWords(rotation, overwritten, missed)
      } ${held.length ? `Targets holding the new secret: ${held.join(', ')}.` : 'No target holds the new secret.'} ${where}`,
      nextStep:
        (!(rotation.oldSecretDied ?? credential.oldSecretDiesOnRotate) &&
          rerunWords(credential, rotation, missed)) ||
        'Store the new secret by hand where it is missing (from output `recovery` or a target that holds it), or re-run the workflow to rotate again.',
    };
  }
}

/** Steps 5-7, after the one rotating call. Throws only on a bug or an unexpected fault; runPipeline reports it. */
async function afterRotation(
  s: Settings,
  d: PipelineDeps,
  credential: Credential,
  rotation: Rotation,
  rotated: unknown,
  stored: { results: TargetResult[] | undefined },
  escrow: string | undefined,
  overwritten: Overwritten | undefined,
): Promise<Report> {
  const { targets, secretName } = s.github;
  const { secret: newSecret, ...rotationInfo } = rotation;
  const writes = writesOf(s);
  d.info(
    `Rotated ${credential.description}; storing the new secret in ${targets.length} target(s)${
      writes.length > 1
        ? ` (${writes.length} writes, a second apart as GitHub asks: at least ${spoken(writes.length * WRITE_SPACING_MS)})`
        : ''
    }.`,
  );

  // 5. Store and verify everywhere; one failure does not stop the others. Preflight proved the
  // client id exists when a client id secret or variable is asked for.
  const clientId = (rotation.clientId ?? credential.clientId)!;
  const stop = d.stop ?? NEVER;
  const landed: Landed[] = [];
  const done: (TargetResult | undefined)[] = writes.map(() => undefined);
  const storing = Promise.all(
    writes.map(async (w, i): Promise<TargetResult> => {
      const { t, name } = w;
      const isSecret = !w.variable && name === secretName;
      try {
        if (w.variable) await d.destination.storeVariable(t, name, clientId);
        else await d.destination.store(t, name, isSecret ? newSecret : clientId);
        d.info(`Stored and verified ${w.variable ? 'variable ' : ''}${name} in ${t.line}.`);
        if (isSecret) landed.push('yes');
        return (done[i] = { ...resultOf(w), status: 'written' });
      } catch (err) {
        const message = (err as Error).message;
        d.warn(message);
        if (isSecret) landed.push(err instanceof DestinationError ? err.landed : 'maybe');
        return (done[i] = { ...resultOf(w), status: 'failed', error: message });
      }
    }),
  );
  // A stop: storing goes on while the grace allows, then whatever has not finished counts as failed
  // (its requests are aborted just before: src/policy.ts), so the report is published in time.
  const results = await Promise.race([
    storing,
    stopReached(stop, STOP_MARGIN_MS.storing - 250).then(() =>
      writes.map((w, i): TargetResult => {
        if (done[i]) return done[i];
        if (!w.variable && w.name === secretName) landed.push('maybe');
        return {
          ...resultOf(w),
          status: 'failed',
          error: `Not finished: the run was stopped (${stop.requested}) before this write was verified; it may or may not have landed.`,
        };
      }),
    ),
  ]);

  stored.results = results;
  const base = { credential, rotation: rotationInfo, targets: results };
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length === 0 && stop.requested !== undefined) {
    // Stopped: retiring (and confirming) waits and changes the provider again; the next run can.
    const dead = rotation.oldSecretDied ?? credential.oldSecretDiesOnRotate;
    return {
      outcome: 'failed',
      rotated: true,
      ...base,
      stopped: stop.requested,
      failure: `The run was stopped (${stop.requested}) after the rotation of ${credential.description}. The new secret is stored and verified in every target. ${
        dead
          ? 'The old secret no longer works.'
          : 'Retiring the previous secret was skipped: where the settings ask for it, it still exists and works until it expires or is removed.'
      }`,
      nextStep: dead
        ? 'Nothing needs recovering: every target holds the new secret.'
        : 'Nothing needs recovering: every target holds the new secret. Remove the previous secret at the provider by hand if it should not keep working, or let the next rotation do it.',
    };
  }
  if (failed.length === 0) {
    // 6. Retire the previous secret only now that every target is verified.
    try {
      // A stop while retiring: the report is published in time; the step may have half happened.
      const retired = await Promise.race([
        d.provider.retirePrevious(rotated),
        stopReached(stop, STOP_MARGIN_MS.storing - 250).then(() => {
          throw new StopError(stop.requested!);
        }),
      ]);
      if (retired) d.info(`Retired ${retired}.`);
      const next = dueAfterRotation(s, rotation.expiresAt);
      return {
        outcome: 'rotated',
        rotated: true,
        ...base,
        ...(retired ? { retired } : {}),
        ...(next ? { nextRotationDue: next } : {}),
      };
    } catch (err) {
      // Where the old secret died with the rotation, this step only confirms the new one (Auth0).
      const dead = rotation.oldSecretDied ?? credential.oldSecretDiesOnRotate;
      const failure = `The new secret is stored and verified in every target, but ${dead ? 'confirming it at the provider' : 'retiring the previous secret'} failed: ${(err as Error).message}`;
      return {
        outcome: 'failed',
        rotated: true,
        ...base,
        ...(stop.requested ? { stopped: stop.requested } : {}),
        failure,
        nextStep: dead
          ? 'Every target holds the new secret and the old one no longer works. Check the credential at the provider; re-run the workflow to rotate again if the new secret does not work.'
          : // Retiring may have half happened (an answer lost after the provider acted), and the failure
            // may be the check that the new secret works (Keycloak): no claim that the previous secret
            // still works, and no removing it before the new one is known to work.
            'Every target holds the new secret. The message says how far retiring the previous secret got: once the new one works, remove the previous one at the provider by hand if it is still there, or re-run the workflow to rotate again.',
      };
    }
  }

  // 7. Storing failed somewhere: keep what still works, hand over the secret, fail the step.
  const recovery = escrow;
  let undone: string | undefined;
  // Undoing is skipped under a stop: the previous secret still works where it could be undone.
  if (landed.every((l) => l === 'no') && stop.requested === undefined) {
    undone = await d.provider.abandon(rotated).catch((err: unknown) => {
      d.warn(`Could not undo the rotation: ${(err as Error).message}`);
      return undefined;
    });
  }
  const reasons = [...new Set(failed.map((f) => f.error))].join(' ');
  const kept = keptWords(
    rotation,
    overwritten,
    failed.filter((f) => f.secret === secretName).map((f) => f.target),
  );
  const summary = `${stop.requested ? `The run was stopped (${stop.requested}) after the rotation. ` : ''}${failed.length} of ${results.length} secret write(s) failed after the rotation of ${credential.description}: ${reasons}`;
  const where = undone
    ? `Undid the rotation (${undone}); the previous secret still works and nothing needs recovering.`
    : (rotation.oldSecretDied ?? credential.oldSecretDiesOnRotate)
      ? recovery
        ? 'The old secret no longer works. The new secret is in output `recovery`, sealed to recovery-public-key: open it and store it by hand.'
        : 'The old secret no longer works and no recovery-public-key was given: targets marked written hold the new secret; copy it from one of them or rotate again at the provider.'
      : recovery
        ? `${kept} The new secret is in output \`recovery\`, sealed to recovery-public-key.`
        : kept;
  const inUse = !undone && rotation.inUseBy ? ` ${rotation.inUseBy}.` : '';
  return {
    outcome: 'failed',
    rotated: false,
    ...base,
    ...(stop.requested ? { stopped: stop.requested } : {}),
    ...(recovery ? { recovery } : {}),
    ...(undone ? { undone } : {}),
    failure: `${summary} ${where}${inUse}`,
    nextStep:
      (!undone &&
        !(rotation.oldSecretDied ?? credential.oldSecretDiesOnRotate) &&
        rerunWords(
          credential,
          rotation,
          failed.filter((f) => f.secret === secretName).map((f) => f.target),
        )) ||
      'Fix the failing targets (see each error), then re-run the workflow: it rotates again and stores everywhere.',
  };
}

function names(secret: string, clientId: string | undefined): string[] {
  return clientId ? [secret, clientId] : [secret];
}

/** `45 s`, `12 min`, `1 h 5 min`: a duration as a person reads it. */
function spoken(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}
