// VMware Cloud Services Platform: organization OAuth app secrets.
import { now } from '../clock.js';
import { randomInt } from 'node:crypto';
import { type Call, field, HttpError, type Response } from '../http.js';
import { TokenSession } from './session.js';
import {
  bool,
  InputError,
  integer,
  oneOf,
  optional,
  pathId,
  type InputSpecs,
  type Read,
  url,
} from '../inputs/fields.js';
import { loggable } from '../untrusted.js';
import {
  type Credential,
  type Provider,
  type ProviderDeps,
  ProviderError,
  type Found,
  type PreviousSlot,
  type ProviderModule,
  type Rotated,
  type Rotation,
} from './types.js';

/** Every input this provider reads. */
const inputs = {
  'csp-url': {
    description: 'vmware-csp: CSP base URL.',
    default: 'https://console.cloud.vmware.com',
  },
  'csp-api-token': {
    description:
      'vmware-csp: an API token (exchanged for an access token). Or use csp-client-id + csp-client-secret.',
    credential: true,
  },
  'csp-client-id': {
    description:
      'vmware-csp: client id of an OAuth app with a role in the organization (an app may rotate itself).',
  },
  'csp-client-secret': {
    description: 'vmware-csp: client secret that goes with csp-client-id.',
    credential: true,
  },
  'csp-org-id': { description: 'vmware-csp: the organization id.' },
  'csp-oauth-app-id': {
    description: 'vmware-csp: the OAuth app (client) id whose secret rotates.',
  },
  'csp-rotation': {
    description:
      'vmware-csp: regenerate (CSP issues a secret; the old one dies at once) or overlap (the action generates one; the old one stays valid for csp-overlap-seconds).',
    default: 'regenerate',
  },
  'csp-overlap-seconds': {
    description: 'vmware-csp overlap: how long the previous secret stays valid.',
    default: '172800',
  },
  'csp-overwrite-previous': {
    description:
      'vmware-csp overlap: rotate even when a target may still hold the previous secret CSP keeps (a target an earlier run failed to write, seen by its last write), or when a target was written less than store-timeout plus 2 minutes ago: the rotation overwrites the previous secret, and it stops working at once wherever it is still in use. Without it, such a run refuses before the rotating call.',
    default: 'false',
  },
  'csp-retire-previous': {
    description:
      'vmware-csp overlap: delete the previous secret once every target is written and verified.',
    default: 'false',
  },
} satisfies InputSpecs;

export interface CspSettings {
  readonly name: 'vmware-csp';
  readonly url: string;
  /** How the action obtains a CSP access token. */
  readonly auth:
    | { readonly kind: 'api-token'; readonly token: string }
    | { readonly kind: 'client'; readonly clientId: string; readonly clientSecret: string };
  readonly orgId: string;
  readonly appId: string;
  /** `regenerate` kills the old secret at once; `overlap` keeps it valid for `overlapSeconds`. */
  readonly rotation: 'regenerate' | 'overlap';
  readonly overlapSeconds: number;
  /** Overlap only: delete the previous secret once every target is verified. */
  readonly retirePrevious: boolean;
  /** Overlap only: rotate even when a target may still hold the previous secret (csp-overwrite-previous). */
  readonly overwritePrevious: boolean;
}

