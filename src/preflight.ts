// Stages 1-2 of a run: the pace check, preflight (the provider, every target's key, the recovery key,
// read beside each other; nothing changes here and any failure stops the run), the due rules and the
// guard of the previous-secret slot. What they proved is what the rotation stage takes.
import { WRITE_SPACING_MS } from './github/client.js';
import { loadSodium, usable } from './github/seal.js';
import { decide, type Decision } from './due.js';
import type { Settings } from './inputs/index.js';
import { guardPrevious, type Overwritten } from './previous.js';
import type { Credential } from './providers/types.js';
import type { PipelineDeps, Report, TargetResult } from './report.js';
import { NEVER, type Stop, StopError } from './stop.js';
import { names, resultOf, spoken, writesOf } from './writes.js';

/** How far a run got, for a stop: until `rotating`, a stop changes nothing anywhere. */
export interface Progress {
  rotating: boolean;
  credential?: Credential;
}

/** What preflight proved, for the rotation stage. */
export interface Checked {
  readonly credential: Credential;
  readonly found: unknown;
  readonly decision: Decision | undefined;
  /** The due rule and the next due date, for the report. */
  readonly due: { readonly rule?: string; readonly nextRotationDue?: string };
  readonly overwritten: Overwritten | undefined;
}

/** Every write of the run, in one status: the report of a run that wrote nothing. */
export function planned(s: Settings, status: TargetResult['status']): TargetResult[] {
  return writesOf(s).map((w) => ({ ...resultOf(w), status }));
}

/** Before the rotating call: a requested stop ends the run here (runPipeline reports it). */
export function checkpoint(stop: Stop): void {
  if (stop.requested !== undefined) throw new StopError(stop.requested);
}

export async function preflight(
  s: Settings,
  d: PipelineDeps,
  progress: Progress,
): Promise<Checked | Report> {
  const stop = d.stop ?? NEVER;
  const { targets, secretName, clientIdSecretName, clientIdVariableName } = s.github;

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
    return {
      outcome: 'skipped',
      rotated: false,
      credential,
      targets: planned(s, 'skipped'),
      ...due,
    };
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
  return { credential, found, decision, due, overwritten };
}
