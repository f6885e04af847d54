// Outputs and the job summary, from the pipeline's report. Nothing secret reaches either: the report
// holds no secret, only the recovery blob, which only the operator's private key opens.
import * as core from '@actions/core';
import { now } from './clock.js';
import { spokenUntil } from './check.js';
import type { Report } from './pipeline.js';

/** What setOutputs writes to; the runner's by default, a recorder in the invariant search. */
export type OutputSink = Pick<typeof core, 'setOutput' | 'info'>;

export function setOutputs(r: Report, io: OutputSink = core): void {
  io.setOutput('rotated', String(r.rotated));
  io.setOutput('client-id', r.rotation?.clientId ?? r.credential?.clientId ?? '');
  io.setOutput('credential-id', r.rotation?.credentialId ?? r.credential?.credentialId ?? '');
  io.setOutput('secret-expires-at', r.rotation?.expiresAt ?? '');
  io.setOutput(
    'targets',
    JSON.stringify(r.targets.map(({ target, secret, status }) => ({ target, secret, status }))),
  );
  io.setOutput('report', JSON.stringify(reportJson(r)));
  if (r.recovery) {
    io.setOutput('recovery', r.recovery);
    io.info(
      `Recovery blob (the new secret sealed to recovery-public-key; open it as the README shows):\n${r.recovery}`,
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
    targets: r.targets.map((t) => ({
      target: t.target,
      secret: t.secret,
      status: t.status,
      ...(t.updatedAt ? { updatedAt: t.updatedAt } : {}),
      ...(t.error ? { error: t.error } : {}),
    })),
    ...(r.failure ? { failure: r.failure } : {}),
    ...(r.nextStep ? { nextStep: r.nextStep } : {}),
  };
}

const TITLES: Record<Report['outcome'], string> = {
  rotated: 'Client secret rotated',
  'dry-run': 'Dry run: nothing changed',
  skipped: 'Skipped: rotated recently',
  checked: 'Check passed: nothing changed',
  failed: 'Rotation failed',
};

export function summaryMarkdown(provider: string, r: Report): string {
  const c = r.credential;
  const lines = [
    `## ${r.mode === 'check' && r.outcome === 'failed' ? 'Check failed: nothing changed' : TITLES[r.outcome]}`,
    '',
    '| | |',
    '|---|---|',
    `| Provider | \`${provider}\` |`,
  ];
  if (c) lines.push(`| Credential | ${escape(c.description)} |`);
  const clientId = r.rotation?.clientId ?? c?.clientId;
  if (clientId) lines.push(`| Client id | \`${escape(clientId)}\` |`);
  if (c?.expiresAt)
    lines.push(
      r.mode === 'check'
        ? `| Current secret expires | ${c.expiresAt} (${spokenUntil(Date.parse(c.expiresAt))}) |`
        : `| Previous secret expires | ${c.expiresAt} |`,
    );
  else if (r.mode === 'check' && c)
    lines.push('| Current secret expires | not reported by the provider |');
  if (r.rotation?.expiresAt) lines.push(`| New secret expires | ${r.rotation.expiresAt} |`);
  if (r.retired) lines.push(`| Retired | ${escape(r.retired)} |`);
  if (r.undone) lines.push(`| Undone | ${escape(r.undone)} |`);
  if (r.mode === 'check' && r.targets.length > 0) {
    lines.push('', '| Target | Secret | Exists | Last updated |', '|---|---|---|---|');
    for (const t of r.targets)
      lines.push(
        `| \`${escape(t.target)}\` | \`${t.secret}\` | ${t.status === 'present' ? 'yes' : t.status === 'missing' ? '**no**' : `unknown: ${escape(t.error ?? '')}`} | ${t.updatedAt ?? ''} |`,
      );
  } else if (r.targets.length > 0) {
    lines.push('', '| Target | Secret | Status |', '|---|---|---|');
    for (const t of r.targets)
      lines.push(
        `| \`${escape(t.target)}\` | \`${t.secret}\` | ${t.status}${t.error ? `: ${escape(t.error)}` : ''} |`,
      );
  }
  if (r.failure) lines.push('', `**What happened:** ${escape(r.failure)}`);
  if (r.nextStep) lines.push('', `**Next step:** ${escape(r.nextStep)}`);
  if (r.recovery)
    lines.push(
      '',
      'Recovery blob (the new secret sealed to `recovery-public-key`):',
      '',
      '```',
      r.recovery,
      '```',
    );
  return `${lines.join('\n')}\n`;
}

export async function writeSummary(markdown: string): Promise<void> {
  if (!process.env['GITHUB_STEP_SUMMARY']) return;
  await core.summary.addRaw(markdown).write();
}

function escape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
