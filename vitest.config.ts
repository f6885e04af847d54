import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['__tests__/**/*.test.ts'],
    // End-to-end tests start the bundled action as a child process and wait for emulated
    // propagation and write pacing, so they are slower than unit tests.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most of the suite waits on loopback servers and child processes, not the CPU: run more test
    // files at once than there are cores.
    maxWorkers: 8,
  },
});
