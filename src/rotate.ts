// Stages 3-4 of a run: rotate once, with write-ahead escrow of the new secret, then hand over to
// after-rotation.ts (store, verify, retire) and, should anything escape it, report every target and
// where the new secret is.
import { afterRotation } from './after-rotation.js';
import { writeAheadEscrow } from './escrow.js';
import type { Settings } from './inputs/index.js';
import { type Checked, checkpoint, planned, type Progress } from './preflight.js';
import { keptWords, rerunWords } from './previous.js';
import { outcomeUnknown, type Rotation } from './providers/types.js';
import type { PipelineDeps, Report, TargetResult } from './report.js';
import { NEVER } from './stop.js';

export async function rotateOnce(
  s: Settings,
  d: PipelineDeps,
  progress: Progress,
  checked: Checked,
): Promise<Report> {
  const stop = d.stop ?? NEVER;
  const { credential, found, decision, overwritten } = checked;
  const plan = (status: TargetResult['status']): TargetResult[] => planned(s, status);
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
