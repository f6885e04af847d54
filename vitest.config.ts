import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['__tests__/**/*.test.ts'],
    // End-to-end tests start the bundled action as a child process and wait for emulated
    // propagation and write pacing, so they are slower than unit tests.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Files share their worker's modules: the emulators, fixtures and src load once per worker, not
    // once per file (about 1 s of CPU each). __tests__/setup.ts puts shared state back after a file.
    isolate: false,
    setupFiles: ['__tests__/setup.ts'],
    // Most of the suite waits on loopback servers and child processes, not the CPU: run more test
    // files at once than there are cores, and the tests of files marked `describe.concurrent` (each
    // test with its own world) up to 5 at a time. Not more: each running end-to-end test is a child
    // process, and starving the CPU-bound files (the invariant search) only stretches the run.
    maxWorkers: 4,
    maxConcurrency: 5,
  },
});
