// The wiring between parsed settings and a report: the retry policy, the provider's HTTP helper, the
// GitHub side (token or App sign-in) and the provider, then the plan the mode asks for (a rotation,
// a dry run, or the check), and every
// minted installation token revoked at the end. One function, so that src/main.ts and the in-process
// invariant search (__tests__/search.ts) run the same wiring.
import { runCheck } from './check.js';
import { openDestination } from './github/app.js';
import { createHttp } from './http.js';
import type { Settings } from './inputs/index.js';
import { runPipeline, type Report } from './pipeline.js';
import { RetryPolicy } from './policy.js';
import { createProvider } from './providers/index.js';
import type { ProviderDeps } from './providers/types.js';
import type { Stop } from './stop.js';
import { createGitHub } from './github/client.js';
import { readWithApp } from './github/issue-app.js';
import { findOpenIssue } from './issue.js';

/** What the wiring takes from its surroundings: the runner's (src/main.ts) or a test's. */
export type Surroundings = Omit<ProviderDeps, 'http'> & {
  /** A request to stop (src/stop.ts): the runner's signals, or a test's `request()`. */
  readonly stop?: Stop;
};

export async function execute(settings: Settings, surroundings: Surroundings): Promise<Report> {
  const { stop, ...env } = surroundings;
  const policy = new RetryPolicy({
    timeoutMs: settings.requestTimeoutMs,
    storeTimeoutMs: settings.storeTimeoutMs,
    ...(stop ? { stop } : {}),
  });
  const deps = { ...env, http: createHttp(policy) };
  const destination = openDestination(settings.github.auth, {
    apiUrl: settings.github.apiUrl,
    targets: settings.github.targets,
    patterns: settings.github.patterns,
    needs: {
      variables: settings.github.clientIdVariableName !== undefined,
      read: settings.mode === 'check',
    },
    policy,
    ...deps,
  });
  const openIssue = issueReader(settings, deps);
  const wired = {
    provider: createProvider(settings.provider, deps),
    destination,
    policy,
    ...deps,
    ...(stop ? { stop } : {}),
    ...(openIssue ? { openIssue } : {}),
  };
  try {
    return settings.mode === 'check'
      ? await runCheck(settings, wired)
      : await runPipeline(settings, wired, settings.dryRun ? 'dry-run' : 'rotation');
  } finally {
    // Every installation token minted is revoked, whatever happened, a stop included: its requests
    // are bounded by the cleanup phase's budget and, under a stop, end before the report is due.
    await destination.close();
  }
}

/**
 * With failure-issue-repository, preflight looks for the open failure issue where a rule needs it:
 * skip-if-rotated-within (the last run failed: no skipping) and a previous-secret slot the provider
 * keeps no record of (src/previous.ts). Its own retry budget, and with App sign-in its own token
 * (`issues: read` on that repository), revoked at once.
 */
function issueReader(
  settings: Settings,
  env: Surroundings,
): (() => Promise<string | undefined>) | undefined {
  const issue = settings.failureIssue;
  if (!issue || settings.mode === 'check') return undefined;
  const { auth, apiUrl } = settings.github;
  return () => {
    const policy = new RetryPolicy({
      timeoutMs: settings.requestTimeoutMs,
      storeTimeoutMs: settings.requestTimeoutMs,
    });
    policy.startPreflight();
    const read = (gh: ReturnType<typeof createGitHub>) => findOpenIssue(gh, issue);
    if (auth.kind === 'token')
      return read(createGitHub({ token: auth.token, apiUrl, policy, warn: env.warn }));
    return readWithApp(auth, issue, { apiUrl, policy, mask: env.mask, warn: env.warn }, read);
  };
}
