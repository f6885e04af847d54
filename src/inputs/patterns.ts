// Pattern lines of the `targets` input: one line that names many repositories of one owner, by a
// name glob and optionally topics, expanded in preflight (src/expand.ts) to ordinary targets.
//   repos OWNER/GLOB [topic:NAME ...]                        -> repo OWNER/NAME, one per repository
//   environments OWNER/GLOB [topic:NAME ...] ENVIRONMENT     -> environment OWNER/NAME ENVIRONMENT
//   dependabot-repos OWNER/GLOB [topic:NAME ...]             -> dependabot OWNER/NAME
//   codespaces-repos OWNER/GLOB [topic:NAME ...]             -> codespaces OWNER/NAME
// GLOB: letters, digits, `.`, `_`, `-`, with `*` for any run of characters and `?` for one,
// matched case-insensitively against the whole name. Every `topic:` must be on the repository.
import { InputError } from './fields.js';
import {
  bad,
  environmentName,
  forms,
  OWNER,
  parseLine,
  REPO_NAME,
  scopeOf,
  type Target,
  words,
} from './targets.js';

export const PATTERN_KINDS = {
  repos: 'repo',
  environments: 'environment',
  'dependabot-repos': 'dependabot',
  'codespaces-repos': 'codespaces',
} as const;

export interface Pattern {
  /** The kind of the targets it expands to. */
  readonly kind: (typeof PATTERN_KINDS)[keyof typeof PATTERN_KINDS];
  readonly owner: string;
  /** The name glob as written. */
  readonly glob: string;
  /** Topics every matching repository must have (lower case, as GitHub stores them). */
  readonly topics: readonly string[];
  /** environments: the environment name, and as written on the line (quoted or not). */
  readonly environment?: { readonly name: string; readonly written: string };
  readonly line: string;
}

const GLOB = /^[A-Za-z0-9._*?-]{1,100}$/;
const TOPIC = /^topic:([a-z0-9][a-z0-9-]{0,49})$/;

function ownerGlob(line: string, v: string | undefined): { owner: string; glob: string } {
  const [owner = '', glob = '', ...more] = (v ?? '').split('/');
  if (more.length > 0 || !OWNER.test(owner) || !GLOB.test(glob))
    throw bad(
      line,
      `'${v ?? ''}' is not OWNER/GLOB (a literal owner; a name of letters, digits, ., _ or - with * for any run of characters and ? for one)`,
    );
  return { owner, glob };
}

function topics(line: string, ws: readonly string[]): string[] {
  return ws.map((w) => {
    const m = TOPIC.exec(w);
    if (!m)
      throw bad(line, `'${w}' is not topic:NAME (lower-case letters, digits and -, up to 50)`);
    return m[1]!;
  });
}

export function parsePattern(text: string): Pattern {
  const word = /^\S+/.exec(text)![0] as keyof typeof PATTERN_KINDS;
  const kind = PATTERN_KINDS[word];
  if (kind === 'environment') {
    const m = /^environments\s+(\S+)((?:\s+topic:\S*)*)(\s*)(.*)$/s.exec(text);
    if (!m || m[4] === '')
      throw bad(
        text,
        'environments needs OWNER/GLOB, optional topic:NAME, then an environment name',
      );
    const { name, line } = environmentName(text, m[3]!, m[4]!);
    const written = line.slice(text.length - m[4]!.length);
    return {
      kind,
      ...ownerGlob(line, m[1]),
      topics: topics(line, m[2]!.trim() === '' ? [] : m[2]!.trim().split(/\s+/)),
      environment: { name, written },
      line,
    };
  }
  const { line, rest } = words(text);
  const [first, ...more] = rest;
  return { kind, ...ownerGlob(line, first), topics: topics(line, more), line };
}

export function isPatternLine(text: string): boolean {
  return Object.hasOwn(PATTERN_KINDS, /^\S+/.exec(text)![0]);
}

/** Every line of the `targets` input: ordinary targets, and patterns to expand in preflight. */
export function parseTargetLines(text: string): { targets: Target[]; patterns: Pattern[] } {
  const targets: Target[] = [];
  const patterns: Pattern[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (isPatternLine(trimmed)) patterns.push(parsePattern(trimmed));
    else targets.push(parseLine(trimmed));
  }
  const scopes = targets.map(scopeOf);
  const dup = scopes.find((s, i) => scopes.indexOf(s) !== i);
  if (dup)
    throw new InputError(
      `Input 'targets' names the same place twice (${dup}); list each target once.`,
    );
  if (targets.length === 0 && patterns.length === 0)
    throw new InputError(`Input 'targets' has no target. Expected one of: ${forms()}.`);
  return { targets, patterns };
}

/** What a listing says of one repository. */
export interface ListedRepo {
  readonly fullName: string;
  readonly archived: boolean;
  readonly disabled: boolean;
  readonly topics: readonly string[];
}

/** Whether a listed repository is one the pattern names (archived and disabled ones aside). */
export function matches(p: Pattern, r: ListedRepo): boolean {
  const [owner = '', name = ''] = r.fullName.split('/');
  const glob = new RegExp(
    `^${p.glob
      .replace(/[.+^${}()|[\]\\-]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return (
    owner.toLowerCase() === p.owner.toLowerCase() &&
    REPO_NAME.test(name) &&
    glob.test(name) &&
    p.topics.every((t) => r.topics.includes(t))
  );
}

/** The target a pattern makes of one matching repository, as if its line had been written. */
export function targetOf(p: Pattern, fullName: string): Target {
  if (p.kind === 'environment')
    return {
      kind: 'environment',
      repo: fullName,
      environment: p.environment!.name,
      line: `environment ${fullName} ${p.environment!.written}`,
    };
  return { kind: p.kind, repo: fullName, line: `${p.kind} ${fullName}` };
}
