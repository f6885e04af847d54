// rotate-if-expires-within end to end: the bundled action rotates only when the credential's current
// secret expires within the window (from what the provider reports, else from the age of the first
// target's secret), names the rule that decided, and sets next-rotation-due.
import { describe, expect, it } from 'vitest';
import { ownPrefix } from '../src/providers/entra-app.ts';
import { expectClean, worldPerTest } from './checks.ts';
import {
  APP_ID,
  CSP_APP,
  OLD_SECRET,
  REPO,
  SECRET_NAME,
  TENANT,
  WOODPECKER_CREDENTIAL,
  type World,
} from './fixtures.ts';

const start = worldPerTest();
const DAY = 86_400_000;
const stamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function woodpeckerExpiringIn(days: number): Promise<World> {
  const world = await start('woodpecker');
  world.woodpecker!.addCredential({
    credentialId: WOODPECKER_CREDENTIAL,
    tenantId: TENANT,
    clientId: APP_ID,
    secret: OLD_SECRET,
    secretExpiresAt: new Date(Date.now() + days * DAY).toISOString(),
    name: 'MS Graph app',
  });
  world.github.seedSecret(`repo:${REPO}`, SECRET_NAME, OLD_SECRET, stamp(Date.now() - 100 * DAY));
  return world;
}

const TAG = 'due test';
const ORPHAN = 'Orphan-Entra-Password-0123456789';

/**
 * An app whose targets were written 30 days ago with this rotation's password that ends in 10 days,
 * plus a newer password of this rotation that lives two years: an orphan of a run killed after
 * addPassword when `targetsWrittenDaysAgo` is 30, the targets' password when it is 1.
 */
async function entraWithOrphan(
  provider: 'entra' | 'woodpecker',
  targetsWrittenDaysAgo: number,
): Promise<World> {
  const world = await start(provider);
  const t = Date.now();
  world.entra!.addPasswordTo(APP_ID, {
    secretText: OLD_SECRET,
    displayName: `${ownPrefix(TAG)}${stamp(t - 170 * DAY)} run 41-1 aaaaaaaaaaaa`,
    startDateTime: new Date(t - 170 * DAY).toISOString(),
    endDateTime: new Date(t + 10 * DAY).toISOString(),
  });
  world.entra!.addPasswordTo(APP_ID, {
    secretText: ORPHAN,
    displayName: `${ownPrefix(TAG)}${stamp(t - 2 * DAY)} run 42-1 bbbbbbbbbbbb`,
    startDateTime: new Date(t - 2 * DAY).toISOString(),
    endDateTime: new Date(t + 730 * DAY).toISOString(),
  });
  world.github.seedSecret(
    `repo:${REPO}`,
    SECRET_NAME,
    targetsWrittenDaysAgo > 2 ? OLD_SECRET : ORPHAN,
    stamp(t - targetsWrittenDaysAgo * DAY),
  );
  if (provider === 'woodpecker')
    // Killed after Woodpecker saved the orphan, before any target: Woodpecker shows its far expiry.
    world.woodpecker!.addCredential({
      credentialId: WOODPECKER_CREDENTIAL,
      tenantId: TENANT,
      clientId: APP_ID,
      secret: ORPHAN,
      secretExpiresAt: new Date(t + 730 * DAY).toISOString(),
      name: 'MS Graph app',
    });
  return world;
}

const near = (iso: string | undefined, ms: number): boolean =>
  iso !== undefined && Math.abs(Date.parse(iso) - ms) < 120_000;

