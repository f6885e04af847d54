// Target patterns, expanded in preflight: each pattern line becomes one target per matching
// repository that is neither archived nor disabled, listed in the log before anything changes;
// max-targets stops a run whose targets, expanded, are more than intended.
import type { Settings } from './inputs/index.js';
import type { Destination } from './destination.js';
import type { Expansion, PipelineDeps, Report } from './report.js';

export type { Expansion } from './report.js';
import { type ListedRepo, matches, targetOf } from './inputs/patterns.js';
import { scopeOf, type Target } from './inputs/targets.js';

export async function expandTargets(
  s: Settings,
  list: (owner: string) => Promise<readonly ListedRepo[]>,
  info: (message: string) => void,
): Promise<{ settings: Settings; expansions: Expansion[] }> {
  const { targets, patterns, maxTargets } = s.github;
  const tooMany = (n: number, how: string): Error =>
    new Error(
      `The targets${how} come to ${n}, more than max-targets (${maxTargets}); nothing was changed. Narrow the pattern (a longer name glob, topic:NAME) or raise max-targets.`,
    );
  if (targets.length > maxTargets) throw tooMany(targets.length, '');
  if (patterns.length === 0) return { settings: s, expansions: [] };

  // One listing per owner (the lister keeps it), all owners at once.
  const listed = await Promise.all(patterns.map((p) => list(p.owner)));
  const seen = new Set(targets.map(scopeOf));
  const all: Target[] = [...targets];
  const expansions: Expansion[] = [];
  const matched: string[] = [];
  patterns.forEach((p, i) => {
    const hits = listed[i]!.filter((r) => matches(p, r));
    const live = hits
      .filter((r) => !r.archived && !r.disabled)
      .sort((a, b) => a.fullName.toLowerCase().localeCompare(b.fullName.toLowerCase()));
    if (listed[i]!.length === 0)
      throw new Error(
        `Target pattern '${p.line}': ${p.owner} has no repository the github-token can see (for a GitHub App, is it installed there?); nothing was changed.`,
      );
    if (live.length === 0)
      throw new Error(
        `Target pattern '${p.line}' matches no repository of ${p.owner} that is not archived or disabled (${hits.length} archived or disabled); nothing was changed.`,
      );
    const made: string[] = [];
    for (const r of live) {
      const t = targetOf(p, r.fullName);
      const scope = scopeOf(t);
      if (seen.has(scope)) continue;
      seen.add(scope);
      all.push(t);
      made.push(t.line);
    }
    matched.push(`'${p.line}' matches ${live.length}`);
    expansions.push({ pattern: p.line, targets: made, skipped: hits.length - live.length });
  });
  if (all.length > maxTargets) throw tooMany(all.length, ` (${matched.join(', ')})`);

  for (const e of expansions) {
    const skipped = e.skipped ? `; ${e.skipped} archived or disabled left out` : '';
    info(`Target pattern '${e.pattern}' expands to ${e.targets.length} target(s)${skipped}:`);
    for (const line of e.targets) info(`  ${line}`);
  }
  return {
    settings: { ...s, github: { ...s.github, targets: all, patterns: [] } },
    expansions,
  };
}

/**
 * Expands target patterns (in preflight, before anything changes) and runs `body` on the settings
 * with every target named; the report then says what each pattern became.
 */
export async function withTargets(
  s: Settings,
  d: Pick<PipelineDeps, 'policy' | 'info'> & {
    readonly destination: Pick<Destination, 'listRepositories'>;
  },
  body: (s: Settings) => Promise<Report>,
): Promise<Report> {
  d.policy.startPreflight();
  const { settings, expansions } = await expandTargets(
    s,
    (owner) => d.destination.listRepositories(owner),
    d.info,
  );
  const report = await body(settings);
  return expansions.length > 0 ? { ...report, expanded: expansions } : report;
}
