// A Google service account key file (the JSON keys.create returns base64-encoded in privateKeyData):
// reading and masking it, and proving it works by minting a token with it (a JWT signed with its
// private key, exchanged at the OAuth token endpoint, as every Google client library does).
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { now } from '../clock.js';
import { field, type Http } from '../http.js';
import { explainGoogle, SCOPE } from './gcp-auth.js';
import { ProviderError } from './types.js';

export interface KeyFile {
  /** The key file JSON as Google made it: the secret the targets receive. */
  readonly json: string;
  readonly privateKey: KeyObject;
}

/**
 * The key file in `privateKeyData`, checked to be key `keyId` of `email`. Everything secret in it is
 * masked before it is parsed: the data, the decoded JSON, the PEM and each of its lines (the runner
 * masks a multi-line value only line by line). Returns why it is unusable instead of throwing.
 */
export function readKeyFile(
  data: string | undefined,
  email: string,
  keyId: string,
  mask: (value: string) => void,
): KeyFile | string {
  if (data) mask(data);
  if (!data || !/^[A-Za-z0-9+/=\s]{100,20000}$/.test(data)) return 'without usable privateKeyData';
  const json = Buffer.from(data, 'base64').toString('utf8');
  mask(json);
  for (const line of json.split(/\r?\n/)) if (line.includes('"private_key"')) mask(line.trim());
  let file: unknown;
  try {
    file = JSON.parse(json);
  } catch {
    return 'with privateKeyData that is not a JSON key file';
  }
  const pem = field(file, 'private_key');
  if (pem) {
    mask(pem);
    for (const line of pem.split('\n')) if (line.length >= 16) mask(line);
  }
  if (
    field(file, 'type') !== 'service_account' ||
    field(file, 'client_email') !== email ||
    field(file, 'private_key_id') !== keyId ||
    !pem
  )
    return `with a key file that is not key ${keyId} of ${email}`;
  try {
    const privateKey = createPrivateKey(pem);
    if (privateKey.asymmetricKeyType !== 'rsa') throw new Error('not RSA');
    return { json, privateKey };
  } catch {
    return 'with a key file whose private_key is not an RSA private key';
  }
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A JWT signed with the key, exchanged at the token endpoint; throws unless a token comes back. */
export async function mintToken(
  http: Http,
  tokenEndpoint: string,
  email: string,
  keyId: string,
  privateKey: KeyObject,
  mask: (value: string) => void,
): Promise<void> {
  const iat = Math.floor(now() / 1000);
  const input = `${b64url({ alg: 'RS256', typ: 'JWT', kid: keyId })}.${b64url({
    iss: email,
    scope: SCOPE,
    aud: tokenEndpoint,
    iat,
    exp: iat + 3600,
  })}`;
  const assertion = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  mask(assertion);
  const res = await http({
    method: 'POST',
    url: tokenEndpoint,
    form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion },
    what: `confirm that the new key ${keyId} mints a token (a JWT signed with it, at the token endpoint)`,
    retry: 'safe',
    explain: explainGoogle,
  });
  const minted = field(res.body, 'access_token');
  if (!minted)
    throw new ProviderError(
      `The token endpoint answered the new key ${keyId}'s JWT without an access_token; the previous keys were kept.`,
    );
  mask(minted);
}
