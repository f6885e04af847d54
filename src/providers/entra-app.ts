// One Entra application managed through Microsoft Graph by the app named in entra-auth-client-id:
// sign-in with fresh tokens, its passwords (list, add once, remove, confirm), and which of them belong
// to this rotation. Shared by the Entra and Woodpecker providers.
import { randomBytes } from 'node:crypto';
import { now, sleep } from '../clock.js';
import { field, HttpError } from '../http.js';
import { loggable } from '../untrusted.js';
import { type IssuedSecrets, type ProviderDeps, ProviderError } from './types.js';

/** The parsed inputs of provider `entra` (src/providers/entra.ts parses them; Woodpecker reuses them). */
export interface EntraSettings {
  readonly name: 'entra';
  /** Tenant id (GUID) or a verified domain. */
  readonly tenantId: string;
  /** The application (client) id whose secret rotates. */
  readonly appId: string;
  /** The app that manages the target app, signing in with the job's OIDC token or a client secret. */
  readonly auth:
    | { readonly kind: 'oidc'; readonly clientId: string }
    | { readonly kind: 'client-secret'; readonly clientId: string; readonly clientSecret: string };
  readonly lifetimeDays: number;
  /** Remove the earlier passwords this action created, once the new one is stored and works. */
  readonly removePrevious: boolean;
  readonly loginUrl: string;
  readonly graphUrl: string;
  /** How long a new password may take to start working before it is called broken. */
  readonly propagationTimeoutMs: number;
  /**
   * This rotation's identity, written into every password it adds: only passwords carrying the same
   * tag are ever removed, so rotations of one app into different secrets never remove each other's.
   */
  readonly passwordTag: string;
}

/** Every password this action adds starts with this. */
export const MARKER = 'rotated by rotate-client-secret-action';

/**
 * What the display name of every password this rotation adds starts with: the marker and the
 * rotation's tag. Only passwords that start with the same text are ever removed; passwords with the
 * bare marker of earlier versions (no tag) are never removed (README: migrating).
 */
export function ownPrefix(tag: string): string {
  return `${MARKER} [${tag}] `;
}

/**
 * The passwords this rotation made (its tag), with when Graph created them: `startDateTime`, which
 * Graph sets to its own clock at addPassword since this action never sends one. The expiry rule
 * decides by the newest of them that existed when the targets were last written (src/due.ts), so
 * that the password of a run killed after addPassword, which no target holds, does not make a run
 * look not due. Passwords without readable times are left out.
 */
export function issuedBy(passwords: readonly Password[], tag: string): IssuedSecrets {
  const own = ownPrefix(tag);
  return {
    noun: 'password',
    secrets: passwords
      .filter((p) => p.displayName.startsWith(own))
      .map((p) => ({
        createdAt: Date.parse(p.startDateTime ?? ''),
        expiresAt: Date.parse(p.endDateTime ?? ''),
      }))
      .filter((p) => !Number.isNaN(p.createdAt) && !Number.isNaN(p.expiresAt)),
  };
}

/** Sign in again this long before the token's stated expiry. */
const TOKEN_MARGIN_MS = 60_000;

/** Entra token errors: `error`, `error_codes`, and the first sentence of `error_description` (AADSTS code and text). */
function explainLogin(_status: number, body: unknown): string | undefined {
  const error = field(body, 'error');
  const description = field(body, 'error_description')?.split(/\r?\n/)[0];
  return error
    ? `${loggable(error, 60)}${description ? `: ${loggable(description, 200)}` : ''}`
    : undefined;
}

/** Graph errors: `{error: {code, message}}`. */
function explainGraph(status: number, body: unknown): string | undefined {
  const e = (body as { error?: unknown } | undefined)?.error;
  const code = field(e, 'code');
  const hint =
    status === 403
      ? ' (the managing app needs Application.ReadWrite.OwnedBy and to own the app, or Application.ReadWrite.All)'
      : '';
  return code
    ? `${loggable(code, 60)}: ${loggable(field(e, 'message') ?? '', 200)}${hint}`
    : hint.trim() || undefined;
}

export interface Password {
  readonly keyId: string;
  readonly displayName: string;
  /** When it became valid: Graph's clock at addPassword, since this action never sets it. */
  readonly startDateTime: string | undefined;
  readonly endDateTime: string | undefined;
  // Graph's `hint` (the first characters of the secret) is never read: it must not reach a log.
}

export interface NewPassword extends Password {
  readonly secretText: string;
}

/** One application in one tenant, managed through Graph by the app named in `entra-auth-client-id`. */
export class EntraApp {
  readonly #s: EntraSettings;
  readonly #deps: ProviderDeps;
  #token: { readonly value: string; readonly expiresAt: number } | undefined;

