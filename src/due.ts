// Whether this run rotates: skip-if-rotated-within (the age of the first target's secret) and
// rotate-if-expires-within (the expiry the provider reports, else that same age). The rule that
// decided is named, so that the log and the summary say why a run did or did not rotate.
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
  /** Whether the expiry rule used the target secret's age (the provider reports no expiry). */
  readonly byAge: boolean;
}

/**
 * `updated`: when the first target's secret was last updated (undefined: it does not exist); read
 * only when a rule needs it. `where`: that secret and target, for the messages.
 */
export async function decide(
  s: DueSettings,
  credential: Credential,
  updated: () => Promise<Date | undefined>,
  where: string,
  providerName: string,
): Promise<Decision | undefined> {
  const skipMs = s.skipIfRotatedWithinMs;
  const windowMs = s.rotateIfExpiresWithinMs;
  if (skipMs === undefined && windowMs === undefined) return undefined;
  const expires = credential.expiresAt ? Date.parse(credential.expiresAt) : NaN;
  const byAge = windowMs !== undefined && Number.isNaN(expires);
  const at = skipMs !== undefined || byAge ? await updated() : undefined;
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

  // The guard against rotating twice in a row comes first: a re-run within it never rotates.
  if (skipUntil !== undefined && t < skipUntil)
    return {
      rotate: false,
      rule: `skip-if-rotated-within: ${where} was updated at ${iso(at!.getTime())}, within the window; not rotating.`,
      nextDue: next,
      byAge,
    };
  if (windowMs === undefined)
    return {
      rotate: true,
      rule: at
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
