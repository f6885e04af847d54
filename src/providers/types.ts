// The one interface every provider implements. The pipeline calls, in order:
// preflight() -> rotate() -> [store and verify every target] -> retirePrevious(),
// or abandon() when no target received the new secret.
import { type Http, HttpError } from '../http.js';
import type { InputSpecs, Read } from '../inputs/fields.js';

/** What preflight found out about the credential. Nothing secret. */
export interface Credential {
  /** Client id / identifier, for the `client-id` output and `client-id-secret-name`. */
  readonly clientId: string | undefined;
  /** The provider's own id of the credential, where it has one. */
  readonly credentialId: string | undefined;
  /** Human description for logs and the summary, e.g. "CSP OAuth app X in org Y". */
  readonly description: string;
  /** Expiry of the current secret, ISO 8601, where known. */
  readonly expiresAt: string | undefined;
  /** True when rotate() kills the current secret at once: a failed store then leaves only the recovery blob. */
  readonly oldSecretDiesOnRotate: boolean;
  /**
   * Where the provider keeps one previous secret beside the current one and the next rotation
   * overwrites it (CSP overlap, Keycloak's secret-rotation policy): what preflight knows of that slot.
   * The pipeline refuses to rotate while it still works and a target may still hold it (src/previous.ts).
   */
  readonly previous?: PreviousSlot;
  /**
   * Where a killed run can leave a secret that no target holds (Entra: a password added by a run
   * killed before it stored it): the secrets this rotation made that the provider still lists, with
   * their creation times. The expiry rule then decides by the newest of them that existed when the
   * targets were last written (src/due.ts, `held`), not by `expiresAt`.
   */
  readonly issued?: IssuedSecrets;
}

/** The secrets this rotation made, as the provider lists them. Times in epoch milliseconds. */
export interface IssuedSecrets {
  /** What the provider calls one, for the rule text: "password". */
  readonly noun: string;
  /** The rule's words for a secret created after the targets were last written; default: an orphan of a killed run. */
  readonly newer?: string;
  readonly secrets: readonly {
    /** When the provider created it, on the provider's clock. */
    readonly createdAt: number;
    readonly expiresAt: number;
  }[];
}

/** The one previous-secret slot, as preflight found it. Times in epoch milliseconds. */
export interface PreviousSlot {
  /** When the secret in it stops working; undefined: the provider does not show it (then `since` + `windowMs`). */
  readonly until: number | undefined;
  /** When the current secret replaced it; undefined: the provider does not show it (the newest target write stands in). */
  readonly since: number | undefined;
  /** How long the provider keeps a previous secret, for `until` when the provider does not show it. */
  readonly windowMs: number;
  /** True when `since` and `until` are the provider's own record of the slot, not an estimate. */
  readonly exact: boolean;
  /** The input that lets a rotation overwrite it anyway, and whether it is set. */
  readonly overwrite: { readonly input: string; readonly allowed: boolean };
}

/** The result of the one rotating call. */
export interface Rotation {
  /** The new secret. The provider masks it before returning (and before any log line). */
  readonly secret: string;
  readonly clientId: string | undefined;
  readonly credentialId: string | undefined;
  readonly expiresAt: string | undefined;
  /** Where the new secret is already in use besides the targets, for failure messages (Woodpecker saves it itself). */
  readonly inUseBy?: string;
  /**
   * Whether the old secret died, as the rotation found out, where preflight could only guess
   * (Keycloak: a client policy decides); it replaces `Credential.oldSecretDiesOnRotate` in the report.
   */
  readonly oldSecretDied?: boolean;
  /** Until when the previous secret keeps working, ISO 8601, where the provider kept it for a window. */
  readonly previousUntil?: string;
}

/**
 * The steps carry state in typed values, never in closure variables: preflight returns what it found
 * (`F`), rotate takes it and returns what it did (`R`), and retirePrevious or abandon take that. The
 * pipeline passes them along without looking inside; none of it reaches the report.
 */
