// Where the new secret goes, as the pipeline sees it: GitHub's SecretStore implements it.
import type { ListedRepo } from './inputs/patterns.js';
import type { Target } from './inputs/targets.js';

/** Did a failed write change the secret? Decides whether a rotation may be undone. */
export type Landed = 'no' | 'maybe' | 'yes';

/** The GitHub side as the pipeline sees it (SecretStore implements it). */
export interface Destination {
  /**
   * `names`: the secrets that will be written, whose current readers org targets may keep;
   * `variable`: the variable that will be written where targets have variables.
   */
  preflight(targets: readonly Target[], names: readonly string[], variable?: string): Promise<void>;
  /** When the secret was last updated, read now (undefined: it does not exist). */
  updatedAt(target: Target, name: string): Promise<Date | undefined>;
  /**
   * When the secret was last updated as this run first read it, in preflight (undefined: it did not
   * exist); what a write of this run must be newer than.
   */
  found(target: Target, name: string): Promise<Date | undefined>;
  /** Writes and verifies; a failure is a DestinationError that says whether the write landed. */
  store(target: Target, name: string, value: string): Promise<void>;
  /** Creates or updates an Actions variable and reads its value back. */
  storeVariable(target: Target, name: string, value: string): Promise<void>;
  /** Every repository of `owner` the token can see (every page), for target patterns. */
  listRepositories(owner: string): Promise<readonly ListedRepo[]>;
}

/** A failure of the destination that knows whether the write landed; anything else counts as 'maybe'. */
export class DestinationError extends Error {
  override readonly name: string = 'DestinationError';
  readonly landed: Landed;

  constructor(message: string, landed: Landed) {
    super(message);
    this.landed = landed;
  }
}
