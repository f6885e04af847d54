// The failure issue with GitHub App sign-in: one installation token of its own, minted for the
// owner of failure-issue-repository with only `issues: write` on that one repository, and revoked
// once the issue is filed or closed, whatever happened. Runs after the outcome is final.
import type { GitHubAuth } from '../inputs/index.js';
import type { FailureIssue } from '../issue.js';
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
 * Mints the issue's token, hands its client to `file` (with how to name the sign-in in a warning),
 * revokes it. Throws when no token could be minted; the message names the cause (no installation,
 * a permission the installation does not grant, the App's key).
 */
export async function fileWithApp<T>(
  auth: Extract<GitHubAuth, { kind: 'app' }>,
  issue: FailureIssue,
  o: IssueAppOptions,
  file: (gh: GitHub, who: string) => Promise<T>,
): Promise<T> {
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
    return await file(await app.client(issue.owner), `GitHub App ${auth.appId}`);
  } finally {
    await app.close();
  }
}
