// The failure issue with GitHub App sign-in: one installation token of its own, minted for the
// owner of failure-issue-repository with only `issues: write` on that one repository, and revoked
// once the issue is filed or closed, whatever happened. Runs after the outcome is final.
import type { GitHubAuth } from '../inputs/signin.js';
import type { FailureIssue } from '../inputs/issue.js';
import type { RetryPolicy } from '../policy.js';
import { AppDestination, issueGrant } from './app.js';
import type { GitHub } from './client.js';

export interface IssueAppOptions {
  readonly apiUrl: string;
  readonly policy: RetryPolicy;
  readonly mask: (value: string) => void;
  readonly warn: (message: string) => void;
}

/**
 * Mints the issue's token, hands its client to `file` (fileFailureIssue, told how to name the App in
 * its warning), revokes it. Never throws: a token that could not be minted is one warning naming
 * the cause (no installation, a permission the installation does not grant, the App's key).
 */
export async function fileWithApp(
  auth: Extract<GitHubAuth, { kind: 'app' }>,
  issue: FailureIssue,
  failed: boolean,
  o: IssueAppOptions,
  file: (gh: GitHub, who: string) => Promise<string | undefined>,
): Promise<string | undefined> {
  const who = `GitHub App ${auth.appId}`;
  const app = new AppDestination({
    appId: auth.appId,
    privateKey: auth.privateKey,
    targets: [],
    needs: { variables: false, read: false },
    grants: [issueGrant(issue.owner, issue.repo)],
    purpose: "the failure issue's requests",
    ...o,
    // The issue's own line in the log says what was done: no sign-in line besides it.
    info: () => undefined,
  });
  try {
    return await file(await app.client(issue.owner), who);
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).replace(/\.$/, '');
    o.warn(
      `Could not ${failed ? 'file' : 'close'} the failure issue in ${issue.owner}/${issue.repo} (${who} needs "Issues: write" there): ${why}. The run's outcome is unchanged.`,
    );
    return undefined;
  } finally {
    await app.close();
  }
}

/**
 * Reads with a token of its own, `issues: read` on the issue's repository only, revoked afterwards:
 * whether the failure issue is open, in preflight (skip-if-rotated-within). Throws when it cannot.
 */
export async function readWithApp<T>(
  auth: Extract<GitHubAuth, { kind: 'app' }>,
  issue: FailureIssue,
  o: IssueAppOptions,
  read: (gh: GitHub) => Promise<T>,
): Promise<T> {
  const app = new AppDestination({
    appId: auth.appId,
    privateKey: auth.privateKey,
    targets: [],
    needs: { variables: false, read: true },
    grants: [issueGrant(issue.owner, issue.repo, 'read')],
    purpose: "the failure issue's requests",
    ...o,
    info: () => undefined,
  });
  try {
    return await read(await app.client(issue.owner));
  } finally {
    await app.close();
  }
}
