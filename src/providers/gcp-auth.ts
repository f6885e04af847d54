// Signing in to Google Cloud: a given access token, or Workload Identity Federation (the job's OIDC
// token exchanged at Google STS, then IAM Credentials generateAccessToken for the managing service
// account). Also the reading of Google's error answers, for every GCP call's messages.
import { now } from '../clock.js';
import { field, type Http } from '../http.js';
import { loggable } from '../untrusted.js';
import { type ProviderDeps, ProviderError } from './types.js';

export type GcpSignIn =
  | { readonly kind: 'token'; readonly accessToken: string }
  | { readonly kind: 'wif'; readonly provider: string; readonly serviceAccount: string };

export const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** The organization policy that forbids creating service account keys. */
export const KEY_CREATION_POLICY = 'iam.disableServiceAccountKeyCreation';
/** A token is minted again this long before it expires. */
const TOKEN_MARGIN_MS = 300_000;

/** The parts of a Google error answer that are safe to print and to branch on. */
export interface GoogleError {
  /** API errors: `{"error":{"code":N,"message":"...","status":"PERMISSION_DENIED"}}`. */
  readonly status: string | undefined;
  /** OAuth endpoints (STS, the token endpoint): `{"error":"invalid_grant","error_description":"..."}`. */
  readonly oauth: string | undefined;
  readonly message: string | undefined;
  /** Organization policy constraints named in the message or in `details[].violations[].type`. */
  readonly constraints: readonly string[];
}

export function googleError(body: unknown): GoogleError {
  const e = body !== null && typeof body === 'object' ? (body as { error?: unknown }).error : null;
  if (typeof e === 'string')
    return {
      status: undefined,
      oauth: /^[a-z_]{1,40}$/.test(e) ? e : undefined,
      message: field(body, 'error_description'),
      constraints: [],
    };
  if (e === null || typeof e !== 'object')
    return { status: undefined, oauth: undefined, message: undefined, constraints: [] };
  const status = field(e, 'status');
  const message = field(e, 'message');
  const named = new Set<string>();
  for (const m of (message ?? '').matchAll(/\bconstraints\/([\w.]{0,99}\w)/g)) named.add(m[1]!);
  if (message?.includes(KEY_CREATION_POLICY)) named.add(KEY_CREATION_POLICY);
  const details = (e as { details?: unknown }).details;
  for (const d of Array.isArray(details) ? details.slice(0, 10) : []) {
    const violations = (d as { violations?: unknown } | null)?.violations;
    for (const v of Array.isArray(violations) ? violations.slice(0, 10) : []) {
      const m = /^constraints\/([\w.]{1,100})$/.exec(field(v, 'type') ?? '');
      if (m) named.add(m[1]!);
    }
  }
  return {
    status: status !== undefined && /^[A-Z_]{1,40}$/.test(status) ? status : undefined,
    oauth: undefined,
    message,
    constraints: [...named],
  };
}

const HINTS: Record<string, string> = {
  UNAUTHENTICATED: 'the access token is invalid or expired',
  PERMISSION_DENIED:
    'the principal the run signs in as may not do this: see the least-privilege set-up in docs/providers/gcp-service-account.md',
  NOT_FOUND: 'no such service account or key',
  FAILED_PRECONDITION: 'Google refused it in the current state',
  RESOURCE_EXHAUSTED: 'a Google quota or rate limit',
  INVALID_ARGUMENT: 'Google refused the request as invalid',
  UNAVAILABLE: 'Google is unavailable; try again later',
  INTERNAL: 'Google failed to process the request',
  invalid_grant: 'the token endpoint refused the credential',
  invalid_request: 'the token endpoint refused the request',
  unauthorized_client: 'the credential may not be used this way',
};

/** Google error bodies: the hint, the status, the message and any policy named; the safe parts only. */
export function explainGoogle(_status: number, body: unknown): string | undefined {
  const g = googleError(body);
  const code = g.status ?? g.oauth;
  if (!code) return undefined;
  return [
    HINTS[code],
    `${g.status ? 'status' : 'error'} ${code}`,
    g.message ? `"${loggable(g.message, 200)}"` : undefined,
    g.constraints.length
      ? `policy ${g.constraints.map((c) => loggable(c, 100)).join(', ')}`
      : undefined,
  ]
    .filter(Boolean)
    .join('; ');
}

export interface GcpAuth {
  /** An access token for the IAM API: the given one, or one minted (and cached) through WIF. */
  token(): Promise<string>;
  /** Forgets a minted token (the API answered 401): the next token() mints again. */
  forget(): void;
  /** How the run signs in, as the log says it once the first token is at hand. */
  readonly who: string;
}

export interface GcpEndpoints {
  readonly stsEndpoint: string;
  readonly credentialsEndpoint: string;
}

export function gcpAuth(signIn: GcpSignIn, ep: GcpEndpoints, deps: ProviderDeps): GcpAuth {
  if (signIn.kind === 'token') {
    deps.mask(signIn.accessToken);
    return {
      token: () => Promise.resolve(signIn.accessToken),
      forget: () => undefined,
      who: 'Calling Google Cloud with the access token in gcp-access-token.',
    };
  }
  let cached: { value: string; expiresAt: number } | undefined;
  return {
    async token() {
      if (cached && now() < cached.expiresAt - TOKEN_MARGIN_MS) return cached.value;
      cached = await federate(deps.http, signIn, ep, deps);
      return cached.value;
    },
    forget: () => (cached = undefined),
    who: `Signed in to Google Cloud as service account ${signIn.serviceAccount} through Workload Identity Federation (${signIn.provider}).`,
  };
}

async function federate(
  http: Http,
  s: Extract<GcpSignIn, { kind: 'wif' }>,
  ep: GcpEndpoints,
  deps: ProviderDeps,
): Promise<{ value: string; expiresAt: number }> {
  const oidc = await deps
    .idToken(`https://iam.googleapis.com/${s.provider}`)
    .catch((err: unknown) => {
      throw new ProviderError(
        `Could not get the job's OIDC token (${loggable((err as Error).message, 200)}); the job needs 'permissions: id-token: write'.`,
      );
    });
  deps.mask(oidc);
  const sts = await http({
    method: 'POST',
    url: `${ep.stsEndpoint}/v1/token`,
    json: {
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: `//iam.googleapis.com/${s.provider}`,
      scope: SCOPE,
      requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      subjectToken: oidc,
      subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
    },
    what: `exchange the job's OIDC token at Google STS (Workload Identity Federation ${s.provider})`,
    retry: 'safe',
    explain: explainGoogle,
  });
  const federated = field(sts.body, 'access_token');
  if (!federated)
    throw new ProviderError('Google STS answered the token exchange without an access_token.');
  deps.mask(federated);
  const res = await http({
    method: 'POST',
    url: `${ep.credentialsEndpoint}/v1/projects/-/serviceAccounts/${encodeURIComponent(s.serviceAccount)}:generateAccessToken`,
    headers: { authorization: `Bearer ${federated}` },
    json: { scope: [SCOPE], lifetime: '3600s' },
    what: `get an access token for service account ${s.serviceAccount} (IAM Credentials generateAccessToken)`,
    retry: 'safe',
    explain: explainGoogle,
  });
  const value = field(res.body, 'accessToken');
  if (!value)
    throw new ProviderError('Google answered generateAccessToken without an accessToken.');
  deps.mask(value);
  const at = Date.parse(field(res.body, 'expireTime') ?? '');
  return { value, expiresAt: Number.isFinite(at) ? at : now() + 3_600_000 };
}
