// The rotation pipeline: preflight -> rotate once -> store and verify everywhere -> retire the
// previous secret, or, when storing fails, keep everything that still works and hand the new secret
// to the operator sealed to their recovery key.
import { now } from './clock.js';
import { loadSodium, seal, usable } from './github/seal.js';
import { type Destination, DestinationError, type Landed } from './destination.js';
import type { Settings, Target } from './inputs/index.js';
import type { RetryPolicy } from './policy.js';
import {
  type Credential,
  outcomeUnknown,
  type Provider,
  type Rotation,
} from './providers/types.js';

export type { Destination, Landed } from './destination.js';

export interface TargetResult {
  /** The target line, e.g. `repo octo/app`. */
  readonly target: string;
  readonly secret: string;
  /** `present` and `missing` only in mode check. */
  readonly status: 'written' | 'failed' | 'skipped' | 'present' | 'missing';
  /** Why it failed; safe to show. */
  readonly error?: string;
  /** Mode check: when GitHub last updated the secret, ISO 8601. */
  readonly updatedAt?: string;
}

export interface Report {
  readonly outcome: 'rotated' | 'dry-run' | 'skipped' | 'checked' | 'failed';
  /** Set by mode check (src/check.ts); a rotation leaves it out. */
  readonly mode?: 'check';
  /** True when a new secret was issued and stored everywhere. */
  readonly rotated: boolean;
  readonly credential?: Credential;
  readonly rotation?: Omit<Rotation, 'secret'>;
  readonly targets: readonly TargetResult[];
  /** What was retired after every target was verified. */
  readonly retired?: string;
  /** What was undone because no target received the new secret. */
  readonly undone?: string;
  /** The new secret sealed to the recovery key, base64, when storing failed. */
  readonly recovery?: string;
  /** Why the step fails; safe to show. */
  readonly failure?: string;
  /** What the operator should do next, when something went wrong. */
  readonly nextStep?: string;
}

export interface PipelineDeps {
  readonly provider: Provider;
  readonly destination: Destination;
  /** The retry policy the clients were made with: told when the run enters a phase. */
  readonly policy: Pick<RetryPolicy, 'startPreflight' | 'startStoring'>;
  readonly mask: (value: string) => void;
  readonly info: (message: string) => void;
  readonly warn: (message: string) => void;
}

