// The wiring between parsed settings and a report: the retry policy, the provider's HTTP helper, the
// GitHub side (token or App sign-in) and the provider, then the pipeline (or the check), and every
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
  const wired = {
    provider: createProvider(settings.provider, deps),
    destination,
    policy,
    ...deps,
    ...(stop ? { stop } : {}),
  };
  try {
    return settings.mode === 'check'
      ? await runCheck(settings, wired)
      : await runPipeline(settings, wired);
  } finally {
    // Every installation token minted is revoked, whatever happened, a stop included: its requests
    // are bounded by the cleanup phase's budget and, under a stop, end before the report is due.
    await destination.close();
  }
}
