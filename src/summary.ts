// Outputs and the job summary, from the pipeline's report. Nothing secret reaches either: the report
// holds no secret, only the recovery blob, which only the operator's private key opens.
import { appendFile } from 'node:fs/promises';
import * as core from '@actions/core';
import { now, spokenUntil } from './clock.js';
import { ESCROW_PREFIX } from './escrow.js';
import type { Report } from './report.js';
import { markdownCode as code, markdownText as text } from './untrusted.js';

/** What setOutputs writes to; the runner's by default, a recorder in the invariant search. */
export type OutputSink = Pick<typeof core, 'setOutput' | 'info'>;

export function setOutputs(r: Report, io: OutputSink = core): void {
  io.setOutput('rotated', String(r.rotated));
  io.setOutput('client-id', r.rotation?.clientId ?? r.credential?.clientId ?? '');
  io.setOutput('credential-id', r.rotation?.credentialId ?? r.credential?.credentialId ?? '');
  io.setOutput('secret-expires-at', r.rotation?.expiresAt ?? '');
  io.setOutput(
    'targets',
    JSON.stringify(
      r.targets.map(({ target, secret, variable, status }) =>
        variable === undefined ? { target, secret, status } : { target, variable, status },
      ),
    ),
  );
  io.setOutput('next-rotation-due', r.nextRotationDue ?? '');
  io.setOutput('report', JSON.stringify(reportJson(r)));
  if (r.recovery) {
    io.setOutput('recovery', r.recovery);
    io.info(
      `Recovery blob (the new secret sealed to recovery-public-key; open it as docs/recovery.md shows):\n${r.recovery}`,
    );
  }
}

/** Output `report`: what the summary's tables show, as JSON (the recovery blob has its own output). */
export function reportJson(r: Report): Record<string, unknown> {
  const c = r.credential;
  const expires = c?.expiresAt ? Date.parse(c.expiresAt) : NaN;
  return {
    mode: r.mode ?? 'rotate',
    outcome: r.outcome,
    ...(c
      ? {
          credential: {
            description: c.description,
            clientId: c.clientId ?? null,
            expiresAt: c.expiresAt ?? null,
            expiresInSeconds: Number.isNaN(expires) ? null : Math.floor((expires - now()) / 1000),
          },
        }
      : {}),
    ...(r.rule ? { rule: r.rule } : {}),
    ...(r.nextRotationDue ? { nextRotationDue: r.nextRotationDue } : {}),
    targets: r.targets.map((t) => ({
      target: t.target,
      ...(t.variable === undefined ? { secret: t.secret } : { variable: t.variable }),
      status: t.status,
      ...(t.updatedAt ? { updatedAt: t.updatedAt } : {}),
      ...(t.error ? { error: t.error } : {}),
    })),
    ...(r.expanded ? { expanded: r.expanded } : {}),
    ...(r.failure ? { failure: r.failure } : {}),
    ...(r.nextStep ? { nextStep: r.nextStep } : {}),
    ...(r.stopped ? { stopped: r.stopped } : {}),
  };
}

const TITLES: Record<Report['outcome'], string> = {
  rotated: 'Client secret rotated',
  'dry-run': 'Dry run: nothing changed',
  skipped: 'Skipped: not due',
  checked: 'Check passed: nothing changed',
  failed: 'Rotation failed',
};

/**
 * The job summary. Every value that is not this file's own text comes from a provider, GitHub or an
 * input, so it is escaped and cut (`untrusted.ts`); `provider` is the validated name, or undefined
 * when the inputs were invalid (an invalid input is never echoed here).
 */
