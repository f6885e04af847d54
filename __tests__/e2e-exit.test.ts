// A run ends when its work does: nothing the process started keeps it, or V8's teardown, busy after
// the last answer. The action sets a WebAssembly tiering budget (src/index.ts) so that V8 never starts
// recompiling undici's parser or libsodium with its optimizing tier near the end of a run.
import { describe, expect, it } from 'vitest';
import { expectClean, worldPerTest } from './checks.ts';
import { useBundle } from './harness.ts';

// Every run of this file spawns the bundle: how the process ends is what it tests.
useBundle();

// Each test starts its own world, so the tests run concurrently.
const start = worldPerTest();

const TRACE = ['--trace-wasm-compilation-times'];
const optimized = (stdout: string): string[] =>
  stdout.split('\n').filter((l) => /^Compiled function .* using TurboFan/.test(l));

describe.concurrent('exit', () => {
  it('a dry run compiles no WebAssembly with the optimizing tier', async () => {
    const world = await start('vmware-csp');
    const run = await world.run({ 'dry-run': 'true' }, { nodeArgs: TRACE });
    expect(run.code).toBe(0);
    // The trace is on: the baseline tier's compilations are listed.
    expect(run.stdout).toMatch(/using Liftoff/);
    expect(optimized(run.stdout)).toEqual([]);
    expectClean(world, run);
  });

  it('a rotation compiles no WebAssembly with the optimizing tier', async () => {
    const world = await start('vmware-csp');
    const run = await world.run({}, { nodeArgs: TRACE });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/using Liftoff/);
    expect(optimized(run.stdout)).toEqual([]);
    expectClean(world, run);
  });
});
