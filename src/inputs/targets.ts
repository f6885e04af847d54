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

export interface RepoTarget {
  readonly kind: 'repo' | 'dependabot' | 'codespaces';
  readonly repo: string;
  readonly line: string;
}

export interface EnvironmentTarget {
  readonly kind: 'environment';
  readonly repo: string;
  readonly environment: string;
  readonly line: string;
}

export interface OrgTarget {
  readonly kind: 'org' | 'dependabot-org' | 'codespaces-org';
  readonly org: string;
  /** Undefined when the line names none: the existing secret's visibility and repositories are kept. */
  readonly visibility: Visibility | undefined;
  /** Repositories (OWNER/NAME) for `selected`, resolved to ids during preflight. */
  readonly repos: readonly string[];
  readonly line: string;
}

export type Target = RepoTarget | EnvironmentTarget | OrgTarget;

/** The target type whose kinds include K. */
type Having<T, K> = T extends { readonly kind: infer Ks } ? (K extends Ks ? T : never) : never;
type TargetOf<K extends Target['kind']> = Having<Target, K>;

/** Everything that differs between target kinds, in one place. */
interface Kind<T extends Target> {
  /** The line's form, for error messages. */
  readonly form: string;
  /** A line of this kind, trimmed, comments included (each kind's grammar decides on them). */
  readonly parse: (text: string) => T;
  /** The secret scope: each has its own public key. Case-insensitive like GitHub. */
  readonly scope: (t: T) => string;
  /** The REST path that `/secrets/...` hangs from. */
  readonly path: (t: T) => string;
  /** The REST path that `/variables/...` hangs from; undefined where GitHub has no variables. */
  readonly variables: ((t: T) => string) | undefined;
  /** Organization scope: a write names who may read the secret, kept from the existing secret when the line names no visibility. */
  readonly org: T extends OrgTarget ? true : false;
  /** Why GitHub answered 403 or 404, without echoing its body. */
  readonly forbidden: string;
  readonly missing: string;
}

const encodedRepo = (r: string): string => r.split('/').map(encodeURIComponent).join('/');
const NO_WRITE = `(the job's GITHUB_TOKEN cannot write secrets; use a GitHub App token or fine-grained PAT)`;
const REPO_FORBIDDEN = `the github-token lacks "Secrets: write" on this repository ${NO_WRITE}`;
/** The permission a kind's secrets need, by API: Dependabot and Codespaces secrets have their own. */
const PERMISSION: Record<string, string> = {
  actions: 'Secrets',
  dependabot: 'Dependabot secrets',
  codespaces: 'Codespaces secrets',
};
const NOT_FOUND = 'it does not exist, or the github-token cannot see it';

function repoKind(kind: RepoTarget['kind'], api: string, variables: boolean): Kind<RepoTarget> {
  return {
    form: `${kind} OWNER/NAME`,
    parse: (text) => {
      const { line, rest } = words(text);
      if (rest.length !== 1) throw bad(line, `${kind} takes exactly one OWNER/NAME`);
      return { kind, repo: repo(line, rest[0]), line };
    },
    scope: (t) => `${kind}:${t.repo.toLowerCase()}`,
    path: (t) => `/repos/${encodedRepo(t.repo)}/${api}`,
    variables: variables ? (t) => `/repos/${encodedRepo(t.repo)}/${api}` : undefined,
    org: false,
    forbidden: `the github-token lacks "${PERMISSION[api]}: write" on this repository ${NO_WRITE}`,
    missing: NOT_FOUND,
  };
}

function orgKind(kind: OrgTarget['kind'], api: string, variables: boolean): Kind<OrgTarget> {
  return {
    form: `${kind} ORG [all|private|selected [OWNER/NAME ...]]`,
    parse: (text) => orgLine(kind, text),
    scope: (t) => `${kind}:${t.org.toLowerCase()}`,
    path: (t) => `/orgs/${encodeURIComponent(t.org)}/${api}`,
    variables: variables ? (t) => `/orgs/${encodeURIComponent(t.org)}/${api}` : undefined,
    org: true,
    forbidden: `the github-token lacks organization "${PERMISSION[api]}: write" ${NO_WRITE}`,
    missing: NOT_FOUND,
  };
}

