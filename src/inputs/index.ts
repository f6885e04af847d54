// Raw inputs -> typed, validated settings. Pure: no I/O, nothing logged; every bad value throws an
// InputError naming the input, before any request is made. Also the one list of declared inputs, from
// which action.yml, the README tables and the inputs to mask follow.
import { providers, type ProviderName, type ProviderSettings } from '../providers/index.js';
import { type FailureIssue, parseFailureIssue } from './issue.js';
import { commonInputs } from './common.js';
import {
  bool,
  duration,
  integer,
  oneOf,
  InputError,
  type InputSpec,
  type InputSpecs,
  MAX_MS,
  optional,
  type Read,
  required,
  secretName,
  url,
} from './fields.js';
import { type Pattern, parseTargetLines } from './patterns.js';
import { type GitHubAuth, githubAuth } from './signin.js';
import { hasVariables, type Target, TARGET_KINDS } from './targets.js';

export { InputError, type InputSpec, type Read } from './fields.js';
export type { Target } from './targets.js';
export type { Pattern } from './patterns.js';
export type { ProviderName, ProviderSettings } from '../providers/index.js';
export type { CspSettings } from '../providers/csp.js';
export type { EntraSettings } from '../providers/entra.js';
export type { KeycloakSettings } from '../providers/keycloak-inputs.js';
export type { WhmcsSettings } from '../providers/whmcs.js';
export type { WoodpeckerSettings } from '../providers/woodpecker.js';
export type { Auth0Settings } from '../providers/auth0.js';
export type { OktaSettings } from '../providers/okta.js';

export const PROVIDERS = Object.keys(providers) as ProviderName[];

const providerInput = {
  provider: {
    description: `Where the credential lives: ${PROVIDERS.slice(0, -1).join(', ')} or ${PROVIDERS.at(-1)}.`,
    required: true,
  },
} satisfies InputSpecs;

/**
 * Every input, in action.yml's order: the common ones, then each provider's own (an input that
 * several providers read, such as Entra's for Woodpecker, is declared once and listed first where
 * declared). A name declared twice with different specs is a mistake, refused here.
 */
export const INPUT_GROUPS: readonly InputSpecs[] = (() => {
  const seen = new Map<string, InputSpec>();
  const groups: InputSpecs[] = [];
  for (const group of [
    { ...providerInput, ...commonInputs },
    ...Object.values(providers).map((p) => p.inputs),
  ]) {
    const fresh: Record<string, InputSpec> = {};
    for (const [name, spec] of Object.entries(group)) {
      const known = seen.get(name);
      if (known !== undefined && known !== spec)
        throw new Error(`Input '${name}' is declared twice, differently.`);
      if (known === undefined) fresh[name] = spec;
      seen.set(name, spec);
    }
    groups.push(fresh);
  }
  return groups;
})();

export const INPUTS: InputSpecs = Object.assign({}, ...INPUT_GROUPS);

/** Masked before anything else happens: follows from the declarations, so none can be forgotten. */
export const CREDENTIAL_INPUTS: readonly string[] = Object.entries(INPUTS)
  .filter(([, spec]) => spec.credential)
  .map(([name]) => name);

/** A reader that refuses names not declared in `specs`: what a parser reads is what action.yml lists. */
function declared(read: Read, specs: InputSpecs): Read {
  return (name) => {
    if (!Object.hasOwn(specs, name)) throw new Error(`Input '${name}' is read but not declared.`);
    return read(name);
  };
}

export type { GitHubAuth } from './signin.js';

export interface Settings {
  readonly provider: ProviderSettings;
  readonly github: {
    readonly auth: GitHubAuth;
    readonly apiUrl: string;
    /** Receives the new client secret. */
    readonly secretName: string;
    /** Receives the client id, when given. */
    readonly clientIdSecretName: string | undefined;
    /** The Actions variable that receives the client id, when given. */
    readonly clientIdVariableName: string | undefined;
    readonly targets: readonly Target[];
    /** Pattern lines, expanded to more targets in preflight. */
    readonly patterns: readonly Pattern[];
    /** The most targets a run may write, patterns expanded. */
    readonly maxTargets: number;
  };
  /** failure-issue-repository and its title (src/issue.ts), when given. */
  readonly failureIssue: FailureIssue | undefined;
  /** `check`: read and report, change nothing (src/check.ts). */
  readonly mode: 'rotate' | 'check';
  /** With mode check: fail when the credential expires within this. */
  readonly failIfExpiresWithinMs: number | undefined;
  /** Validate, authenticate and fetch keys; change nothing. */
  readonly dryRun: boolean;
  /** X25519 public key that the new secret is sealed to when it cannot be stored everywhere. */
  readonly recoveryKey: Uint8Array | undefined;
  readonly skipIfRotatedWithinMs: number | undefined;
  /** Rotate only when the current secret expires within this (src/due.ts). */
  readonly rotateIfExpiresWithinMs: number | undefined;
  /** Limit for one HTTP exchange. */
  readonly requestTimeoutMs: number;
  /** How long storing may keep retrying after the rotation (the new secret exists only here meanwhile). */
  readonly storeTimeoutMs: number;
}

