// Okta: an OIDC app's client secrets (Application Client Auth Credentials API). An app holds at most
// two secrets and every ACTIVE one works, so a rotation adds a second secret, stores it everywhere,
// and only then (okta-retire-previous) deactivates and deletes the one that was active before.
import { now } from '../clock.js';
import { type Call, field, HttpError, type Response } from '../http.js';
import { TokenSession } from './session.js';
import {
  bool,
  InputError,
  type InputSpecs,
  optional,
  pathId,
  type Read,
  required,
  url,
} from '../inputs/fields.js';
import { loggable } from '../untrusted.js';
import { clientAssertion, oktaKey, requestToken } from './okta-auth.js';
import {
  type Credential,
  type Found,
  type Provider,
  type ProviderDeps,
  ProviderError,
  type ProviderModule,
  type Rotated,
  type Rotation,
} from './types.js';

/** Every input this provider reads. */
const inputs = {
  'okta-url': {
    description:
      'okta: your Okta org URL, e.g. https://example.okta.com (the Management API and the org authorization server live there).',
  },
  'okta-app-id': {
    description: 'okta: the id of the OIDC app whose client secret rotates (0oa...).',
  },
  'okta-api-token': {
    description:
      'okta: an API token (sent as SSWS) of an admin who may manage this app. Or use okta-client-id + okta-private-key.',
    credential: true,
  },
  'okta-client-id': {
    description:
      'okta: client id of an API service app that signs in with private_key_jwt and holds the okta.apps.manage scope.',
  },
  'okta-private-key': {
    description:
      "okta: the service app's RSA private key, PEM or JWK (JSON), with okta-client-id; the client assertion is signed RS256.",
    credential: true,
  },
  'okta-key-id': {
    description:
      "okta: the key id (kid) of okta-private-key as Okta lists it; default: the JWK's own kid, else none.",
  },
  'okta-retire-previous': {
    description:
      'okta: once every target holds the new secret, deactivate and delete the secret that was active before this run; and when the app already holds two secrets, delete its oldest INACTIVE one before adding the new one (never an active one).',
    default: 'false',
  },
} satisfies InputSpecs;

export interface OktaSettings {
  readonly name: 'okta';
  /** The org URL, without a trailing slash. */
  readonly url: string;
  readonly appId: string;
  readonly auth:
    | { readonly kind: 'api-token'; readonly token: string }
    | {
        readonly kind: 'private-key-jwt';
        readonly clientId: string;
        /** PEM (PKCS#8) of the RSA private key, normalised from PEM or JWK input. */
        readonly privateKey: string;
        /** The input's own lines and JWK private members, each masked on its own (see oktaKey). */
        readonly keyParts: readonly string[];
        readonly keyId: string | undefined;
      };
  readonly retirePrevious: boolean;
}

const APP_ID = /^[A-Za-z0-9_-]{1,100}$/;

