// The entry: read inputs, wire the pieces, run the pipeline, publish the report.
import * as core from '@actions/core';
import { createGitHub } from './github/client.js';
import { SecretStore } from './github/store.js';
import { createHttp } from './http.js';
import { CREDENTIAL_INPUTS, parseInputs } from './inputs/index.js';
import { runPipeline, type Report } from './pipeline.js';
import { RetryPolicy } from './policy.js';
import { createProvider } from './providers/index.js';
import { setOutputs, summaryMarkdown, writeSummary } from './summary.js';

export async function run(): Promise<void> {
  const provider = core.getInput('provider') || 'unknown';
  let report: Report;
  try {
    // Credentials are masked before anything else happens.
    for (const name of CREDENTIAL_INPUTS) {
      const v = core.getInput(name);
      if (v) core.setSecret(v);
    }
    const settings = parseInputs((name) => core.getInput(name), process.env);
    const policy = new RetryPolicy({
      timeoutMs: settings.requestTimeoutMs,
      storeTimeoutMs: settings.storeTimeoutMs,
    });
    const gh = createGitHub({
      token: settings.github.token,
      apiUrl: settings.github.apiUrl,
      policy,
      warn: core.warning,
    });
    const deps = {
      mask: core.setSecret,
      info: core.info,
      warn: core.warning,
      idToken: (aud: string) => core.getIDToken(aud),
      http: createHttp(policy),
    };
    report = await runPipeline(settings, {
      provider: createProvider(settings.provider, deps),
      destination: new SecretStore(gh),
      policy,
      ...deps,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    report = {
      outcome: 'failed',
      rotated: false,
      targets: [],
      failure: message,
      nextStep:
        // The pipeline reports every failure from the rotating call on itself: this is before it.
        'Nothing was changed at the provider. Fix the cause and re-run the workflow.',
    };
  }
  setOutputs(report);
  await writeSummary(summaryMarkdown(provider, report)).catch((err: unknown) =>
    core.warning(`Could not write the job summary: ${(err as Error).message}`),
  );
  if (report.failure) core.setFailed(report.failure);
}
