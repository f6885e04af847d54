// One previous-secret slot: CSP overlap and Keycloak's secret-rotation policy keep one previous
// secret beside the current one, and every rotation overwrites it. A target that missed the last
// rotation (it failed) still holds the secret in that slot; rotating again would kill it there at
// once. Preflight finds such targets and refuses, unless the provider's overwrite input says
// otherwise; the report then says which targets lost their secret.
import { now, spokenUntil } from './clock.js';
import type { Destination } from './destination.js';
import type { Settings, Target } from './inputs/index.js';
import type { Credential, Rotation } from './providers/types.js';

/** GitHub's and the provider's clocks may differ this much; a target written this close before counts as written after. */
const SKEW_MS = 60_000;

/** What preflight found about the slot this rotation overwrites. */
export interface Overwritten {
  /** When the secret in the slot would have stopped working, epoch ms. */
  readonly until: number;
  /** Targets that may still hold it: written before the current secret existed (or unreadable). */
  readonly stale: readonly string[];
}

/**
 * Before the rotating call: undefined when no slot holds a secret that still works; otherwise what
 * this rotation overwrites, after refusing (throws) when a target may hold it and the overwrite
 * input is not set.
 */
export async function guardPrevious(
  s: Settings,
  credential: Credential,
  destination: Pick<Destination, 'updatedAt'>,
  log: { info: (m: string) => void; warn: (m: string) => void },
  /** The failure issue: whether one is configured, the open one (e.g. `failure issue octo/alerts#3`), or why it could not be read. */
  lastRun: { configured: boolean; open?: string; error?: string } = { configured: false },
): Promise<Overwritten | undefined> {
  const slot = credential.previous;
  if (!slot) return undefined;
  // The provider's own record: an empty slot, or one whose secret no longer works, costs nothing.
  if (slot.exact && (slot.until === undefined || slot.until <= now())) return undefined;
  if (slot.until !== undefined && slot.until <= now()) return undefined;
  const { targets, secretName } = s.github;
  const written = await Promise.all(
    targets.map(async (t: Target) => ({
      line: t.line,
      at: (await destination.updatedAt(t, secretName))?.getTime(),
    })),
  );
  // Without the provider's own record, the newest write of a target stands for the last rotation
  // (the action writes right after it); a run's writes spread over at most its store-timeout.
  const newest = Math.max(...written.map((w) => w.at ?? -Infinity));
  // That misses a rotation after which every write failed: no target shows it. Only the failure
  // issue the failed run left open does, so then every target may hold the slot's secret.
  if (slot.since === undefined && !slot.exact) {
    const blind = `${s.provider.name} shows no record of when it last rotated, so a rotation after which every write failed cannot be seen in the targets`;
    if (lastRun.open) return unseen(s, slot, written, lastRun.open, log);
    if (lastRun.error)
      log.warn(`${blind}, and the failure issue could not be read (${lastRun.error}).`);
    else if (!lastRun.configured)
      log.warn(
        `${blind}; set failure-issue-repository, so that a re-run after such a run refuses instead of overwriting the previous secret the targets still hold.`,
      );
  }
  const since = slot.since ?? (Number.isFinite(newest) ? newest : undefined);
  if (since === undefined) return undefined;
  const until = slot.until ?? since + slot.windowMs;
  if (until <= now()) return undefined;
  const slack = slot.exact ? SKEW_MS : s.storeTimeoutMs + SKEW_MS;
  // A target whose secret does not exist holds nothing that could die.
  const stale = written
    .filter((w) => w.at !== undefined && w.at < since - slack)
    .map((w) => w.line);
  const iso = (ms: number): string => new Date(ms).toISOString();
  const kept = `${s.provider.name} keeps one previous secret beside the current one, and it still works until ${slot.exact ? '' : 'about '}${iso(until)} (${spokenUntil(until)})`;
  if (stale.length === 0) tooSoon(s, slot, written, slack, kept, log);
  const how = slot.exact
    ? `the current secret was created at ${iso(since)}`
    : slot.since !== undefined
      ? `${s.provider.name} shows the app last updated at ${iso(since)}`
      : `the newest write of ${secretName} in a target, the last rotation as far as can be seen, was at ${iso(since)}`;
  if (stale.length === 0) {
    log.info(
      `${kept}; every target was written since (${how}), so none holds it, and this rotation replaces it.`,
    );
    return { until, stale };
  }
  const which = `${stale.join(', ')} ${stale.length === 1 ? 'was' : 'were'} last written before that (${how})`;
  if (slot.overwrite.allowed) {
    log.warn(
      `${kept}. ${which}, so ${stale.length === 1 ? 'it' : 'they'} may still hold it. ${slot.overwrite.input} is set: this rotation overwrites it, and wherever it is still in use it stops working now, until the new secret is stored there.`,
    );
    return { until, stale };
  }
  throw new Error(
    `Refusing to rotate: ${kept}. ${which}, so ${stale.length === 1 ? 'it' : 'they'} may still hold it (an earlier run failed there), and rotating again would overwrite it and lock ${stale.length === 1 ? 'it' : 'them'} out at once. Nothing was changed. Store the current secret there by hand (the earlier run's output \`recovery\`) and re-run, re-run after ${iso(until)}, or set ${slot.overwrite.input}: true to rotate anyway.`,
  );
}

