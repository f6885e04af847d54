// The inputs every run reads, whatever the provider. Each provider declares its own in its module.
import type { InputSpecs } from './fields.js';

export const commonInputs = {
  'github-token': {
    description:
      'Token allowed to write Actions secrets: a fine-grained PAT or GitHub App token with "Secrets: write" (organization "Secrets: write" for org targets). The job\'s GITHUB_TOKEN cannot write secrets. Give this, or `github-app-id` with `github-app-private-key`.',
    credential: true,
  },
  'github-app-id': {
    description:
      "Sign in as a GitHub App instead of with `github-token`: the App's ID (or Client ID). The action finds the App's installation on each owner its targets name, mints one installation token per owner with only the permissions and repositories those targets need, and revokes every token it minted when the run ends.",
  },
  'github-app-private-key': {
    description:
      "The GitHub App's private key (the PEM file from the App's settings), with `github-app-id`.",
    credential: true,
  },
  'secret-name': {
    description: 'The GitHub secret that receives the new client secret.',
    required: true,
  },
  'client-id-secret-name': {
    description: 'Optional second GitHub secret that receives the client id / identifier.',
  },
  'client-id-variable-name': {
    description:
      "Optional Actions variable that receives the client id / identifier (not a secret: readable in expressions and logs), created or updated in every repository, environment and org target (Dependabot and Codespaces have no variables) and read back by value. An org line without a visibility keeps the existing variable's visibility, like secrets.",
  },
  targets: {
    description:
      "Where to store, one target a line: `repo OWNER/NAME`, `environment OWNER/NAME ENVIRONMENT`, `org ORG [all|private|selected [OWNER/NAME ...]]`, `dependabot OWNER/NAME`, `dependabot-org ORG [all|private|selected [OWNER/NAME ...]]`, `codespaces OWNER/NAME`, `codespaces-org ORG [all|private|selected [OWNER/NAME ...]]`; or a pattern, expanded in preflight to the matching repositories that are not archived or disabled: `repos OWNER/GLOB [topic:NAME ...]`, `environments OWNER/GLOB [topic:NAME ...] ENVIRONMENT`, `dependabot-repos OWNER/GLOB [topic:NAME ...]`, `codespaces-repos OWNER/GLOB [topic:NAME ...]` (GLOB: * any characters, ? one). An org line without a visibility keeps the existing secret's visibility and selected repositories (and fails in preflight when the secret does not exist yet): a rotation never changes who can read a secret unless the line says so. The environment name is the rest of its line, kept exactly (`/` allowed); write it in double quotes when it holds a space followed by #. Blank lines, lines starting with #, and # comments after a space on other lines are ignored. Default: `repo $GITHUB_REPOSITORY`.",
  },
  'max-targets': {
    description:
      'The most targets a run may write after patterns are expanded: more stops the run in preflight, before anything changes (a pattern that matches more than intended).',
    default: '100',
  },
  'github-api-url': {
    description:
      'GitHub API base URL (GHES: https://HOST/api/v3). Default: $GITHUB_API_URL, else https://api.github.com.',
  },
  'dry-run': {
    description:
      "true: validate inputs, authenticate to the provider and fetch every target's public key; change nothing.",
    default: 'false',
  },
  'recovery-public-key': {
    description:
      'Base64 X25519 public key (32 bytes). Every rotation logs the new secret sealed to this key (libsodium sealed box, base64) on a line starting `Recovery escrow:`, before the first target is written, so that a cancelled or killed run still hands it over (docs/recovery.md). When it cannot be stored in every target, it is also in output `recovery` and the job summary.',
  },
  'skip-if-rotated-within': {
    description:
      "Duration (30s, 90m, 12h, 7d): do nothing when every target's secret (and client-id-secret-name's) was updated more recently than this and no failure issue of this rotation is open (with failure-issue-repository; read in preflight). A skipped run never closes the failure issue. At most 366d.",
  },
  'rotate-if-expires-within': {
    description:
      "Duration (30s, 90m, 12h, 7d): rotate only when the credential's current secret expires within it (Entra: the passwords this rotation made, see entra-password-tag; Woodpecker: secret_expires_at; Keycloak: the expiry its secret-rotation policy stamps on the client). Where the provider reports no expiry (CSP, WHMCS, Auth0, Okta, Keycloak without that policy), rotate only when the oldest target secret was updated longer ago than this (or one does not exist), and say so in the log. With skip-if-rotated-within, that guard is checked first; the log and summary name the rule that decided. At most 366d.",
  },
  mode: {
    description:
      "`rotate`: rotate and store. `check`: change nothing; sign in, find the credential, read every target's secret metadata, and report per target whether the secret exists, when it was last updated, and how long until the credential expires (job summary table, output `report`). A check fails the step when a target is missing the secret or the credential expires within fail-if-expires-within.",
    default: 'rotate',
  },
  'fail-if-expires-within': {
    description:
      'With mode: check, a duration (30s, 90m, 12h, 7d): fail the step when the credential expires within it. At most 366d. Ignored where the provider reports no expiry (the report says so).',
  },
  'failure-issue-repository': {
    description:
      'OWNER/NAME: when a run fails, open an issue there (labelled failure-issue-label, titled by credential and secret name) or comment on the open one, with what failed, per target, what was kept and what to do; the next successful run comments and closes it. The github-token needs "Issues: write" on that repository; with github-app-id, the App needs it there, installed on the owner of that repository (the action mints a token with only that permission on that repository, and revokes it). A failure to file the issue is a warning and never changes the outcome.',
  },
  'failure-issue-label': {
    description:
      'The label of the failure issue; the open issue is found by this label and its title.',
    default: 'secret-rotation',
  },
  'request-timeout': {
    description:
      'Limit for one HTTP exchange with GitHub or the provider, as a duration; at most 10m.',
    default: '30s',
  },
  'store-timeout': {
    description:
      "How long storing may keep retrying GitHub after the rotation, as a duration; at most 6h (a hosted job's limit). A run whose writes alone take longer at GitHub's pace of one a second is refused before any request.",
    default: '10m',
  },
} satisfies InputSpecs;
