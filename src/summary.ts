// Outputs and the job summary, from the pipeline's report. Nothing secret reaches either: the report
// holds no secret, only the recovery blob, which only the operator's private key opens.
import * as core from '@actions/core';
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
    JSON.stringify(
      r.targets.map(({ target, secret, variable, status }) =>
        variable === undefined ? { target, secret, status } : { target, variable, status },
      ),
    ),
  );
  if (r.recovery) {
    io.setOutput('recovery', r.recovery);
    io.info(
      `Recovery blob (the new secret sealed to recovery-public-key; open it as the README shows):\n${r.recovery}`,
    );
  }
}

const TITLES: Record<Report['outcome'], string> = {
  rotated: 'Client secret rotated',
  'dry-run': 'Dry run: nothing changed',
  skipped: 'Skipped: rotated recently',
  failed: 'Rotation failed',
};

export function summaryMarkdown(provider: string, r: Report): string {
  const c = r.credential;
  const lines = [
    `## ${TITLES[r.outcome]}`,
    '',
    '| | |',
    '|---|---|',
    `| Provider | \`${provider}\` |`,
  ];
  if (c) lines.push(`| Credential | ${escape(c.description)} |`);
  const clientId = r.rotation?.clientId ?? c?.clientId;
  if (clientId) lines.push(`| Client id | \`${escape(clientId)}\` |`);
  if (c?.expiresAt) lines.push(`| Previous secret expires | ${c.expiresAt} |`);
  if (r.rotation?.expiresAt) lines.push(`| New secret expires | ${r.rotation.expiresAt} |`);
  if (r.retired) lines.push(`| Retired | ${escape(r.retired)} |`);
  if (r.undone) lines.push(`| Undone | ${escape(r.undone)} |`);
  if (r.targets.length > 0) {
    lines.push('', '| Target | Secret | Status |', '|---|---|---|');
    for (const t of r.targets)
      lines.push(
        `| \`${escape(t.target)}\` | ${t.variable === undefined ? `\`${t.secret}\`` : `variable \`${t.variable}\``} | ${t.status}${t.error ? `: ${escape(t.error)}` : ''} |`,
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
