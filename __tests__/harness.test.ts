// The two ways an end-to-end test runs the action (harness.ts): the bundle in a process of its own,
// and src/main.ts in this process (in-process.ts). They must be told apart correctly, and the same
// run must give the same results both ways, or the tests in process would prove nothing about users.
import { describe, expect, it } from 'vitest';
import { OLD_SECRET, REPO, SECRET_NAME } from './fixtures.ts';
import { expectClean, worldPerTest } from './checks.ts';
import { type Run, useBundle } from './harness.ts';

const start = worldPerTest();

/** A run's results with what differs by nature removed: timings, ids and dates the run made. */
function shape(run: Run): unknown {
  const scrub = (text: string): string =>
    text
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<date>')
      .replace(/\b\d+(\.\d+)? ?(ms|s)\b/g, '<ms>')
      .replace(/in \d+ (minute|hour|day)s?/g, 'in <n>');
  return {
    code: run.code,
    errors: run.errors.map(scrub),
    warnings: run.warnings.map(scrub),
    outputs: Object.fromEntries(Object.entries(run.outputs).map(([k, v]) => [k, scrub(v)])),
    summary: scrub(run.summary),
    lines: run.stdout
      .split('\n')
      .filter((l) => l && !l.startsWith('::add-mask::'))
      .map(scrub),
  };
}

describe('in a suite that calls useBundle', () => {
  useBundle();
  it('every run spawns the bundle', async () => {
    const w = await start('whmcs');
    const run = await w.run({ 'dry-run': 'true' });
    expect(run.process).toBe('bundle');
    expect(run.code).toBe(0);
  });
});

describe('elsewhere', () => {
  it('a run is in process unless it asks for the bundle (or E2E_BUNDLE=1 asks for every run)', async () => {
    const w = await start('whmcs');
    expect((await w.run({ 'dry-run': 'true' })).process).toBe(
      process.env['E2E_BUNDLE'] === '1' ? 'bundle' : 'in-process',
    );
    expect((await w.run({ 'dry-run': 'true' }, { bundle: false })).process).toBe('in-process');
    expect((await w.run({ 'dry-run': 'true' }, { bundle: true })).process).toBe('bundle');
  });

  for (const provider of ['vmware-csp', 'whmcs'] as const)
    it(`${provider}: a rotation gives the same outputs, summary, log and stored secret both ways`, async () => {
      const results = [];
      for (const bundle of [true, false]) {
        const w = await start(provider);
        const run = await w.run({}, { bundle });
        expect(run.process).toBe(bundle ? 'bundle' : 'in-process');
        expect(run.code, run.stdout).toBe(0);
        const stored = w.github.secret(`repo:${REPO}`, SECRET_NAME)!.value;
        expect(stored).not.toBe(OLD_SECRET);
        expect(stored).toBe(w.currentSecret());
        expectClean(w, run);
        results.push(shape(run));
      }
      expect(results[1]).toEqual(results[0]);
    });

  it('concurrent runs in process keep their own output, environment and masks', async () => {
    const [a, b] = await Promise.all([start('whmcs'), start('vmware-csp')]);
    const [ra, rb] = await Promise.all([
      a.run({}, { bundle: false }),
      b.run({}, { bundle: false }),
    ]);
    for (const [w, r] of [
      [a, ra],
      [b, rb],
    ] as const) {
      expect(r.process).toBe('in-process');
      expect(r.code, r.stdout).toBe(0);
      expect(w.github.secret(`repo:${REPO}`, SECRET_NAME)!.value).toBe(w.currentSecret());
      expectClean(w, r);
    }
    expect(ra.stdout).not.toContain('vmware-csp');
    expect(rb.stdout).not.toContain('whmcs');
    // Each run masked its own new secret, and not the other's.
    expect(ra.masks).toContain(a.currentSecret());
    expect(ra.masks).not.toContain(b.currentSecret());
    expect(rb.masks).toContain(b.currentSecret());
  });
});
