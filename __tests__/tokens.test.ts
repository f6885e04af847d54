// Issue 9, defect 4: provider tokens are fresh when used. In process, on a virtual clock shared by
// the action and the provider emulators, so "ten minutes later" costs nothing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { realClock, setClock } from '../src/clock.ts';
import { parseInputs } from '../src/inputs/index.ts';
import { createHttp } from '../src/http.ts';
import { RetryPolicy } from '../src/policy.ts';
import { createProvider } from '../src/providers/index.ts';
import { type CspEmulator, startCsp } from './emulators/csp.ts';
import { startEntra } from './emulators/entra.ts';

const ORG = '7f9c2b1e-0d6a-4e53-9a8f-2c4b6d1e3a70';
const TENANT = '0b1e7c3d-5f2a-4c8e-9d6b-1a2b3c4d5e6f';
const APP = 'e1c6ac69-480e-4a17-9b85-3467967bd179';
const MANAGER = '5d1f0c2a-7b3e-4f6a-8c9d-0e1f2a3b4c5d';
let csp: CspEmulator;
let offset = 0;

beforeAll(async () => {
  csp = await startCsp();
  csp.addApp(ORG, 'app', 'Old-Secret-Value-0123456789!');
  csp.addApiToken('api-token');
  setClock({ now: () => Date.now() + offset, sleep: async () => {} });
});
afterAll(async () => {
  setClock(realClock);
  await csp.close();
});

/** The provider the action would build from these inputs, with a quiet log. */
function providerFrom(inputs: Record<string, string>) {
  const settings = parseInputs((n) => inputs[n] ?? '', {});
  const quiet = () => {};
  return createProvider(settings.provider, {
    mask: quiet,
    info: quiet,
    warn: quiet,
    idToken: async () => '',
    http: createHttp(new RetryPolicy({ timeoutMs: 5_000, storeTimeoutMs: 60_000 })),
  });
}

it('CSP signs in again before a call when its token has expired, without waiting for a 401', async () => {
  const inputs: Record<string, string> = {
    provider: 'vmware-csp',
    'github-token': 't',
    'secret-name': 'S',
    targets: 'repo o/a',
    'csp-url': csp.url,
    'csp-api-token': 'api-token',
    'csp-org-id': ORG,
    'csp-oauth-app-id': 'app',
    'csp-rotation': 'overlap',
    'csp-retire-previous': 'true',
  };
  const provider = providerFrom(inputs);
  const { found } = await provider.preflight();
  const { rotated } = await provider.rotate(found);
  // A long store: both clocks pass the token's ten minutes.
  offset += 11 * 60_000;
  csp.advance(11 * 60_000);
  await provider.retirePrevious(rotated);
  expect(csp.calls('DELETE', /secret$/).map((r) => r.status)).toEqual([200]);
  expect(csp.calls('POST', /api-tokens\/authorize$/)).toHaveLength(2);
});

it('Entra signs in again before the rotating call when its Graph token has expired', async () => {
  const entra = await startEntra({ tenantId: TENANT, propagationDelayMs: 0 });
  try {
    entra.addApp(APP, { initialPasswords: [{ secretText: 'Old-Secret-0123', displayName: 'x' }] });
    entra.addManagingClient(MANAGER, 'manager-secret-0123');
    const inputs: Record<string, string> = {
      provider: 'entra',
      'github-token': 't',
      'secret-name': 'S',
      targets: 'repo o/a',
      'entra-tenant-id': TENANT,
      'entra-application-id': APP,
      'entra-auth': 'client-secret',
      'entra-auth-client-id': MANAGER,
      'entra-auth-client-secret': 'manager-secret-0123',
      'entra-login-url': entra.url,
      'entra-graph-url': entra.url,
    };
    const provider = providerFrom(inputs);
    const { found } = await provider.preflight();
    // The rotating call must not be the one that finds the token stale: it is never repeated.
    offset += 61 * 60_000;
    entra.advance(61 * 60_000);
    await provider.rotate(found);
    expect(entra.calls('POST', /addPassword$/).map((r) => r.status)).toEqual([200]);
    expect(entra.passwords(APP)).toHaveLength(2);
  } finally {
    await entra.close();
  }
});
