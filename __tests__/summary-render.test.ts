// The job summary as a person sees it: each kind of summary rendered the way GitHub renders it
// (CommonMark with GitHub's extensions: tables, strikethrough, bare autolinks, footnotes; raw HTML
// kept), then compared as visible text with what the reader should see. The renderer is micromark
// with micromark-extension-gfm, which is tested against the CommonMark and GFM specs and cmark-gfm's
// output, so it is the closest JavaScript stand-in for GitHub's renderer. Readability is checked on
// the raw text too (no `nightly\-build\-bot`); safety by rendering every plant and random text made of
// markdown's punctuation in a table cell and in a paragraph: the same visible text, and no element
// but the summary's own.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setClock } from '../src/clock.ts';
import type { Report } from '../src/report.ts';
import { summaryMarkdown } from '../src/summary.ts';
import { loggable, markdownCode, markdownText } from '../src/untrusted.ts';
import { PLANTS, foreignElements, render } from './injection.ts';

const decode = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;/g, "'")
    .replace(/&amp;/g, '&');

/** Inline HTML as the reader sees it: code shown between backticks, bold between **. */
function inline(html: string): string {
  return decode(
    html
      .replace(/<\/?code>/g, '`')
      .replace(/<\/?strong>/g, '**')
      .replace(/<[^>]*>/g, ''),
  )
    .replace(/\s+/g, ' ')
    .trim();
}

/** The page as lines: headings, paragraphs, table rows (cells joined by " | "), code blocks. */
function visible(html: string): string {
  const lines: string[] = [];
  for (const [block] of html.matchAll(
    /<h2>[^]*?<\/h2>|<p>[^]*?<\/p>|<tr>[^]*?<\/tr>|<pre>[^]*?<\/pre>/g,
  )) {
    if (block.startsWith('<tr>'))
      lines.push(
        [...block.matchAll(/<t[hd]>([^]*?)<\/t[hd]>/g)]
          .map(([, c]) => inline(c!))
          .join(' | ')
          .trim(),
      );
    else if (block.startsWith('<pre>')) lines.push(decode(block.replace(/<[^>]*>/g, '')).trimEnd());
    else lines.push(inline(block));
  }
  return lines.join('\n');
}

const NOW = Date.parse('2026-12-04T12:00:00Z');
beforeAll(() => setClock({ now: () => NOW, sleep: async () => undefined }));
afterAll(() => setClock());

const csp = {
  clientId: 'nightly-build-bot',
  credentialId: 'nightly-build-bot',
  description: 'CSP OAuth app nightly-build-bot in organization 7f9c2b1e-0d6a (overlap)',
  expiresAt: undefined,
  oldSecretDiesOnRotate: false,
};

