// How the action signs in to GitHub: `github-token`, or `github-app-id` with `github-app-private-key`.
// Exactly one way, checked before any request; the messages name the inputs, never their values.
import { createPrivateKey } from 'node:crypto';
import { InputError, optional, type Read } from './fields.js';

const ONE_WAY =
  "give either 'github-token' (a fine-grained PAT or GitHub App token with \"Secrets: write\"; the job's GITHUB_TOKEN cannot write secrets) or 'github-app-id' with 'github-app-private-key'";

/** How the action signs in to GitHub: one token for every target, or a GitHub App minting one per owner. */
export type GitHubAuth =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'app'; readonly appId: string; readonly privateKey: string };

export function githubAuth(read: Read): GitHubAuth {
  const token = optional(read, 'github-token');
  const appId = optional(read, 'github-app-id');
  const key = optional(read, 'github-app-private-key');
  if (token !== undefined && (appId !== undefined || key !== undefined))
    throw new InputError(
      `Inputs 'github-token' and '${appId !== undefined ? 'github-app-id' : 'github-app-private-key'}' are both set: ${ONE_WAY}, not both.`,
    );
  if (token !== undefined) return { kind: 'token', token };
  if (appId === undefined && key === undefined)
    throw new InputError(`Input 'github-token' is required: ${ONE_WAY}.`);
  if (appId === undefined)
    throw new InputError(
      `Input 'github-app-id' is required with 'github-app-private-key': the App's ID (digits) or Client ID (Iv...).`,
    );
  if (key === undefined)
    throw new InputError(
      `Input 'github-app-private-key' is required with 'github-app-id': the PEM private key from the App's settings.`,
    );
  // The App ID (digits) or its Client ID: both are what GitHub accepts as the JWT's issuer.
  if (!/^[1-9]\d{0,15}$/.test(appId) && !/^Iv[A-Za-z0-9.]{1,40}$/.test(appId))
    throw new InputError(
      `Input 'github-app-id' is '${appId}'; expected the App's ID (digits) or Client ID (Iv...).`,
    );
  return { kind: 'app', appId, privateKey: privateKey(key) };
}

/**
 * The PEM key, checked here so a bad one fails before any request. Secrets stores sometimes turn
 * line breaks into a literal `\n`; those are turned back. The value is never quoted in a message.
 */
function privateKey(raw: string): string {
  const pem = raw.includes('\\n') && !raw.includes('\n') ? raw.replace(/\\n/g, '\n') : raw;
  let ok = false;
  try {
    ok = createPrivateKey(pem).asymmetricKeyType === 'rsa';
  } catch {
    // reported below
  }
  if (!ok)
    throw new InputError(
      `Input 'github-app-private-key' is not an RSA private key in PEM form (-----BEGIN RSA PRIVATE KEY----- ...), as the App's settings download it.`,
    );
  return pem;
}
