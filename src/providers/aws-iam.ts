// AWS IAM: an IAM user's access keys (the IAM query API, signed with SigV4). A user holds at most two
// keys and every Active one works, so a rotation creates a second key, stores its id and secret
// everywhere, confirms that it signs, and only then deactivates (and with aws-iam-retire-previous
// deletes) the key that was active before. The key the run itself signs with is never touched.
import { now, sleep } from '../clock.js';
import { HttpError, type Response } from '../http.js';
import { backoffMs } from '../retry.js';
import { loggable } from '../untrusted.js';
import { awsIamInputs, type AwsIamSettings, KEY_ID, parseAwsIam } from './aws-iam-inputs.js';
import { at, awsCode, explainAws, loadLibs, parseXml, type SigningKey, text } from './aws-query.js';
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

/** One access key as ListAccessKeys shows it. */
interface Key {
  readonly id: string;
  readonly status: 'Active' | 'Inactive';
  readonly created: string;
}

export interface AwsIamFound {
  /** The user's ARN prefix and account, from GetCallerIdentity: the confirm checks the new key is this user's. */
  readonly account: string;
  readonly partition: string;
  /** Every key id listed in preflight: a lost CreateAccessKey answer is resolved against these. */
  readonly before: readonly string[];
  /** The Active keys of the user before this run, the sign-in key excluded: retired after the confirm. */
  readonly previous: readonly string[];
  /** The Inactive key deleted right before CreateAccessKey (aws-iam-delete-inactive). */
  readonly clearFirst: string | undefined;
}

export interface AwsIamRotated {
  readonly newId: string;
  readonly newSecret: string;
  readonly previous: readonly string[];
  readonly account: string;
  readonly partition: string;
}

const IAM_VERSION = '2010-05-08';
const STS_VERSION = '2011-06-15';
/** How often the confirm asks again while the new key is not yet known everywhere. */
const CONFIRM_EVERY_MS = 2_000;
/** IAM's clock against ours, when a lost create's key is told by its CreateDate. */
const CLOCK_SLACK_MS = 60_000;
/** Throttling (HTTP 400 at AWS, which the helper does not retry): attempts in all. */
const THROTTLE_ATTEMPTS = 4;

