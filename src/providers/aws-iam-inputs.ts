// AWS IAM access keys: the inputs the provider reads and their parser (pure, no I/O).
import {
  bool,
  duration,
  InputError,
  type InputSpecs,
  optional,
  type Read,
  required,
  url,
} from '../inputs/fields.js';
import type { ParseContext } from './types.js';

/** Every input this provider reads. */
export const awsIamInputs = {
  'aws-iam-user-name': {
    description: 'aws-iam: the name of the IAM user whose access key rotates.',
  },
  'aws-access-key-id': {
    description:
      'aws-iam: access key id to sign in with. Default: the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), as aws-actions/configure-aws-credentials leaves it after OIDC.',
  },
  'aws-secret-access-key': {
    description: 'aws-iam: secret access key to sign in with, with aws-access-key-id.',
    credential: true,
  },
  'aws-session-token': {
    description: 'aws-iam: session token of temporary credentials, with aws-access-key-id.',
    credential: true,
  },
  'aws-region': {
    description:
      'aws-iam: region of the STS endpoint that checks who signs. Default: AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1. IAM itself is global (signed for us-east-1).',
  },
  'aws-iam-endpoint': {
    description: 'aws-iam: IAM query API endpoint.',
    default: 'https://iam.amazonaws.com',
  },
  'aws-sts-endpoint': {
    description: 'aws-iam: STS endpoint. Default: https://sts.{aws-region}.amazonaws.com.',
  },
  'aws-iam-delete-inactive': {
    description:
      'aws-iam: when the user already holds two access keys and one of them is Inactive, delete that one (right before the new key is created) to make room; never an Active key.',
    default: 'false',
  },
  'aws-iam-retire-previous': {
    description:
      'aws-iam: once every target holds the new key and it signs, delete the previous key after deactivating it (without this it is only deactivated).',
    default: 'false',
  },
  'aws-iam-confirm-timeout': {
    description:
      'aws-iam: how long to wait for the new key to sign GetCallerIdentity (IAM is eventually consistent) before the previous key is deactivated. At most 10m.',
    default: '30s',
  },
} satisfies InputSpecs;

export interface AwsSignIn {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string | undefined;
  /** Where it came from, for messages: `inputs` or `environment`. */
  readonly from: 'inputs' | 'environment';
}

export interface AwsIamSettings {
  readonly name: 'aws-iam';
  readonly userName: string;
  readonly signIn: AwsSignIn;
  readonly region: string;
  /** Without a trailing slash. */
  readonly iamEndpoint: string;
  readonly stsEndpoint: string;
  readonly deleteInactive: boolean;
  readonly retirePrevious: boolean;
  readonly confirmTimeoutMs: number;
}

/** IAM user names: letters, digits and +=,.@_- (IAM's own pattern), 1 to 64. */
const USER_NAME = /^[\w+=,.@-]{1,64}$/;
/** Access key ids as IAM documents them (`[\w]+`, 16 to 128). */
export const KEY_ID = /^\w{16,128}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const CONFIRM_MAX_MS = 600_000;

export function parseAwsIam(read: Read, ctx: ParseContext): AwsIamSettings {
  const env = ctx.env ?? {};
  const userName = required(read, 'aws-iam-user-name', 'the IAM user whose access key rotates');
  if (!USER_NAME.test(userName))
    throw new InputError(
      `Input 'aws-iam-user-name' is '${userName}'; expected an IAM user name (letters, digits and +=,.@_-, at most 64).`,
    );
  const id = optional(read, 'aws-access-key-id');
  const secret = optional(read, 'aws-secret-access-key');
  const token = optional(read, 'aws-session-token');
  let signIn: AwsSignIn;
  if (id !== undefined || secret !== undefined || token !== undefined) {
    if (id === undefined || secret === undefined)
      throw new InputError(
        `Input '${id === undefined ? 'aws-access-key-id' : 'aws-secret-access-key'}' is required with '${id === undefined ? (secret !== undefined ? 'aws-secret-access-key' : 'aws-session-token') : 'aws-access-key-id'}': give both (and aws-session-token for temporary credentials), or none to use the environment.`,
      );
    signIn = { accessKeyId: id, secretAccessKey: secret, sessionToken: token, from: 'inputs' };
  } else {
    const eid = env['AWS_ACCESS_KEY_ID']?.trim();
    const esecret = env['AWS_SECRET_ACCESS_KEY']?.trim();
    if (!eid || !esecret)
      throw new InputError(
        `Input 'aws-access-key-id' and 'aws-secret-access-key' are required, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment (aws-actions/configure-aws-credentials sets them).`,
      );
    signIn = {
      accessKeyId: eid,
      secretAccessKey: esecret,
      sessionToken: env['AWS_SESSION_TOKEN']?.trim() || undefined,
      from: 'environment',
    };
  }
  if (!KEY_ID.test(signIn.accessKeyId))
    throw new InputError(
      `${signIn.from === 'inputs' ? "Input 'aws-access-key-id'" : 'AWS_ACCESS_KEY_ID'} is not an access key id (letters and digits, 16 to 128).`,
    );
  const region =
    optional(read, 'aws-region') ??
    (env['AWS_REGION']?.trim() || env['AWS_DEFAULT_REGION']?.trim() || 'us-east-1');
  if (!REGION.test(region))
    throw new InputError(`Input 'aws-region' is '${region}'; expected a region such as eu-west-1.`);
  return {
    name: 'aws-iam',
    userName,
    signIn,
    region,
    iamEndpoint: url(read, 'aws-iam-endpoint', 'https://iam.amazonaws.com'),
    stsEndpoint: url(read, 'aws-sts-endpoint', `https://sts.${region}.amazonaws.com`),
    deleteInactive: bool(read, 'aws-iam-delete-inactive', false),
    retirePrevious: bool(read, 'aws-iam-retire-previous', false),
    confirmTimeoutMs: duration(read, 'aws-iam-confirm-timeout', CONFIRM_MAX_MS, 30_000)!,
  };
}
