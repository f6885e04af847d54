// Whether this run rotates: skip-if-rotated-within (the age of every target's secret, and no failure
// issue open) and rotate-if-expires-within (the expiry the provider reports, else the age of the oldest
// target secret). The rule that decided is named, so that the log and the summary say why a run did
// or did not rotate.
import { now, spokenUntil } from './clock.js';
import type { Credential } from './providers/types.js';

export interface DueSettings {
  readonly skipIfRotatedWithinMs: number | undefined;
  readonly rotateIfExpiresWithinMs: number | undefined;
}

export interface Decision {
  readonly rotate: boolean;
  /** Which rule decided and why, one sentence; safe to show. */
  readonly rule: string;
  /** When a later run would rotate, ISO 8601, when known. */
  readonly nextDue: string | undefined;
  /** Whether the expiry rule used the target secrets' age (the provider reports no expiry). */
  readonly byAge: boolean;
}

/** One secret the run writes, and when it was last updated (undefined: it does not exist). */
export interface SecretAge {
  /** E.g. `secret CLIENT_SECRET in repo octo/app`. */
  readonly where: string;
  readonly updated: Date | undefined;
}

/**
 * The secret that decides by age: one that does not exist, else the oldest. `where` names it, and
 * says "the oldest of N" when there are several.
 */
function decisive(ages: readonly SecretAge[]): { where: string; at: Date | undefined } {
  const missing = ages.find((a) => a.updated === undefined);
  if (missing) return { where: missing.where, at: undefined };
  const oldest = ages.reduce((a, b) => (b.updated!.getTime() < a.updated!.getTime() ? b : a));
  return {
    where:
      ages.length === 1
        ? oldest.where
        : `the oldest of ${ages.length} target secrets, ${oldest.where.replace(/^secret /, '')},`,
    at: oldest.updated,
  };
}

/**
 * `ages`: every secret the run writes (each target's, and the client id secret's), as preflight found
 * them; read only when a rule needs them. `openIssue`: the open failure issue of this rotation (e.g.
 * `failure issue octo/alerts#3`), when one is: the last run failed, so the guard does not skip.
 */
export async function decide(
  s: DueSettings,
  credential: Credential,
  ages: () => Promise<readonly SecretAge[]>,
  providerName: string,
  openIssue?: string,
): Promise<Decision | undefined> {
  const skipMs = s.skipIfRotatedWithinMs;
  const windowMs = s.rotateIfExpiresWithinMs;
  if (skipMs === undefined && windowMs === undefined) return undefined;
  const expires = credential.expiresAt ? Date.parse(credential.expiresAt) : NaN;
  const byAge = windowMs !== undefined && Number.isNaN(expires);
  const { where, at } =
    skipMs !== undefined || byAge ? decisive(await ages()) : { where: '', at: undefined };
  const t = now();
  const iso = (ms: number): string => new Date(ms).toISOString();
  // The earliest time each rule would let a run rotate.
  const skipUntil = skipMs !== undefined && at ? at.getTime() + skipMs : undefined;
  const expiryDue =
    windowMs === undefined
      ? undefined
      : byAge
        ? at
          ? at.getTime() + windowMs
          : t
        : expires - windowMs;
  const nextDue = Math.max(skipUntil ?? -Infinity, expiryDue ?? -Infinity);
  const next = Number.isFinite(nextDue) ? iso(nextDue) : undefined;

  // The guard against rotating twice in a row comes first: a re-run within it never rotates, unless
  // the failure issue says the last run failed.
  const fresh = skipUntil !== undefined && t < skipUntil;
  if (fresh && openIssue === undefined)
    return {
      rotate: false,
      rule: `skip-if-rotated-within: ${where} was updated at ${iso(at!.getTime())}, within the window; not rotating.`,
      nextDue: next,
      byAge,
    };
  if (windowMs === undefined)
    return {
      rotate: true,
      rule: fresh
        ? `skip-if-rotated-within: ${where} was updated at ${iso(at!.getTime())}, within the window, but ${openIssue} is open (the last run failed); rotating.`
        : at
          ? `skip-if-rotated-within: ${where} was updated at ${iso(at.getTime())}, before the window; rotating.`
          : `skip-if-rotated-within: ${where} does not exist; rotating.`,
      nextDue: undefined,
      byAge,
    };
  if (!byAge) {
    const when = `the current secret expires at ${iso(expires)} (${spokenUntil(expires)})`;
    return t >= expiryDue!
      ? {
          rotate: true,
          rule: `rotate-if-expires-within: ${when}, within the window; rotating.`,
          nextDue: undefined,
          byAge,
        }
      : {
          rotate: false,
          rule: `rotate-if-expires-within: ${when}, outside the window; not rotating before ${iso(expiryDue!)}.`,
          nextDue: next,
          byAge,
        };
  }
  const fallback = `rotate-if-expires-within: ${providerName} reports no expiry for this credential, so the age of ${where} decides`;
  if (!at)
    return {
      rotate: true,
      rule: `${fallback}: it does not exist; rotating.`,
      nextDue: undefined,
      byAge,
    };
  return t >= expiryDue!
    ? {
        rotate: true,
        rule: `${fallback}: updated at ${iso(at.getTime())}, longer ago than the window; rotating.`,
        nextDue: undefined,
        byAge,
      }
    : {
        rotate: false,
        rule: `${fallback}: updated at ${iso(at.getTime())}, within the window; not rotating before ${iso(expiryDue!)}.`,
        nextDue: next,
        byAge,
      };
}

/**
 * After a rotation: when the next run would rotate, from the new secret's expiry, or, without one,
 * from now (every target's secret was just updated).
 */
export function dueAfterRotation(
  s: DueSettings,
  newExpiresAt: string | undefined,
): string | undefined {
  const t = now();
  const candidates: number[] = [];
  if (s.skipIfRotatedWithinMs !== undefined) candidates.push(t + s.skipIfRotatedWithinMs);
  if (s.rotateIfExpiresWithinMs !== undefined) {
    const expires = newExpiresAt ? Date.parse(newExpiresAt) : NaN;
    candidates.push(
      Number.isNaN(expires) ? t + s.rotateIfExpiresWithinMs : expires - s.rotateIfExpiresWithinMs,
    );
  }
  return candidates.length ? new Date(Math.max(...candidates)).toISOString() : undefined;
}
