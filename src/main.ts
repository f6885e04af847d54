// The entry: read inputs, wire the pieces, run the pipeline, publish the report.
import { runCheck } from './check.js';
import { now } from './clock.js';
import * as core from '@actions/core';
import { createGitHub, type Budget } from './github/client.js';
import { SecretStore } from './github/store.js';
import { configureHttp } from './http.js';
import { CREDENTIAL_INPUTS, parseInputs } from './inputs/index.js';
import { runPipeline, type Report } from './pipeline.js';
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
    configureHttp({ timeoutMs: settings.requestTimeoutMs });
    const budget: Budget = { deadline: now() };
    const gh = createGitHub({
      token: settings.github.token,
      apiUrl: settings.github.apiUrl,
      timeoutMs: settings.requestTimeoutMs,
      budget,
      warn: core.warning,
    });
    const deps = {
      mask: core.setSecret,
      info: core.info,
      warn: core.warning,
      idToken: (aud: string) => core.getIDToken(aud),
    };
    const wired = {
      provider: createProvider(settings.provider, deps),
      destination: new SecretStore(gh),
      budget,
      ...deps,
    };
    report =
      settings.mode === 'check'
        ? await runCheck(settings, wired)
        : await runPipeline(settings, wired);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    report = {
      ...(core.getInput('mode').trim() === 'check' ? { mode: 'check' as const } : {}),
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
