// examples/rotate-many.yml: every matrix entry's inputs, with the expressions the runner would
// resolve, parse as the action parses them, and each credential files its own failure issue.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseInputs } from '../src/inputs/index.ts';

interface Workflow {
  jobs: {
    rotate: {
      strategy: { 'fail-fast': boolean; matrix: { include: Record<string, string>[] } };
      concurrency: { group: string };
      steps: { id?: string; with?: Record<string, string> }[];
    };
  };
}

const workflow = parse(
  readFileSync(new URL('../examples/rotate-many.yml', import.meta.url), 'utf8'),
) as Workflow;
const job = workflow.jobs.rotate;
const step = job.steps.find((s) => s.id === 'rotate')!;

/** What the runner makes of `${{ ... }}` for one matrix entry. */
function resolve(text: string, entry: Record<string, string>): string {
  return String(text).replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
    const m = /^matrix\.([\w-]+)$/.exec(expr);
    if (m) return entry[m[1]!] ?? '';
    if (expr.startsWith('steps.app-token')) return 'ghs_token';
    if (expr.includes('secrets.CSP_API_TOKEN'))
      return entry['provider'] === 'vmware-csp' ? 'csp-token' : '';
    throw new Error(`unexpected expression ${expr}`);
  });
}

describe('examples/rotate-many.yml', () => {
  const entries = job.strategy.matrix.include;

  it('runs every credential on its own, in its own concurrency group', () => {
    expect(job.strategy['fail-fast']).toBe(false);
    expect(job.concurrency.group).toContain('${{ matrix.name }}');
    expect(new Set(entries.map((e) => e['name'])).size).toBe(entries.length);
  });

  it('gives every entry inputs the action accepts, and each its own failure issue', () => {
    const titles = entries.map((entry) => {
      const inputs = Object.fromEntries(
        Object.entries(step.with!).map(([k, v]) => [k, resolve(v, entry)]),
      );
      const s = parseInputs((n) => inputs[n] ?? '', { GITHUB_REPOSITORY: 'octo/ops' });
      expect(s.provider.name).toBe(entry['provider']);
      expect(s.rotateIfExpiresWithinMs).toBe(30 * 86_400_000);
      expect(s.failureIssue).toMatchObject({ owner: 'octo', repo: 'platform-alerts' });
      return s.failureIssue!.title;
    });
    expect(new Set(titles).size).toBe(entries.length);
  });
});
