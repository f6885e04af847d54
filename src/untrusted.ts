// The one place where text the action does not control (provider answers, GitHub answers, inputs)
// becomes text that is safe to print or to put in the job summary, and the only module that prints.
//
// The runner reads workflow commands from every stdout and stderr line: `::name::data` at the start of
// a line (after leading whitespace) and the legacy `##[name]data` anywhere in a line. A provider that
// could start a line with `::stop-commands::TOKEN` would switch off the `::add-mask::` of the new
// secret. So every printed message goes through `loggable()`: one line, no control characters, no `::`
// and no `##[`, known secrets redacted, and a bounded length. ESLint forbids `core.info`, `console.*` and
// friends everywhere else (eslint.config.js), so no log call can skip this module.
import * as core from '@actions/core';

/** Every known secret in every form it may take in provider text, longest first when used. */
const secrets = new Set<string>();
/** The set in use: this process's; the in-process end-to-end runner (tests) gives each run its own. */
let known = (): Set<string> => secrets;

/** Tests only: where `mask()` and `redact()` keep their secrets; without an argument, the process's set. */
export function setSecretSet(of?: () => Set<string>): void {
  known = of ?? (() => secrets);
}

/** Registers a secret with the runner's log masking and with `redact()`, with its usual encodings. */
export function mask(value: string): void {
  if (!value) return;
  core.setSecret(value);
  if (value.length < 4) return; // too short to find safely inside other text; the runner still masks it
  const forms = [
    value,
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
    Buffer.from(value).toString('base64').replace(/=+$/, ''),
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    JSON.stringify(value).slice(1, -1),
  ];
  const set = known();
  for (const f of forms) set.add(f);
}

/** Replaces every registered secret (in any registered encoding) with `***`. Runs before any cut. */
export function redact(text: string): string {
  let out = text;
  for (const s of [...known()].sort((a, b) => b.length - a.length))
    if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

/** Longest message printed as one log line; provider fragments are cut much shorter by callers. */
export const MAX_LOG = 4000;

/**
 * Untrusted text as one printable line: secrets redacted first, then line breaks and control
 * characters (C0, C1, DEL, Unicode line and paragraph separators, bidi controls) become spaces, `::` can
 * no longer start a command and `##[` no longer opens one, then the length is capped at `max`.
 */
export function loggable(text: unknown, max = 200): string {
  const s = redact(String(text))
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, ' ')
    .replace(/:(?=:)/g, ': ')
    .replace(/#(?=\[)/g, '# ');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * Untrusted text for the job summary and the failure issue: `loggable()`, then escaped so that it
 * renders as exactly the same visible text in GitHub Flavored Markdown, with nothing live in it: no
 * link (inline, reference, autolink or GFM's bare `www.`, `scheme://` and e-mail autolinks), image,
 * footnote, HTML element or entity, code span, emphasis, strikethrough, math or extra table cell.
 * The text is one line inside a table cell or a paragraph, never at a line's start, so what only
 * means something there (`#`, `-`, `+`, `>`, `1.`) is escaped only at the value's own start, and every
 * other mark that cannot change meaning (`-`, `_` inside a word, `.`, `:`, `(`, `#`) is left alone:
 * the raw summary and the failure issue stay readable (`nightly-build-bot`, `CLIENT_SECRET`).
 * __tests__/summary-render.test.ts renders every kind of summary to check both.
 */
export function markdownText(text: unknown, max = 200): string {
  return (
    loggable(text, max)
      // Always live: escapes, code spans, emphasis, strikethrough, links and images, cells, math, HTML.
      .replace(/[\\`*~[\]|$<]/g, '\\$&')
      // `_` opens or closes emphasis unless it sits between two letters or digits.
      .replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, '\\_')
      // A character reference (`&amp;`, `&#60;`) would show as the character it names.
      .replace(/&(?=#?[a-z0-9]+;)/gi, '\\&')
      // GFM's bare autolinks: `scheme://`, `www.` and e-mail addresses.
      .replace(/:(?=\/\/)/g, '\\:')
      .replace(/(?<![\p{L}\p{N}])(www)\./giu, '$1\\.')
      .replace(/(?<=[\p{L}\p{N}._+-])@/gu, '\\@')
      // Defence in depth: were a value ever put at a line's start, it still starts no block.
      .replace(/^(\s*)([#>+=-])/, '$1\\$2')
      .replace(/^(\s*\d+)([.)])/, '$1\\$2')
  );
}

/** Untrusted text shown as code in the summary: `<code>` holds the escaped text, so it cannot break out. */
export function markdownCode(text: unknown, max = 200): string {
  return `<code>${markdownText(text, max)}</code>`;
}

// The sinks. Messages are built by the action from its own words and untrusted parts; the whole
// message is made loggable, so a part that was not cut by its caller is still safe.
export const log = {
  info: (message: string): void => core.info(loggable(message, MAX_LOG)),
  warn: (message: string): void => core.warning(loggable(message, MAX_LOG)),
  fail: (message: string): void => core.setFailed(loggable(message, MAX_LOG)),
};

/** Octokit's logger: its deprecation warning carries GitHub's `sunset` and `link` headers. */
export const octokitLog = {
  debug: (): void => undefined,
  info: (): void => undefined,
  warn: (message: unknown): void => log.warn(`GitHub client: ${loggable(message, 300)}`),
  error: (message: unknown): void => log.warn(`GitHub client: ${loggable(message, 300)}`),
};