function parseCsp(read: Read): CspSettings {
  const token = optional(read, 'csp-api-token');
  const clientId = optional(read, 'csp-client-id');
  const clientSecret = optional(read, 'csp-client-secret');
  if (token !== undefined && (clientId !== undefined || clientSecret !== undefined)) {
    throw new InputError(
      `Inputs 'csp-api-token' and 'csp-client-id'/'csp-client-secret' exclude each other: give an API token or client credentials.`,
    );
  }
  let auth: CspSettings['auth'];
  if (token !== undefined) auth = { kind: 'api-token', token };
  else if (clientId !== undefined && clientSecret !== undefined)
    auth = { kind: 'client', clientId, clientSecret };
  else {
    throw new InputError(
      `Input 'csp-api-token' is required, or both 'csp-client-id' and 'csp-client-secret' (${clientId ? 'csp-client-secret' : 'csp-client-id'} is missing).`,
    );
  }
  const rotation = oneOf(read, 'csp-rotation', ['regenerate', 'overlap'] as const, 'regenerate');
  const retirePrevious = bool(read, 'csp-retire-previous', false);
  const overwritePrevious = bool(read, 'csp-overwrite-previous', false);
  if (overwritePrevious && rotation !== 'overlap') {
    throw new InputError(
      `Input 'csp-overwrite-previous' applies only with 'csp-rotation: overlap' (regenerate keeps no previous secret).`,
    );
  }
  if (retirePrevious && rotation !== 'overlap') {
    throw new InputError(
      `Input 'csp-retire-previous' applies only with 'csp-rotation: overlap' (regenerate leaves no previous secret).`,
    );
  }
  return {
    name: 'vmware-csp',
    url: url(read, 'csp-url', 'https://console.cloud.vmware.com'),
    auth,
    orgId: pathId(read, 'csp-org-id', 'the organization id (a GUID)'),
    appId: pathId(read, 'csp-oauth-app-id', 'the OAuth app id (its client id)'),
    rotation,
    overlapSeconds: integer(read, 'csp-overlap-seconds', 60, 31_536_000, 172_800)!,
    retirePrevious,
    overwritePrevious,
  };
}

/** Sign in again this long before the token's stated expiry. */
const TOKEN_MARGIN_MS = 60_000;

const HINTS: Record<number, string> = {
  401: 'the CSP credentials were refused or the token expired',
  403: 'the identity lacks the Organization Owner, Admin or Developer role in this organization',
  404: 'the organization or OAuth app does not exist',
  409: 'CSP reports a conflict with the current state of the app',
  429: 'CSP rate limit; try again later',
  500: 'CSP had an internal error',
};

/** CSP error bodies carry codes, a message and a request id: the safe parts for support tickets. */
function explain(status: number, body: unknown): string {
  const parts = [HINTS[status]];
  const code = field(body, 'errorCode') ?? field(body, 'cspErrorCode');
  const message = field(body, 'message');
  const requestId = field(body, 'requestId');
  if (code) parts.push(`errorCode ${loggable(code, 60)}`);
  if (message) parts.push(`message "${loggable(message, 200)}"`);
  if (requestId) parts.push(`requestId ${loggable(requestId, 80)}`);
  return parts.filter(Boolean).join('; ');
}

/** What preflight found: the app's client id, which the overlap check signs in with. */
interface CspFound {
  readonly clientId: string;
}

