// mode: check end to end: the bundled action reads and reports, changes nothing, and fails the step
// when a target lacks the secret or the credential expires within fail-if-expires-within.
import { describe, expect, it } from 'vitest';
import { expectClean, worldPerTest } from './checks.ts';
import {
  APP_ID,
  OLD_SECRET,
  REPO,
  SECRET_NAME,
  TENANT,
  WOODPECKER_CREDENTIAL,
  type World,
} from './fixtures.ts';
import type { Run } from './harness.ts';

const start = worldPerTest();
const DAY = 86_400_000;

/** Woodpecker reports secret_expires_at; the credential's secret expires `days` from now. */
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
  return world;
}

/** Nothing was written or rotated anywhere, and no public key was even read. */
function unchanged(world: World): void {
  const writes = (e: { calls(m: string, p: RegExp): unknown[] }): number =>
    ['PUT', 'POST', 'PATCH', 'DELETE'].reduce((n, m) => n + e.calls(m, /./).length, 0);
  expect(writes(world.github)).toBe(0);
  expect(world.github.calls('GET', /public-key/)).toHaveLength(0);
  // Entra and Woodpecker sign-ins are POSTs; count only the changing calls.
  if (world.entra) expect(world.entra.calls('POST', /addPassword|removePassword/)).toHaveLength(0);
  if (world.woodpecker) {
    expect(world.woodpecker.calls('PATCH', /./)).toHaveLength(0);
    expect(world.woodpecker.calls('POST', /./)).toHaveLength(0);
  }
  if (world.csp) expect(world.csp.calls('PUT', /secret/)).toHaveLength(0);
  if (world.csp) expect(world.csp.calls('POST', /secret$/)).toHaveLength(0);
}

const report = (run: Run) =>
  JSON.parse(run.outputs['report'] ?? '{}') as {
    mode: string;
    outcome: string;
    credential?: { expiresAt: string | null; expiresInSeconds: number | null };
    targets: { target: string; secret: string; status: string; updatedAt?: string }[];
    failure?: string;
  };

describe.concurrent('mode: check', () => {
  it('reports every target and the expiry, changes nothing, and passes', async () => {
    const world = await woodpeckerExpiringIn(40);
    world.github.seedSecret(`repo:${REPO}`, SECRET_NAME, OLD_SECRET, '2026-01-02T03:04:05Z');
    world.github.seedSecret(`env:${REPO}:production`, SECRET_NAME, OLD_SECRET);
    const run = await world.run({
      mode: 'check',
      targets: `repo ${REPO}\nenvironment ${REPO} production`,
      'fail-if-expires-within': '30d',
    });
    expect(run.code, run.stdout).toBe(0);
    unchanged(world);
    const r = report(run);
    expect(r).toMatchObject({ mode: 'check', outcome: 'checked' });
    expect(r.targets).toEqual([
      {
        target: `repo ${REPO}`,
        secret: SECRET_NAME,
        status: 'present',
        updatedAt: '2026-01-02T03:04:05.000Z',
      },
      expect.objectContaining({ target: `environment ${REPO} production`, status: 'present' }),
    ]);
    expect(r.credential!.expiresInSeconds).toBeGreaterThan(39 * 86_400);
    expect(r.credential!.expiresInSeconds).toBeLessThanOrEqual(40 * 86_400);
    expect(run.summary).toContain('## Check passed: nothing changed');
    expect(run.summary).toContain('| Target | Secret | Exists | Last updated |');
    expect(run.summary).toContain(`| yes | 2026-01-02T03:04:05.000Z |`);
    expect(run.summary).toMatch(/\| Secret the targets hold expires \| \S+ \(in (39|40) days\) \|/);
    expect(run.outputs['rotated']).toBe('false');
    expectClean(world, run);
  });

  it('fails when the credential expires within fail-if-expires-within', async () => {
    const world = await woodpeckerExpiringIn(10);
    world.github.seedSecret(`repo:${REPO}`, SECRET_NAME, OLD_SECRET);
    const run = await world.run({ mode: 'check', 'fail-if-expires-within': '14d' });
    expect(run.code).toBe(1);
    unchanged(world);
    expect(report(run)).toMatchObject({ mode: 'check', outcome: 'failed' });
    expect(run.errors.join('\n')).toMatch(
      /expires at .* \(in (9|10) days\), within fail-if-expires-within/,
    );
    expect(run.summary).toContain('## Check failed: nothing changed');
    expectClean(world, run);
  });

  it('fails when a target is missing the secret, and names it', async () => {
    const world = await start('vmware-csp');
    world.github.seedSecret(`repo:${REPO}`, SECRET_NAME, OLD_SECRET);
    const run = await world.run({
      mode: 'check',
      targets: `repo ${REPO}\nenvironment ${REPO} production`,
      'fail-if-expires-within': '14d',
    });
    expect(run.code).toBe(1);
    unchanged(world);
    const r = report(run);
    expect(r.targets.map((t) => t.status)).toEqual(['present', 'missing']);
    expect(r.failure).toContain(
      `1 target secret(s) missing: ${SECRET_NAME} in environment ${REPO} production.`,
    );
    expect(run.summary).toContain(`| <code>CLIENT_SECRET</code> | **no** |  |`);
    // CSP reports no expiry: fail-if-expires-within cannot apply, and the report says so.
    expect(run.summary).toContain(
      '| Secret the targets hold expires | not reported by the provider |',
    );
    expect(run.stdout).toContain('vmware-csp reports no expiry for this credential.');
    expectClean(world, run);
  });

  it('reads the expiry of Entra passwords this rotation made, not those of people', async () => {
    const world = await start('entra');
    world.github.seedSecret(`repo:${REPO}`, SECRET_NAME, OLD_SECRET);
    // A rotation first: its own password lives 5 days; the one a person made lives two years.
    expect((await world.run({ 'entra-secret-lifetime-days': '5' })).code).toBe(0);
    const run = await world.run({ mode: 'check', 'fail-if-expires-within': '6d' });
    expect(run.code).toBe(1);
    expect(report(run).failure).toMatch(/within fail-if-expires-within/);
    expectClean(world, run);
  });
});
