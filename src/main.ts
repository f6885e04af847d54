// The entry: read inputs, wire the pieces, run the pipeline, publish the report.
import * as core from '@actions/core';
import { InputError, url } from './inputs/fields.js';
import { CREDENTIAL_INPUTS, type GitHubAuth, parseInputs } from './inputs/index.js';
import { concernsIssue, type FailureIssue, fileFailureIssue, parseFailureIssue } from './issue.js';
import { fileWithApp } from './github/issue-app.js';
import { githubAuth } from './inputs/signin.js';
import { createGitHub } from './github/client.js';
import type { Report } from './pipeline.js';
import { RetryPolicy } from './policy.js';
import { setOutputs, summaryMarkdown, writeSummary } from './summary.js';
import { log, mask } from './untrusted.js';
import { execute } from './wire.js';
import { NEVER, type Stop } from './stop.js';
import { NotYet } from './previous.js';

/** `stop`: the runner's signals (src/index.ts installs them); none by default. */
export async function run(stop: Stop = NEVER): Promise<void> {
  // Set only once the inputs are valid: the summary never echoes an invalid input.
  let provider: string | undefined;
  let report: Report;
  // The log names the invalid input and its value (made loggable); the summary only says which kind.
  let logFailure: string | undefined;
  let issue: FailureIssue | undefined;
  let auth: GitHubAuth | undefined;
  // The issue's requests use request-timeout when the inputs parsed, else its default.
  let timeoutMs = 30_000;
  try {
    // Credentials are masked (and redacted from provider text) before anything else happens.
    for (const name of CREDENTIAL_INPUTS) mask(core.getInput(name));
    const settings = parseInputs((name) => core.getInput(name), process.env);
    provider = settings.provider.name;
    issue = settings.failureIssue;
    timeoutMs = settings.requestTimeoutMs;
    auth = settings.github.auth;
    maskKeyLines(auth);
    report = await execute(settings, {
      mask,
      info: log.info,
      warn: log.warn,
      idToken: (aud: string) => core.getIDToken(aud),
      stop,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof InputError) logFailure = message;
    report = {
      ...(core.getInput('mode').trim() === 'check' ? { mode: 'check' as const } : {}),
      outcome: 'failed',
      rotated: false,
      targets: [],
      failure: logFailure
        ? "An input is invalid; the step's log names it and says what is expected. Nothing was sent anywhere."
        : message,
      // The pipeline reports every failure from the rotating call on itself: this is before it.
      ...(err instanceof NotYet
        ? {
            notYet: true as const,
            nextStep: 'Nothing was changed, and nothing needs fixing: re-run at the time above.',
          }
        : {
            nextStep: 'Nothing was changed at the provider. Fix the cause and re-run the workflow.',
          }),
    };
  }
  setOutputs(report);
  // After the outcome is final: whatever happens here only adds a log line and a warning.
  // Stopped before the rotation, nothing changed and nothing needs a person: no issue is filed or closed.
  const filed = concernsIssue(report)
    ? await failureIssue(issue, auth, provider, report, timeoutMs, stop)
    : undefined;
  if (filed) log.info(filed);
  const summary = summaryMarkdown(provider, report) + (filed ? `\n${filed}\n` : '');
  await writeSummary(summary).catch((err: unknown) =>
    log.warn(`Could not write the job summary: ${(err as Error).message}`),
  );
  if (report.failure) log.fail(logFailure ?? report.failure);
}

/** The runner masks a multi-line value line by line only when each line is registered: the key's are. */
function maskKeyLines(auth: GitHubAuth): void {
  if (auth.kind !== 'app') return;
  mask(auth.privateKey);
  for (const line of auth.privateKey.split('\n'))
    if (line.length >= 16 && !line.startsWith('-----')) mask(line.trim());
}

/**
 * Files or closes the failure issue. The inputs may have failed to parse: the issue's own inputs are
 * then read on their own, so that a broken workflow still reaches a person.
 */
async function failureIssue(
  parsed: FailureIssue | undefined,
  parsedAuth: GitHubAuth | undefined,
  provider: string | undefined,
  report: Report,
  timeoutMs: number,
  stop: Stop,
): Promise<string | undefined> {
  let issue = parsed;
  let auth: GitHubAuth;
  let apiUrl: string;
  try {
    const read = (name: string) => core.getInput(name);
    issue ??= parseFailureIssue(read);
    if (!issue) return undefined;
    auth = parsedAuth ?? issueAuth(read);
    apiUrl = url(read, 'github-api-url', process.env['GITHUB_API_URL'] || 'https://api.github.com');
  } catch {
    if (issue) log.warn('Could not file the failure issue: the inputs it needs are invalid.');
    return undefined;
  }
  if (!parsedAuth) maskKeyLines(auth);
  // Its own policy: the short retry budget of a preflight, whatever phase the run ended in, and under
  // a stop the time left before the runner's kill, less what the last lines need.
  const policy = new RetryPolicy({ timeoutMs, storeTimeoutMs: timeoutMs, stop });
  policy.startPublishing();
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: id } = process.env;
  const runUrl =
    server && repo && id && /^https?:\/\/[^\s<>()]+$/.test(`${server}/${repo}/actions/runs/${id}`)
      ? `${server}/${repo}/actions/runs/${id}`
      : undefined;
  if (auth.kind === 'token') {
    const gh = createGitHub({ token: auth.token, apiUrl, policy, warn: log.warn });
    return fileFailureIssue(gh, issue, provider, report, runUrl, log.warn);
  }
  return fileWithApp(
    auth,
    issue,
    !!report.failure,
    { apiUrl, policy, mask, warn: log.warn },
    (gh, who) => fileFailureIssue(gh, issue, provider, report, runUrl, log.warn, who),
  );
}

/**
 * The sign-in for the issue when the inputs as a whole did not parse. `github-token` alone is used
 * as before, even beside App inputs (a combination the run itself refuses): a token the user gave
 * still reaches a person. Otherwise the App inputs, when they parse on their own.
 */
function issueAuth(read: (name: string) => string): GitHubAuth {
  const token = read('github-token').trim();
  if (token) return { kind: 'token', token };
  return githubAuth(read);
}