function createCsp(s: CspSettings, deps: ProviderDeps): Provider<CspFound, undefined> {
  const base = `${s.url}/csp/gateway/am/api`;
  const secretPath = `${base}/orgs/${encodeURIComponent(s.orgId)}/oauth-apps/${encodeURIComponent(s.appId)}/secret`;
  /**
   * The session's access token: signs in again when the token is expired or within a minute of it
   * (CSP tokens live about ten minutes, as long as a slow store), and once more after a 401 on a
   * non-rotating call. A rotating call is never repeated, so it only gets the first part.
   */
  const session = new TokenSession({
    signIn: async () =>
      (s.auth.kind === 'api-token'
        ? await deps.http({
            method: 'POST',
            url: `${base}/auth/api-tokens/authorize`,
            form: { api_token: s.auth.token },
            what: 'exchange csp-api-token for a CSP access token',
            retry: 'safe',
            explain,
          })
        : await clientCredentials(s.auth.clientId, s.auth.clientSecret, 'safe')
      ).body,
    missingToken: 'CSP answered the token request without an access_token.',
    mask: deps.mask,
    defaultLifetimeS: 300,
    marginMs: () => TOKEN_MARGIN_MS,
  });
  const managed = (c: Omit<Call, 'headers'>): Promise<Response> =>
    session.call(deps.http, c, c.retry !== 'once');

  function clientCredentials(id: string, secret: string, retry: 'safe' | 'once') {
    const basic = Buffer.from(`${id}:${secret}`).toString('base64');
    deps.mask(basic); // a credential in its own right: redacted wherever an answer echoes it
    return deps.http({
      method: 'POST',
      url: `${base}/auth/authorize`,
      headers: { authorization: `Basic ${basic}` },
      form: { grant_type: 'client_credentials' },
      what: 'obtain a CSP access token with client credentials',
      retry,
      explain,
    });
  }

  /** After a POST whose outcome is unknown: the secret we sent works if and only if CSP took it. */
  async function overlapTookEffect(clientId: string, secret: string): Promise<boolean> {
    try {
      const res = await clientCredentials(clientId, secret, 'safe');
      // Only a token proves it: a 2xx without one says nothing.
      if (field(res.body, 'access_token')) return true;
      throw new ProviderError(
        'CSP answered the sign-in with the new secret without an access_token.',
      );
    } catch (err) {
      if (err instanceof HttpError && (err.status === 400 || err.status === 401)) return false;
      throw new ProviderError(
        `The overlap rotation's outcome is unknown and checking it failed too: ${(err as Error).message} The previous secret still works until the window ends; re-run the workflow.`,
        true,
      );
    }
  }

  /**
   * The previous-secret slot of an overlap rotation. CSP's app shows no previous secret and no end of
   * its window; it shows `lastUpdatedAt` (epoch ms) and `secretRotationExpirationInSeconds`, which
   * stand in for when the current secret came and how long the previous one stays (unverified that
   * a rotation moves lastUpdatedAt; without it the newest target write stands in, src/previous.ts).
   */
  function slotOf(app: unknown): PreviousSlot {
    const last = (app as { lastUpdatedAt?: unknown } | undefined)?.lastUpdatedAt;
    const shown = (app as { secretRotationExpirationInSeconds?: unknown } | undefined)
      ?.secretRotationExpirationInSeconds;
    // Outside bytes: only a plausible time (not beyond a day from now) and a window CSP accepts.
    const since =
      typeof last === 'number' && Number.isInteger(last) && last > 0 && last < now() + 86_400_000
        ? last
        : undefined;
    const window =
      typeof shown === 'number' && Number.isInteger(shown) && shown > 0 && shown <= 31_536_000
        ? shown
        : s.overlapSeconds;
    return {
      until: undefined,
      since,
      windowMs: Math.max(window, s.overlapSeconds) * 1000,
      exact: false,
      overwrite: { input: 'csp-overwrite-previous', allowed: s.overwritePrevious },
    };
  }

  return {
    async preflight(): Promise<Found<CspFound>> {
      await session.renew();
      const res = await managed({
        method: 'GET',
        url: `${base}/orgs/${encodeURIComponent(s.orgId)}/oauth-apps/${encodeURIComponent(s.appId)}`,
        what: `read OAuth app ${s.appId} in CSP organization ${s.orgId}`,
        retry: 'safe',
        explain,
      });
      const clientId = field(res.body, 'clientId') ?? field(res.body, 'id') ?? s.appId;
      const credential: Credential = {
        clientId,
        credentialId: s.appId,
        description: `CSP OAuth app ${s.appId} in organization ${s.orgId} (${s.rotation})`,
        expiresAt: undefined,
        oldSecretDiesOnRotate: s.rotation === 'regenerate',
        ...(s.rotation === 'overlap' ? { previous: slotOf(res.body) } : {}),
      };
      return { credential, found: { clientId } };
    },

    // Overlap: the action brings the new secret, so the pipeline escrows it before the POST (a
    // killed run, or a lost answer that took effect, loses nothing). Regenerate: CSP picks it.
    chooseSecret(): string | undefined {
      return s.rotation === 'overlap' ? generateSecret() : undefined;
    },

    async rotate({ clientId }, chosen): Promise<Rotated<undefined>> {
      if (s.rotation === 'regenerate') {
        const res = await managed({
          method: 'PUT',
          url: secretPath,
          json: {},
          what: 'regenerate the CSP OAuth app secret',
          retry: 'once',
          explain,
        }).catch(unknownOutcome);
        const secret = field(res.body, 'clientSecret');
        if (!secret)
          throw new ProviderError(
            'CSP regenerated the secret but its answer had no clientSecret: the old secret is dead and the new one unknown. Regenerate it in the CSP console.',
            true,
          );
        deps.mask(secret);
        const rotation: Rotation = {
          secret,
          clientId: field(res.body, 'clientId') ?? clientId,
          credentialId: s.appId,
          expiresAt: undefined,
        };
        return { rotation, rotated: undefined };
      }
      const secret = chosen ?? generateSecret();
      deps.mask(secret);
      // The window starts no earlier than the request: counted from before it, its end is never late.
      const previousUntil = new Date(now() + s.overlapSeconds * 1000).toISOString();
      try {
        await managed({
          method: 'POST',
          url: secretPath,
          json: { newClientSecret: secret, secretRotationExpirationInSeconds: s.overlapSeconds },
          what: 'start an overlap rotation of the CSP OAuth app secret',
          retry: 'once',
          explain,
        });
        // A success answer is not proof: the secret we sent must now obtain a token.
        if (!(await overlapTookEffect(clientId, secret)))
          throw new ProviderError(
            'CSP answered the overlap rotation with success, but the new secret does not obtain a token: CSP did not take it; nothing changed. Re-run the workflow.',
          );
      } catch (err) {
        if (!(err instanceof HttpError && err.outcomeUnknown)) throw err;
        deps.warn(
          `${err.message} Checking whether CSP took the new secret (it was not sent again).`,
        );
        if (!(await overlapTookEffect(clientId, secret)))
          throw new ProviderError(
            `${err.message} CSP did not take the new secret; nothing changed. Re-run the workflow.`,
          );
      }
      deps.info(
        `CSP accepted the new secret; the previous one stays valid until about ${previousUntil}.`,
      );
      const rotation: Rotation = {
        secret,
        clientId,
        credentialId: s.appId,
        expiresAt: undefined,
        previousUntil,
      };
      return { rotation, rotated: undefined };
    },

    async retirePrevious(): Promise<string | undefined> {
      if (s.rotation !== 'overlap' || !s.retirePrevious) return undefined;
      await managed({
        method: 'DELETE',
        url: secretPath,
        what: 'delete the previous CSP OAuth app secret',
        retry: 'safe',
        explain,
      });
      return 'the previous CSP secret (deleted before its overlap window ended)';
    },

    async abandon(): Promise<string | undefined> {
      return undefined;
    },
  };
}

function unknownOutcome(err: unknown): never {
  if (err instanceof HttpError && err.outcomeUnknown) {
    throw new ProviderError(
      `${err.message} The request may have reached CSP: the secret may have been regenerated, and it was not retried so as not to rotate twice. Check the app in the CSP console; if the old secret no longer works, regenerate it there.`,
      true,
    );
  }
  throw err;
}

const CLASSES = [
  'abcdefghijkmnopqrstuvwxyz',
  'ABCDEFGHJKLMNPQRSTUVWXYZ',
  '23456789',
  '-_.~!#%+=@^',
];

/** 48 characters from a CSPRNG with at least one of each class CSP requires (lower, upper, digit, symbol). */
export function generateSecret(length = 48): string {
  const all = CLASSES.join('');
  const chars = CLASSES.map((c) => c[randomInt(c.length)]!);
  while (chars.length < length) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

export const csp: ProviderModule<CspSettings> = {
  inputs,
  docs: {
    title: 'VMware Cloud Services Platform',
    rotates: "an organization OAuth app's client secret",
    previous:
      '`regenerate` (default): dies at once. `overlap`: works for `csp-overlap-seconds`, deleted once every target works with `csp-retire-previous`',
  },
  parse: parseCsp,
  create: createCsp,
};
