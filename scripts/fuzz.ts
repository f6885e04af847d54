#!/usr/bin/env node
// The invariant search, long: random fault schedules for every provider variant, in process on a
// virtual clock (see __tests__/search.ts). A failing schedule prints its seed and path, shrunk to a
// minimal case, and the command that replays it.
//   npm run fuzz                                     500 schedules per variant
//   npm run fuzz -- --runs 5000 --seed 42            more, from a given seed
//   npm run fuzz -- --variant whmcs --seed S --path P   replay one failure
// Run with `node --import ./scripts/resolve-ts.mjs` (npm run fuzz): src/ imports name `.js` files.
import fc from 'fast-check';
import { holds, scheduleArb, VARIANTS } from '../__tests__/search.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const runs = Number(arg('runs') ?? 500);
const seed = arg('seed') !== undefined ? Number(arg('seed')) : Date.now() % 2 ** 31;
const path = arg('path');
const only = arg('variant');
const variants = only ? VARIANTS.filter((v) => v === only) : VARIANTS;
if (variants.length === 0) {
  console.error(`--variant must be one of ${VARIANTS.join(', ')}`);
  process.exit(2);
}

let failed = 0;
const started = Date.now();
for (const variant of variants) {
  const t = Date.now();
  const result = await fc.check(fc.asyncProperty(scheduleArb(variant), holds), {
    numRuns: runs,
    seed,
    ...(path ? { path, endOnFailure: true } : {}),
  });
  const ms = Date.now() - t;
  if (!result.failed) {
    console.log(`${variant}: ${result.numRuns} schedules, no violation (${ms} ms)`);
    continue;
  }
  failed += 1;
  console.log(
    `${variant}: VIOLATION after ${result.numRuns} schedule(s), shrunk ${result.numShrinks} time(s) (${ms} ms)`,
  );
  console.log(`  seed ${result.seed} path ${result.counterexamplePath}`);
  console.log(`  minimal schedule: ${JSON.stringify(result.counterexample?.[0])}`);
  console.log(
    `  replay: npm run fuzz -- --variant ${variant} --seed ${result.seed} --path ${result.counterexamplePath}`,
  );
  const why =
    result.errorInstance instanceof Error
      ? result.errorInstance.message
      : String(result.errorInstance);
  console.log(why.replace(/^/gm, '  | '));
}
console.log(
  `${variants.length - failed} of ${variants.length} variant(s) clean, ${path ? `replayed path ${path}` : `${runs} schedules each`}, seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
process.exit(failed ? 1 : 0);
