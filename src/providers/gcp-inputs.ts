// Google Cloud service account keys: the inputs the provider reads and their parser (pure, no I/O).
import {
  bool,
  duration,
  InputError,
  type InputSpecs,
  oneOf,
  optional,
  type Read,
  required,
  url,
} from '../inputs/fields.js';
import type { GcpSignIn } from './gcp-auth.js';

/** Every input this provider reads. */
export const gcpInputs = {
  'gcp-service-account-email': {
    description:
      'gcp-service-account: the email of the service account whose key rotates (name@project.iam.gserviceaccount.com).',
  },
  'gcp-workload-identity-provider': {
    description:
      "gcp-service-account: sign in with the job's OIDC token through this Workload Identity Federation provider (projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER); the job needs 'permissions: id-token: write'.",
  },
  'gcp-auth-service-account': {
    description:
      'gcp-service-account: with gcp-workload-identity-provider, the email of the service account the run acts as (its access token from iamcredentials generateAccessToken); it needs roles/iam.serviceAccountKeyAdmin on gcp-service-account-email.',
  },
  'gcp-access-token': {
    description:
      'gcp-service-account: an OAuth access token to call the IAM API with, instead of Workload Identity Federation (for example the access_token output of google-github-actions/auth).',
    credential: true,
  },
  'gcp-sign-in-key-id': {
    description:
      "gcp-service-account: when gcp-access-token was minted from a key of gcp-service-account-email itself, that key's id: it is never disabled or deleted.",
  },
  'gcp-client-id': {
    description:
      "gcp-service-account: what goes to client-id-secret-name and the client-id output: key-id (the new key's id) or email (the service account's email).",
    default: 'key-id',
  },
  'gcp-retire-previous': {
    description:
      'gcp-service-account: once every target holds the new key and it mints a token, delete the previous keys after disabling them (without this they are only disabled).',
    default: 'false',
  },
  'gcp-confirm-timeout': {
    description:
      'gcp-service-account: how long to wait for the new key to mint a token (IAM is eventually consistent) before the previous keys are disabled. At most 10m.',
    default: '60s',
  },
  'gcp-iam-endpoint': {
    description: 'gcp-service-account: IAM API endpoint.',
    default: 'https://iam.googleapis.com',
  },
  'gcp-sts-endpoint': {
    description:
      'gcp-service-account: Security Token Service endpoint (Workload Identity Federation).',
    default: 'https://sts.googleapis.com',
  },
  'gcp-iamcredentials-endpoint': {
    description: 'gcp-service-account: IAM Service Account Credentials API endpoint.',
    default: 'https://iamcredentials.googleapis.com',
  },
  'gcp-token-endpoint': {
    description:
      "gcp-service-account: OAuth token endpoint where the new key's signed JWT is exchanged to confirm it works.",
    default: 'https://oauth2.googleapis.com/token',
  },
} satisfies InputSpecs;

export interface GcpSettings {
  readonly name: 'gcp-service-account';
  readonly email: string;
  readonly signIn: GcpSignIn;
  readonly signInKeyId: string | undefined;
  readonly clientId: 'key-id' | 'email';
  readonly retirePrevious: boolean;
  readonly confirmTimeoutMs: number;
  /** Without a trailing slash. */
  readonly iamEndpoint: string;
  readonly stsEndpoint: string;
  readonly credentialsEndpoint: string;
  readonly tokenEndpoint: string;
}

/** Service account emails: user-made (…iam.gserviceaccount.com) and Google's default ones. */
const EMAIL = /^[a-z0-9][a-z0-9._-]{0,99}@[a-z0-9][a-z0-9.-]{0,200}\.gserviceaccount\.com$/;
const WIF_PROVIDER =
  /^projects\/\d{1,20}\/locations\/global\/workloadIdentityPools\/[a-z0-9-]{4,32}\/providers\/[a-z0-9-]{4,32}$/;
/** Key ids as Google shows them: 40 hex digits. */
const KEY_ID = /^[0-9a-f]{40}$/;
const CONFIRM_MAX_MS = 600_000;

export function parseGcp(read: Read): GcpSettings {
  const email = required(
    read,
    'gcp-service-account-email',
    'the email of the service account whose key rotates',
  );
  if (!EMAIL.test(email))
    throw new InputError(
      `Input 'gcp-service-account-email' is '${email}'; expected a service account email such as deployer@my-project.iam.gserviceaccount.com.`,
    );
  const token = optional(read, 'gcp-access-token');
  const provider = optional(read, 'gcp-workload-identity-provider');
  const via = optional(read, 'gcp-auth-service-account');
  let signIn: GcpSignIn;
  if (token !== undefined) {
    if (provider !== undefined || via !== undefined)
      throw new InputError(
        `Input 'gcp-access-token' is given with '${provider !== undefined ? 'gcp-workload-identity-provider' : 'gcp-auth-service-account'}': give one way to sign in.`,
      );
    signIn = { kind: 'token', accessToken: token };
  } else {
    if (provider === undefined)
      throw new InputError(
        `Input 'gcp-workload-identity-provider' (with gcp-auth-service-account) or 'gcp-access-token' is required: how the run signs in to Google Cloud.`,
      );
    if (!WIF_PROVIDER.test(provider))
      throw new InputError(
        `Input 'gcp-workload-identity-provider' is '${provider}'; expected projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER.`,
      );
    if (via === undefined)
      throw new InputError(
        `Input 'gcp-auth-service-account' is required with 'gcp-workload-identity-provider': the service account the run acts as.`,
      );
    if (!EMAIL.test(via))
      throw new InputError(
        `Input 'gcp-auth-service-account' is '${via}'; expected a service account email.`,
      );
    signIn = { kind: 'wif', provider, serviceAccount: via };
  }
  const own = optional(read, 'gcp-sign-in-key-id');
  if (own !== undefined && !KEY_ID.test(own))
    throw new InputError(
      `Input 'gcp-sign-in-key-id' is '${own}'; expected a key id (40 hex digits).`,
    );
  return {
    name: 'gcp-service-account',
    email,
    signIn,
    signInKeyId: own,
    clientId: oneOf(read, 'gcp-client-id', ['key-id', 'email'] as const, 'key-id'),
    retirePrevious: bool(read, 'gcp-retire-previous', false),
    confirmTimeoutMs: duration(read, 'gcp-confirm-timeout', CONFIRM_MAX_MS, 60_000)!,
    iamEndpoint: url(read, 'gcp-iam-endpoint', 'https://iam.googleapis.com'),
    stsEndpoint: url(read, 'gcp-sts-endpoint', 'https://sts.googleapis.com'),
    credentialsEndpoint: url(
      read,
      'gcp-iamcredentials-endpoint',
      'https://iamcredentials.googleapis.com',
    ),
    tokenEndpoint: url(read, 'gcp-token-endpoint', 'https://oauth2.googleapis.com/token'),
  };
}
