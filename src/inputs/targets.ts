// The `targets` input: one GitHub secret scope a line.
//
// Comments never change a name. A line whose first non-blank character is `#` is a comment. On
// repo, dependabot, org and dependabot-org lines a `#` after whitespace starts a trailing comment:
// none of their names can hold `#` or whitespace. An environment name can hold both, so on an
// environment line the name is the rest of the line, kept exactly (inner spaces too), and a `#`
// after whitespace is refused as ambiguous; a name written in double quotes (JSON string syntax)
// may hold anything and be followed by a comment.
import { InputError } from './fields.js';

export type Visibility = 'all' | 'private' | 'selected';

export type Target =
  | { readonly kind: 'repo' | 'dependabot'; readonly repo: string; readonly line: string }
  | {
      readonly kind: 'environment';
      readonly repo: string;
      readonly environment: string;
      readonly line: string;
    }
  | {
      readonly kind: 'org' | 'dependabot-org';
      readonly org: string;
      /** Undefined when the line names none: the existing secret's visibility and repositories are kept. */
      readonly visibility: Visibility | undefined;
      /** Repositories (OWNER/NAME) for `selected`, resolved to ids during preflight. */
      readonly repos: readonly string[];
      readonly line: string;
    };

// GitHub's documented limits. Owners: users and organizations, up to 39 characters, letters, digits
// and hyphens (older accounts may have doubled or trailing hyphens; managed users end in
// `_shortcode`). Repositories: up to 100 of letters, digits, `.`, `_`, `-`, but not `.` or `..`.
// Environments: up to 255 characters, any text (sent percent-encoded, `/` as %2F).
const OWNER = /^[A-Za-z0-9][A-Za-z0-9_-]{0,38}$/;
const REPO_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const ORG = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/;
const DOTS = new Set(['.', '..']);
const FORMS = [
  'repo OWNER/NAME',
  'environment OWNER/NAME ENVIRONMENT',
  'org ORG [all|private|selected [OWNER/NAME ...]]',
  'dependabot OWNER/NAME',
  'dependabot-org ORG [all|private|selected [OWNER/NAME ...]]',
].join('; ');

function bad(line: string, why: string): InputError {
  return new InputError(`Input 'targets' line '${line}': ${why}. Expected one of: ${FORMS}.`);
}

function repo(line: string, v: string | undefined): string {
  const [owner = '', name = '', ...more] = (v ?? '').split('/');
  if (more.length > 0 || !OWNER.test(owner) || !REPO_NAME.test(name) || DOTS.has(name))
    throw bad(
      line,
      `'${v ?? ''}' is not OWNER/NAME (owner: up to 39 letters, digits, - or _; name: up to 100 letters, digits, ., _ or -, not . or ..)`,
    );
  return v!;
}

/** `environment OWNER/NAME ENVIRONMENT`: the name is the rest of the line, or a quoted string. */
function environment(text: string): Target {
  const m = /^environment\s+(\S+)(\s*)(.*)$/s.exec(text);
  if (!m || m[3] === '') throw bad(text, 'environment needs OWNER/NAME then an environment name');
  const rest = m[3]!;
  let name: string;
  let line = text;
  if (rest.startsWith('"')) {
    const quoted = /^"(?:[^"\\]|\\.)*"/.exec(rest)?.[0];
    let parsed: unknown;
    try {
      parsed = quoted === undefined ? undefined : JSON.parse(quoted);
    } catch {
      // reported below
    }
    if (typeof parsed !== 'string') throw bad(text, 'the quoted environment name is not closed');
    const after = rest.slice(quoted!.length);
    if (after !== '' && !/^\s+#/.test(after))
      throw bad(text, 'only a # comment may follow a quoted environment name');
    name = parsed;
    line = text.slice(0, text.length - after.length);
  } else {
    if (/\s#/.test(m[2]! + rest))
      throw bad(
        text,
        `'#' after a space is ambiguous in an environment line: write the name in double quotes ("prod #1") if '#' belongs to it, or put the comment on a line of its own`,
      );
    name = rest;
  }
  if (name === '' || [...name].length > 255 || /\p{Cc}/u.test(name) || DOTS.has(name))
    throw bad(
      text,
      `environment name '${name}' is not 1 to 255 characters without control characters, or is . or ..`,
    );
  return { kind: 'environment', repo: repo(text, m[1]), environment: name, line };
}

function parseLine(text: string): Target {
  const kind = /^\S+/.exec(text)![0];
  if (kind === 'environment') return environment(text);
  const line = text.replace(/\s#.*$/s, '').trimEnd();
  const rest = line.split(/\s+/).slice(1);
  switch (kind) {
    case 'repo':
    case 'dependabot':
      if (rest.length !== 1) throw bad(line, `${kind} takes exactly one OWNER/NAME`);
      return { kind, repo: repo(line, rest[0]), line };
    case 'org':
    case 'dependabot-org': {
      const [org, visibility, ...repos] = rest;
      if (org === undefined || !ORG.test(org))
        throw bad(line, `'${org ?? ''}' is not an organization name`);
      if (
        visibility !== undefined &&
        visibility !== 'all' &&
        visibility !== 'private' &&
        visibility !== 'selected'
      ) {
        throw bad(line, `visibility '${visibility}' is not all, private or selected`);
      }
      if (visibility === 'selected' && repos.length === 0)
        throw bad(line, 'selected needs at least one OWNER/NAME');
      if (visibility !== 'selected' && repos.length > 0)
        throw bad(line, `repositories are listed only after selected`);
      return { kind, org, visibility, repos: repos.map((r) => repo(line, r)), line };
    }
    default:
      throw bad(line, `unknown target kind '${kind}'`);
  }
}

export function parseTargets(text: string): Target[] {
  const targets: Target[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    targets.push(parseLine(trimmed));
  }
  const scopes = targets.map(scopeOf);
  const dup = scopes.find((s, i) => scopes.indexOf(s) !== i);
  if (dup)
    throw new InputError(
      `Input 'targets' names the same place twice (${dup}); list each target once.`,
    );
  if (targets.length === 0)
    throw new InputError(`Input 'targets' has no target. Expected one of: ${FORMS}.`);
  return targets;
}

/** The secret scope a target writes into: each has its own public key. Case-insensitive like GitHub. */
export function scopeOf(t: Target): string {
  switch (t.kind) {
    case 'repo':
    case 'dependabot':
      return `${t.kind}:${t.repo.toLowerCase()}`;
    case 'environment':
      return `env:${t.repo.toLowerCase()}:${t.environment.toLowerCase()}`;
    case 'org':
    case 'dependabot-org':
      return `${t.kind}:${t.org.toLowerCase()}`;
  }
}
