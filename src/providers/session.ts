// A provider's sign-in, kept for the run: the access token is reused while it is fresh, renewed
// shortly before it expires, and once more after a 401 on a call that may be sent again. CSP, Auth0,
// Keycloak and Okta's service-app sign-in share it; each says how it signs in and how early it renews.
import { now } from '../clock.js';
import { type Call, field, type Http, HttpError, type Response } from '../http.js';
import { ProviderError } from './types.js';

export interface SessionOptions {
  /** Signs in; resolves to the token answer's body (`access_token`, `expires_in`). */
  readonly signIn: () => Promise<unknown>;
  /** Runs on a token answer once its token is masked, before the token is kept; throws to refuse it. */
  readonly accept?: (body: unknown) => void;
  /** The error when an answer carries no access token. */
  readonly missingToken: string;
  readonly mask: (value: string) => void;
  /** The lifetime assumed when the answer states none, in seconds. */
  readonly defaultLifetimeS: number;
  /** How long before its expiry a token is renewed, from its lifetime (ms). */
  readonly marginMs: (lifetimeMs: number) => number;
}

export class TokenSession {
  readonly #o: SessionOptions;
  #token = '';
  #expiresAt = 0;
  #marginMs = 0;

  constructor(o: SessionOptions) {
    this.#o = o;
  }

  /** The kept token, or a new one when there is none or it is within its margin of expiring. */
  async token(): Promise<string> {
    if (!this.#token || now() >= this.#expiresAt - this.#marginMs) await this.renew();
    return this.#token;
  }

  /** Signs in now, whatever the kept token's age. */
  async renew(): Promise<void> {
    const body = await this.#o.signIn();
    const t = field(body, 'access_token');
    if (!t) throw new ProviderError(this.#o.missingToken);
    this.#o.mask(t);
    this.#o.accept?.(body);
    this.#token = t;
    const lifetime = Number(field(body, 'expires_in'));
    const ms =
      (Number.isFinite(lifetime) && lifetime > 0 ? lifetime : this.#o.defaultLifetimeS) * 1000;
    this.#expiresAt = now() + ms;
    this.#marginMs = this.#o.marginMs(ms);
  }

  /**
   * Sends `c` with the token as a bearer. After a 401, and only when `resendAfter401`, signs in again
   * and sends it once more: a rotating call is never repeated unless its provider refuses a stale
   * token before it acts.
   */
  async call(http: Http, c: Omit<Call, 'headers'>, resendAfter401: boolean): Promise<Response> {
    const send = async () =>
      http({ ...c, headers: { authorization: `Bearer ${await this.token()}` } });
    try {
      return await send();
    } catch (err) {
      if (!(resendAfter401 && err instanceof HttpError && err.status === 401)) throw err;
      await this.renew();
      return send();
    }
  }
}
