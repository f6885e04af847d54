#!/usr/bin/env node
// The invariant search, long: random fault schedules for every provider variant, in process on a
// virtual clock (see __tests__/search.ts): single runs, and sequences of runs over one world (a run
// killed at a request then a re-run, a failed run then a re-run, a re-run in the same second, three
// runs back to back). A failing schedule prints its seed and path, shrunk to a minimal case, and the
// command that replays it.
//   npm run fuzz                                     500 single runs and 100 of each sequence, per variant
//   npm run fuzz -- --runs 5000 --seq-runs 500 --seed 42   more, from a given seed
//   npm run fuzz -- --variant whmcs --kind killed --seed S --path P   replay one failure
//   npm run fuzz -- --stats [--stats-all]            also print faults drawn vs applied
// Run with `node --import ./scripts/resolve-ts.mjs` (npm run fuzz): src/ imports name `.js` files.
import fc from 'fast-check';
import {
  holds,
  scheduleArb,
  type Schedule,
  type Sequence,
  SEQUENCES,
  sequenceArb,
  VARIANTS,
} from '../__tests__/search.ts';
import { printStats } from './fuzz-stats.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const runs = Number(arg('runs') ?? 500);
const seqRuns = Number(arg('seq-runs') ?? 100);
const seed = arg('seed') !== undefined ? Number(arg('seed')) : Date.now() % 2 ** 31;
const path = arg('path');
const only = arg('variant');
const variants = only ? VARIANTS.filter((v) => v === only) : VARIANTS;
const kindArg = arg('kind');
const KINDS = ['single', ...SEQUENCES] as const;
const kinds = kindArg ? KINDS.filter((k) => k === kindArg) : KINDS;
if (variants.length === 0 || kinds.length === 0) {
  console.error(
    `--variant must be one of ${VARIANTS.join(', ')}; --kind one of ${KINDS.join(', ')}`,
  );
  process.exit(2);
}

let failed = 0;
let checked = 0;
const started = Date.now();
for (const variant of variants) {
  for (const kind of kinds) {
    const t = Date.now();
    const arb: fc.Arbitrary<Schedule> =
      kind === 'single' ? scheduleArb(variant) : sequenceArb(variant, kind as Sequence);
    const n = kind === 'single' ? runs : seqRuns;
    if (n === 0) continue;
    checked += 1;
    const result = await fc.check(fc.asyncProperty(arb, holds), {
      numRuns: n,
      seed,
      ...(path ? { path, endOnFailure: true } : {}),
    });
    const ms = Date.now() - t;
    if (!result.failed) {
      console.log(`${variant} ${kind}: ${result.numRuns} schedules, no violation (${ms} ms)`);
      continue;
    }
    failed += 1;
    console.log(
      `${variant} ${kind}: VIOLATION after ${result.numRuns} schedule(s), shrunk ${result.numShrinks} time(s) (${ms} ms)`,
    );
    console.log(`  seed ${result.seed} path ${result.counterexamplePath}`);
    console.log(`  minimal schedule: ${JSON.stringify(result.counterexample?.[0])}`);
    console.log(
      `  replay: npm run fuzz -- --variant ${variant} --kind ${kind} --seed ${result.seed} --path ${result.counterexamplePath}`,
    );
    const why =
      result.errorInstance instanceof Error
        ? result.errorInstance.message
        : String(result.errorInstance);
    console.log(why.replace(/^/gm, '  | '));
  }
}
if (process.argv.includes('--stats') || process.argv.includes('--stats-all'))
  printStats(variants, process.argv.includes('--stats-all'));
console.log(
  `${checked - failed} of ${checked} variant and kind pair(s) clean, ${path ? `replayed path ${path}` : `${runs} single runs and ${seqRuns} of each sequence per variant`}, seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
process.exit(failed ? 1 : 0);
