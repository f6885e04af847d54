// A run as a plan of stages: expand the targets (expand.ts), then preflight, the due rules and the
// previous-secret guard (preflight.ts), then the one rotating call with write-ahead escrow
// (rotate.ts), then storing, verifying and retiring (after-rotation.ts). The plan decides how far a
// run goes; a stop before the rotating call is reported here as one that changed nothing.
import { withTargets } from './expand.js';
import type { Settings } from './inputs/index.js';
import { planned, preflight, type Progress } from './preflight.js';
import type { PipelineDeps, Report } from './report.js';
import { rotateOnce } from './rotate.js';
import { NEVER } from './stop.js';

export type { Destination, Landed } from './destination.js';
export type { PipelineDeps, Report, TargetResult } from './report.js';

export { ESCROW_PREFIX } from './escrow.js';

/**
 * The plans a run can follow, chosen by the composition root (src/wire.ts): a rotation runs every
 * stage; a dry run stops after the checks (it refuses where the rotation would); `mode: check` has
 * a plan of its own (src/check.ts).
 */
export type Plan = 'rotation' | 'dry-run';

export async function runPipeline(
  s: Settings,
  d: PipelineDeps,
  plan: Plan = s.dryRun ? 'dry-run' : 'rotation',
): Promise<Report> {
  const stop = d.stop ?? NEVER;
  const progress: Progress = { rotating: false };
  try {
    return await withTargets(s, d, (expanded) => stages(expanded, d, progress, plan));
  } catch (err) {
    // Stopped before the rotating call: whatever failed was aborted by the stop, and nothing changed.
    if (stop.requested === undefined || progress.rotating) throw err;
    d.info(`Stopped (${stop.requested}) before the rotation: nothing was changed.`);
    return {
      outcome: 'failed',
      rotated: false,
      ...(progress.credential ? { credential: progress.credential } : {}),
      targets: [],
      stopped: stop.requested,
      failure: `The run was stopped (${stop.requested}) before the rotation: nothing was changed.`,
      nextStep: 'Nothing needs fixing: re-run the workflow to rotate.',
    };
  }
}

/** The stages of the plan, in order: each ends the run with a report or hands over to the next. */
async function stages(
  s: Settings,
  d: PipelineDeps,
  progress: Progress,
  plan: Plan,
): Promise<Report> {
  const checked = await preflight(s, d, progress);
  // Not due: the decide stage ended the run with its report.
  if ('outcome' in checked) return checked;
  if (plan === 'dry-run') {
    d.info(
      'Dry run: inputs, provider authentication and every public key check out. Nothing was changed.',
    );
    return {
      outcome: 'dry-run',
      rotated: false,
      credential: checked.credential,
      targets: planned(s, 'skipped'),
      ...checked.due,
    };
  }
  return rotateOnce(s, d, progress, checked);
}