const kinds: [string, string, Report, string][] = [
  [
    'rotated',
    'vmware-csp',
    {
      outcome: 'rotated',
      rotated: true,
      credential: csp,
      rotation: {
        clientId: 'nightly-build-bot',
        credentialId: 'nightly-build-bot',
        expiresAt: undefined,
      },
      rule: "rotate-if-expires-within 30d: CSP reports no expiry; the first target's secret is 31 days old",
      nextRotationDue: '2027-01-03T12:00:00.000Z',
      retired: 'the previous CSP secret (deleted before its overlap window ended)',
      escrowed: true,
      expanded: [
        {
          pattern: 'repos octo/svc-*',
          targets: ['repo octo/svc-1', 'repo octo/svc_2'],
          skipped: 1,
        },
      ],
      targets: [
        { target: 'repo octo/svc-1', secret: 'CSP_CLIENT_SECRET', status: 'written' },
        { target: 'repo octo/svc_2', secret: 'CSP_CLIENT_SECRET', status: 'written' },
        {
          target: 'environment octo/svc-1 prod/eu',
          secret: 'CSP_CLIENT_SECRET',
          status: 'written',
        },
        { target: 'repo octo/svc-1', variable: 'CSP_CLIENT_ID', status: 'written' },
      ],
    },
    [
      'Client secret rotated',
      '|',
      'Provider | `vmware-csp`',
      'Credential | CSP OAuth app nightly-build-bot in organization 7f9c2b1e-0d6a (overlap)',
      'Client id | `nightly-build-bot`',
      "Rule | rotate-if-expires-within 30d: CSP reports no expiry; the first target's secret is 31 days old",
      'Next rotation due | 2027-01-03T12:00:00.000Z',
      'Retired | the previous CSP secret (deleted before its overlap window ended)',
      'Escrow | the new secret, sealed to `recovery-public-key`, is in the log (line `Recovery escrow:`); every target holds it, so it is not needed',
      'Target pattern | Expanded to',
      '`repos octo/svc-*` | 2 target(s) (1 archived or disabled left out): `repo octo/svc-1`, `repo octo/svc_2`',
      'Target | Secret | Status',
      '`repo octo/svc-1` | `CSP_CLIENT_SECRET` | written',
      '`repo octo/svc_2` | `CSP_CLIENT_SECRET` | written',
      '`environment octo/svc-1 prod/eu` | `CSP_CLIENT_SECRET` | written',
      '`repo octo/svc-1` | variable `CSP_CLIENT_ID` | written',
    ].join('\n'),
  ],
  [
    'failed with recovery',
    'whmcs',
    {
      outcome: 'failed',
      rotated: false,
      credential: {
        clientId: 'ac_0b1e7c3d',
        credentialId: '7',
        description: 'WHMCS OAuth credential 7 (billing-sync_api)',
        expiresAt: undefined,
        oldSecretDiesOnRotate: true,
      },
      rotation: { clientId: 'ac_0b1e7c3d', credentialId: '7', expiresAt: undefined },
      targets: [
        { target: 'repo octo/billing', secret: 'WHMCS_CLIENT_SECRET', status: 'written' },
        {
          target: 'environment octo/billing production',
          secret: 'WHMCS_CLIENT_SECRET',
          status: 'failed',
          error:
            'Could not write secret WHMCS_CLIENT_SECRET in environment octo/billing production: HTTP 404 (see https://docs.github.com/rest/actions/secrets); mail ops@example.com',
        },
      ],
      escrowed: true,
      recovery: 'c2VhbGVkK2JveA==',
      failure:
        '1 of 2 secret write(s) failed after the rotation. WHMCS kills the old secret at once: the new one is in the recovery blob below and in repo octo/billing.',
      nextStep:
        'Open the recovery blob with the private key (node scripts/open-recovery.mjs), store it in environment octo/billing production with `gh secret set`, or re-run.',
    },
    [
      'Rotation failed',
      '|',
      'Provider | `whmcs`',
      'Credential | WHMCS OAuth credential 7 (billing-sync_api)',
      'Client id | `ac_0b1e7c3d`',
      'Escrow | the new secret, sealed to `recovery-public-key`, is in the log (line `Recovery escrow:`)',
      'Target | Secret | Status',
      '`repo octo/billing` | `WHMCS_CLIENT_SECRET` | written',
      '`environment octo/billing production` | `WHMCS_CLIENT_SECRET` | failed: Could not write secret WHMCS_CLIENT_SECRET in environment octo/billing production: HTTP 404 (see https://docs.github.com/rest/actions/secrets); mail ops@example.com',
      '**What happened:** 1 of 2 secret write(s) failed after the rotation. WHMCS kills the old secret at once: the new one is in the recovery blob below and in repo octo/billing.',
      '**Next step:** Open the recovery blob with the private key (node scripts/open-recovery.mjs), store it in environment octo/billing production with `gh secret set`, or re-run.',
      'Recovery blob (the new secret sealed to `recovery-public-key`):',
      'c2VhbGVkK2JveA==',
    ].join('\n'),
  ],
  [
    'dry run',
    'entra',
    {
      outcome: 'dry-run',
      rotated: false,
      credential: {
        clientId: 'e1c6ac69-480e-4a17-9b85-3467967bd179',
        credentialId: 'e1c6ac69-480e-4a17-9b85-3467967bd179',
        description: 'Entra application billing-api (e1c6ac69-480e-4a17-9b85-3467967bd179)',
        expiresAt: '2027-03-01T00:00:00Z',
        oldSecretDiesOnRotate: false,
      },
      targets: [
        {
          target: 'org octo selected octo/mailer',
          secret: 'AZURE_CLIENT_SECRET',
          status: 'skipped',
        },
      ],
    },
    [
      'Dry run: nothing changed',
      '|',
      'Provider | `entra`',
      'Credential | Entra application billing-api (e1c6ac69-480e-4a17-9b85-3467967bd179)',
      'Client id | `e1c6ac69-480e-4a17-9b85-3467967bd179`',
      'Previous secret expires | 2027-03-01T00:00:00Z',
      'Target | Secret | Status',
      '`org octo selected octo/mailer` | `AZURE_CLIENT_SECRET` | skipped',
    ].join('\n'),
  ],
  [
    'check',
    'keycloak',
    {
      mode: 'check',
      outcome: 'failed',
      rotated: false,
      credential: {
        clientId: 'billing-api',
        credentialId: '0b1e7c3d-5f2a',
        description: 'Keycloak client billing-api in realm apps_prod',
        expiresAt: '2026-12-14T12:00:00Z',
        oldSecretDiesOnRotate: false,
      },
      targets: [
        {
          target: 'repo octo/billing',
          secret: 'KC_CLIENT_SECRET',
          status: 'present',
          updatedAt: '2026-11-01T03:17:00Z',
        },
        { target: 'dependabot octo/billing', secret: 'KC_CLIENT_SECRET', status: 'missing' },
      ],
      failure: 'The secret is missing in 1 of 2 target(s): dependabot octo/billing.',
      nextStep: 'Run the rotation (mode: rotate) to store it everywhere.',
    },
    [
      'Check failed: nothing changed',
      '|',
      'Provider | `keycloak`',
      'Credential | Keycloak client billing-api in realm apps_prod',
      'Client id | `billing-api`',
      'Secret the targets hold expires | 2026-12-14T12:00:00Z (in 10 days)',
      'Target | Secret | Exists | Last updated',
      '`repo octo/billing` | `KC_CLIENT_SECRET` | yes | 2026-11-01T03:17:00Z',
      '`dependabot octo/billing` | `KC_CLIENT_SECRET` | **no** |',
      '**What happened:** The secret is missing in 1 of 2 target(s): dependabot octo/billing.',
      '**Next step:** Run the rotation (mode: rotate) to store it everywhere.',
    ].join('\n'),
  ],
];