function parseOkta(read: Read): OktaSettings {
  const token = optional(read, 'okta-api-token');
  const clientId = optional(read, 'okta-client-id');
  const key = optional(read, 'okta-private-key');
  const keyId = optional(read, 'okta-key-id');
  if (token !== undefined && (clientId !== undefined || key !== undefined))
    throw new InputError(
      `Inputs 'okta-api-token' and '${clientId !== undefined ? 'okta-client-id' : 'okta-private-key'}' exclude each other: give an API token, or a service app's client id and private key.`,
    );
  let auth: OktaSettings['auth'];
  if (token !== undefined) {
    if (keyId !== undefined)
      throw new InputError(
        `Input 'okta-key-id' applies only with 'okta-private-key'; remove it or sign in with the service app.`,
      );
    auth = { kind: 'api-token', token };
  } else {
    if (clientId === undefined && key === undefined)
      throw new InputError(
        `Input 'okta-api-token' is required, or both 'okta-client-id' and 'okta-private-key' (an API service app with private_key_jwt).`,
      );
    const id = pathId(
      read,
      'okta-client-id',
      "the service app's client id (letters, digits, . _ -)",
    );
    const raw = required(
      read,
      'okta-private-key',
      "the service app's RSA private key (PEM or JWK) with 'okta-client-id'",
    );
    const parsed = oktaKey(raw);
    if (keyId !== undefined && !/^[A-Za-z0-9._-]{1,200}$/.test(keyId))
      throw new InputError(
        `Input 'okta-key-id' is '${keyId}'; expected the key id Okta shows for the public key (letters, digits, . _ -).`,
      );
    auth = {
      kind: 'private-key-jwt',
      clientId: id,
      privateKey: parsed.pem,
      keyParts: parsed.parts,
      keyId: keyId ?? parsed.kid,
    };
  }
  return {
    name: 'okta',
    url: url(read, 'okta-url'),
    appId: pathId(read, 'okta-app-id', 'the Okta app id (e.g. 0oa1b2c3d4E5F6G7h8i9)', APP_ID),
    auth,
    retirePrevious: bool(read, 'okta-retire-previous', false),
  };
}

/** Sign in again this long before the access token's stated expiry. */
const TOKEN_MARGIN_MS = 60_000;
/** Okta's clock against ours, when a lost create's secret is told by its creation time. */
const CLOCK_SLACK_MS = 60_000;

const HINTS: Record<number, string> = {
  401: 'Okta refused the API token or access token (revoked, expired or for another org)',
  403: 'the admin or service app may not manage this app (an admin role that covers it, and with a service app the okta.apps.manage scope granted)',
  404: 'no app with this id in this org, or the secret is gone',
  429: 'Okta rate limit; try again later',
};

/** Okta error bodies: errorCode, errorSummary, errorId and errorCauses; the safe parts only. */
export function explainOkta(status: number, body: unknown): string {
  const parts = [HINTS[status]];
  const code = field(body, 'errorCode');
  const summary = field(body, 'errorSummary');
  const id = field(body, 'errorId');
  const causes = (body as { errorCauses?: unknown } | undefined)?.errorCauses;
  if (code) parts.push(`errorCode ${loggable(code, 40)}`);
  if (summary) parts.push(`"${loggable(summary, 200)}"`);
  if (Array.isArray(causes))
    for (const c of causes.slice(0, 2)) {
      const s = field(c, 'errorSummary');
      if (s) parts.push(`cause "${loggable(s, 200)}"`);
    }
  if (id) parts.push(`errorId ${loggable(id, 60)}`);
  return parts.filter(Boolean).join('; ');
}

/** One client secret as Okta lists it. The listing's `client_secret` is never read: it is not ours to print. */
interface Secret {
  readonly id: string;
  readonly status: string;
  readonly created: string;
}

/** What preflight found: the app's client id, the secrets active now, and what to clear first. */
export interface OktaFound {
  readonly clientId: string;
  /** Every secret id listed in preflight: a lost create answer is resolved against these. */
  readonly before: readonly string[];
  /** The secrets ACTIVE before this run: "previous", retired after every target is verified. */
  readonly previous: readonly string[];
  /** The oldest INACTIVE secret, deleted just before the create when the app is full. */
  readonly clearFirst: string | undefined;
}

export interface OktaRotated {
  readonly newId: string;
  readonly previous: readonly string[];
}

/** Okta's secret ids (ocs...): also what goes into request paths and messages. */
const SECRET_ID = /^[A-Za-z0-9_-]{1,100}$/;
/** A client secret's status, as Okta's API reference lists them. */
const STATUSES = new Set(['ACTIVE', 'INACTIVE']);

const SECRET_AUTH = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);