/** A refusal that only time lifts: the rotation came too soon after a write (tooSoon). */
export class NotYet extends Error {
  override readonly name = 'NotYet';
}

/**
 * A later run tells a target that missed a rotation from one written after it only when the write
 * and the rotation lie more than `slack` apart (the two clocks are compared with that much room).
 * A rotation this close after the newest write would be taken for the one before it: if this run
 * then stored nowhere (killed, every write failing), the next run would see every target as
 * written since, rotate, and overwrite the previous secret they hold. So a rotation waits until the
 * newest write is older than `slack` and the provider's clock may differ (throws before it).
 */
function tooSoon(
  s: Settings,
  slot: NonNullable<Credential['previous']>,
  written: readonly { line: string; at: number | undefined }[],
  slack: number,
  kept: string,
  log: { warn: (m: string) => void },
): void {
  const last = written.reduce<{ line: string; at: number } | undefined>(
    (a, w) => (w.at !== undefined && (!a || w.at > a.at) ? { line: w.line, at: w.at } : a),
    undefined,
  );
  const after = last ? last.at + slack + SKEW_MS : -Infinity;
  if (!last || now() >= after) return;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const why = `${last.line} was written at ${iso(last.at)}, and a rotation less than ${Math.ceil((slack + SKEW_MS) / 60_000)} minutes after a write could not later be told from the one before it: were this run then to store nowhere, the next run would take every target for written since and overwrite the previous secret they hold`;
  if (slot.overwrite.allowed) {
    log.warn(`${kept}. ${why}. ${slot.overwrite.input} is set: rotating anyway.`);
    return;
  }
  throw new NotYet(
    `Refusing to rotate yet: ${kept}. ${why}. Nothing was changed. Re-run after ${iso(after)} (${spokenUntil(after)}), or set ${slot.overwrite.input}: true to rotate now.`,
  );
}

/**
 * The last run failed (its failure issue is open) and the provider shows no record of its last
 * rotation: the run may have rotated and stored nowhere, so every target that holds a secret may
 * hold the one in the slot, for as long as a window lasts from now at most.
 */
function unseen(
  s: Settings,
  slot: NonNullable<Credential['previous']>,
  written: readonly { line: string; at: number | undefined }[],
  open: string,
  log: { warn: (m: string) => void },
): Overwritten {
  const until = now() + slot.windowMs;
  const stale = written.filter((w) => w.at !== undefined).map((w) => w.line);
  const kept = `${s.provider.name} keeps one previous secret beside the current one, and shows no record of when it last rotated; ${open} is open, so the last run failed, perhaps after rotating, and every target may still hold the previous secret (${stale.join(', ') || 'none holds a secret'})`;
  if (stale.length === 0) return { until, stale };
  if (slot.overwrite.allowed) {
    log.warn(
      `${kept}. ${slot.overwrite.input} is set: this rotation overwrites it, and wherever it is still in use it stops working now, until the new secret is stored there.`,
    );
    return { until, stale };
  }
  throw new Error(
    `Refusing to rotate: ${kept}. Rotating again would overwrite it and lock them out at once. Nothing was changed. Store the secret the last run issued in the targets by hand (its output \`recovery\`) and close ${open}, or set ${slot.overwrite.input}: true to rotate anyway.`,
  );
}

/**
 * The report's words for a previous secret the rotation kept: until when it works, and, where this
 * rotation overwrote a secret that failed targets may still hold, that it works no longer there.
 */
export function keptWords(
  rotation: Pick<Rotation, 'previousUntil'>,
  overwritten: Overwritten | undefined,
  failed: readonly string[],
): string {
  const until = rotation.previousUntil ? ` until ${rotation.previousUntil}` : '';
  const lost = (overwritten?.stale ?? []).filter((t) => failed.includes(t));
  const dead = lost.length
    ? ` ${lost.join(', ')} held the secret before it, which this rotation overwrote: it no longer works there.`
    : '';
  return `The previous secret was kept and still works${until}.${dead}`;
}

/**
 * The next step after a rotation that kept the previous secret but left targets without the new
 * one: a plain re-run would refuse while they hold the kept secret (see guardPrevious). Undefined
 * when the provider keeps no such slot or no secret target failed.
 */
export function rerunWords(
  credential: Pick<Credential, 'previous'>,
  rotation: Pick<Rotation, 'previousUntil'>,
  failed: readonly string[],
): string | undefined {
  const slot = credential.previous;
  if (!slot || failed.length === 0) return undefined;
  const until = rotation.previousUntil ?? 'its window ends';
  return `Fix the failing targets (see each error), then store the new secret in ${failed.join(', ')} by hand (from output \`recovery\` or a target that holds it). Until then they hold the previous secret, which works until ${until}; a re-run before that refuses to rotate, because rotating again would overwrite it and lock them out. To rotate anyway, re-run with ${slot.overwrite.input}: true.`;
}