describe('each kind of summary, rendered', () => {
  it.each(kinds)(
    '%s: shows exactly the expected text and only its own markup',
    (_, provider, r, expected) => {
      const md = summaryMarkdown(provider, r);
      const html = render(md);
      expect(foreignElements(html)).toEqual([]);
      expect(visible(html)).toBe(expected);
    },
  );

  it.each(kinds)(
    '%s: the raw text escapes nothing that could not change meaning',
    (_, provider, r) => {
      const md = summaryMarkdown(provider, r);
      // Hyphens, underscores inside names, dots, colons, parentheses, slashes and @ stay as written;
      // the only escapes these values need are the autolinks' (scheme:// and an e-mail address).
      expect(md.replace(/https\\:\/\/|ops\\@/g, '')).not.toMatch(/\\[^`|*_[\]\\]/);
      expect(md).not.toMatch(/[\p{L}\p{N}]\\_[\p{L}\p{N}]/u);
      expect(md).toContain(provider === 'vmware-csp' ? 'nightly-build-bot' : '');
    },
  );
});

/** Where untrusted text goes: a table cell (most values) and a paragraph (what happened, next step). */
const contexts: [string, (md: string) => string, (html: string) => string][] = [
  [
    'a table cell',
    (md) => `| | |\n|---|---|\n| Credential | ${md} |\n`,
    (html) =>
      /<tr>\s*<td>Credential<\/td>\s*<td>([^]*?)<\/td>\s*<\/tr>/.exec(html)?.[1] ??
      '<missing cell>',
  ],
  [
    'code in a table cell',
    (md) => `| | |\n|---|---|\n| Target | ${md} |\n`,
    (html) =>
      /<tr>\s*<td>Target<\/td>\s*<td>([^]*?)<\/td>\s*<\/tr>/.exec(html)?.[1] ?? '<missing cell>',
  ],
  [
    'a paragraph',
    (md) => `**What happened:** ${md}\n`,
    (html) =>
      /^<p><strong>What happened:<\/strong>([^]*)<\/p>\s*$/.exec(html)?.[1] ??
      '<missing paragraph>',
  ],
];

/** Renders untrusted `s` where the summary puts it; returns what shows and any foreign element. */
function shown(s: string, [, wrap, pick]: (typeof contexts)[number], code: boolean) {
  const html = render(wrap(code ? markdownCode(s, 1000) : markdownText(s, 1000)));
  const cell = pick(html);
  return {
    text: inline(cell.replace(code ? /^<code>|<\/code>$/g : /$^/, '')),
    foreign: foreignElements(html),
  };
}

// Every character that means something to markdown or HTML, the constructs they make, and text.
const units = fc.constantFrom(
  ...'\\`*_~[]()<>!|$&#;:/@.+-=^{}"\' aZé²1\u00a0',
  'www.',
  'http://',
  'x@y.io',
  '&amp;',
  '&#60;',
  '<b>',
  '](u)',
  '[^1]',
  '__',
  '**',
  '~~',
  'a_b',
);

describe('untrusted text in the summary, rendered', () => {
  for (const context of contexts) {
    const code = context[0].startsWith('code');
    it.each(PLANTS)(`in ${context[0]}: %j shows as written and makes no element`, (plant) => {
      const { text, foreign } = shown(plant, context, code);
      expect(foreign).toEqual([]);
      expect(text).toBe(loggable(plant, 1000).replace(/\s+/g, ' ').trim());
    });

    it(`in ${context[0]}: any mix of markdown's punctuation shows as written and makes no element`, () => {
      fc.assert(
        fc.property(fc.string({ unit: units, maxLength: 24 }), (s) => {
          const { text, foreign } = shown(s, context, code);
          expect(foreign).toEqual([]);
          expect(text).toBe(loggable(s, 1000).replace(/\s+/g, ' ').trim());
        }),
        { numRuns: 400, seed: 21 },
      );
    });
  }
});
