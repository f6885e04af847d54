#!/usr/bin/env node
// The action's main job end to end on the built-in emulators: starts loopback emulators of GitHub and
// the provider, runs dist/index.js as the runner does, prints the outputs and the job summary, and
// proves the stored secret by opening it with the GitHub emulator's private key.
//   npm run demo [-- --provider NAME]   NAME: any provider of src/providers/index.ts (default vmware-csp)
import {
  PROVIDERS,
  type ProviderName,
  REPO,
  SECRET_NAME,
  startWorld,
} from '../__tests__/fixtures.ts';
import { findLeaks } from '../__tests__/harness.ts';

const i = process.argv.indexOf('--provider');
const name = (i > 0 ? process.argv[i + 1] : 'vmware-csp') as ProviderName;
if (!PROVIDERS.includes(name)) {
  console.error(`--provider must be one of ${PROVIDERS.join(', ')}`);
  process.exit(2);
}

const world = await startWorld(name, {
  propagationDelayMs: name === 'entra' || name === 'woodpecker' ? 1500 : 0,
});
try {
  const targets = [
    `repo ${REPO}`,
    `environment ${REPO} production`,
    'org octo selected octo/app octo/lib',
  ];
  console.log(
    `Emulators: GitHub at ${world.github.url}; ${name} at ${world.providerEmulators.map((e) => e.url).join(', ')}`,
  );
  console.log(`Running dist/index.js: provider=${name}, targets:\n  ${targets.join('\n  ')}\n`);
  const run = await world.run(
    { targets: targets.join('\n'), 'client-id-secret-name': 'CLIENT_ID' },
    { bundle: true },
  );

  console.log('--- action log (as the runner shows it) ---');
  process.stdout.write(run.stdout.replace(/^::add-mask::.*$/gm, '::add-mask::***'));
  if (run.stderr) process.stdout.write(`--- stderr ---\n${run.stderr}`);
  console.log('\n--- outputs ---');
  for (const [k, v] of Object.entries(run.outputs)) console.log(`${k}=${v}`);
  console.log('\n--- job summary ---');
  console.log(run.summary);

  const current = world.currentSecret();
  const checks = ['repo:octo/app', 'env:octo/app:production', 'org:octo'].map((scope) => ({
    scope,
    ok: world.github.secret(scope, SECRET_NAME)?.value === current,
  }));
  console.log('--- proof ---');
  for (const c of checks)
    console.log(
      `${c.ok ? 'ok  ' : 'FAIL'} ${c.scope} ${SECRET_NAME} opens to the provider's current secret`,
    );
  const leaks = findLeaks(run, world.secrets());
  console.log(
    `${leaks.length === 0 ? 'ok  ' : 'FAIL'} no secret in stdout, stderr, outputs or summary${leaks.length ? `: ${leaks.join('; ')}` : ''}`,
  );
  const spawned = run.process === 'bundle';
  console.log(
    `${spawned ? 'ok  ' : 'FAIL'} ran as the runner runs it: node dist/index.js, its own process`,
  );
  console.log(`${run.code === 0 ? 'ok  ' : 'FAIL'} exit code ${run.code} in ${run.ms} ms`);
  if (run.code !== 0 || !spawned || leaks.length > 0 || checks.some((c) => !c.ok))
    process.exitCode = 1;
} finally {
  await world.close();
}
