// skip-if-rotated-within over every secret the run writes, and the open failure issue.
import { describe, expect, it } from 'vitest';
import { decide, type DueSettings, type SecretAge, WRITE_SLACK_MS } from '../src/due.ts';

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

describe('rotate-if-expires-within by what the targets hold (Entra, Woodpecker)', () => {
  const DAY = 24 * HOUR;
  const window: DueSettings = {
    skipIfRotatedWithinMs: undefined,
    rotateIfExpiresWithinMs: 30 * DAY,
  };
  const password = (createdHoursAgo: number, expiresInDays: number) => ({
    createdAt: Date.now() - createdHoursAgo * HOUR,
    expiresAt: Date.now() + expiresInDays * DAY,
  });
  const entra = (
    secrets: { createdAt: number; expiresAt: number }[],
    expiresAt = secrets.length
      ? new Date(Math.max(...secrets.map((p) => p.expiresAt))).toISOString()
      : undefined,
  ) => ({ ...credential, expiresAt, issued: { noun: 'password', secrets } });
  const decideBy = (c: ReturnType<typeof entra>, ages: SecretAge[], s: DueSettings = window) =>
    decide(s, c, () => Promise.resolve(ages), 'entra');

  it("an orphan password newer than the targets' last write is ignored: the held one's expiry decides", async () => {
    // The targets were written 48 h ago with the 10-day password; a killed run added one 2 h ago.
    const c = entra([password(50, 10), password(2, 730)]);
    const d = await decideBy(c, [age('S in repo a', 48), age('S in repo b', 49)]);
    expect(d!.rotate).toBe(true);
    expect(d!.byAge).toBe(false);
    expect(d!.rule).toMatch(
      /^rotate-if-expires-within: the password the targets hold \(the newest this rotation made by the time the oldest of 2 target secrets, S in repo b, was last written, \S+\) expires at \S+ \(in (9|10) days\), within the window; rotating\. An orphan password created after the targets were last written is ignored\.$/,
    );
  });

  it('targets written after the newest password: that password holds, and it is not due', async () => {
    const c = entra([password(50, 10), password(2, 730)]);
    const d = await decideBy(c, [age('S in repo a', 1)]);
    expect(d!.rotate).toBe(false);
    expect(d!.rule).toMatch(
      /expires at \S+ \(in 7(29|30) days\), outside the window; not rotating before/,
    );
    expect(d!.rule).not.toContain('orphan');
    expect(Date.parse(d!.nextDue!)).toBe(c.issued.secrets[1]!.expiresAt - 30 * DAY);
  });

  it('the newest password created by the last write decides, not the longest-lived', async () => {
    // An older password that lives longer (a larger lifetime then) is not what the targets hold.
    const d = await decideBy(entra([password(100, 400), password(50, 10)]), [
      age('S in repo a', 1),
    ]);
    expect(d!.rotate).toBe(true);
    expect(d!.rule).toMatch(/\(in (9|10) days\), within the window/);
  });

  it("allows the seconds of updated_at's granularity and clock skew, no more", async () => {
    const written = Date.now() - 48 * HOUR;
    const at = (ms: number) => ({ createdAt: ms, expiresAt: Date.now() + 730 * DAY });
    const ages = [{ where: 'secret S in repo a', updated: new Date(written) }];
    // Created 0.9 s after the stamp GitHub shows (whole seconds): the targets hold it.
    expect((await decideBy(entra([at(written + 900)]), ages))!.rotate).toBe(false);
    expect((await decideBy(entra([at(written + WRITE_SLACK_MS)]), ages))!.rotate).toBe(false);
    // A minute later: an orphan.
    const late = await decideBy(entra([at(written + 60_000)]), ages);
    expect(late!.rotate).toBe(true);
    expect(late!.rule).toMatch(
      /^rotate-if-expires-within: no password this rotation made existed when secret S in repo a was last written \(\S+\), so the targets hold none of them; rotating\. An orphan password created after the targets were last written is ignored\.$/,
    );
  });

  it('a target that does not exist yet (first run, or a target added since): rotating', async () => {
    const d = await decideBy(entra([password(50, 700)]), [
      age('S in repo a', 1),
      age('S in repo b', undefined),
    ]);
    expect(d!.rotate).toBe(true);
    expect(d!.rule).toBe(
      'rotate-if-expires-within: secret S in repo b does not exist, so it holds no password this rotation made; rotating.',
    );
  });

  it('only orphans (a first rotation killed after addPassword): rotating, counting them', async () => {
    const d = await decideBy(entra([password(3, 700), password(2, 700)]), [age('S in repo a', 48)]);
    expect(d!.rotate).toBe(true);
    expect(d!.rule).toContain(
      '2 orphan passwords created after the targets were last written are ignored.',
    );
  });

  it('no password of this rotation listed: the reported expiry, else the age, decides as before', async () => {
    const d = await decideBy(entra([]), [age('S in repo a', 48)]);
    expect(d!.byAge).toBe(true);
    expect(d!.rule).toMatch(/^rotate-if-expires-within: entra reports no expiry/);
  });

  it("Woodpecker's own expiry, when earlier than the held password's, decides", async () => {
    const c = entra([password(50, 700)], new Date(Date.now() + 5 * DAY).toISOString());
    const d = await decideBy(c, [age('S in repo a', 1)]);
    expect(d!.rotate).toBe(true);
    expect(d!.rule).toMatch(
      /^rotate-if-expires-within: the current secret expires at \S+ \(in (4|5) days\), before the password the targets hold, within the window; rotating\.$/,
    );
  });

  it('skip-if-rotated-within still comes first, over the same single read', async () => {
    let reads = 0;
    const d = await decide(
      { skipIfRotatedWithinMs: 20 * HOUR, rotateIfExpiresWithinMs: 30 * DAY },
      entra([password(50, 10), password(2, 730)]),
      () => {
        reads++;
        return Promise.resolve([age('S in repo a', 1)]);
      },
      'entra',
    );
    expect(d!.rotate).toBe(false);
    expect(d!.rule).toMatch(/^skip-if-rotated-within:/);
    expect(reads).toBe(1);
  });
});
