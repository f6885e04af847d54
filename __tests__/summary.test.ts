import { describe, expect, it } from 'vitest';
import type { Report } from '../src/pipeline.ts';
import { summaryMarkdown } from '../src/summary.ts';

/** The text a reader sees: backslash escapes and entities undone, `<code>` shown as backticks. */
function rendered(md: string): string {
  return md
    .replace(/<\/?code>/g, '`')
    .replace(/\\(.)/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

const credential = {
  clientId: 'client-1',
  credentialId: 'cred-1',
  description: 'Entra application X | Y',
  expiresAt: '2026-12-01T00:00:00Z',
  oldSecretDiesOnRotate: false,
};

describe('job summary', () => {
  it('shows provider, credential, both expiries, every target and what was retired', () => {
    const r: Report = {
      outcome: 'rotated',
      rotated: true,
      credential,
      rotation: { clientId: 'client-1', credentialId: 'key-2', expiresAt: '2027-06-01T00:00:00Z' },
      targets: [
        { target: 'repo octo/app', secret: 'S', status: 'written' },
        { target: 'org octo selected octo/app', secret: 'S', status: 'written' },
      ],
      retired: '1 earlier password(s) created by this action (abc)',
    };
    const md = rendered(summaryMarkdown('entra', r));
    expect(md).toContain('## Client secret rotated');
    expect(md).toContain('| Provider | `entra` |');
    expect(md).toContain('Entra application X | Y');
    expect(md).toContain('| Previous secret expires | 2026-12-01T00:00:00Z |');
    expect(md).toContain('| New secret expires | 2027-06-01T00:00:00Z |');
    expect(md).toContain('| `repo octo/app` | `S` | written |');
    expect(md).toContain('| Retired | 1 earlier password(s) created by this action (abc) |');
    expect(md).not.toContain('Next step');
  });

  it('on failure says what happened, the next step, and carries the recovery blob', () => {
    const r: Report = {
      outcome: 'failed',
      rotated: false,
      credential,
      targets: [
        {
          target: 'repo octo/app',
          secret: 'S',
          status: 'failed',
          error: 'Could not write secret S in repo octo/app: HTTP 404.',
        },
      ],
      recovery: 'c2VhbGVk',
      failure: '1 of 1 secret write(s) failed.',
      nextStep: 'Fix it and re-run.',
    };
    const md = rendered(summaryMarkdown('whmcs', r));
    expect(md).toContain('## Rotation failed');
    expect(md).toContain('failed: Could not write secret S in repo octo/app: HTTP 404.');
    expect(md).toContain('**What happened:** 1 of 1 secret write(s) failed.');
    expect(md).toContain('**Next step:** Fix it and re-run.');
    expect(md).toContain('```\nc2VhbGVk\n```');
  });
});