function createAwsIam(s: AwsIamSettings, deps: ProviderDeps): Provider<AwsIamFound, AwsIamRotated> {
  deps.mask(s.signIn.secretAccessKey);
  if (s.signIn.sessionToken) deps.mask(s.signIn.sessionToken);
  const user = s.userName;

  /** One signed query API call (POST, form-encoded), retried on Throttling, with the answer parsed. */
  async function query(
    endpoint: string,
    service: 'iam' | 'sts',
    key: SigningKey,
    params: Record<string, string>,
    what: string,
    retry: 'safe' | 'once',
  ): Promise<Record<string, unknown>> {
    const u = new URL(`${endpoint}/`);
    const form = {
      ...params,
      Version: service === 'iam' ? IAM_VERSION : STS_VERSION,
    };
    // The body exactly as src/http.ts writes a form: what is signed is what is sent.
    const body = new URLSearchParams(form).toString();
    const region = service === 'iam' ? 'us-east-1' : s.region;
    const { SignatureV4, Sha256 } = await loadLibs();
    for (let attempt = 1; ; attempt++) {
      const signer = new SignatureV4({
        service,
        region,
        credentials: {
          accessKeyId: key.accessKeyId,
          secretAccessKey: key.secretAccessKey,
          ...(key.sessionToken ? { sessionToken: key.sessionToken } : {}),
        },
        sha256: Sha256,
      });
      const contentType = 'application/x-www-form-urlencoded';
      const signed = await signer.sign(
        {
          method: 'POST',
          protocol: u.protocol,
          hostname: u.hostname,
          ...(u.port ? { port: Number(u.port) } : {}),
          path: u.pathname,
          query: {},
          headers: { host: u.host, 'content-type': contentType },
          body,
        },
        { signingDate: new Date(now()) },
      );
      const headers: Record<string, string> = { accept: 'text/xml' };
      for (const [k, v] of Object.entries(signed.headers))
        if (k.toLowerCase() !== 'host') headers[k] = v;
      let res: Response;
      try {
        res = await deps.http({
          method: 'POST',
          url: u.href,
          form,
          headers,
          what,
          retry,
          explain: explainAws,
        });
      } catch (err) {
        // AWS answers Throttling with HTTP 400: refused before processing, so even the create may be sent again.
        if (
          err instanceof HttpError &&
          awsCode(err.body) === 'Throttling' &&
          attempt < THROTTLE_ATTEMPTS
        ) {
          await sleep(backoffMs(attempt));
          continue;
        }
        throw err;
      }
      const doc = parseXml(res.body);
      if (!doc)
        throw new ProviderError(
          `Could not ${what}: the answer (HTTP ${res.status}) was not AWS XML.`,
          retry === 'once',
        );
      return doc;
    }
  }

  const iam = (
    params: Record<string, string>,
    what: string,
    retry: 'safe' | 'once' = 'safe',
  ): Promise<Record<string, unknown>> => query(s.iamEndpoint, 'iam', s.signIn, params, what, retry);

  async function whoAmI(key: SigningKey, what: string) {
    const doc = await query(
      s.stsEndpoint,
      'sts',
      key,
      { Action: 'GetCallerIdentity' },
      what,
      'safe',
    );
    const r = at(doc, 'GetCallerIdentityResponse', 'GetCallerIdentityResult');
    return { arn: text(r, 'Arn'), account: text(r, 'Account') };
  }

  async function list(): Promise<Key[]> {
    const doc = await iam(
      { Action: 'ListAccessKeys', UserName: user },
      `list the access keys of IAM user ${user}`,
    );
    const result = at(doc, 'ListAccessKeysResponse', 'ListAccessKeysResult');
    if (result === undefined)
      throw new ProviderError(`AWS answered ListAccessKeys for ${user} without a result.`);
    const members = at(result, 'AccessKeyMetadata', 'member');
    const keys = (Array.isArray(members) ? members : []).map((m: unknown) => ({
      id: text(m, 'AccessKeyId') ?? '',
      status: text(m, 'Status') ?? '',
      created: text(m, 'CreateDate') ?? '',
    }));
    if (keys.some((k) => !KEY_ID.test(k.id) || (k.status !== 'Active' && k.status !== 'Inactive')))
      throw new ProviderError(
        `AWS listed an access key of IAM user ${user} without a usable id or status; nothing was changed.`,
      );
    return keys as Key[];
  }

  // Idempotent in effect: a repeat after a lost answer finds the key already so, or NoSuchEntity.
  const gone = (err: unknown) => {
    if (!(err instanceof HttpError && awsCode(err.body) === 'NoSuchEntity')) throw err;
  };
  const deactivate = (id: string) =>
    iam(
      { Action: 'UpdateAccessKey', UserName: user, AccessKeyId: id, Status: 'Inactive' },
      `deactivate access key ${id} of IAM user ${user}`,
    ).then(() => undefined, gone);
  const del = (id: string) =>
    iam(
      { Action: 'DeleteAccessKey', UserName: user, AccessKeyId: id },
      `delete access key ${id} of IAM user ${user}`,
    ).then(() => undefined, gone);

  /**
   * After a create whose answer was lost or unusable: a key is this attempt's when preflight did not
   * list it and IAM dates it no earlier than the create was sent (less CLOCK_SLACK_MS). A key missing
   * from preflight but older (a listing that answered without it) is left alone and named.
   */
  async function clearOrphans(found: AwsIamFound, cause: Error, sentAt: number): Promise<never> {
    let orphans: Key[];
    let unproven: Key[];
    let missing: string[];
    let empty: boolean;
    try {
      const listed = await list();
      // A listing without a key preflight listed (and this run did not delete) is not complete: it
      // cannot show whether the create took effect either.
      missing = found.before.filter(
        (id) => id !== found.clearFirst && !listed.some((k) => k.id === id),
      );
      // Nor can a listing that shows no key at all (nothing a preflight listing can be checked by).
      empty = listed.length === 0;
      const fresh = listed.filter(
        (k) => !found.before.includes(k.id) && k.id !== s.signIn.accessKeyId,
      );
      const since = (k: Key) => Date.parse(k.created) >= sentAt - CLOCK_SLACK_MS;
      orphans = fresh.filter(since);
      unproven = fresh.filter((k) => !since(k));
    } catch (err) {
      throw new ProviderError(
        `${cause.message} It was not repeated, and listing the user's access keys to find out what happened failed too (${(err as Error).message}). The previous key still works. IAM may now hold a key whose secret nobody knows: delete any access key of IAM user ${user} created at about ${new Date(now()).toISOString()}, then re-run the workflow.`,
        true,
      );
    }
    if (missing.length || empty)
      throw new ProviderError(
        `${cause.message} It was not repeated, and the listing of the user's access keys after it ${empty ? 'showed no key at all' : `did not show ${missing.join(', ')}, which preflight listed`}, so it cannot tell whether the create took effect. The previous key still works. IAM may now hold a key whose secret nobody knows: delete any access key of IAM user ${user} created at about ${new Date(now()).toISOString()}, then re-run the workflow.`,
        true,
      );
    const failed: string[] = [];
    // Its secret is never shown again, so nobody can use it: this run's own key, deleted.
    for (const o of orphans) await del(o.id).catch(() => failed.push(o.id));
    // A deletion is trusted once the listing no longer shows the key (a success answer may be empty).
    const deleted = orphans.map((o) => o.id).filter((id) => !failed.includes(id));
    if (deleted.length)
      failed.push(
        ...(await list().then(
          (keys) => deleted.filter((id) => keys.some((k) => k.id === id)),
          () => deleted,
        )),
      );
    const what = orphans.length
      ? `found ${orphans.length} access key(s) from this attempt (${orphans.map((o) => o.id).join(', ')}), whose secret AWS never shows again; ${failed.length ? `could not delete (or confirm the deletion of) ${failed.join(', ')}: delete it in IAM` : 'they were deleted'}`
      : 'found no key from this attempt, so nothing was added';
    const left = unproven.length
      ? ` It also shows ${unproven.map((k) => k.id).join(', ')}, not listed in preflight but dated before this attempt: left alone, since a client may use ${unproven.length === 1 ? 'it' : 'them'}.`
      : '';
    throw new ProviderError(
      `${cause.message} It was not repeated. Listing the user's access keys ${what}.${left} The previous key still works. Re-run the workflow.`,
      true,
    );
  }

  return {
    async preflight(): Promise<Found<AwsIamFound>> {
      // The listing needs nothing from GetCallerIdentity's answer: both reads go out at once, and a
      // failure of GetCallerIdentity (or of its answer) is still the one reported.
      const listing = list();
      listing.catch(() => undefined);
      const me = await whoAmI(
        s.signIn,
        `check who signs (STS GetCallerIdentity, credentials from ${s.signIn.from})`,
      );
      const arn = me.arn ?? '';
      const m = /^arn:(aws[\w-]*):[\w-]+::(\d{12}):/.exec(arn);
      if (!m || me.account !== m[2])
        throw new ProviderError(
          'AWS answered GetCallerIdentity without a usable Arn and Account; nothing was changed.',
        );
      const [, partition, account] = m as unknown as [string, string, string];
      deps.info(`Signed in to AWS as ${loggable(arn, 200)}.`);
      const keys = await listing;
      const own = keys.find((k) => k.id === s.signIn.accessKeyId);
      const active = keys.filter((k) => k.status === 'Active');
      const inactive = keys.filter((k) => k.status === 'Inactive' && k !== own);
      const ids = keys.map((k) => `${k.id} (${k.status})`);
      let clearFirst: string | undefined;
      if (keys.length >= 2) {
        if (inactive.length === 0)
          throw new ProviderError(
            `IAM user ${user} already holds two access keys (${ids.join(', ')}), the most IAM allows, and neither is Inactive, so a new one cannot be created. The action never deletes an Active key: a client may still use it. Deactivate the one no client uses any more (and delete it, or set aws-iam-delete-inactive: true), then re-run the workflow.`,
          );
        if (!s.deleteInactive)
          throw new ProviderError(
            `IAM user ${user} already holds two access keys (${ids.join(', ')}), the most IAM allows. Delete the Inactive one in IAM, or set aws-iam-delete-inactive: true to let the action delete it before creating the new key.`,
          );
        clearFirst = [...inactive].sort((a, b) => a.created.localeCompare(b.created))[0]!.id;
      }
      if (own)
        deps.warn(
          `The run signs in with access key ${own.id} of IAM user ${user} itself: that key is never deactivated or deleted by the action; retire it by hand once nothing uses it.`,
        );
      const previous = active.filter((k) => k !== own).map((k) => k.id);
      const newest = [...active].sort((a, b) => b.created.localeCompare(a.created))[0];
      const credential: Credential = {
        clientId: newest?.id,
        credentialId: newest?.id,
        description: `IAM user ${user} in account ${account} (${active.length} active, ${keys.length - active.length} inactive access key(s))`,
        expiresAt: undefined,
        oldSecretDiesOnRotate: false,
      };
      return {
        credential,
        found: { account, partition, before: keys.map((k) => k.id), previous, clearFirst },
      };
    },

    async rotate(found): Promise<Rotated<AwsIamRotated>> {
      if (found.clearFirst) {
        // Inactive: nothing can sign with it, so deleting it changes nothing for anyone.
        await del(found.clearFirst);
        deps.info(
          `Deleted the Inactive access key ${found.clearFirst} of IAM user ${user} to make room (aws-iam-delete-inactive).`,
        );
      }
      let doc: Record<string, unknown>;
      const sentAt = now();
      try {
        doc = await iam(
          { Action: 'CreateAccessKey', UserName: user },
          `create an access key for IAM user ${user}`,
          'once',
        );
      } catch (err) {
        if ((err instanceof HttpError || err instanceof ProviderError) && err.outcomeUnknown)
          return clearOrphans(found, err, sentAt);
        throw err;
      }
      const k = at(doc, 'CreateAccessKeyResponse', 'CreateAccessKeyResult', 'AccessKey');
      const secret = text(k, 'SecretAccessKey');
      const id = text(k, 'AccessKeyId');
      // Masked before anything else, even when the answer is unusable and the key is taken back.
      if (secret) deps.mask(secret);
      if (!secret || !/^[\x21-\x7e]{16,256}$/.test(secret) || !id || !KEY_ID.test(id))
        return clearOrphans(
          found,
          new ProviderError(
            `AWS answered CreateAccessKey without ${secret ? 'a usable AccessKeyId' : 'a usable SecretAccessKey'}.`,
            true,
          ),
          sentAt,
        );
      const rotation: Rotation = {
        secret,
        clientId: id,
        credentialId: id,
        expiresAt: undefined,
      };
      return {
        rotation,
        rotated: {
          newId: id,
          newSecret: secret,
          previous: found.previous,
          account: found.account,
          partition: found.partition,
        },
      };
    },

    async retirePrevious(r): Promise<string | undefined> {
      // The new key must sign before the previous one stops: IAM is eventually consistent.
      const deadline = now() + s.confirmTimeoutMs;
      const userArn = new RegExp(
        `^arn:${r.partition}:iam::${r.account}:user/(?:[\\x21-\\x7e]*/)?${user.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
      );
      for (let tries = 1; ; tries++) {
        try {
          const me = await whoAmI(
            { accessKeyId: r.newId, secretAccessKey: r.newSecret },
            `confirm that the new access key ${r.newId} signs (STS GetCallerIdentity)`,
          );
          if (!userArn.test(me.arn ?? ''))
            throw new ProviderError(
              `The new access key ${r.newId} signs as ${loggable(me.arn ?? 'nobody', 200)}, not as IAM user ${user}; the previous key was kept.`,
            );
          break;
        } catch (err) {
          const code = err instanceof HttpError ? awsCode(err.body) : undefined;
          const unknownYet = code === 'InvalidClientTokenId' || code === 'SignatureDoesNotMatch';
          if (!unknownYet) throw err;
          if (now() + CONFIRM_EVERY_MS > deadline)
            throw new ProviderError(
              `The new access key ${r.newId} did not sign GetCallerIdentity within aws-iam-confirm-timeout (${s.confirmTimeoutMs / 1000} s, ${tries} tries; last: ${(err as Error).message}), so the previous key was kept active.`,
            );
          await sleep(CONFIRM_EVERY_MS);
        }
      }
      deps.info(`The new access key ${r.newId} signs as IAM user ${user}.`);
      const retired: string[] = [];
      for (const id of r.previous) {
        if (id === r.newId || id === s.signIn.accessKeyId) continue;
        await deactivate(id);
        // A deactivation is trusted once IAM lists the key Inactive (or no more): a success answer
        // may have changed nothing, and an Active key is never deleted.
        const shown = (await list()).find((k) => k.id === id);
        if (shown?.status === 'Active')
          throw new ProviderError(
            `IAM answered the deactivation of the previous access key ${id} of IAM user ${user} but still lists it Active, so it was neither counted as retired nor deleted. Every target holds the new key, which signs; deactivate ${id} in IAM once nothing uses it, or re-run the workflow.`,
          );
        if (!s.retirePrevious) {
          retired.push(`${id} (deactivated)`);
          continue;
        }
        // Inactive, it signs nobody in: retired. Deleting it frees its slot; a failure only warns.
        try {
          await del(id);
          retired.push(`${id} (deactivated and deleted)`);
        } catch (err) {
          deps.warn(
            `The previous access key ${id} of IAM user ${user} is deactivated but deleting it failed: ${(err as Error).message} It no longer works; delete it in IAM, or let the next run with aws-iam-delete-inactive do it.`,
          );
          retired.push(`${id} (deactivated; deleting it failed)`);
        }
      }
      return retired.length ? `the previous access key(s) ${retired.join(', ')}` : undefined;
    },

    async abandon(r): Promise<string | undefined> {
      // No target holds the new key: deleted, it is as if the rotation never happened.
      await del(r.newId);
      return `deleted the new access key ${r.newId} of IAM user ${user}`;
    },
  };
}

export const awsIam: ProviderModule<AwsIamSettings> = {
  inputs: awsIamInputs,
  docs: {
    title: 'AWS IAM',
    rotates:
      "an IAM user's access key: a new one is created (its id goes to `client-id-secret-name`)",
    previous: 'deactivated once the new key signs; deleted too with `aws-iam-retire-previous`',
  },
  parse: parseAwsIam,
  create: createAwsIam,
};