  constructor(s: EntraSettings, deps: ProviderDeps) {
    this.#s = s;
    this.#deps = deps;
  }

  get appId(): string {
    return this.#s.appId;
  }

  get tenantId(): string {
    return this.#s.tenantId;
  }

  async passwords(): Promise<Password[]> {
    const res = await this.#graph(
      'GET',
      '?$select=id,passwordCredentials',
      undefined,
      'read the Entra application and its passwords',
      'safe',
    );
    const list = (res as { passwordCredentials?: unknown } | undefined)?.passwordCredentials;
    // An answer without the list shows nothing: taken as empty, it would hide every password.
    if (!Array.isArray(list))
      throw new ProviderError(
        'Graph answered the application read without its passwordCredentials list.',
      );
    return list.map((p: unknown) => ({
      keyId: field(p, 'keyId') ?? '',
      displayName: field(p, 'displayName') ?? '',
      startDateTime: field(p, 'startDateTime'),
      endDateTime: field(p, 'endDateTime'),
    }));
  }

  /**
   * Adds a password. When the answer is lost, finds the password by its name and removes it: the name
   * ends in a random nonce, so no earlier run (not even one in the same millisecond with the same run
   * id, a re-run of a local run) and no person can have left a password of that name.
   */
  async addPassword(): Promise<NewPassword> {
    const nonce = randomBytes(6).toString('hex');
    const displayName = `${ownPrefix(this.#s.passwordTag)}${new Date(now()).toISOString()} run ${process.env['GITHUB_RUN_ID'] ?? 'local'}-${process.env['GITHUB_RUN_ATTEMPT'] ?? '1'} ${nonce}`;
    const endDateTime = new Date(now() + this.#s.lifetimeDays * 86_400_000).toISOString();
    let body: unknown;
    try {
      body = await this.#graph(
        'POST',
        '/addPassword',
        { passwordCredential: { displayName, endDateTime } },
        'add a password to the Entra application',
        'once',
      );
    } catch (err) {
      if (!(err instanceof HttpError && err.outcomeUnknown)) throw err;
      let orphans: Password[];
      try {
        orphans = (await this.passwords()).filter((p) => p.displayName === displayName);
      } catch (listing) {
        throw new ProviderError(
          `${err.message} It was not repeated, and listing the application to find a password from this attempt failed too (${(listing as Error).message}): one named '${displayName}' may have been added. Remove it in the Entra portal if it is there; the previous secret still works. Re-run the workflow.`,
          true,
        );
      }
      for (const p of orphans) await this.removePassword(p.keyId);
      throw new ProviderError(
        `${err.message} It was not repeated. Listing the application found ${orphans.length} password(s) from this attempt, ${orphans.length ? 'now removed' : 'so nothing was added'}; the previous secret still works. Re-run the workflow.`,
        true,
      );
    }
    const secretText = field(body, 'secretText');
    if (!secretText)
      throw new ProviderError('Graph answered addPassword without secretText.', true);
    this.#deps.mask(secretText);
    const answeredEnd = field(body, 'endDateTime');
    if (answeredEnd !== undefined && Number.isNaN(Date.parse(answeredEnd))) {
      // Nothing downstream can use a password whose expiry is unreadable: take it back at once.
      const keyId = field(body, 'keyId');
      const removed = keyId
        ? await this.removePassword(keyId).then(
            () => true,
            () => false,
          )
        : false;
      throw new ProviderError(
        `Graph answered addPassword with an unreadable endDateTime. ${
          removed
            ? 'The new password was removed again; the previous secret still works.'
            : `Could not remove the new password (${keyId ? `keyId ${keyId}` : 'no keyId in the answer'}); remove it in the Entra portal. The previous secret still works.`
        }`,
      );
    }
    return {
      secretText,
      keyId: field(body, 'keyId') ?? '',
      displayName,
      startDateTime: field(body, 'startDateTime'),
      endDateTime: field(body, 'endDateTime') ?? endDateTime,
    };
  }

  /**
   * Removes a password. Sent once: when the answer is lost, the listing tells whether it is gone
   * (a repeat would meet a 404 at best, and a retry storm at worst); only if it is still there is
   * the request sent again.
   */
  async removePassword(keyId: string): Promise<void> {
    const what = `remove password ${keyId} from the Entra application`;
    const send = (retry: 'safe' | 'once') =>
      this.#graph('POST', '/removePassword', { keyId }, what, retry);
    try {
      await send('once');
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return;
      const unknown = err instanceof HttpError && (err.outcomeUnknown || err.status === undefined);
      if (!unknown) throw err;
      if (!(await this.passwords()).some((p) => p.keyId === keyId)) return;
      await send('safe').catch((again: unknown) => {
        if (!(again instanceof HttpError && again.status === 404)) throw again;
      });
    }
  }

  /** Waits, within entra-propagation-timeout, until the new secret obtains a token. */
  async confirm(secret: string): Promise<void> {
    const deadline = now() + this.#s.propagationTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const body = await this.#tokenRequest(
          { client_id: this.#s.appId, client_secret: secret },
          'obtain a token with the new secret',
        );
        // Only a token proves it: a 2xx without one says nothing.
        if (field(body, 'access_token')) return;
        throw new ProviderError(
          'Entra answered the sign-in with the new secret without an access_token.',
        );
      } catch (err) {
        const notYet = err instanceof HttpError && /invalid_client|AADSTS7000215/.test(err.message);
        if (!notYet || now() >= deadline) throw err;
        if (attempt === 1)
          this.#deps.info('The new password does not work yet (Entra propagation); waiting.');
        await sleep(Math.min(2000, Math.max(0, deadline - now())));
      }
    }
  }

  /**
   * Removes the passwords this rotation (same tag) created earlier, keeping `keep`: only those listed
   * in preflight (`before`, their keyIds), so that a password added meanwhile (another workflow with
   * the same tag, in flight) is never taken from whoever holds it. Returns a description.
   */
  async removeEarlier(keep: string, before: ReadonlySet<string>): Promise<string | undefined> {
    const own = ownPrefix(this.#s.passwordTag);
    const earlier = (await this.passwords()).filter(
      (p) => p.displayName.startsWith(own) && p.keyId !== keep && before.has(p.keyId),
    );
    for (const p of earlier) await this.removePassword(p.keyId);
    return earlier.length
      ? `${earlier.length} earlier password(s) created by this rotation (${earlier.map((p) => loggable(p.keyId, 40)).join(', ')})`
      : undefined;
  }

  async #graph(
    method: 'GET' | 'POST',
    suffix: string,
    json: unknown,
    what: string,
    retry: 'safe' | 'once',
  ): Promise<unknown> {
    const url = `${this.#s.graphUrl}/v1.0/applications(appId='${encodeURIComponent(this.#s.appId)}')${suffix}`;
    const send = async () =>
      this.#deps.http({
        method,
        url,
        headers: { authorization: `Bearer ${await this.#accessToken()}` },
        ...(json === undefined ? {} : { json }),
        what,
        retry,
        explain: explainGraph,
      });
    try {
      return (await send()).body;
    } catch (err) {
      // A 401 on a non-rotating call: the token went stale early (revoked, clock skew). Sign in again once.
      if (retry === 'once' || !(err instanceof HttpError && err.status === 401)) throw err;
      this.#token = undefined;
      return (await send()).body;
    }
  }

  /** A token that is not expired and not within a minute of it; otherwise a new sign-in. */
  async #accessToken(): Promise<string> {
    if (this.#token && now() < this.#token.expiresAt - TOKEN_MARGIN_MS) return this.#token.value;
    const a = this.#s.auth;
    let credential: Record<string, string>;
    if (a.kind === 'client-secret') credential = { client_secret: a.clientSecret };
    else {
      const assertion = await this.#deps
        .idToken('api://AzureADTokenExchange')
        .catch((err: unknown) => {
          throw new ProviderError(
            `Could not get the job's OIDC token (${(err as Error).message}); the job needs 'permissions: id-token: write'.`,
          );
        });
      this.#deps.mask(assertion);
      credential = {
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      };
    }
    const body = await this.#tokenRequest(
      { client_id: a.clientId, ...credential },
      `sign in to Entra as ${a.clientId} (${a.kind})`,
    );
    const token = field(body, 'access_token');
    if (!token)
      throw new ProviderError('Entra answered the token request without an access_token.');
    this.#deps.mask(token);
    const lifetime = Number(field(body, 'expires_in'));
    const expiresAt = now() + (Number.isFinite(lifetime) && lifetime > 0 ? lifetime : 300) * 1000;
    this.#token = { value: token, expiresAt };
    return token;
  }

  async #tokenRequest(form: Record<string, string>, what: string): Promise<unknown> {
    const res = await this.#deps.http({
      method: 'POST',
      url: `${this.#s.loginUrl}/${encodeURIComponent(this.#s.tenantId)}/oauth2/v2.0/token`,
      form: { grant_type: 'client_credentials', scope: `${this.#s.graphUrl}/.default`, ...form },
      what,
      retry: 'safe',
      explain: explainLogin,
    });
    return res.body;
  }
}