describe.concurrent('rotate-if-expires-within', () => {
  it('Woodpecker: outside the window, nothing changes and the next due date is reported', async () => {
    const world = await woodpeckerExpiringIn(40);
    const run = await world.run({ 'rotate-if-expires-within': '30d' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['rotated']).toBe('false');
    expect(world.woodpecker!.calls('PATCH', /./)).toHaveLength(0);
    expect(world.entra!.calls('POST', /addPassword/)).toHaveLength(0);
    expect(world.github.secret(`repo:${REPO}`, SECRET_NAME)!.value).toBe(OLD_SECRET);
    expect(near(run.outputs['next-rotation-due'], Date.now() + 10 * DAY)).toBe(true);
    expect(run.stdout).toMatch(
      /rotate-if-expires-within: the current secret expires at \S+ \(in (39|40) days\), outside the window; not rotating before/,
    );
    expect(run.summary).toContain('## Skipped: not due');
    expect(run.summary).toContain('| Rule | rotate-if-expires-within');
    expectClean(world, run);
  });

  it('Woodpecker: inside the window, it rotates and the due date follows the new expiry', async () => {
    const world = await woodpeckerExpiringIn(20);
    const run = await world.run({ 'rotate-if-expires-within': '30d' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['rotated']).toBe('true');
    expect(world.github.secret(`repo:${REPO}`, SECRET_NAME)!.value).toBe(world.currentSecret());
    expect(run.stdout).toMatch(/\(in (19|20) days\), within the window; rotating\./);
    // Entra mints a 180-day password; the next rotation is due 30 days before it ends.
    expect(near(run.outputs['next-rotation-due'], Date.now() + 150 * DAY)).toBe(true);
    expect(run.summary).toContain('| Rule | rotate-if-expires-within');
    expectClean(world, run);
  });

  it("Entra: the expiry of this rotation's own password decides, inside and outside the window", async () => {
    const world = await start('entra');
    world.github.seedSecret(`repo:${REPO}`, SECRET_NAME, OLD_SECRET, stamp(Date.now() - 100 * DAY));
    // No password of this rotation yet (only one a person made, which lives two years): the age decides.
    const first = await world.run({
      'rotate-if-expires-within': '30d',
      'entra-secret-lifetime-days': '20',
    });
    expect(first.code, first.stdout).toBe(0);
    expect(first.outputs['rotated']).toBe('true');
    expect(first.stdout).toContain(
      `rotate-if-expires-within: entra reports no expiry for this credential, so the age of secret ${SECRET_NAME} in repo ${REPO} decides: updated at`,
    );
    expect(near(first.outputs['next-rotation-due'], Date.now() - 10 * DAY)).toBe(true);
    const outside = await world.run({ 'rotate-if-expires-within': '10d' });
    expect(outside.outputs['rotated']).toBe('false');
    expect(outside.stdout).toMatch(/expires at \S+ \(in 19 days\), outside the window/);
    expect(near(outside.outputs['next-rotation-due'], Date.now() + 10 * DAY)).toBe(true);
    const inside = await world.run({ 'rotate-if-expires-within': '25d' });
    expect(inside.outputs['rotated']).toBe('true');
    expect(inside.stdout).toMatch(/\(in 19 days\), within the window; rotating\./);
    for (const run of [first, outside, inside]) expectClean(world, run);
  });

  it('Entra: an orphan password of a killed run, newer than the targets, does not make the run look not due', async () => {
    const world = await entraWithOrphan('entra', 30);
    const run = await world.run({ 'rotate-if-expires-within': '30d', 'entra-password-tag': TAG });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['rotated']).toBe('true');
    expect(run.stdout).toMatch(
      /rotate-if-expires-within: the password the targets hold \(the newest this rotation made by the time secret \S+ in repo \S+ was last written, \S+\) expires at \S+ \(in (9|10) days\), within the window; rotating\. An orphan password created after the targets were last written is ignored\./,
    );
    expect(world.github.secret(`repo:${REPO}`, SECRET_NAME)!.value).toBe(world.currentSecret());
    // Every target holds the new password now: the earlier ones of this rotation, the orphan too, go.
    const left = world.entra!.passwords(APP_ID).map((p) => p.secretText);
    expect(left).not.toContain(ORPHAN);
    expect(world.entra!.removedPasswords(APP_ID).map((p) => p.secretText)).toContain(ORPHAN);
    expectClean(world, run, [ORPHAN]);
  });

  it('Entra: targets written after the newest password hold it, and the run is not due', async () => {
    const world = await entraWithOrphan('entra', 1);
    const run = await world.run({ 'rotate-if-expires-within': '30d', 'entra-password-tag': TAG });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['rotated']).toBe('false');
    expect(world.entra!.calls('POST', /addPassword/)).toHaveLength(0);
    expect(run.stdout).toMatch(
      /the password the targets hold \(.*\) expires at \S+ \(in 7(29|30) days\), outside the window; not rotating before/,
    );
    expect(run.stdout).not.toContain('orphan');
    expect(near(run.outputs['next-rotation-due'], Date.now() + 700 * DAY)).toBe(true);
    expectClean(world, run, [ORPHAN]);
  });

  it("Woodpecker: killed after the save, Woodpecker's far expiry does not hide the targets' password", async () => {
    const world = await entraWithOrphan('woodpecker', 30);
    const run = await world.run({ 'rotate-if-expires-within': '30d', 'entra-password-tag': TAG });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['rotated']).toBe('true');
    expect(run.stdout).toMatch(
      /the password the targets hold \(.*\) expires at \S+ \(in (9|10) days\), within the window; rotating\. An orphan password/,
    );
    expect(world.github.secret(`repo:${REPO}`, SECRET_NAME)!.value).toBe(world.currentSecret());
    expectClean(world, run, [ORPHAN]);
  });

  it('CSP reports no expiry: the age of the first target secret decides, and the log says so', async () => {
    const world = await start('vmware-csp');
    world.github.seedSecret(`repo:${REPO}`, SECRET_NAME, OLD_SECRET, stamp(Date.now() - DAY));
    const young = await world.run({ 'rotate-if-expires-within': '30d' });
    expect(young.code, young.stdout).toBe(0);
    expect(young.outputs['rotated']).toBe('false');
    expect(world.csp!.rotations(CSP_APP)).toBe(0);
    expect(young.stdout).toContain(
      'rotate-if-expires-within: vmware-csp reports no expiry for this credential, so the age of',
    );
    expect(near(young.outputs['next-rotation-due'], Date.now() + 29 * DAY)).toBe(true);
    world.github.seedSecret(`repo:${REPO}`, SECRET_NAME, OLD_SECRET, stamp(Date.now() - 31 * DAY));
    const old = await world.run({ 'rotate-if-expires-within': '30d' });
    expect(old.outputs['rotated']).toBe('true');
    expect(near(old.outputs['next-rotation-due'], Date.now() + 30 * DAY)).toBe(true);
    for (const run of [young, old]) expectClean(world, run);
  });

  it('with skip-if-rotated-within, a recent rotation wins over an expiry inside the window', async () => {
    const world = await woodpeckerExpiringIn(5);
    world.github.seedSecret(`repo:${REPO}`, SECRET_NAME, OLD_SECRET, stamp(Date.now() - 3_600_000));
    const run = await world.run({
      'rotate-if-expires-within': '30d',
      'skip-if-rotated-within': '20h',
    });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['rotated']).toBe('false');
    expect(world.woodpecker!.calls('PATCH', /./)).toHaveLength(0);
    expect(run.stdout).toContain(
      `skip-if-rotated-within: secret ${SECRET_NAME} in repo ${REPO} was updated at`,
    );
    expect(run.summary).toContain('| Rule | skip-if-rotated-within');
    // Due once the guard ends (the expiry is already inside the window).
    expect(near(run.outputs['next-rotation-due'], Date.now() + 19 * 3_600_000)).toBe(true);
    expectClean(world, run);
  });
});