export function summaryMarkdown(provider: string | undefined, r: Report): string {
  const c = r.credential;
  const title = r.stopped
    ? r.rotation
      ? `Stopped (${r.stopped}) after the rotation`
      : `Stopped (${r.stopped}) before the rotation: nothing changed`
    : r.mode === 'check' && r.outcome === 'failed'
      ? 'Check failed: nothing changed'
      : TITLES[r.outcome];
  const lines = [`## ${title}`, '', '| | |', '|---|---|'];
  if (provider) lines.push(`| Provider | ${code(provider)} |`);
  if (c) lines.push(`| Credential | ${text(c.description, 300)} |`);
  const clientId = r.rotation?.clientId ?? c?.clientId;
  if (clientId) lines.push(`| Client id | ${code(clientId)} |`);
  if (c?.expiresAt)
    lines.push(
      r.mode === 'check'
        ? `| Secret the targets hold expires | ${text(c.expiresAt, 40)} (${spokenUntil(Date.parse(c.expiresAt))}) |`
        : `| Previous secret expires | ${text(c.expiresAt, 40)} |`,
    );
  else if (r.mode === 'check' && c)
    lines.push('| Secret the targets hold expires | not reported by the provider |');
  if (r.rotation?.expiresAt)
    lines.push(`| New secret expires | ${text(r.rotation.expiresAt, 40)} |`);
  if (r.rule) lines.push(`| Rule | ${text(r.rule, 500)} |`);
  if (r.nextRotationDue) lines.push(`| Next rotation due | ${r.nextRotationDue} |`);
  if (r.retired) lines.push(`| Retired | ${text(r.retired, 500)} |`);
  if (r.undone) lines.push(`| Undone | ${text(r.undone, 300)} |`);
  // Said on every kind of rotation: the log line stays in the log whatever happened afterwards.
  if (r.escrowed)
    lines.push(
      `| Escrow | the new secret, sealed to \`recovery-public-key\`, is in the log (line \`${ESCROW_PREFIX}\`)${r.rotated ? '; every target holds it, so it is not needed' : ''} |`,
    );
  if (r.expanded && r.expanded.length > 0) {
    // Each pattern and the targets it became, before any rotating call (GitHub's names, escaped).
    lines.push('', '| Target pattern | Expanded to |', '|---|---|');
    for (const e of r.expanded)
      lines.push(
        `| ${code(e.pattern)} | ${e.targets.length} target(s)${e.skipped ? ` (${e.skipped} archived or disabled left out)` : ''}: ${e.targets.map((t) => code(t)).join(', ')} |`,
      );
  }
  if (r.mode === 'check' && r.targets.length > 0) {
    lines.push('', '| Target | Secret | Exists | Last updated |', '|---|---|---|---|');
    for (const t of r.targets)
      lines.push(
        `| ${code(t.target)} | ${code(t.secret)} | ${t.status === 'present' ? 'yes' : t.status === 'missing' ? '**no**' : `unknown: ${text(t.error ?? '', 600)}`} | ${t.updatedAt ?? ''} |`,
      );
  } else if (r.targets.length > 0) {
    lines.push('', '| Target | Secret | Status |', '|---|---|---|');
    for (const t of r.targets)
      lines.push(
        `| ${code(t.target)} | ${t.variable === undefined ? code(t.secret ?? '') : `variable ${code(t.variable)}`} | ${t.status}${t.error ? `: ${text(t.error, 600)}` : ''} |`,
      );
  }
  if (r.failure) lines.push('', `**What happened:** ${text(r.failure, 3000)}`);
  if (r.nextStep) lines.push('', `**Next step:** ${text(r.nextStep, 600)}`);
  if (r.recovery)
    lines.push(
      '',
      'Recovery blob (the new secret sealed to `recovery-public-key`):',
      '',
      '```',
      // Base64 from libsodium, made here: the one value that is not escaped (it must stay copyable).
      r.recovery,
      '```',
    );
  return `${lines.join('\n')}\n`;
}

/**
 * Appends the summary to the file the runner names, read at the call: what `core.summary.write()`
 * does, without its singleton, which keeps the first path it saw for the life of the process.
 */
export async function writeSummary(markdown: string): Promise<void> {
  const path = process.env['GITHUB_STEP_SUMMARY'];
  if (!path) return;
  await appendFile(path, markdown, { encoding: 'utf8' });
}