/** `env` supplies the runner's defaults (GITHUB_REPOSITORY, GITHUB_API_URL). */
export function parseInputs(
  read: Read,
  env: Readonly<Record<string, string | undefined>>,
): Settings {
  const all = read;
  read = declared(all, { ...providerInput, ...commonInputs });
  const name = required(read, 'provider', `one of ${PROVIDERS.join(', ')}`);
  if (!Object.hasOwn(providers, name)) {
    throw new InputError(
      `Input 'provider' is '${name}'; expected one of: ${PROVIDERS.join(', ')}.`,
    );
  }
  const repository = env['GITHUB_REPOSITORY'];
  // The default identity of this rotation's Entra passwords (see EntraSettings.passwordTag).
  const defaultTag = `${name} ${repository ?? 'local'} ${optional(read, 'secret-name') ?? ''}`
    .replace(/[^A-Za-z0-9._:/@ -]/g, '_')
    .slice(0, 100);
  const module = providers[name as ProviderName];
  const provider = module.parse(declared(all, module.inputs), {
    defaultTag,
    env,
  }) as ProviderSettings;

  const targetText = optional(read, 'targets') ?? (repository ? `repo ${repository}` : undefined);
  if (targetText === undefined)
    throw new InputError(
      `Input 'targets' is required outside GitHub Actions (GITHUB_REPOSITORY is not set), e.g. 'repo OWNER/NAME'.`,
    );

  const secret = secretName(
    'secret-name',
    required(read, 'secret-name', 'the GitHub secret that receives the new client secret'),
  );
  const clientIdSecret = optional(read, 'client-id-secret-name');
  if (clientIdSecret !== undefined) {
    secretName('client-id-secret-name', clientIdSecret);
    if (clientIdSecret.toUpperCase() === secret.toUpperCase()) {
      throw new InputError(
        `Input 'client-id-secret-name' is '${clientIdSecret}', the same as 'secret-name'; GitHub names are case-insensitive, pick another.`,
      );
    }
  }

  const { targets, patterns } = parseTargetLines(targetText);
  const clientIdVariable = optional(read, 'client-id-variable-name');
  if (clientIdVariable !== undefined) {
    secretName('client-id-variable-name', clientIdVariable, 'variable');
    if (
      !targets.some(hasVariables) &&
      !patterns.some((p) => TARGET_KINDS[p.kind].variables !== undefined)
    )
      throw new InputError(
        `Input 'client-id-variable-name' is set but no target can hold an Actions variable (Dependabot and Codespaces have none); add a repo, environment or org target, or drop the input.`,
      );
  }

  const auth = githubAuth(read);
  // Filed with github-token, or with App sign-in by a token of its own (src/github/issue-app.ts).
  const failureIssue = parseFailureIssue(all);

  return {
    provider,
    github: {
      auth,
      apiUrl: url(read, 'github-api-url', env['GITHUB_API_URL'] || 'https://api.github.com'),
      secretName: secret,
      clientIdSecretName: clientIdSecret,
      clientIdVariableName: clientIdVariable,
      targets,
      patterns,
      maxTargets: integer(read, 'max-targets', 1, 10_000, 100)!,
    },
    // The raw reader: the title takes the credential's id from the provider's own inputs.
    failureIssue,
    mode: oneOf(read, 'mode', ['rotate', 'check'] as const, 'rotate'),
    failIfExpiresWithinMs: duration(read, 'fail-if-expires-within', MAX_MS.expiresWithin),
    dryRun: bool(read, 'dry-run', false),
    recoveryKey: recoveryKey(optional(read, 'recovery-public-key')),
    skipIfRotatedWithinMs: duration(read, 'skip-if-rotated-within', MAX_MS.skipIfRotatedWithin),
    rotateIfExpiresWithinMs: duration(read, 'rotate-if-expires-within', MAX_MS.expiresWithin),
    requestTimeoutMs: duration(read, 'request-timeout', MAX_MS.requestTimeout, 30_000)!,
    storeTimeoutMs: duration(read, 'store-timeout', MAX_MS.storeTimeout, 600_000)!,
  };
}

function recoveryKey(v: string | undefined): Uint8Array | undefined {
  if (v === undefined) return undefined;
  const ok = /^[A-Za-z0-9+/]{43}=$/.test(v);
  const bytes = ok ? Buffer.from(v, 'base64') : undefined;
  if (!bytes || bytes.length !== 32) {
    throw new InputError(
      `Input 'recovery-public-key' is not a 32-byte X25519 public key in standard base64 (44 characters ending in '='); make one with node scripts/recovery-key.mjs (docs/recovery.md).`,
    );
  }
  return new Uint8Array(bytes);
}
