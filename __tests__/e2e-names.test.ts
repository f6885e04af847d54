// Good inputs are as important as bad ones: every legal odd name in GOOD_TARGETS, run through the
// bundled action, reaches its own path on the GitHub emulator, which decodes it back to the same
// name and stores the new secret there (environment names percent-encoded, `/` as %2F).
import { describe, expect, it } from 'vitest';
import { expectClean } from './checks.ts';
import { SECRET_NAME, startWorld } from './fixtures.ts';
import { GOOD_TARGETS, type GoodTarget } from './target-names.ts';

/** The emulator's scope key for where `g` must land. */
function scope(g: GoodTarget): string {
  switch (g.kind) {
    case 'environment':
      return `env:${g.repo!.toLowerCase()}:${g.environment!}`;
    case 'repo':
    case 'dependabot':
      return `${g.kind}:${g.repo!.toLowerCase()}`;
    case 'org':
    case 'dependabot-org':
      return `${g.kind}:${g.org!.toLowerCase()}`;
  }
}

describe('legal odd names reach the right path (bundled action)', () => {
  it.concurrent.each(GOOD_TARGETS.map((g) => [g.why, g] as const))('%s', async (_why, g) => {
    const world = await startWorld('vmware-csp');
    try {
      if (g.repo)
        world.github.addRepo(g.repo, { environments: g.environment ? [g.environment] : [] });
      if (g.org) world.github.addOrg(g.org);
      const run = await world.run({ targets: g.line });
      expect(run.errors).toEqual([]);
      expect(run.code).toBe(0);
      expect(world.github.secret(scope(g), SECRET_NAME)?.value).toBe(world.currentSecret());
      const puts = world.github.calls('PUT', /\/secrets\//);
      expect(puts).toHaveLength(1);
      if (g.environment !== undefined)
        expect(puts[0]!.path).toContain(`/environments/${encodeURIComponent(g.environment)}/`);
      expectClean(world, run);
    } finally {
      await world.close();
    }
  });
});
