// Target lines at the edges of GitHub's name rules, shared by the parser's unit tests, the bad-input
// table and the good-input table that sends each name to the GitHub emulator. Rules (README):
// owners up to 39 letters, digits, `-` (managed users `_`); repositories up to 100 letters, digits,
// `.`, `_`, `-` but not `.` or `..`; organizations up to 39 letters, digits, `-`; environments
// 1 to 255 characters of any text but control characters, not `.` or `..`, sent percent-encoded.

/** A legal line and where it must land: the fields the parser returns. */
export interface GoodTarget {
  readonly why: string;
  readonly line: string;
  readonly kind: 'repo' | 'environment' | 'org' | 'dependabot' | 'dependabot-org';
  readonly repo?: string;
  readonly environment?: string;
  readonly org?: string;
}

const LONG_ENV = `${'x/y '.repeat(63)}end`; // 255 characters, slashes and spaces included
const LONG_OWNER = `o${'-0'.repeat(19)}`; // 39 characters
const LONG_REPO = `r.${'_-'.repeat(49)}`; // 100 characters
const LONG_ORG = `org-${'a'.repeat(35)}`; // 39 characters

export const GOOD_TARGETS: readonly GoodTarget[] = [
  {
    why: 'environment with a slash',
    line: 'environment octo/app prod/eu',
    kind: 'environment',
    repo: 'octo/app',
    environment: 'prod/eu',
  },
  {
    why: 'environment with " #" in double quotes',
    line: 'environment octo/app "prod #1"',
    kind: 'environment',
    repo: 'octo/app',
    environment: 'prod #1',
  },
  {
    why: 'quoted environment then a comment',
    line: 'environment octo/app "prod #1"   # the first production',
    kind: 'environment',
    repo: 'octo/app',
    environment: 'prod #1',
  },
  {
    why: 'environment with # not after a space',
    line: 'environment octo/app prod#1',
    kind: 'environment',
    repo: 'octo/app',
    environment: 'prod#1',
  },
  {
    why: 'environment with repeated spaces',
    line: 'environment octo/app Production  EU',
    kind: 'environment',
    repo: 'octo/app',
    environment: 'Production  EU',
  },
  {
    why: 'environment after several spaces and a tab',
    line: 'environment  octo/app \t staging',
    kind: 'environment',
    repo: 'octo/app',
    environment: 'staging',
  },
  {
    why: 'environment with URL syntax',
    line: 'environment octo/app prod?x=1&y=2;z',
    kind: 'environment',
    repo: 'octo/app',
    environment: 'prod?x=1&y=2;z',
  },
  {
    why: 'environment with percent signs',
    line: 'environment octo/app 100% %2F',
    kind: 'environment',
    repo: 'octo/app',
    environment: '100% %2F',
  },
  {
    why: 'environment in Unicode',
    line: 'environment octo/app übung café ☃',
    kind: 'environment',
    repo: 'octo/app',
    environment: 'übung café ☃',
  },
  {
    why: 'environment of three dots',
    line: 'environment octo/app ...',
    kind: 'environment',
    repo: 'octo/app',
    environment: '...',
  },
  {
    why: 'environment starting with a dot',
    line: 'environment octo/app .well-known',
    kind: 'environment',
    repo: 'octo/app',
    environment: '.well-known',
  },
  {
    why: 'environment with a backslash',
    line: 'environment octo/app back\\slash',
    kind: 'environment',
    repo: 'octo/app',
    environment: 'back\\slash',
  },
  {
    why: 'quoted environment holding quotes',
    line: 'environment octo/app "say \\"hi\\""',
    kind: 'environment',
    repo: 'octo/app',
    environment: 'say "hi"',
  },
  {
    why: 'environment of 255 characters',
    line: `environment octo/app ${LONG_ENV}`,
    kind: 'environment',
    repo: 'octo/app',
    environment: LONG_ENV,
  },
  { why: 'the .github repository', line: 'repo octo/.github', kind: 'repo', repo: 'octo/.github' },
  {
    why: 'repository with two dots inside',
    line: 'repo octo/a..b',
    kind: 'repo',
    repo: 'octo/a..b',
  },
  {
    why: 'repo line with a trailing comment',
    line: 'repo octo/app # the main one',
    kind: 'repo',
    repo: 'octo/app',
  },
  {
    why: 'managed-user owner and every repository character',
    line: 'repo octo-corp_emu/My.Repo_name-2',
    kind: 'repo',
    repo: 'octo-corp_emu/My.Repo_name-2',
  },
  {
    why: 'owner of 39 and repository of 100 characters',
    line: `repo ${LONG_OWNER}/${LONG_REPO}`,
    kind: 'repo',
    repo: `${LONG_OWNER}/${LONG_REPO}`,
  },
  { why: 'one-character names', line: 'repo a/b', kind: 'repo', repo: 'a/b' },
  {
    why: 'dependabot in the .github repository',
    line: 'dependabot octo/.github',
    kind: 'dependabot',
    repo: 'octo/.github',
  },
  { why: 'organization of 39 characters', line: `org ${LONG_ORG} all`, kind: 'org', org: LONG_ORG },
  {
    why: 'dependabot-org with a trailing comment',
    line: 'dependabot-org octo-corp private  # shared',
    kind: 'dependabot-org',
    org: 'octo-corp',
  },
];

/** Illegal lines: each must fail naming input 'targets' before any request. */
export const BAD_TARGETS: readonly [why: string, line: string][] = [
  ['repository named .', 'repo octo/.'],
  ['repository named ..', 'repo octo/..'],
  ['owner named .', 'repo ./app'],
  ['owner named ..', 'repo ../app'],
  ['a third path segment', 'repo octo/app/..'],
  ['dependabot repository named .', 'dependabot octo/.'],
  ['selected repository named ..', 'org octo selected octo/..'],
  ['environment repository named .', 'environment octo/. prod'],
  ['environment named ..', 'environment octo/app ..'],
  ['environment named .', 'environment octo/app .'],
  ['quoted environment named ..', 'environment octo/app ".."'],
  ['environment with " #" unquoted (ambiguous)', 'environment octo/app prod #1'],
  ['environment that is only a comment', 'environment octo/app #prod'],
  ['environment quote not closed', 'environment octo/app "prod #1'],
  ['text after a quoted environment', 'environment octo/app "prod" eu'],
  ['quoted environment with a bad escape', 'environment octo/app "prod\\x"'],
  ['empty quoted environment', 'environment octo/app ""'],
  ['environment of 256 characters', `environment octo/app ${'e'.repeat(256)}`],
  ['environment with a control character', 'environment octo/app pro\u0007d'],
  ['quoted environment with a tab', 'environment octo/app "pro\\td"'],
  ['owner of 40 characters', `repo ${'o'.repeat(40)}/app`],
  ['repository of 101 characters', `repo octo/${'r'.repeat(101)}`],
  ['owner starting with a hyphen', 'repo -octo/app'],
  ['owner with a dot', 'repo octo.corp/app'],
  ['repository with a space', 'repo octo/my app'],
  ['repository with # not after a space', 'repo octo/app#main'],
  ['repository with a percent escape', 'repo octo/ap%70'],
  ['repository with a query', 'repo octo/app?x=1'],
  ['empty repository name', 'repo octo/'],
  ['organization of 40 characters', `org ${'o'.repeat(40)} all`],
  ['organization with an underscore', 'org octo_corp all'],
  ['organization starting with a hyphen', 'dependabot-org -octo all'],
  ['organization with a dot', 'org octo. all'],
  ['same environment in another case', 'environment octo/app Prod\nenvironment octo/app prod'],
];
