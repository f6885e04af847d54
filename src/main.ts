// The entry: read inputs, wire the pieces, run the pipeline, publish the report.
import { runCheck } from './check.js';
import * as core from '@actions/core';
import { createGitHub } from './github/client.js';
import { SecretStore } from './github/store.js';
import { createHttp } from './http.js';
import { InputError } from './inputs/fields.js';
import { CREDENTIAL_INPUTS, parseInputs } from './inputs/index.js';
import { runPipeline, type Report } from './pipeline.js';
import { RetryPolicy } from './policy.js';
import { createProvider } from './providers/index.js';
import { setOutputs, summaryMarkdown, writeSummary } from './summary.js';
import { log, mask } from './untrusted.js';

export async function run(): Promise<void> {
  // Set only once the inputs are valid: the summary never echoes an invalid input.
  let provider: string | undefined;
  let report: Report;
  // The log names the invalid input and its value (made loggable); the summary only says which kind.
  let logFailure: string | undefined;
  try {
    // Credentials are masked (and redacted from provider text) before anything else happens.
    for (const name of CREDENTIAL_INPUTS) mask(core.getInput(name));
    const settings = parseInputs((name) => core.getInput(name), process.env);
    provider = settings.provider.name;
    const policy = new RetryPolicy({
      timeoutMs: settings.requestTimeoutMs,
      storeTimeoutMs: settings.storeTimeoutMs,
    });
    const gh = createGitHub({
      token: settings.github.token,
      apiUrl: settings.github.apiUrl,
      policy,
      warn: log.warn,
    });
    const deps = {
      mask,
      info: log.info,
      warn: log.warn,
      idToken: (aud: string) => core.getIDToken(aud),
      http: createHttp(policy),
    };
    const wired = {
      provider: createProvider(settings.provider, deps),
      destination: new SecretStore(gh, {
        // GitHub's prefix for App installation tokens: they may list the installation's repositories.
        installationToken: settings.github.token.startsWith('ghs_'),
      }),
      policy,
      ...deps,
    };
    report =
      settings.mode === 'check'
        ? await runCheck(settings, wired)
        : await runPipeline(settings, wired);
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
      nextStep:
        // The pipeline reports every failure from the rotating call on itself: this is before it.
        'Nothing was changed at the provider. Fix the cause and re-run the workflow.',
    };
  }
  setOutputs(report);
  await writeSummary(summaryMarkdown(provider, report)).catch((err: unknown) =>
    log.warn(`Could not write the job summary: ${(err as Error).message}`),
  );
  if (report.failure) log.fail(logFailure ?? report.failure);
}