export const TARGET_KINDS: { readonly [K in Target['kind']]: Kind<TargetOf<K>> } = {
  repo: repoKind('repo', 'actions', true),
  environment: {
    form: 'environment OWNER/NAME ENVIRONMENT',
    parse: environment,
    scope: (t) => `env:${t.repo.toLowerCase()}:${t.environment.toLowerCase()}`,
    path: (t) => `/repos/${encodedRepo(t.repo)}/environments/${encodeURIComponent(t.environment)}`,
    variables: (t) =>
      `/repos/${encodedRepo(t.repo)}/environments/${encodeURIComponent(t.environment)}`,
    org: false,
    forbidden: REPO_FORBIDDEN,
    missing: 'the repository or environment does not exist, or the github-token cannot see it',
  },
  org: orgKind('org', 'actions', true),
  // Dependabot has secrets but no variables.
  dependabot: repoKind('dependabot', 'dependabot', false),
  'dependabot-org': orgKind('dependabot-org', 'dependabot', false),
  // Codespaces secrets: their own scope keys and permissions; no variables either.
  codespaces: repoKind('codespaces', 'codespaces', false),
  'codespaces-org': orgKind('codespaces-org', 'codespaces', false),
};

/** The description of `t`'s kind. */
export function kindOf(t: Target): Kind<Target> {
  return TARGET_KINDS[t.kind] as Kind<Target>;
}

export function isOrg(t: Target): t is OrgTarget {
  return kindOf(t).org;
}

/** The secret scope a target writes into: each has its own public key. Case-insensitive like GitHub. */
export function scopeOf(t: Target): string {
  return kindOf(t).scope(t);
}

/** The REST path that the target's `/secrets/...` hangs from. */
export function scopePath(t: Target): string {
  return kindOf(t).path(t);
}

/** The REST path that the target's `/variables/...` hangs from, or undefined when its kind has none. */
export function variablesPath(t: Target): string | undefined {
  return kindOf(t).variables?.(t);
}

/** Whether GitHub has Actions variables in the target's scope (Dependabot and Codespaces have none). */
export function hasVariables(t: Target): boolean {
  return kindOf(t).variables !== undefined;
}

// GitHub's documented limits. Owners: users and organizations, up to 39 characters, letters, digits
// and hyphens (older accounts may have doubled or trailing hyphens; managed users end in
// `_shortcode`). Repositories: up to 100 of letters, digits, `.`, `_`, `-`, but not `.` or `..`.
// Environments: up to 255 characters, any text (sent percent-encoded, `/` as %2F).
export const OWNER = /^[A-Za-z0-9][A-Za-z0-9_-]{0,38}$/;
export const REPO_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const ORG = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/;
const DOTS = new Set(['.', '..']);
/** The pattern lines (src/inputs/patterns.ts), named here so every error lists every form. */
const PATTERN_FORMS = [
  'repos OWNER/GLOB [topic:NAME ...]',
  'environments OWNER/GLOB [topic:NAME ...] ENVIRONMENT',
  'dependabot-repos OWNER/GLOB [topic:NAME ...]',
  'codespaces-repos OWNER/GLOB [topic:NAME ...]',
];
export const forms = (): string =>
  [...Object.values(TARGET_KINDS).map((k) => k.form), ...PATTERN_FORMS].join('; ');

export function bad(line: string, why: string): InputError {
  return new InputError(`Input 'targets' line '${line}': ${why}. Expected one of: ${forms()}.`);
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
function environment(text: string): EnvironmentTarget {
  const m = /^environment\s+(\S+)(\s*)(.*)$/s.exec(text);
  if (!m || m[3] === '') throw bad(text, 'environment needs OWNER/NAME then an environment name');
  const { name, line } = environmentName(text, m[2]!, m[3]!);
  return { kind: 'environment', repo: repo(text, m[1]), environment: name, line };
}

/**
 * The environment name that ends line `text`: `rest`, after `gap` (the blanks before it), as written
 * or in double quotes; `line` is `text` without a comment after a quoted name.
 */
export function environmentName(
  text: string,
  gap: string,
  rest: string,
): { name: string; line: string } {
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
    if (/\s#/.test(gap + rest))
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
  return { name, line };
}

/** A line without its trailing comment, and the words after the kind. */
export function words(text: string): { line: string; rest: string[] } {
  const line = text.replace(/\s#.*$/s, '').trimEnd();
  return { line, rest: line.split(/\s+/).slice(1) };
}

function orgLine(kind: OrgTarget['kind'], text: string): OrgTarget {
  const { line, rest } = words(text);
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

export function parseLine(text: string): Target {
  const kind = /^\S+/.exec(text)![0];
  if (!Object.hasOwn(TARGET_KINDS, kind))
    throw bad(words(text).line, `unknown target kind '${kind}'`);
  return TARGET_KINDS[kind as Target['kind']].parse(text);
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
    throw new InputError(`Input 'targets' has no target. Expected one of: ${forms()}.`);
  return targets;
}
