// Whether this run rotates: skip-if-rotated-within (the age of every target's secret, and no failure
// issue open) and rotate-if-expires-within (the expiry of what the targets hold where the provider
// lists the secrets this rotation made, else the expiry the provider reports, else the age of the
// oldest target secret). The rule that decided is named, so that the log and the summary say why a run did
// or did not rotate.
import { now, spokenUntil } from './clock.js';
import type { Credential, IssuedSecrets } from './providers/types.js';

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
export function decisive(ages: readonly SecretAge[]): { where: string; at: Date | undefined } {
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
 * How much later than a target's `updated_at` a secret may have been created and still count as one
 * the target may hold: 1 s because GitHub gives `updated_at` in whole seconds (a write at 12:00:00.9
 * shows 12:00:00, after a password created at 12:00:00.5), and 4 s for the provider's clock against
 * GitHub's. Too little would leave out the password every target holds and rotate on every run; too
 * much counts an orphan only if a run of the same rotation added it within 5 s of another run's last
 * write, which runs one at a time cannot do.
 */
export const WRITE_SLACK_MS = 5_000;

/** What the expiry rule decides by: an expiry (with the words naming it), or a reason to rotate now. */
export type Expiry =
  | { readonly at: number; readonly when: string; readonly note: string }
  | { readonly rotateBecause: string };

const plural = (n: number, noun: string): string =>
  n === 1
    ? `An orphan ${noun} created after the targets were last written is ignored.`
    : `${n} orphan ${noun}s created after the targets were last written are ignored.`;

/**
 * The expiry of what the targets hold, where the provider lists the secrets this rotation made
 * (`issued`): a target holds one that existed when it was last written, so the newest of those
 * created by the oldest target's `updated_at` (WRITE_SLACK_MS later at most) is what every target
 * holds at worst. Newer ones are orphans of killed runs, which no target holds; they do not count.
 * `current`: the provider's own expiry (Woodpecker: what Woodpecker holds), when it is earlier.
 */
export function held(
  issued: IssuedSecrets,
  oldest: { where: string; at: Date | undefined },
  current: number,
): Expiry {
  const { noun, secrets } = issued;
  if (!oldest.at)
    return {
      rotateBecause: `${oldest.where} does not exist, so it holds no ${noun} this rotation made; rotating.`,
    };
  const written = oldest.at.getTime();
  const cutoff = written + WRITE_SLACK_MS;
  const before = secrets.filter((p) => p.createdAt <= cutoff);
  const orphans = secrets.length - before.length;
  const note = orphans ? ` ${issued.newer ?? plural(orphans, noun)}` : '';
  const writtenAt = new Date(written).toISOString();
  if (!before.length)
    return {
      rotateBecause: `no ${noun} this rotation made existed when ${oldest.where} was last written (${writtenAt}), so the targets hold none of them; rotating.${note}`,
    };
  const newest = before.reduce((a, b) => (b.createdAt > a.createdAt ? b : a));
  if (current < newest.expiresAt)
    return {
      at: current,
      when: `the current secret expires at ${new Date(current).toISOString()} (${spokenUntil(current)}), before the ${noun} the targets hold`,
      note,
    };
  return {
    at: newest.expiresAt,
    when: `the ${noun} the targets hold (the newest this rotation made by the time ${oldest.where} was last written, ${writtenAt}) expires at ${new Date(newest.expiresAt).toISOString()} (${spokenUntil(newest.expiresAt)})`,
    note,
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
  const reported = credential.expiresAt ? Date.parse(credential.expiresAt) : NaN;
  // Where the provider lists the secrets this rotation made, what the targets hold decides.
  const issued =
    windowMs !== undefined && credential.issued?.secrets.length ? credential.issued : undefined;
  const byAge = windowMs !== undefined && !issued && Number.isNaN(reported);
  const { where, at } =
    skipMs !== undefined || byAge || issued ? decisive(await ages()) : { where: '', at: undefined };
  const t = now();
  const iso = (ms: number): string => new Date(ms).toISOString();
  const expiry: Expiry | undefined =
    windowMs === undefined || byAge
      ? undefined
      : issued
        ? held(issued, { where, at }, Number.isNaN(reported) ? Infinity : reported)
        : {
            at: reported,
            when: `the current secret expires at ${iso(reported)} (${spokenUntil(reported)})`,
            note: '',
          };
  // The earliest time each rule would let a run rotate.
  const skipUntil = skipMs !== undefined && at ? at.getTime() + skipMs : undefined;
  const expiryDue =
    windowMs === undefined
      ? undefined
      : byAge
        ? at
          ? at.getTime() + windowMs
          : t
        : 'at' in expiry!
          ? expiry.at - windowMs
          : t;
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
  if (expiry && 'rotateBecause' in expiry)
    return {
      rotate: true,
      rule: `rotate-if-expires-within: ${expiry.rotateBecause}`,
      nextDue: undefined,
      byAge,
    };
  if (expiry) {
    return t >= expiryDue!
      ? {
          rotate: true,
          rule: `rotate-if-expires-within: ${expiry.when}, within the window; rotating.${expiry.note}`,
          nextDue: undefined,
          byAge,
        }
      : {
          rotate: false,
          rule: `rotate-if-expires-within: ${expiry.when}, outside the window; not rotating before ${iso(expiryDue!)}.${expiry.note}`,
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
