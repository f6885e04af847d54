// The failure issue (failure-issue-repository): a failed run opens one issue, titled by credential
// and secret name, or comments on the open one; the next successful run comments and closes it.
// Filing is best effort: any failure here is a warning and never changes the run's outcome.
import { describe } from './github/errors.js';
import type { GitHub } from './github/client.js';
import type { FailureIssue } from './inputs/issue.js';
import type { Report } from './report.js';
import { summaryMarkdown } from './summary.js';

export { type FailureIssue, parseFailureIssue } from './inputs/issue.js';

/**
 * Creates and comments are never repeated: one whose answer was lost would open a second issue or
 * post a second comment. The next run finds what landed. (Closing is idempotent and may retry.)
 */
const ONCE = { retries: 0 };

interface Issue {
  readonly number: number;
  readonly title: string;
  readonly html_url: string;
  readonly pull_request?: unknown;
}

/**
 * Whether the failure issue hears of this run at all: not when it was stopped before the rotation
 * or refused only because it came too soon (nothing changed, nothing needs a person).
 */
export function concernsIssue(report: Pick<Report, 'stopped' | 'rotation' | 'notYet'>): boolean {
  return !((report.stopped && !report.rotation) || report.notYet);
}

/**
 * Opens, comments on, or closes the issue as the report says. Returns a line for the log and the
 * summary; never throws (a failure becomes a warning through `warn`).
 */
export async function fileFailureIssue(
  gh: GitHub,
  issue: FailureIssue,
  provider: string | undefined,
  report: Report,
  runUrl: string | undefined,
  warn: (message: string) => void,
  /** Who needs "Issues: write" on the repository, in the warning. */
  who = 'the github-token',
): Promise<string | undefined> {
  const where = `${issue.owner}/${issue.repo}`;
  const repoPath = `/repos/${encodeURIComponent(issue.owner)}/${encodeURIComponent(issue.repo)}`;
  const run = runUrl ? `Run: ${runUrl}` : 'Run: outside GitHub Actions';
  try {
    const open = await openIssueOf(gh, issue);
    if (report.failure) {
      // The recovery blob stays in the run (output and summary): an issue lives longer and is read by more.
      const { recovery, ...shown } = report;
      const body = [
        summaryMarkdown(provider, shown),
        recovery
          ? "The new secret sealed to `recovery-public-key` is in this run's summary and output `recovery`."
          : '',
        run,
        '',
        'This issue closes itself on the next successful run.',
      ].join('\n');
      if (open) {
        answered(
          await gh.request(`POST ${repoPath}/issues/{issue_number}/comments`, {
            issue_number: open.number,
            body,
            request: ONCE,
          }),
          (d) => typeof d['id'] === 'number',
        );
        return `The run failed again: commented on failure issue ${where}#${open.number}.`;
      }
      const made = await gh.request(`POST ${repoPath}/issues`, {
        title: issue.title,
        body,
        labels: [issue.label],
        request: ONCE,
      });
      return `Opened failure issue ${where}#${answered(made, (d) => typeof d['number'] === 'number')['number']}.`;
    }
    if (!open) return undefined;
    // Only a run that did the work closes it: a skipped run or a dry run proves nothing fixed.
    if (report.outcome !== 'rotated' && report.outcome !== 'checked')
      return `Failure issue ${where}#${open.number} stays open: this run ${report.outcome === 'skipped' ? 'skipped the rotation' : 'was a dry run'}.`;
    answered(
      await gh.request(`POST ${repoPath}/issues/{issue_number}/comments`, {
        issue_number: open.number,
        body: `This run succeeded (${report.outcome}): closing.\n\n${run}`,
        request: ONCE,
      }),
      (d) => typeof d['id'] === 'number',
    );
    answered(
      await gh.request(`PATCH ${repoPath}/issues/{issue_number}`, {
        issue_number: open.number,
        state: 'closed',
        state_reason: 'completed',
      }),
      (d) => d['state'] === 'closed',
    );
    return `The run succeeded: closed failure issue ${where}#${open.number}.`;
  } catch (err) {
    const why =
      err instanceof UnexpectedAnswer
        ? err.message
        : describe(err).replace(/^HTTP (403|404): .*/, 'HTTP $1');
    warn(
      `Could not ${report.failure ? 'file' : 'close'} the failure issue in ${where} (${who} needs "Issues: write" there): ${why}. The run's outcome is unchanged.`,
    );
    return undefined;
  }
}

/** The open issue of this rotation (by label and title), or undefined. Throws when it cannot be listed. */
async function openIssueOf(gh: GitHub, issue: FailureIssue): Promise<Issue | undefined> {
  const repoPath = `/repos/${encodeURIComponent(issue.owner)}/${encodeURIComponent(issue.repo)}`;
  const res = await gh.request(`GET ${repoPath}/issues`, {
    state: 'open',
    labels: issue.label,
    per_page: 100,
  });
  if (!Array.isArray(res.data))
    throw new UnexpectedAnswer('GitHub answered the issue listing without a list');
  const open = (res.data as Issue[]).find((i) => !i.pull_request && i.title === issue.title);
  if (open && !Number.isSafeInteger(open.number))
    throw new UnexpectedAnswer('GitHub answered the issue listing without an issue number');
  return open;
}

/**
 * Whether the failure issue of this rotation is open, for skip-if-rotated-within (read in preflight):
 * `failure issue OWNER/NAME#N` when it is, undefined when not. Throws, with a message safe to show,
 * when the issues cannot be listed.
 */
export async function findOpenIssue(gh: GitHub, issue: FailureIssue): Promise<string | undefined> {
  const where = `${issue.owner}/${issue.repo}`;
  try {
    const open = await openIssueOf(gh, issue);
    return open ? `failure issue ${where}#${open.number}` : undefined;
  } catch (err) {
    const why =
      err instanceof UnexpectedAnswer
        ? err.message
        : describe(err).replace(/^HTTP (403|404): .*/, 'HTTP $1');
    throw new Error(`Could not read the failure issues of ${where}: ${why}`, { cause: err });
  }
}

/**
 * A success status whose answer does not show the effect (an empty 200, say) is not taken as done:
 * it throws, and the caller warns. (A redirect is already a failure: client.ts.)
 */
function answered(
  res: { status: number; data: unknown },
  shows: (data: Record<string, unknown>) => boolean,
): Record<string, unknown> {
  const data = res.data;
  if (typeof data === 'object' && data !== null && shows(data as Record<string, unknown>))
    return data as Record<string, unknown>;
  throw new UnexpectedAnswer(`GitHub answered HTTP ${res.status} without the expected result`);
}

class UnexpectedAnswer extends Error {
  override readonly name = 'UnexpectedAnswer';
}