describe.concurrent('mode: check reads the expiry of what the targets hold', () => {
  for (const provider of ['entra', 'woodpecker'] as const)
    it(`${provider}: an orphan password of a killed run does not hide the targets' expiry`, async () => {
      const world = await entraWithOrphan(provider, 30);
      const run = await world.run({
        mode: 'check',
        'fail-if-expires-within': '14d',
        'entra-password-tag': TAG,
      });
      expect(run.code, run.stdout).toBe(1);
      expect(run.errors.join('\n')).toMatch(
        /The secret the targets hold expires at \S+ \(in (9|10) days\), within fail-if-expires-within\./,
      );
      expect(run.stdout).toContain(
        'An orphan password created after the targets were last written is ignored.',
      );
      expect(run.summary).toMatch(
        /\| Secret the targets hold expires \| \S+ \(in (9|10) days\) \|/,
      );
      const r = JSON.parse(run.outputs['report']!) as { credential: { expiresInSeconds: number } };
      expect(r.credential.expiresInSeconds).toBeLessThan(11 * DAY);
      expectClean(world, run);
    });

  it('entra: targets written after the orphan hold it, and its far expiry passes the check', async () => {
    const world = await entraWithOrphan('entra', 1);
    const run = await world.run({
      mode: 'check',
      'fail-if-expires-within': '14d',
      'entra-password-tag': TAG,
    });
    expect(run.code, run.stdout).toBe(0);
    expect(run.summary).toMatch(/\| Secret the targets hold expires \| \S+ \(in 72\d days\) \|/);
    expectClean(world, run);
  });
});
