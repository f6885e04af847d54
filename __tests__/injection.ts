import { micromark } from 'micromark';
import { gfm, gfmHtml } from 'micromark-extension-gfm';

// Command and markup injection: what an attacker who controls a provider's (or GitHub's) answers
// plants in every field the action reads, and the checks that none of it becomes a runner command in
// stdout/stderr or live markup in the job summary. The marker PWNED is in every plant.

export const MARKER = 'PWNED';

export const PLANTS: readonly string[] = [
  '\n::stop-commands::PWNED',
  '::add-mask::PWNED',
  '  ::error::PWNED',
  '##[group]PWNED',
  'x\r::warning::PWNED',
  '\u2028::notice::PWNED',
  '\n## PWNED heading',
  '[PWNED](https://evil.example/link)',
  '![PWNED](https://evil.example/i.png)',
  '<img src=x onerror=alert(1)>PWNED',
  '<a href="https://evil.example">PWNED</a>',
  '<details><summary>PWNED</summary>open me</details>',
  '&lt;b&gt;PWNED&#x3C;/b&#x3E;',
  '`PWNED` | broken | cells',
  'https://evil.example/PWNED www.evil.example',
];

/** One string planting all of the above, as a provider would return it in a single field. */
export const PLANT = PLANTS.join(' ');

/**
 * Lines the runner would parse as a workflow command carried by untrusted text containing `marker`: it
 * splits output on CR and LF, trims leading whitespace and reads `::name::`, and reads the legacy
 * `##[name]` anywhere in a line. The action's own `::error::`/`::warning::` annotations may carry the
 * text as their message, as long as nothing in it could start or shape a command.
 */
export function commandsCarrying(output: string, marker = MARKER): string[] {
  const ownAnnotation = /^::(error|warning|notice|debug)::(?!.*::)/;
  return output.split(/\r\n|\r|\n/).filter((l) => {
    if (!l.includes(marker)) return false;
    const t = l.trimStart();
    return l.includes('##[') || (t.startsWith('::') && !ownAnnotation.test(t));
  });
}

/** The line with every backslash-escaped character blanked: what markdown still reads as syntax. */
function syntaxOf(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\' && i + 1 < line.length) {
      out += '\u0001\u0001';
      i++;
    } else out += line[i];
  }
  return out;
}

/** Problems in summary lines that carry `marker`: markup from untrusted text that would render live. */
export function liveMarkup(summary: string, marker = MARKER): string[] {
  const problems: string[] = [];
  for (const line of summary.split(/\r\n|\r|\n/)) {
    if (!line.includes(marker)) continue;
    // The summary's own markup goes first: code tags around values and bold labels.
    const syntax = syntaxOf(line)
      .replace(/<\/?code>/g, '')
      .replace(/^\*\*(What happened|Next step):\*\*/, '');
    const checks: [string, RegExp][] = [
      ['an HTML tag', /<[a-zA-Z/!?]/],
      ['an HTML entity other than the escapes', /&(?!amp;|lt;|gt;)[#a-zA-Z]/],
      ['a markdown link or image', /[[\]]/],
      ['a code span', /`/],
      ['an autolink', /:\/\/|www\./],
      ['a heading', /^\s*#/],
      // GFM: `_` between two letters or digits opens and closes nothing (`client_keys`).
      ['emphasis', /[*~]|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/u],
    ];
    for (const [what, re] of checks) if (re.test(syntax)) problems.push(`${what}: ${line}`);
    if ((syntax.match(/\|/g) ?? []).length > 4) problems.push(`extra table cells: ${line}`);
  }
  return problems;
}

/** Markdown as GitHub renders it: CommonMark with GitHub's extensions, raw HTML kept (micromark). */
export function render(markdown: string): string {
  return micromark(markdown, {
    extensions: [gfm()],
    htmlExtensions: [gfmHtml()],
    allowDangerousHtml: true,
  });
}

/** The only elements a job summary renders to, none with attributes: its own markup. */
const OWN = new Set([
  'h2',
  'p',
  'strong',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'code',
  'pre',
]);

/** Elements in rendered HTML that the summary's own markup does not make (a link, an image, ...). */
export function foreignElements(html: string): string[] {
  return [...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>/g)]
    .filter(([, tag, attrs]) => !OWN.has(tag!.toLowerCase()) || attrs!.trim() !== '')
    .map(([m]) => m);
}
