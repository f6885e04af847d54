// The invariant search, short: at least 50 random fault schedules per provider variant on every
// `npm test`; `npm run fuzz` runs more. Named regressions replay minimal schedules the search found.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { holds, runSchedule, scheduleArb, VARIANTS } from './search.ts';

const RUNS = Number(process.env['SEARCH_RUNS'] ?? 50);

describe('invariant search', () => {
  for (const variant of VARIANTS) {
    it(`${variant}: ${RUNS} random fault schedules break no invariant`, async () => {
      await fc.assert(fc.asyncProperty(scheduleArb(variant), holds), { numRuns: RUNS });
    });
  }

  it('a schedule without faults rotates', async () => {
    for (const variant of VARIANTS) {
      const o = await runSchedule({
        variant,
        faults: [],
        environment: true,
        dependabot: false,
        recoveryKey: true,
        propagationMs: 0,
        storeTimeout: '10m',
        retirePrevious: true,
        oldByAction: true,
        random: 1,
      });
      expect(o.violations, variant).toEqual([]);
      expect(o.outputs['rotated'], `${variant}: ${o.log.join('\n')}`).toBe('true');
    }
  });
});
