// skip-if-rotated-within over every secret the run writes, and the open failure issue.
import { describe, expect, it } from 'vitest';
import { decide, type DueSettings, type SecretAge } from '../src/due.ts';

const HOUR = 3_600_000;
const credential = {
  clientId: 'c',
  credentialId: 'c',
  description: 'x',
  expiresAt: undefined,
  oldSecretDiesOnRotate: true,
};
const skip: DueSettings = { skipIfRotatedWithinMs: 20 * HOUR, rotateIfExpiresWithinMs: undefined };
const age = (where: string, hoursAgo: number | undefined): SecretAge => ({
  where: `secret ${where}`,
  updated: hoursAgo === undefined ? undefined : new Date(Date.now() - hoursAgo * HOUR),
});
const run = (ages: SecretAge[], s: DueSettings = skip, issue?: string) =>
  decide(s, credential, () => Promise.resolve(ages), 'vmware-csp', issue);

describe('skip-if-rotated-within', () => {
  it('skips only when every target secret is fresh', async () => {
    expect((await run([age('S in repo a', 1), age('S in repo b', 2)]))!.rotate).toBe(false);
    const stale = await run([age('S in repo a', 1), age('S in repo b', 30)]);
    expect(stale!.rotate).toBe(true);
    expect(stale!.rule).toMatch(
      /^skip-if-rotated-within: the oldest of 2 target secrets, S in repo b, was updated at \S+, before the window; rotating\.$/,
    );
  });

  it('a secret that does not exist (a target that failed) means rotating, whatever the first target says', async () => {
    const d = await run([
      age('S in repo a', 1),
      age('S_ID in repo a', 1),
      age('S in env a e', undefined),
    ]);
    expect(d!.rotate).toBe(true);
    expect(d!.rule).toBe('skip-if-rotated-within: secret S in env a e does not exist; rotating.');
  });

  it('every target fresh but the failure issue open: rotates, naming the issue', async () => {
    const d = await run([age('S in repo a', 1)], skip, 'failure issue o/r#3');
    expect(d!.rotate).toBe(true);
    expect(d!.rule).toMatch(
      /within the window, but failure issue o\/r#3 is open \(the last run failed\); rotating\.$/,
    );
    expect(d!.nextDue).toBeUndefined();
  });

  it('without an expiry from the provider, the oldest target secret decides rotate-if-expires-within', async () => {
    const s = { skipIfRotatedWithinMs: undefined, rotateIfExpiresWithinMs: 10 * HOUR };
    expect((await run([age('S in repo a', 1), age('S in repo b', 12)], s))!.rotate).toBe(true);
    expect((await run([age('S in repo a', 1), age('S in repo b', 2)], s))!.rotate).toBe(false);
  });
});
