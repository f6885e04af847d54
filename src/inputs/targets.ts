// The `targets` input: one GitHub secret scope a line.
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
      readonly visibility: Visibility;
      /** Repositories (OWNER/NAME) for `selected`, resolved to ids during preflight. */
      readonly repos: readonly string[];
      readonly line: string;
    };

const REPO = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;
const ORG = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
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
  if (v === undefined || !REPO.test(v) || v.includes('..'))
    throw bad(line, `'${v ?? ''}' is not OWNER/NAME`);
  return v;
}

export function parseTargets(text: string): Target[] {
  const targets: Target[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    const [kind, ...rest] = line.split(/\s+/);
    switch (kind) {
      case 'repo':
      case 'dependabot':
        if (rest.length !== 1) throw bad(line, `${kind} takes exactly one OWNER/NAME`);
        targets.push({ kind, repo: repo(line, rest[0]), line });
        break;
      case 'environment': {
        const name = rest.slice(1).join(' ');
        if (name === '' || name.length > 255 || /[/\\]/.test(name))
          throw bad(line, 'environment needs OWNER/NAME then an environment name');
        targets.push({ kind, repo: repo(line, rest[0]), environment: name, line });
        break;
      }
      case 'org':
      case 'dependabot-org': {
        const [org, visibility = 'private', ...repos] = rest;
        if (org === undefined || !ORG.test(org))
          throw bad(line, `'${org ?? ''}' is not an organization name`);
        if (visibility !== 'all' && visibility !== 'private' && visibility !== 'selected') {
          throw bad(line, `visibility '${visibility}' is not all, private or selected`);
        }
        if (visibility === 'selected' && repos.length === 0)
          throw bad(line, 'selected needs at least one OWNER/NAME');
        if (visibility !== 'selected' && repos.length > 0)
          throw bad(line, `repositories are listed only after selected`);
        targets.push({ kind, org, visibility, repos: repos.map((r) => repo(line, r)), line });
        break;
      }
      default:
        throw bad(line, `unknown target kind '${kind ?? ''}'`);
    }
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
      return `env:${t.repo.toLowerCase()}:${t.environment}`;
    case 'org':
    case 'dependabot-org':
      return `${t.kind}:${t.org.toLowerCase()}`;
  }
}
