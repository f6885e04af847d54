// The one retry policy: each phase's budget, on a virtual clock.
import { afterAll, expect, it } from 'vitest';
import { setClock } from '../src/clock.ts';
import { RetryPolicy } from '../src/policy.ts';

let t = 1_000_000;
setClock({ now: () => t, sleep: async (ms) => void (t += ms) });
afterAll(() => setClock());

it('allows no retry wait before a phase, 15 s in preflight, store-timeout from the rotation on', () => {
  const policy = new RetryPolicy({ timeoutMs: 30_000, storeTimeoutMs: 600_000 });
  expect(policy.allows(1)).toBe(false);
  policy.startPreflight();
  expect(policy.allows(14_999)).toBe(true);
  expect(policy.allows(15_000)).toBe(false);
  t += 10_000;
  expect(policy.allows(5_000)).toBe(false);
  policy.startStoring();
  expect(policy.allows(599_999)).toBe(true);
  expect(policy.allows(600_000)).toBe(false);
  expect(policy.timeoutMs).toBe(30_000);
  expect(policy.attempts).toBe(4);
});
