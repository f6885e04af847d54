// The rotation pipeline, steps 1-4: expand the targets, preflight (every check before anything
// changes), decide whether the run is due, guard the previous-secret slot, then rotate once with
// write-ahead escrow. Steps 5-7 (store and verify, retire, or hand the secret over) are in
// after-rotation.ts.
import { afterRotation } from './after-rotation.js';
import { writeAheadEscrow } from './escrow.js';
import { loadSodium, usable } from './github/seal.js';
import { WRITE_SPACING_MS } from './github/client.js';
import { decide } from './due.js';
import { withTargets } from './expand.js';
import type { PipelineDeps, Report, TargetResult } from './report.js';
import type { Settings } from './inputs/index.js';
import { guardPrevious, keptWords, rerunWords } from './previous.js';
import { names, resultOf, spoken, writesOf } from './writes.js';
import { type Credential, outcomeUnknown, type Rotation } from './providers/types.js';
import { NEVER, type Stop, StopError } from './stop.js';

export type { Destination, Landed } from './destination.js';
export type { PipelineDeps, Report, TargetResult } from './report.js';

export { ESCROW_PREFIX } from './escrow.js';

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
