// The rotation pipeline: preflight -> rotate once -> store and verify everywhere -> retire the
// previous secret, or, when storing fails, keep everything that still works and hand the new secret
// to the operator sealed to their recovery key.
import { loadSodium, seal, usable } from './github/seal.js';
import { type Destination, DestinationError, type Landed } from './destination.js';
import { decide, dueAfterRotation } from './due.js';
import { type Expansion, withTargets } from './expand.js';
import type { Settings, Target } from './inputs/index.js';
import { hasVariables } from './inputs/targets.js';
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
  /** The secret written, or, for the client id variable, undefined and `variable` set. */
  readonly secret?: string;
  readonly variable?: string;
  /** `present` and `missing` only in mode check. */
  readonly status: 'written' | 'failed' | 'skipped' | 'present' | 'missing';
  /** Why it failed; safe to show. */
  readonly error?: string;
  /** Mode check: when GitHub last updated the secret, ISO 8601. */
  readonly updatedAt?: string;
}

export interface Report {
  readonly outcome: 'rotated' | 'dry-run' | 'skipped' | 'checked' | 'failed';
  /** The rule that decided whether to rotate (skip-if-rotated-within, rotate-if-expires-within). */
  readonly rule?: string;
  /** When a later run would rotate, ISO 8601, where known. */
  readonly nextRotationDue?: string;
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
  /** What each target pattern expanded to, in preflight. */
  readonly expanded?: readonly Expansion[];
}

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

export interface PipelineDeps {
  readonly provider: Provider;
  readonly destination: Destination;
  /** The retry policy the clients were made with: told when the run enters a phase. */
  readonly policy: Pick<RetryPolicy, 'startPreflight' | 'startStoring'>;
  readonly mask: (value: string) => void;
  readonly info: (message: string) => void;
  readonly warn: (message: string) => void;
  /**
   * With skip-if-rotated-within and a failure issue configured: the open failure issue of this
   * rotation (`failure issue OWNER/NAME#N`), or undefined; rejects when it cannot be read.
   */
  readonly openIssue?: () => Promise<string | undefined>;
}

export async function runPipeline(s: Settings, d: PipelineDeps): Promise<Report> {
  return withTargets(s, d, (expanded) => rotate(expanded, d));
}

async function rotate(s: Settings, d: PipelineDeps): Promise<Report> {
  const { targets, secretName, clientIdSecretName, clientIdVariableName } = s.github;
  const plan = (status: TargetResult['status']): TargetResult[] =>
    writesOf(s).map((w) => ({ ...resultOf(w), status }));

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
  if (credentialResult.status === 'rejected') throw credentialResult.reason;
  if (keysResult.status === 'rejected') throw keysResult.reason;
  if (recoveryResult.status === 'rejected') throw recoveryResult.reason;
  const { credential, found } = credentialResult.value;
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
  if (decision) d.info(decision.rule);
  if (decision && !decision.rotate)
    return { outcome: 'skipped', rotated: false, credential, targets: plan('skipped'), ...due };
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
  d.policy.startStoring();
  let rotation: Rotation;
  let rotated: unknown;
  try {
    ({ rotation, rotated } = await d.provider.rotate(found));
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
    const after = await afterRotation(s, d, credential, rotation, rotated, stored);
    return decision ? { ...after, rule: decision.rule } : after;
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
        (rotation.oldSecretDied ?? credential.oldSecretDiesOnRotate)
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
  rotated: unknown,
  stored: { results: TargetResult[] | undefined },
): Promise<Report> {
  const { targets, secretName } = s.github;
  const { secret: newSecret, ...rotationInfo } = rotation;
  d.info(
    `Rotated ${credential.description}; storing the new secret in ${targets.length} target(s).`,
  );

  // 5. Store and verify everywhere; one failure does not stop the others. Preflight proved the
  // client id exists when a client id secret or variable is asked for.
  const clientId = (rotation.clientId ?? credential.clientId)!;
  const landed: Landed[] = [];
  const results = await Promise.all(
    writesOf(s).map(async (w): Promise<TargetResult> => {
      const { t, name } = w;
      const isSecret = !w.variable && name === secretName;
      try {
        if (w.variable) await d.destination.storeVariable(t, name, clientId);
        else await d.destination.store(t, name, isSecret ? newSecret : clientId);
        d.info(`Stored and verified ${w.variable ? 'variable ' : ''}${name} in ${t.line}.`);
        if (isSecret) landed.push('yes');
        return { ...resultOf(w), status: 'written' };
      } catch (err) {
        const message = (err as Error).message;
        d.warn(message);
        if (isSecret) landed.push(err instanceof DestinationError ? err.landed : 'maybe');
        return { ...resultOf(w), status: 'failed', error: message };
      }
    }),
  );

  stored.results = results;
  const base = { credential, rotation: rotationInfo, targets: results };
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length === 0) {
    // 6. Retire the previous secret only now that every target is verified.
    try {
      const retired = await d.provider.retirePrevious(rotated);
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
  const recovery = s.recoveryKey ? await seal(newSecret, s.recoveryKey) : undefined;
  let undone: string | undefined;
  if (landed.every((l) => l === 'no')) {
    undone = await d.provider.abandon(rotated).catch((err: unknown) => {
      d.warn(`Could not undo the rotation: ${(err as Error).message}`);
      return undefined;
    });
  }
  const reasons = [...new Set(failed.map((f) => f.error))].join(' ');
  const summary = `${failed.length} of ${results.length} secret write(s) failed after the rotation of ${credential.description}: ${reasons}`;
  const where = undone
    ? `Undid the rotation (${undone}); the previous secret still works and nothing needs recovering.`
    : (rotation.oldSecretDied ?? credential.oldSecretDiesOnRotate)
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
