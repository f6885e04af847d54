// The failure issue's inputs (failure-issue-repository, failure-issue-label) and its stable title.
// Pure parsing, read on their own too when the rest of the inputs are invalid (src/main.ts).
import { InputError, optional, type Read, secretName } from './fields.js';

export interface FailureIssue {
  readonly owner: string;
  readonly repo: string;
  readonly label: string;
  /** Stable across runs of the same rotation: how the open issue is found again. */
  readonly title: string;
}

/** The input that names the credential, per provider: part of the title. */
const IDENTITY: Record<string, readonly string[]> = {
  'vmware-csp': ['csp-oauth-app-id'],
  whmcs: ['whmcs-credential-id', 'whmcs-client-identifier'],
  entra: ['entra-application-id'],
  woodpecker: ['woodpecker-credential-id', 'entra-application-id'],
  okta: ['okta-app-id'],
};

const SAFE = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Reads failure-issue-repository and failure-issue-label (undefined when no repository is given).
 * The title comes from the raw provider, credential and secret-name inputs, each used only when it
 * has a plain form, so that it is the same whether or not the rest of the inputs are valid.
 */
export function parseFailureIssue(read: Read): FailureIssue | undefined {
  const where = optional(read, 'failure-issue-repository');
  const label = optional(read, 'failure-issue-label') ?? 'secret-rotation';
  if (where === undefined) return undefined;
  const m = /^([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100})$/.exec(where);
  if (!m || m[2] === '.' || m[2] === '..')
    throw new InputError(
      `Input 'failure-issue-repository' is '${where}'; expected OWNER/NAME, e.g. octo/platform-alerts.`,
    );
  if (label.length > 50 || /[,\p{Cc}]/u.test(label))
    throw new InputError(
      `Input 'failure-issue-label' is '${label}'; expected a label name of at most 50 characters without commas.`,
    );
  const plain = (v: string | undefined): string | undefined =>
    v !== undefined && SAFE.test(v) ? v : undefined;
  const provider = plain(optional(read, 'provider'));
  const id = (IDENTITY[provider ?? ''] ?? [])
    .map((n) => plain(optional(read, n)))
    .find((v) => v !== undefined);
  let secret: string | undefined;
  try {
    secret = secretName('secret-name', optional(read, 'secret-name') ?? '');
  } catch {
    secret = undefined;
  }
  const title = `Client secret rotation failing: ${[provider ?? 'unknown provider', id].filter(Boolean).join(' ')} → ${secret ?? 'unknown secret'}`;
  return { owner: m[1]!, repo: m[2]!, label, title };
}
