// Google Cloud service account keys (the IAM API, projects.serviceAccounts.keys). A service account
// holds at most 10 user-managed keys and every enabled one signs, so a rotation creates a key, stores
// its JSON key file everywhere, confirms that the new key mints a token (a JWT signed with its private
// key, exchanged at the token endpoint), and only then disables (and with gcp-retire-previous deletes)
// the keys that were enabled before. The key the run's own sign-in uses is never touched.
import type { KeyObject } from 'node:crypto';
import { now, sleep } from '../clock.js';
import { field, HttpError } from '../http.js';
import { explainGoogle, gcpAuth, googleError, KEY_CREATION_POLICY } from './gcp-auth.js';
import { gcpInputs, type GcpSettings, parseGcp } from './gcp-inputs.js';
import { mintToken, readKeyFile } from './gcp-key.js';
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

/** Google's limit of user-managed keys per service account. */
export const GCP_KEY_LIMIT = 10;

/** One user-managed key as keys.list shows it. */
interface Key {
  readonly id: string;
  readonly disabled: boolean;
  readonly validAfter: string;
  readonly validBefore: string;
}

export interface GcpFound {
  /** Every key id listed in preflight: a lost keys.create answer is resolved against these. */
  readonly before: readonly string[];
  /** The enabled keys before this run, the sign-in key excluded: disabled after the confirm. */
  readonly previous: readonly string[];
}

export interface GcpRotated {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly previous: readonly string[];
}

/** How often the confirm asks again while the new key is not yet known everywhere. */
const CONFIRM_EVERY_MS = 2_000;
/** Google's clock and this runner's may differ this much (a key's validAfterTime against now()). */
const CLOCK_SLACK_MS = 60_000;

