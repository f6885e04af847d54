// The invariant search, short: at least 50 random fault schedules per provider variant on every
// `npm test`; `npm run fuzz` runs more. Named regressions replay minimal schedules the search found.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type FaultSpec,
  holds,
  runSchedule,
  type Schedule,
  scheduleArb,
  VARIANTS,
} from './search.ts';

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

/** A schedule the search shrank to, replayed as is: one target, a recovery key, no other twist. */
function minimal(variant: Schedule['variant'], faults: FaultSpec[]): Schedule {
  return {
    variant,
    faults,
    environment: false,
    dependabot: false,
    recoveryKey: true,
    propagationMs: 0,
    storeTimeout: '1m',
    retirePrevious: false,
    oldByAction: true,
    random: 1,
  };
}

const once = (route: string, kind: FaultSpec['kind']): FaultSpec => ({
  route,
  kind,
  times: 1,
  skip: 0,
  param: 0,
});

describe('regressions found by the invariant search', () => {
  it('CSP overlap: a POST answered 200 that changed nothing is not taken for a rotation', async () => {
    const o = await runSchedule(minimal('csp-overlap', [once('CSP POST secret', 'noop')]));
    expect(o.violations).toEqual([]);
    expect(o.outputs['rotated']).toBe('false');
  });

  it('Woodpecker: a PATCH answered 200 that changed nothing is not taken for a save', async () => {
    const o = await runSchedule(minimal('woodpecker', [once('Woodpecker PATCH', 'noop')]));
    expect(o.violations).toEqual([]);
    expect(o.outputs['rotated']).toBe('false');
  });

  it('Woodpecker: a listing without a credentials list is not read as "no credential"', async () => {
    const o = await runSchedule(minimal('woodpecker', [once('Woodpecker list', 'noop')]));
    expect(o.violations).toEqual([]);
    expect(o.outputs['rotated']).toBe('false');
  });
});

describe('regressions found by the invariant search (uncertain saves)', () => {
  it('Woodpecker: a PATCH that saved but whose answer was lost, retried into a 403, is checked by listing', async () => {
    const o = await runSchedule(
      minimal('woodpecker', [once('Woodpecker PATCH', 'lost'), once('Woodpecker PATCH', '403')]),
    );
    expect(o.violations).toEqual([]);
  });
});
