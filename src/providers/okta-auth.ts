// Signing in to Okta as an API service app with private_key_jwt: the private key (PEM or JWK) is read
// and checked before any request, each token request carries a fresh RS256 client assertion, and a
// service app that requires DPoP is refused with a message that says so (no DPoP proofs are sent).
import { createPrivateKey, type KeyObject, randomUUID, sign } from 'node:crypto';
import { now, sleep } from '../clock.js';
import { field, type Http, HttpError } from '../http.js';
import { InputError } from '../inputs/fields.js';
import { backoffMs } from '../retry.js';
import { loggable } from '../untrusted.js';
import { ProviderError } from './types.js';

const NOT_A_KEY =
  "Input 'okta-private-key' is not an RSA private key: give the service app's private key as PEM (-----BEGIN PRIVATE KEY----- ...) or as the JWK (JSON) the Admin Console generates.";

/** JWK members that are private key material (RFC 7518 6.3.2). */
const PRIVATE_JWK = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

/**
 * The key as PKCS#8 PEM, the JWK's own `kid` when it has one, and every part of the input as given
 * that the runner must mask on its own: it masks a multi-line value only line by line, and a PKCS#1
 * PEM or a pretty-printed JWK has other lines than the PKCS#8 PEM made from it. Secrets stores
 * sometimes turn line breaks into a literal `\n`; those are turned back. The value is never quoted in
 * a message.
 */
export function oktaKey(raw: string): { pem: string; kid: string | undefined; parts: string[] } {
  const text = raw.includes('\\n') && !raw.includes('\n') ? raw.replace(/\\n/g, '\n') : raw;
  let key: KeyObject;
  let kid: string | undefined;
  const parts = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && !line.startsWith('-----'));
  try {
    if (text.trim().startsWith('{')) {
      const jwk = JSON.parse(text) as Record<string, unknown>;
      kid = typeof jwk['kid'] === 'string' ? jwk['kid'] : undefined;
      for (const m of PRIVATE_JWK) if (typeof jwk[m] === 'string') parts.push(jwk[m]);
      key = createPrivateKey({ key: jwk as never, format: 'jwk' });
    } else key = createPrivateKey(text);
  } catch {
    throw new InputError(NOT_A_KEY);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new InputError(NOT_A_KEY);
  if (kid !== undefined && !/^[A-Za-z0-9._-]{1,200}$/.test(kid))
    throw new InputError(
      `Input 'okta-private-key' is a JWK whose kid is not a plain key id; set okta-key-id to the key id Okta shows.`,
    );
  return { pem: key.export({ type: 'pkcs8', format: 'pem' }).toString(), kid, parts };
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A client assertion for the org authorization server: iss = sub = client id, five minutes, unique jti. */
export function clientAssertion(
  clientId: string,
  privateKey: string,
  keyId: string | undefined,
  audience: string,
): string {
  const iat = Math.floor(now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(keyId ? { kid: keyId } : {}) };
  const claims = {
    iss: clientId,
    sub: clientId,
    aud: audience,
    iat,
    exp: iat + 300,
    jti: randomUUID(),
  };
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** Token endpoint errors: `error` and the first line of `error_description`. */
export function explainToken(_status: number, body: unknown): string | undefined {
  const error = field(body, 'error');
  const description = field(body, 'error_description')?.split(/\r?\n/)[0];
  return error
    ? `${loggable(error, 60)}${description ? `: ${loggable(description, 200)}` : ''}`
    : undefined;
}

const DPOP = new Set(['invalid_dpop_proof', 'use_dpop_nonce']);
const ATTEMPTS = 4;

/**
 * Requests a token, building the form afresh for every attempt (`form()`), because Okta refuses a
 * client assertion whose jti it has seen: the HTTP helper's own retries would resend the same one.
 */
export async function requestToken(
  http: Http,
  url: string,
  form: () => Record<string, string>,
  what: string,
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      // `once`: the helper repeats only what surely never arrived and 429s; the rest is decided here.
      const res = await http({
        method: 'POST',
        url,
        form: form(),
        what,
        retry: 'once',
        explain: explainToken,
      });
      return res.body;
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      const error = field(err.body, 'error');
      if (error && DPOP.has(error))
        throw new ProviderError(
          `${err.message} The service app requires DPoP ("Require Demonstrating Proof of Possession (DPoP) header in token requests"), which this action does not support: turn that setting off for the service app in the Admin Console, or sign in with okta-api-token.`,
        );
      // A token request changes nothing: timeouts, dropped connections, redirects and 5xx are retried.
      const transient = err.status === undefined || err.status < 400 || err.status >= 500;
      if (!transient || attempt >= ATTEMPTS)
        throw new HttpError(err.message, err.status, false, err.body);
      await sleep(backoffMs(attempt));
    }
  }
}