function createGcp(s: GcpSettings, deps: ProviderDeps): Provider<GcpFound, GcpRotated> {
  const sa = s.email;
  const keys = `${s.iamEndpoint}/v1/projects/-/serviceAccounts/${encodeURIComponent(sa)}/keys`;
  const auth = gcpAuth(s.signIn, s, deps);

  /** One IAM API call with the run's access token; a minted token refused (401) is minted again once. */
  async function api(
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    what: string,
    retry: 'safe' | 'once' = 'safe',
    json?: unknown,
  ): Promise<unknown> {
    const send = async () =>
      (
        await deps.http({
          method,
          url,
          headers: { authorization: `Bearer ${await auth.token()}` },
          ...(json !== undefined ? { json } : {}),
          what,
          retry,
          explain: explainGoogle,
        })
      ).body;
    try {
      return await send();
    } catch (err) {
      if (
        retry === 'once' ||
        s.signIn.kind === 'token' ||
        !(err instanceof HttpError && err.status === 401)
      )
        throw err;
      auth.forget();
      return send();
    }
  }

  /** The key id of a key's resource name, when it is one of this service account's keys. */
  function keyIdOf(name: string | undefined): string | undefined {
    const m =
      /^projects\/[a-z0-9-]{1,63}\/serviceAccounts\/([^/]{1,300})\/keys\/([0-9a-f]{40})$/.exec(
        name ?? '',
      );
    return m && (m[1] === sa || /^\d{1,30}$/.test(m[1]!)) ? m[2] : undefined;
  }

  async function list(): Promise<Key[]> {
    const body = await api(
      'GET',
      `${keys}?keyTypes=USER_MANAGED`,
      `list the keys of service account ${sa}`,
    );
    const raw =
      body !== null && typeof body === 'object' ? (body as { keys?: unknown }).keys : null;
    // An account without user-managed keys is answered with {}.
    if (raw !== undefined && !Array.isArray(raw))
      throw new ProviderError(
        `Google answered keys.list for ${sa} without a list of keys; nothing was changed.`,
      );
    const out: Key[] = [];
    for (const k of (raw ?? []) as unknown[]) {
      const id = keyIdOf(field(k, 'name'));
      const disabled = (k as { disabled?: unknown } | null)?.disabled;
      if (id === undefined || (disabled !== undefined && typeof disabled !== 'boolean'))
        throw new ProviderError(
          `Google listed a key of service account ${sa} without a usable name or state; nothing was changed.`,
        );
      const type = field(k, 'keyType');
      if (type !== undefined && type !== 'USER_MANAGED') continue;
      out.push({
        id,
        disabled: disabled === true,
        validAfter: field(k, 'validAfterTime') ?? '',
        validBefore: field(k, 'validBeforeTime') ?? '',
      });
    }
    return out;
  }

  // Idempotent in effect: a repeat after a lost answer finds the key already so, or NOT_FOUND.
  const gone = (err: unknown) => {
    if (!(err instanceof HttpError && err.status === 404)) throw err;
  };
  const disable = (id: string) =>
    api(
      'POST',
      `${keys}/${id}:disable`,
      `disable key ${id} of service account ${sa}`,
      'safe',
      {},
    ).then(() => undefined, gone);
  const del = (id: string) =>
    api('DELETE', `${keys}/${id}`, `delete key ${id} of service account ${sa}`).then(
      () => undefined,
      gone,
    );

  /**
   * After a create whose answer was lost or unusable: a key is this run's when preflight did not list
   * it and Google dates it no earlier than the create was sent (less the clocks' slack). The date
   * matters as much as the listing: a preflight listing answered `{}` (as Google answers an account
   * without keys) would make every key look new, and deleting one a client holds locks it out.
   */
  async function clearOrphans(found: GcpFound, cause: Error, sentAt: number): Promise<never> {
    let orphans: Key[];
    let unproven: Key[];
    let missing: string[];
    let empty: boolean;
    try {
      const listed = await list();
      // A listing without a key preflight listed is not complete: it cannot show whether the create
      // took effect either.
      missing = found.before.filter((id) => !listed.some((k) => k.id === id));
      // Nor can a listing that shows no key at all (Google's `{}` for an account without keys).
      empty = listed.length === 0;
      const fresh = listed.filter((k) => !found.before.includes(k.id) && k.id !== s.signInKeyId);
      const since = (k: Key) => Date.parse(k.validAfter) >= sentAt - CLOCK_SLACK_MS;
      orphans = fresh.filter(since);
      unproven = fresh.filter((k) => !since(k));
    } catch (err) {
      throw new ProviderError(
        `${cause.message} It was not repeated, and listing the service account's keys to find out what happened failed too (${(err as Error).message}). The previous key still works. Google may now hold a key whose private key nobody has: delete any key of service account ${sa} created at about ${new Date(now()).toISOString()}, then re-run the workflow.`,
        true,
      );
    }
    if (missing.length || empty)
      throw new ProviderError(
        `${cause.message} It was not repeated, and the listing of the service account's keys after it ${empty ? 'showed no key at all' : `did not show ${missing.join(', ')}, which preflight listed`}, so it cannot tell whether the create took effect. The previous key still works. Google may now hold a key whose private key nobody has: delete any key of service account ${sa} created at about ${new Date(now()).toISOString()}, then re-run the workflow.`,
        true,
      );
    const failed: string[] = [];
    // Its private key is never shown again, so nobody can use it: this run's own key, deleted.
    for (const o of orphans) await del(o.id).catch(() => failed.push(o.id));
    // A deletion is trusted once the listing no longer shows the key.
    if (orphans.length > failed.length)
      failed.push(
        ...(await stillListed(orphans.map((o) => o.id).filter((id) => !failed.includes(id)))),
      );
    const what = orphans.length
      ? `found ${orphans.length} key(s) from this attempt (${orphans.map((o) => o.id).join(', ')}), whose private key Google never shows again; ${failed.length ? `could not delete (or confirm the deletion of) ${failed.join(', ')}: delete it in the console (IAM > Service accounts > Keys)` : 'they were deleted'}`
      : 'found no key from this attempt, so nothing was added';
    const left = unproven.length
      ? ` It also shows ${unproven.map((k) => k.id).join(', ')}, not listed in preflight but dated before this attempt: left alone, since a client may use ${unproven.length === 1 ? 'it' : 'them'}.`
      : '';
    throw new ProviderError(
      `${cause.message} It was not repeated. Listing the service account's keys ${what}.${left} The previous key still works. Re-run the workflow.`,
      true,
    );
  }

  /** keys.get: true when the key is disabled or gone. */
  const isDisabled = (id: string) =>
    api('GET', `${keys}/${id}`, `read key ${id} of service account ${sa}`).then(
      (body) => (body as { disabled?: unknown } | null)?.disabled === true,
      (err: unknown) => {
        gone(err);
        return true;
      },
    );

  /** Which of `ids` the account still lists (all of them when the listing fails). */
  async function stillListed(ids: readonly string[]): Promise<string[]> {
    const listed = await list().then(
      (keys) => keys.map((k) => k.id),
      () => ids,
    );
    return ids.filter((id) => listed.includes(id));
  }

  /** A refusal of keys.create that names its cause: the organization policy, or the key limit. */
  function refusal(err: HttpError): ProviderError | undefined {
    const g = googleError(err.body);
    if (g.constraints.includes(KEY_CREATION_POLICY))
      return new ProviderError(
        `Google refused to create a key for service account ${sa}: the organization policy constraints/${KEY_CREATION_POLICY} forbids service account key creation here. Nothing was changed. Ask an organization policy administrator for an exception on this project, or let clients sign in without keys (Workload Identity Federation).`,
      );
    if (g.status === 'FAILED_PRECONDITION' || g.status === 'RESOURCE_EXHAUSTED')
      return new ProviderError(
        `${err.message} Service account ${sa} may hold ${GCP_KEY_LIMIT} user-managed keys already, the most Google allows (another key was created since the preflight listing?). Nothing was changed: delete the keys no client uses, then re-run the workflow.`,
      );
    return undefined;
  }

  return {
    async preflight(): Promise<Found<GcpFound>> {
      await auth.token();
      deps.info(auth.who);
      const all = await list();
      const own = all.find((k) => k.id === s.signInKeyId);
      const enabled = all.filter((k) => !k.disabled);
      if (all.length >= GCP_KEY_LIMIT)
        throw new ProviderError(
          `Service account ${sa} already holds ${all.length} user-managed keys (${all.map((k) => `${k.id}${k.disabled ? ' (disabled)' : ''}`).join(', ')}), the most Google allows (the key limit is ${GCP_KEY_LIMIT}), so a new one cannot be created. Nothing was changed. The action never deletes a key it did not replace: a client may still use it. Delete the keys no client uses (disabled ones first) in the console or with 'gcloud iam service-accounts keys delete', then re-run the workflow.`,
        );
      if (own)
        deps.warn(
          `The run signs in with key ${own.id} of service account ${sa} itself: that key is never disabled or deleted by the action; retire it by hand once nothing uses it.`,
        );
      const previous = enabled.filter((k) => k !== own).map((k) => k.id);
      const newest = [...enabled].sort((a, b) => b.validAfter.localeCompare(a.validAfter))[0];
      // A key without an expiry is shown valid until 9999-12-31.
      const expires =
        newest && /^\d{4}-/.test(newest.validBefore) && newest.validBefore < '9000'
          ? newest.validBefore
          : undefined;
      const credential: Credential = {
        clientId: s.clientId === 'email' ? sa : newest?.id,
        credentialId: newest?.id,
        description: `service account ${sa} (${enabled.length} enabled, ${all.length - enabled.length} disabled user-managed key(s))`,
        expiresAt: expires,
        oldSecretDiesOnRotate: false,
      };
      return { credential, found: { before: all.map((k) => k.id), previous } };
    },

    async rotate(found): Promise<Rotated<GcpRotated>> {
      let body: unknown;
      const sentAt = now();
      try {
        body = await api('POST', keys, `create a key for service account ${sa}`, 'once', {
          privateKeyType: 'TYPE_GOOGLE_CREDENTIALS_FILE',
          keyAlgorithm: 'KEY_ALG_RSA_2048',
        });
      } catch (err) {
        if ((err instanceof HttpError || err instanceof ProviderError) && err.outcomeUnknown)
          return clearOrphans(found, err, sentAt);
        throw (err instanceof HttpError && refusal(err)) || err;
      }
      const id = keyIdOf(field(body, 'name'));
      const file = readKeyFile(field(body, 'privateKeyData'), sa, id ?? '', deps.mask);
      if (!id || typeof file === 'string')
        return clearOrphans(
          found,
          new ProviderError(
            `Google answered keys.create ${id ? (file as string) : 'without a usable key name'}.`,
            true,
          ),
          sentAt,
        );
      const rotation: Rotation = {
        secret: file.json,
        clientId: s.clientId === 'email' ? sa : id,
        credentialId: id,
        expiresAt: undefined,
      };
      return {
        rotation,
        rotated: { keyId: id, privateKey: file.privateKey, previous: found.previous },
      };
    },

    async retirePrevious(r): Promise<string | undefined> {
      // The new key must mint a token before the previous ones stop: IAM is eventually consistent.
      const deadline = now() + s.confirmTimeoutMs;
      for (let tries = 1; ; tries++) {
        try {
          await mintToken(deps.http, s.tokenEndpoint, sa, r.keyId, r.privateKey, deps.mask);
          break;
        } catch (err) {
          // An unknown key's signature is refused as invalid_grant until the key has propagated.
          const notYet =
            err instanceof HttpError &&
            err.status === 400 &&
            googleError(err.body).oauth === 'invalid_grant';
          if (!notYet) throw err;
          if (now() + CONFIRM_EVERY_MS > deadline)
            throw new ProviderError(
              `The new key ${r.keyId} did not mint a token within gcp-confirm-timeout (${s.confirmTimeoutMs / 1000} s, ${tries} tries; last: ${(err as Error).message}), so the previous keys were kept enabled.`,
            );
          await sleep(CONFIRM_EVERY_MS);
        }
      }
      deps.info(`The new key ${r.keyId} mints a token as ${sa}.`);
      const retired: string[] = [];
      for (const id of r.previous) {
        if (id === r.keyId || id === s.signInKeyId) continue;
        await disable(id);
        // Trusted once keys.get shows it disabled (or gone): only a disabled key is ever deleted.
        if (!(await isDisabled(id)))
          throw new ProviderError(
            `Google answered the disabling of the previous key ${id} of service account ${sa}, but keys.get still shows it enabled; it was not deleted. Every target holds the new key: disable the previous one in the console (IAM > Service accounts > Keys).`,
          );
        if (!s.retirePrevious) {
          retired.push(`${id} (disabled)`);
          continue;
        }
        // Disabled, it signs nobody in: retired. Deleting it frees its slot; a failure only warns.
        try {
          await del(id);
          retired.push(`${id} (disabled and deleted)`);
        } catch (err) {
          deps.warn(
            `The previous key ${id} of service account ${sa} is disabled but deleting it failed: ${(err as Error).message} It no longer works; delete it in the console.`,
          );
          retired.push(`${id} (disabled; deleting it failed)`);
        }
      }
      return retired.length ? `the previous key(s) ${retired.join(', ')}` : undefined;
    },

    async abandon(r): Promise<string | undefined> {
      // No target holds the new key: deleted, it is as if the rotation never happened.
      await del(r.keyId);
      const left = await list().then(
        (keys) => keys.some((k) => k.id === r.keyId),
        () => undefined,
      );
      if (left !== false)
        throw new ProviderError(
          `Google answered the deletion of the new key ${r.keyId} of service account ${sa}, but ${left ? 'still lists it' : 'listing the keys to confirm it failed'}: delete it in the console (IAM > Service accounts > Keys) if it is still there.`,
        );
      return `deleted the new key ${r.keyId} of service account ${sa}`;
    },
  };
}

export const gcpServiceAccount: ProviderModule<GcpSettings> = {
  inputs: gcpInputs,
  docs: {
    title: 'Google Cloud service account',
    rotates:
      "a service account's key: a new one is created and its JSON key file stored (its id goes to `client-id-secret-name`)",
    previous: 'disabled once the new key mints a token; deleted too with `gcp-retire-previous`',
  },
  parse: parseGcp,
  create: createGcp,
};
