// Stopping in process: the controller's grace periods, and what the retry policy aborts in each phase.
import { EventEmitter } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { setClock } from '../src/clock.ts';
import { RetryPolicy, STOP_MARGIN_MS } from '../src/policy.ts';
import { GRACE_SCALE_ENV, graceScale, StopController, stopBefore } from '../src/stop.ts';

let t = 1_000_000;
setClock({ now: () => t, sleep: async (ms) => void (t += ms) });
afterAll(() => setClock());

describe('StopController', () => {
  it('gives SIGINT 10 s and SIGTERM 2.5 s; a second signal only brings the kill closer', () => {
    const stop = new StopController();
    expect(stop.requested).toBeUndefined();
    expect(stop.remainingMs()).toBe(Infinity);
    expect(stop.signal.aborted).toBe(false);
    stop.request('SIGINT');
    expect(stop.requested).toBe('SIGINT');
    expect(stop.signal.aborted).toBe(true);
    expect(stop.remainingMs()).toBe(10_000);
    t += 7_500;
    // The runner's SIGTERM 7.5 s later: the kill stays 2.5 s away.
    stop.request('SIGTERM');
    expect(stop.requested).toBe('SIGINT');
    expect(stop.remainingMs()).toBe(2_500);
    t += 5_000;
    expect(stop.remainingMs()).toBe(0);

    const term = new StopController();
    term.request('SIGTERM');
    t += 100;
    term.request('SIGINT');
    expect(term.remainingMs()).toBe(2_400);
  });

  it('handles both signals instead of the default exit, tells about each, and can be removed', () => {
    const proc = new EventEmitter() as EventEmitter & Pick<NodeJS.Process, 'on' | 'off'>;
    const stop = new StopController({ scale: 0.5 });
    const told: string[] = [];
    const remove = stop.install((s, ms) => told.push(`${s} ${ms}`), proc);
    expect(proc.listenerCount('SIGINT')).toBe(1);
    proc.emit('SIGINT');
    proc.emit('SIGINT');
    proc.emit('SIGTERM');
    expect(told).toEqual(['SIGINT 5000', 'SIGINT 5000', 'SIGTERM 1250']);
    remove();
    expect(proc.listenerCount('SIGINT') + proc.listenerCount('SIGTERM')).toBe(0);
  });

  it(`reads ${GRACE_SCALE_ENV} only as a factor in (0, 1]`, () => {
    expect(graceScale({})).toBe(1);
    expect(graceScale({ [GRACE_SCALE_ENV]: '0.4' })).toBe(0.4);
    expect(graceScale({ [GRACE_SCALE_ENV]: '1' })).toBe(1);
    for (const bad of ['0', '2', '-0.5', '1e-3', 'abc', '0.5s', ' '])
      expect(graceScale({ [GRACE_SCALE_ENV]: bad }), bad).toBe(1);
  });

  it('stopBefore aborts once only the margin is left', async () => {
    const stop = new StopController();
    const late = stopBefore(stop, 1_000);
    stop.request('SIGINT');
    expect(late.aborted).toBe(false);
    t += 9_000;
    await new Promise((r) => setTimeout(r, 60));
    expect(late.aborted).toBe(true);
    expect(stopBefore(stop, 1_000).aborted).toBe(true);
  });
});

describe('RetryPolicy under a stop', () => {
  it('aborts everything at once before the rotation; afterwards not the rotating call, the rest at the margin', () => {
    const stop = new StopController();
    const policy = new RetryPolicy({ timeoutMs: 1000, storeTimeoutMs: 600_000, stop });
    policy.startPreflight();
    const preflight = policy.signal()!;
    expect(policy.allows(100)).toBe(true);
    stop.request('SIGINT');
    expect(preflight.aborted).toBe(true);
    expect(policy.allows(1)).toBe(false);

    policy.startStoring();
    expect(policy.signal(true)).toBeUndefined();
    expect(policy.signal()!.aborted).toBe(false);
    expect(policy.allows(10_000 - STOP_MARGIN_MS.storing - 1)).toBe(true);
    expect(policy.allows(10_000 - STOP_MARGIN_MS.storing)).toBe(false);
    policy.startPublishing();
    expect(policy.allows(10_000 - STOP_MARGIN_MS.publishing - 1)).toBe(true);
  });

  it('without a stop, no signal and the budgets as before', () => {
    const policy = new RetryPolicy({ timeoutMs: 1000, storeTimeoutMs: 600_000 });
    policy.startPreflight();
    expect(policy.signal()).toBeUndefined();
    expect(policy.stopAllows(1e9)).toBe(true);
    policy.startPublishing();
    expect(policy.allows(14_999)).toBe(true);
    expect(policy.allows(15_000)).toBe(false);
  });
});