export async function runPipeline(s: Settings, d: PipelineDeps): Promise<Report> {
  const { targets, secretName, clientIdSecretName } = s.github;
  const plan = (status: TargetResult['status']): TargetResult[] =>
    targets.flatMap((t) =>
      names(secretName, clientIdSecretName).map((secret) => ({ target: t.line, secret, status })),
    );

  // 2. Preflight: nothing changes here, and any failure stops the run.
  d.policy.startPreflight();
  d.info(
    `Preflight: authenticating to ${s.provider.name} and fetching the public key of ${targets.length} target(s).`,
  );
  // Everything the steps after the rotation need is proven here: the destination seals a probe to
  // every target's key, and the recovery key gets one too (libsodium loads beside the requests).
  const [credentialResult, keysResult, recoveryResult] = await Promise.allSettled([
    d.provider.preflight(),
    d.destination.preflight(targets, names(secretName, clientIdSecretName)),
    s.recoveryKey
      ? usable(s.recoveryKey, "Input 'recovery-public-key'")
      : // Only starts the load early; the target keys' probes report a failure to load.
        loadSodium().then(
          () => undefined,
          () => undefined,
        ),
  ]);
  if (credentialResult.status === 'rejected') throw credentialResult.reason;
  if (keysResult.status === 'rejected') throw keysResult.reason;
  if (recoveryResult.status === 'rejected') throw recoveryResult.reason;
  const credential = credentialResult.value;
  d.info(`Found ${credential.description}.`);
  if (clientIdSecretName && !credential.clientId) {
    throw new Error(
      `Input 'client-id-secret-name' is set but ${s.provider.name} did not report a client id for this credential.`,
    );
  }

  if (s.skipIfRotatedWithinMs !== undefined) {
    const first = targets[0]!;
    const updated = await d.destination.updatedAt(first, secretName);
    if (updated && now() - updated.getTime() < s.skipIfRotatedWithinMs) {
      d.info(
        `Secret ${secretName} in ${first.line} was updated at ${updated.toISOString()}, within skip-if-rotated-within: nothing to do.`,
      );
      return { outcome: 'skipped', rotated: false, credential, targets: plan('skipped') };
    }
  }
  if (s.dryRun) {
    d.info(
      'Dry run: inputs, provider authentication and every public key check out. Nothing was changed.',
    );
    return { outcome: 'dry-run', rotated: false, credential, targets: plan('skipped') };
  }
  if (credential.oldSecretDiesOnRotate && !s.recoveryKey) {
    d.warn(
      `${s.provider.name} kills the old secret at once. Without recovery-public-key, a failure to store the new secret leaves it nowhere; set recovery-public-key.`,
    );
  }

  // 3-4. Rotate once. From here on the new secret exists only in this process until it is stored.
  d.policy.startStoring();
  let rotation: Rotation;
  try {
    rotation = await d.provider.rotate();
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
  d.mask(rotation.secret);
  d.mask(Buffer.from(rotation.secret).toString('base64'));
  const { secret: newSecret, ...rotationInfo } = rotation;
  const stored = { results: undefined as TargetResult[] | undefined };
  try {
    return await afterRotation(s, d, credential, rotation, stored);
  } catch (err) {
    // Nothing may escape once the secret exists: report every target and hand the secret over.
    const message = (err as Error).message;
    const recovery = s.recoveryKey
      ? await seal(newSecret, s.recoveryKey).catch(() => undefined)
      : undefined;
    const results =
      stored.results ??
      plan('failed').map((r) => ({ ...r, error: 'not written: the run stopped before storing' }));
    const held = results.filter((r) => r.status === 'written').map((r) => r.target);
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
      ...(recovery ? { recovery } : {}),
      failure: `The rotation of ${credential.description} happened, but the run then failed: ${message} ${
        credential.oldSecretDiesOnRotate
          ? 'The old secret no longer works.'
          : 'The previous secret was kept and still works.'
      } ${held.length ? `Targets holding the new secret: ${held.join(', ')}.` : 'No target holds the new secret.'} ${where}`,
      nextStep:
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
  stored: { results: TargetResult[] | undefined },
): Promise<Report> {
  const { targets, secretName, clientIdSecretName } = s.github;
  const { secret: newSecret, ...rotationInfo } = rotation;
  d.info(
    `Rotated ${credential.description}; storing the new secret in ${targets.length} target(s).`,
  );

  // 5. Store and verify everywhere; one failure does not stop the others.
  const clientId = rotation.clientId ?? credential.clientId;
  const writes = targets.flatMap((t) => {
    const w: { t: Target; name: string; value: string }[] = [
      { t, name: secretName, value: newSecret },
    ];
    if (clientIdSecretName && clientId) w.push({ t, name: clientIdSecretName, value: clientId });
    return w;
  });
  const landed: Landed[] = [];
  const results = await Promise.all(
    writes.map(async ({ t, name, value }): Promise<TargetResult> => {
      try {
        await d.destination.store(t, name, value);
        d.info(`Stored and verified ${name} in ${t.line}.`);
        if (name === secretName) landed.push('yes');
        return { target: t.line, secret: name, status: 'written' };
      } catch (err) {
        const message = (err as Error).message;
        d.warn(message);
        if (name === secretName)
          landed.push(err instanceof DestinationError ? err.landed : 'maybe');
        return { target: t.line, secret: name, status: 'failed', error: message };
      }
    }),
  );

  stored.results = results;
  const base = { credential, rotation: rotationInfo, targets: results };
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length === 0) {
    // 6. Retire the previous secret only now that every target is verified.
    try {
      const retired = await d.provider.retirePrevious();
      if (retired) d.info(`Retired ${retired}.`);
      return { outcome: 'rotated', rotated: true, ...base, ...(retired ? { retired } : {}) };
    } catch (err) {
      const failure = `The new secret is stored and verified in every target, but retiring the previous secret failed: ${(err as Error).message}`;
      return {
        outcome: 'failed',
        rotated: true,
        ...base,
        failure,
        nextStep:
          'The previous secret still works. Remove it at the provider by hand, or re-run the workflow to rotate again.',
      };
    }
  }

  // 7. Storing failed somewhere: keep what still works, hand over the secret, fail the step.
  const recovery = s.recoveryKey ? await seal(newSecret, s.recoveryKey) : undefined;
  let undone: string | undefined;
  if (landed.every((l) => l === 'no')) {
    undone = await d.provider.abandon().catch((err: unknown) => {
      d.warn(`Could not undo the rotation: ${(err as Error).message}`);
      return undefined;
    });
  }
  const reasons = [...new Set(failed.map((f) => f.error))].join(' ');
  const summary = `${failed.length} of ${results.length} secret write(s) failed after the rotation of ${credential.description}: ${reasons}`;
  const where = undone
    ? `Undid the rotation (${undone}); the previous secret still works and nothing needs recovering.`
    : credential.oldSecretDiesOnRotate
      ? recovery
        ? 'The old secret no longer works. The new secret is in output `recovery`, sealed to recovery-public-key: open it and store it by hand.'
        : 'The old secret no longer works and no recovery-public-key was given: targets marked written hold the new secret; copy it from one of them or rotate again at the provider.'
      : recovery
        ? 'The previous secret was kept and still works. The new secret is in output `recovery`, sealed to recovery-public-key.'
        : 'The previous secret was kept and still works.';
  const inUse = !undone && rotation.inUseBy ? ` ${rotation.inUseBy}.` : '';
  return {
    outcome: 'failed',
    rotated: false,
    ...base,
    ...(recovery ? { recovery } : {}),
    ...(undone ? { undone } : {}),
    failure: `${summary} ${where}${inUse}`,
    nextStep:
      'Fix the failing targets (see each error), then re-run the workflow: it rotates again and stores everywhere.',
  };
}

function names(secret: string, clientId: string | undefined): string[] {
  return clientId ? [secret, clientId] : [secret];
}