export interface Provider<F = unknown, R = unknown> {
  /** Authenticates and finds the credential. Changes nothing anywhere. */
  preflight(): Promise<Found<F>>;
  /**
   * Optional, for providers that accept a secret the caller brings: the new secret, chosen before the
   * rotating call. The pipeline masks it and escrows it to the recovery key, then hands it to
   * rotate(), which must set exactly this value (so that sending it again is not a second rotation).
   */
  chooseSecret?(found: F): string | undefined;
  /**
   * Issues the new secret: the one destructive call, never blindly retried. `chosen` is what
   * chooseSecret() returned, when it did; the rotation's secret must then equal it. A provider
   * that sends more requests after the answer carried the new secret calls `issued` with it first:
   * it is masked and escrowed there, so that a run killed during those requests loses nothing.
   */
  rotate(
    found: F,
    chosen?: string,
    issued?: (secret: string) => Promise<void>,
  ): Promise<Rotated<R>>;
  /**
   * Runs once every target holds the verified new secret: confirms it where the provider can, then
   * retires the previous secret where the settings ask for it. Returns what was retired, if anything.
   */
  retirePrevious(rotated: R): Promise<string | undefined>;
  /**
   * Runs when the rotation happened but no target received the new secret: undoes the rotation where
   * the old secret still works (Entra removes the new password). Returns what was undone, if anything.
   */
  abandon(rotated: R): Promise<string | undefined>;
}

export interface Found<F> {
  readonly credential: Credential;
  /** The provider's own findings, for rotate(). */
  readonly found: F;
}

export interface Rotated<R> {
  readonly rotation: Rotation;
  /** The provider's own record of the rotation, for retirePrevious() or abandon(). */
  readonly rotated: R;
}

/** What a provider's parser may know besides its inputs. */
export interface ParseContext {
  /** The default identity of this rotation: provider, repository and secret name (see entra-password-tag). */
  readonly defaultTag: string;
  /** The runner's environment, for providers whose sign-in has a standard chain there (AWS_ACCESS_KEY_ID ...). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * A provider in one module: the inputs it reads (action.yml, its docs page and the list of inputs to
 * mask follow from them), its parser, and its implementation. Registered in ./index.ts.
 */
export interface ProviderModule<S extends { readonly name: string }> {
  readonly inputs: InputSpecs;
  /** How the docs present it: the README's provider table and docs/providers/<name>.md (`npm run docs`). */
  readonly docs: ProviderDocs;
  /** Raw inputs -> settings. Pure: no I/O; a bad value throws an InputError naming the input. */
  parse(read: Read, ctx: ParseContext): S;
  create(settings: S, deps: ProviderDeps): Provider;
}

/** A provider as the docs name it, in markdown; one short line each. */
export interface ProviderDocs {
  /** The provider's product name, e.g. "Microsoft Entra". */
  readonly title: string;
  /** What one rotation changes. */
  readonly rotates: string;
  /** What becomes of the previous secret. */
  readonly previous: string;
}

/** What a provider may use of its surroundings; injected so that providers stay free of globals. */
export interface ProviderDeps {
  /** Registers a value with the runner's log masking (core.setSecret). */
  readonly mask: (value: string) => void;
  readonly info: (message: string) => void;
  readonly warn: (message: string) => void;
  /** The job's OIDC token for an audience (core.getIDToken). */
  readonly idToken: (audience: string) => Promise<string>;
  /** Provider HTTP under the run's retry policy (src/http.ts). */
  readonly http: Http;
}

/** Thrown by providers with a message that is safe to show and says what to do. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  /** True when the rotating call may have happened but its outcome is unknown. */
  readonly outcomeUnknown: boolean;

  constructor(message: string, outcomeUnknown = false) {
    super(message);
    this.outcomeUnknown = outcomeUnknown;
  }
}

/** True when `err` says the rotating call may have happened but its outcome is unknown. */
export function outcomeUnknown(err: unknown): boolean {
  return (err instanceof ProviderError || err instanceof HttpError) && err.outcomeUnknown;
}
