// Raw inputs -> typed, validated settings. Pure: no I/O, nothing logged; every bad value throws an
// InputError naming the input, before any request is made.
import { parseCsp, type CspSettings } from './csp.js';
import { type EntraContext, parseEntra, type EntraSettings } from './entra.js';
import {
  bool,
  duration,
  InputError,
  MAX_MS,
  optional,
  type Read,
  required,
  secretName,
  url,
} from './fields.js';
import { parseTargets, type Target } from './targets.js';
import { parseWhmcs, type WhmcsSettings } from './whmcs.js';
import { parseWoodpecker, type WoodpeckerSettings } from './woodpecker.js';

export { InputError, type Read } from './fields.js';
export type { Target } from './targets.js';
export type { CspSettings, EntraSettings, WhmcsSettings, WoodpeckerSettings };

export type ProviderSettings = CspSettings | WhmcsSettings | EntraSettings | WoodpeckerSettings;
export type ProviderName = ProviderSettings['name'];

const parsers = {
  'vmware-csp': parseCsp,
  whmcs: parseWhmcs,
  entra: parseEntra,
  woodpecker: parseWoodpecker,
} satisfies {
  [N in ProviderName]: (read: Read, ctx: EntraContext) => Extract<ProviderSettings, { name: N }>;
};

export const PROVIDERS = Object.keys(parsers) as ProviderName[];

export interface Settings {
  readonly provider: ProviderSettings;
  readonly github: {
    readonly token: string;
    readonly apiUrl: string;
    /** Receives the new client secret. */
    readonly secretName: string;
    /** Receives the client id, when given. */
    readonly clientIdSecretName: string | undefined;
    readonly targets: readonly Target[];
  };
  /** Validate, authenticate and fetch keys; change nothing. */
  readonly dryRun: boolean;
  /** X25519 public key that the new secret is sealed to when it cannot be stored everywhere. */
  readonly recoveryKey: Uint8Array | undefined;
  readonly skipIfRotatedWithinMs: number | undefined;
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
  const name = required(read, 'provider', `one of ${PROVIDERS.join(', ')}`);
  if (!Object.hasOwn(parsers, name)) {
    throw new InputError(
      `Input 'provider' is '${name}'; expected one of: ${PROVIDERS.join(', ')}.`,
    );
  }
  const repository = env['GITHUB_REPOSITORY'];
  // The default identity of this rotation's Entra passwords (see EntraSettings.passwordTag).
  const defaultTag = `${name} ${repository ?? 'local'} ${optional(read, 'secret-name') ?? ''}`
    .replace(/[^A-Za-z0-9._:/@ -]/g, '_')
    .slice(0, 100);
  const provider = parsers[name as ProviderName](read, { defaultTag });

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

  return {
    provider,
    github: {
      token: required(
        read,
        'github-token',
        'a fine-grained PAT or GitHub App token with "Secrets: write" (the job\'s GITHUB_TOKEN cannot write secrets)',
      ),
      apiUrl: url(read, 'github-api-url', env['GITHUB_API_URL'] || 'https://api.github.com'),
      secretName: secret,
      clientIdSecretName: clientIdSecret,
      targets: parseTargets(targetText),
    },
    dryRun: bool(read, 'dry-run', false),
    recoveryKey: recoveryKey(optional(read, 'recovery-public-key')),
    skipIfRotatedWithinMs: duration(read, 'skip-if-rotated-within', MAX_MS.skipIfRotatedWithin),
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
      `Input 'recovery-public-key' is not a 32-byte X25519 public key in standard base64 (44 characters ending in '='); see the README for how to make one.`,
    );
  }
  return new Uint8Array(bytes);
}
