// Runs before every test file. Test files share their worker's modules (vitest.config.ts,
// `isolate: false`: loading the emulators, the fixtures and src once per worker instead of once per
// file saves about a third of the suite's CPU), so whatever a file may leave behind in a shared
// module is put back when it ends: the action's clock (src/clock.ts) and the exit code that an
// in-process run's `setFailed` sets (in-process.ts resets it after each run as well).
import { afterAll } from 'vitest';
import { setClock } from '../src/clock.ts';

afterAll(() => {
  setClock();
  process.exitCode = undefined;
});
