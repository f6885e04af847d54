// The shared vocabulary of a run, at the bottom of the feature layer: what the pipeline, the check and
// the target expansion return (Report, TargetResult, Expansion) and what they are handed
// (PipelineDeps). Types only, so that every module above can speak of a run without importing the
// module that runs it (see ARCHITECTURE.md).
import type { Destination } from './destination.js';
import type { RetryPolicy } from './policy.js';
import type { Credential, Provider, Rotation } from './providers/types.js';
import type { Stop, StopSignal } from './stop.js';

export interface Expansion {
  /** The pattern line as written. */
  readonly pattern: string;
  /** The target lines it became (a target also named elsewhere is written once, where first named). */
  readonly targets: readonly string[];
  /** Matching repositories left out because they are archived or disabled. */
  readonly skipped: number;
}

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
  /** True when the new secret, sealed to the recovery key, was logged before storing (write-ahead escrow). */
  readonly escrowed?: boolean;
  /** Why the step fails; safe to show. */
  readonly failure?: string;
  /** What the operator should do next, when something went wrong. */
  readonly nextStep?: string;
  /** What each target pattern expanded to, in preflight. */
  readonly expanded?: readonly Expansion[];
  /** The signal that stopped the run (src/stop.ts), when one did before the report was made. */
  readonly stopped?: StopSignal;
  /**
   * Refused before the rotating call only because it came too soon after a write (src/previous.ts,
   * NotYet): nothing changed and nothing needs a person, so the failure issue is neither filed nor closed.
   */
  readonly notYet?: true;
}

export interface PipelineDeps {
  readonly provider: Provider;
  readonly destination: Destination;
  /** The retry policy the clients were made with: told when the run enters a phase. */
  readonly policy: Pick<RetryPolicy, 'startPreflight' | 'startStoring'>;
  readonly mask: (value: string) => void;
  readonly info: (message: string) => void;
  readonly warn: (message: string) => void;
  /** A request to stop (src/stop.ts); none by default. */
  readonly stop?: Stop;
  /**
   * With skip-if-rotated-within and a failure issue configured: the open failure issue of this
   * rotation (`failure issue OWNER/NAME#N`), or undefined; rejects when it cannot be read.
   */
  readonly openIssue?: () => Promise<string | undefined>;
}
