// Steps 5-7 of a rotation, after the one rotating call: store and verify everywhere, retire the
// previous secret once every target is verified, or, when storing failed, keep what still works,
// undo where nothing landed, and say where the new secret is.
import { WRITE_SPACING_MS } from './github/client.js';
import { DestinationError, type Landed } from './destination.js';
import { dueAfterRotation } from './due.js';
import type { PipelineDeps, Report, TargetResult } from './report.js';
import type { Settings } from './inputs/index.js';
import { keptWords, type Overwritten, rerunWords } from './previous.js';
import { STOP_MARGIN_MS } from './policy.js';
import type { Credential, Rotation } from './providers/types.js';
import { NEVER, StopError, stopReached } from './stop.js';
import { resultOf, spoken, writesOf } from './writes.js';

/** Steps 5-7, after the one rotating call. Throws only on a bug or an unexpected fault; runPipeline reports it. */
export async function afterRotation(
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