function createOkta(s: OktaSettings, deps: ProviderDeps): Provider<OktaFound, OktaRotated> {
  const appPath = `${s.url}/api/v1/apps/${encodeURIComponent(s.appId)}`;
  const secretsPath = `${appPath}/credentials/secrets`;
  const secretPath = (id: string) => `${secretsPath}/${encodeURIComponent(id)}`;
  const a = s.auth;
  if (a.kind === 'private-key-jwt') {
    // The runner masks a multi-line value only line by line: every line of the key is registered.
    deps.mask(a.privateKey);
    for (const line of a.privateKey.split('\n'))
      if (line.length >= 16 && !line.startsWith('-----')) deps.mask(line.trim());
    for (const part of a.keyParts) deps.mask(part);
  }
  // The service app's access token, reused while fresh. Okta authenticates a request before it acts,
  // so a 401 (its token expired during a wait, or was revoked) means nothing happened: every call,
  // even the create, is sent once more after signing in again, as after a 429.
  const session =
    a.kind === 'private-key-jwt'
      ? new TokenSession({
          signIn: () => {
            const endpoint = `${s.url}/oauth2/v1/token`;
            // A fresh assertion (new jti) for every attempt: Okta refuses an assertion it has seen.
            return requestToken(
              deps.http,
              endpoint,
              () => {
                const assertion = clientAssertion(a.clientId, a.privateKey, a.keyId, endpoint);
                deps.mask(assertion);
                return {
                  grant_type: 'client_credentials',
                  scope: 'okta.apps.manage',
                  client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
                  client_assertion: assertion,
                };
              },
              `sign in to Okta as service app ${a.clientId} (private_key_jwt)`,
            );
          },
          accept: (body) => {
            const type = field(body, 'token_type');
            if (type && type.toLowerCase() !== 'bearer')
              throw new ProviderError(
                `Okta issued a ${loggable(type, 20)} token, not a Bearer token: this action does not support DPoP-bound tokens. Turn off "Require Demonstrating Proof of Possession (DPoP) header in token requests" for service app ${a.clientId}, or sign in with okta-api-token.`,
              );
          },
          missingToken: 'Okta answered the token request without an access_token.',
          mask: deps.mask,
          defaultLifetimeS: 300,
          marginMs: () => TOKEN_MARGIN_MS,
        })
      : undefined;

  /** A Management API call: with the API token (SSWS), or with the service app's session. */
  function managed(c: Omit<Call, 'headers' | 'explain'>): Promise<Response> {
    const call = { ...c, explain: explainOkta };
    return a.kind === 'api-token'
      ? deps.http({ ...call, headers: { authorization: `SSWS ${a.token}` } })
      : session!.call(deps.http, call, true);
  }

  async function list(): Promise<Secret[]> {
    const res = await managed({
      method: 'GET',
      url: secretsPath,
      what: `list the client secrets of Okta app ${s.appId}`,
      retry: 'safe',
    });
    if (!Array.isArray(res.body))
      throw new ProviderError(
        `Okta answered the listing of app ${s.appId}'s client secrets without a list.`,
      );
    const listed = res.body.map((x: unknown) => ({
      id: field(x, 'id') ?? '',
      status: field(x, 'status') ?? '',
      created: field(x, 'created') ?? '',
    }));
    // A secret without a usable id or status could be neither kept apart nor retired: stop.
    if (listed.some((x) => !SECRET_ID.test(x.id) || !STATUSES.has(x.status)))
      throw new ProviderError(
        `Okta listed a client secret of app ${s.appId} without a usable id or status; nothing was changed.`,
      );
    return listed;
  }

  // Both are idempotent in effect: a repeat after a lost answer finds the same state, or a 404.
  // A secret already gone counts as done.
  const gone = (err: unknown) => {
    if (!(err instanceof HttpError && err.status === 404)) throw err;
  };
  const deactivate = (id: string) =>
    managed({
      method: 'POST',
      url: `${secretPath(id)}/lifecycle/deactivate`,
      what: `deactivate client secret ${id} of Okta app ${s.appId}`,
      retry: 'safe',
    }).then(() => undefined, gone);
  const del = (id: string) =>
    managed({
      method: 'DELETE',
      url: secretPath(id),
      what: `delete client secret ${id} of Okta app ${s.appId}`,
      retry: 'safe',
    }).then(() => undefined, gone);

  /**
   * Deactivates, and when that fails (an answer lost after Okta acted, then errors on the repeats),
   * lists to learn whether it took effect: a secret that is INACTIVE or gone is deactivated.
   */
  async function deactivated(id: string): Promise<void> {
    try {
      await deactivate(id);
    } catch (err) {
      const now_ = await list().catch(() => undefined);
      const x = now_?.find((y) => y.id === id);
      if (now_ && (!x || x.status !== 'ACTIVE')) return;
      throw err;
    }
  }

  /** Deactivates (when active) and deletes one secret. */
  async function remove(id: string, active: boolean): Promise<void> {
    if (active) await deactivate(id);
    await del(id);
  }

  /**
   * After a create whose answer was lost: a secret is this attempt's when preflight did not list it
   * and Okta dates it no earlier than the create was sent (less CLOCK_SLACK_MS). One missing from
   * preflight but older (a listing that answered without it) is left alone and named.
   */
  async function clearOrphans(found: OktaFound, cause: HttpError, sentAt: number): Promise<never> {
    let orphans: Secret[];
    let unproven: Secret[];
    let missing: string[];
    let empty: boolean;
    try {
      const listed = await list();
      // A listing without a secret preflight listed (and this run did not delete) is not complete: it
      // cannot show whether the create took effect either.
      missing = found.before.filter(
        (id) => id !== found.clearFirst && !listed.some((x) => x.id === id),
      );
      // Nor can a listing that shows no secret at all (the app always has one).
      empty = listed.length === 0;
      const fresh = listed.filter((x) => !found.before.includes(x.id));
      const since = (x: Secret) => Date.parse(x.created) >= sentAt - CLOCK_SLACK_MS;
      orphans = fresh.filter(since);
      unproven = fresh.filter((x) => !since(x));
    } catch (err) {
      throw new ProviderError(
        `${cause.message} It was not repeated, and listing the app's secrets to find out what happened failed too (${(err as Error).message}). The previous secret still works. Okta may now hold a secret nobody knows: in the Admin Console, deactivate and delete any client secret of app ${s.appId} created at about ${new Date(now()).toISOString()}, then re-run the workflow.`,
        true,
      );
    }
    if (missing.length || empty)
      throw new ProviderError(
        `${cause.message} It was not repeated, and the listing of the app's secrets after it ${empty ? 'showed no secret at all' : `did not show ${missing.map((id) => loggable(id, 40)).join(', ')}, which preflight listed`}, so it cannot tell whether the create took effect. The previous secret still works. Okta may now hold a secret nobody knows: in the Admin Console, deactivate and delete any client secret of app ${s.appId} created at about ${new Date(now()).toISOString()}, then re-run the workflow.`,
        true,
      );
    const failed: string[] = [];
    for (const o of orphans)
      await remove(o.id, o.status === 'ACTIVE').catch(() => failed.push(loggable(o.id, 40)));
    // A removal is trusted once the listing no longer shows the secret (a success answer may be empty).
    const removed = orphans.map((o) => o.id).filter((id) => !failed.includes(loggable(id, 40)));
    if (removed.length)
      failed.push(
        ...(
          await list().then(
            (secrets) => removed.filter((id) => secrets.some((x) => x.id === id)),
            () => removed,
          )
        ).map((id) => loggable(id, 40)),
      );
    const found_ = orphans.length
      ? `found ${orphans.length} secret(s) from this attempt, whose value Okta never shows again; ${failed.length ? `could not remove ${failed.join(', ')}: deactivate and delete it in the Admin Console` : 'they were deactivated and deleted'}`
      : 'found no secret from this attempt, so nothing was added';
    const left = unproven.length
      ? ` It also shows ${unproven.map((x) => loggable(x.id, 40)).join(', ')}, not listed in preflight but dated before this attempt: left alone, since a client may use ${unproven.length === 1 ? 'it' : 'them'}.`
      : '';
    throw new ProviderError(
      `${cause.message} It was not repeated. Listing the app's secrets ${found_}.${left} The previous secret still works. Re-run the workflow.`,
      true,
    );
  }

  return {
    async preflight(): Promise<Found<OktaFound>> {
      // Signed in once, then the app and its secrets are read at once (the listing needs nothing from
      // the app's answer); a failure to read the app, or an app without a secret, is still the one
      // reported.
      await session?.token();
      const listing = list();
      listing.catch(() => undefined);
      const app = await managed({
        method: 'GET',
        url: appPath,
        what: `read Okta app ${s.appId}`,
        retry: 'safe',
      });
      const oauth = (app.body as { credentials?: { oauthClient?: unknown } } | undefined)
        ?.credentials?.oauthClient;
      const method = field(oauth, 'token_endpoint_auth_method');
      if (!method || !SECRET_AUTH.has(method))
        throw new ProviderError(
          `Okta app ${s.appId} does not authenticate with a client secret (token_endpoint_auth_method ${method ? loggable(method, 40) : 'not reported'}); only apps using client_secret_basic, client_secret_post or client_secret_jwt have secrets to rotate.`,
        );
      const clientId = field(oauth, 'client_id') ?? s.appId;
      const label = field(app.body, 'label');
      const secrets = await listing;
      const active = secrets.filter((x) => x.status === 'ACTIVE');
      // An app that signs in with a client secret always has one (Okta deletes only an inactive
      // secret and never deactivates the only one): an empty listing is not the app's, and nothing
      // can be told from it.
      if (secrets.length === 0)
        throw new ProviderError(
          `Okta listed no client secret for app ${s.appId}, which authenticates with one (${loggable(method, 40)}): the listing cannot be the app's, so nothing it says about the app's secrets can be trusted. Nothing was changed; re-run the workflow, and check the app's Client Credentials in the Admin Console if it happens again.`,
        );
      const inactive = secrets
        .filter((x) => x.status !== 'ACTIVE')
        .sort((x, y) => x.created.localeCompare(y.created));
      let clearFirst: string | undefined;
      if (secrets.length >= 2) {
        const ids = secrets.map((x) => `${loggable(x.id, 40)} (${loggable(x.status, 12)})`);
        if (inactive.length === 0)
          throw new ProviderError(
            `Okta app ${s.appId} already holds two active client secrets (${ids.join(', ')}), the most Okta allows, so a new one cannot be added. The action never deactivates a secret it did not replace: a target may still hold it. Find the one no client uses any more, deactivate and delete it (Admin Console: the app's General tab, Client Secrets), then re-run the workflow.`,
          );
        if (!s.retirePrevious)
          throw new ProviderError(
            `Okta app ${s.appId} already holds two client secrets (${ids.join(', ')}), the most Okta allows. Delete the inactive one in the Admin Console, or set okta-retire-previous: true to let the action delete the oldest inactive one before adding the new secret.`,
          );
        clearFirst = inactive[0]!.id;
      }
      const newest = [...active].sort((x, y) => y.created.localeCompare(x.created))[0];
      const credential: Credential = {
        clientId,
        credentialId: newest?.id,
        description: `Okta app ${s.appId}${label ? ` "${loggable(label, 80)}"` : ''} (${active.length} active, ${inactive.length} inactive secret(s))`,
        expiresAt: undefined,
        oldSecretDiesOnRotate: false,
      };
      return {
        credential,
        found: {
          clientId,
          before: secrets.map((x) => x.id),
          previous: active.map((x) => x.id),
          clearFirst,
        },
      };
    },

    async rotate(found): Promise<Rotated<OktaRotated>> {
      if (found.clearFirst) {
        // Inactive: no client can sign in with it, so deleting it changes nothing for anyone.
        await remove(found.clearFirst, false);
        deps.info(
          `Deleted the oldest inactive client secret ${loggable(found.clearFirst, 40)} of Okta app ${s.appId} to make room (okta-retire-previous).`,
        );
      }
      let res: Response;
      const sentAt = now();
      try {
        res = await managed({
          method: 'POST',
          url: secretsPath,
          json: {},
          what: `add a client secret to Okta app ${s.appId}`,
          retry: 'once',
        });
      } catch (err) {
        if (err instanceof HttpError && err.outcomeUnknown) return clearOrphans(found, err, sentAt);
        throw err;
      }
      const secret = field(res.body, 'client_secret');
      const id = field(res.body, 'id');
      // Masked before anything else, even when the answer is unusable and the secret is taken back.
      if (secret) deps.mask(secret);
      if (!secret || !id || !SECRET_ID.test(id)) {
        // A secret that exists but whose value we lack helps nobody and fills the app: take it back.
        return clearOrphans(
          found,
          new HttpError(
            `Okta answered the new client secret without ${secret ? 'a usable id' : 'client_secret'}.`,
            res.status,
            true,
          ),
          sentAt,
        );
      }
      const rotation: Rotation = {
        secret,
        clientId: found.clientId,
        credentialId: id,
        expiresAt: undefined,
      };
      return { rotation, rotated: { newId: id, previous: found.previous } };
    },

    async retirePrevious(r): Promise<string | undefined> {
      if (!s.retirePrevious || r.previous.length === 0) return undefined;
      // Never retire unless the new secret is still there and active: otherwise nothing would work.
      const now_ = await list();
      if (!now_.some((x) => x.id === r.newId && x.status === 'ACTIVE'))
        throw new ProviderError(
          `The new client secret ${loggable(r.newId, 40)} is no longer active at Okta, so the previous one was kept.`,
        );
      const retired: string[] = [];
      for (const id of r.previous) {
        const listed = now_.find((x) => x.id === id);
        if (!listed) continue;
        if (listed.status === 'ACTIVE') await deactivated(id);
        // Deactivated, it signs nobody in: retired. Deleting it only frees its slot, and the next run
        // with okta-retire-previous deletes an inactive secret anyway; so a failure here warns.
        try {
          await del(id);
          retired.push(`${id} (deactivated and deleted)`);
        } catch (err) {
          deps.warn(
            `The previous client secret ${id} of Okta app ${s.appId} is deactivated but deleting it failed: ${(err as Error).message} It no longer works; delete it in the Admin Console, or let the next run with okta-retire-previous do it.`,
          );
          retired.push(`${id} (deactivated; deleting it failed)`);
        }
      }
      return retired.length
        ? `the previous Okta client secret(s) ${retired.join(', ')}`
        : undefined;
    },

    async abandon(r): Promise<string | undefined> {
      await deactivated(r.newId);
      // Deactivated, the new secret works nowhere: the rotation is undone, and the recovery blob must
      // not be what anyone stores. Deleting it only frees its slot; a failure there warns.
      try {
        await del(r.newId);
      } catch (err) {
        deps.warn(
          `The new client secret ${r.newId} of Okta app ${s.appId} is deactivated but deleting it failed: ${(err as Error).message} Delete it in the Admin Console, or let the next run with okta-retire-previous do it.`,
        );
        return `deactivated the new Okta client secret ${r.newId}, which no longer works (deleting it failed)`;
      }
      return `deactivated and deleted the new Okta client secret ${r.newId}`;
    },
  };
}

export const okta: ProviderModule<OktaSettings> = {
  inputs,
  docs: {
    title: 'Okta',
    rotates: "an OIDC app's client secret: a new one is added",
    previous: 'works until deactivated and deleted with `okta-retire-previous`',
  },
  parse: parseOkta,
  create: createOkta,
};
