// The input declarations are the one source of action.yml, the README tables and the inputs to mask:
// these tests hold the parsers to them.
import { describe, expect, it } from 'vitest';
import {
  CREDENTIAL_INPUTS,
  INPUTS,
  parseInputs,
  PROVIDERS,
  type ProviderName,
} from '../src/inputs/index.ts';
import { providers } from '../src/providers/index.ts';
import { generateKeyPairSync } from 'node:crypto';

const COMMON = { 'github-token': 'ghs_token', 'secret-name': 'CLIENT_SECRET' };
const GUID = 'e1c6ac69-480e-4a17-9b85-3467967bd179';
const ENTRA = {
  'entra-tenant-id': GUID,
  'entra-application-id': GUID,
  'entra-auth-client-id': GUID,
};
/** Each provider's smallest valid inputs: everything else takes its default. */
const MINIMAL: Record<ProviderName, Record<string, string>> = {
  'vmware-csp': { 'csp-api-token': 't', 'csp-org-id': 'org', 'csp-oauth-app-id': 'app' },
  whmcs: {
    'whmcs-url': 'https://billing.example.com',
    'whmcs-identifier': 'id',
    'whmcs-secret': 's',
    'whmcs-credential-id': '7',
  },
  entra: ENTRA,
  woodpecker: { ...ENTRA, 'woodpecker-api-key': 'k' },
  auth0: {
    'auth0-domain': 'my-tenant.eu.auth0.com',
    'auth0-management-client-id': 'manager',
    'auth0-management-client-secret': 's',
    'auth0-client-id': 'client',
  },
  keycloak: {
    'keycloak-url': 'https://sso.example.com',
    'keycloak-realm': 'apps',
    'keycloak-client-id': 'billing-api',
    'keycloak-admin-client-id': 'secret-rotator',
    'keycloak-admin-client-secret': 's',
  },
  okta: { 'okta-url': 'https://example.okta.com', 'okta-app-id': '0oa1', 'okta-api-token': 't' },
  'aws-iam': {
    'aws-iam-user-name': 'deployer',
    'aws-access-key-id': 'AKIAIOSFODNN7EXAMPLE',
    'aws-secret-access-key': 's',
  },
  'gcp-service-account': {
    'gcp-service-account-email': 'app@my-project.iam.gserviceaccount.com',
    'gcp-workload-identity-provider':
      'projects/123456789/locations/global/workloadIdentityPools/github/providers/my-repo',
    'gcp-auth-service-account': 'rotator@my-project.iam.gserviceaccount.com',
  },
};
const ENV = { GITHUB_REPOSITORY: 'octo/app' };
const OKTA_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

function inputsOf(name: ProviderName, extra: Record<string, string> = {}) {
  return { provider: name, ...COMMON, ...MINIMAL[name], ...extra };
}

describe('input declarations', () => {
  it.each(PROVIDERS)('%s: the declared defaults are what its parser falls back to', (name) => {
    const defaults = Object.fromEntries(
      Object.entries(INPUTS)
        .filter(([, spec]) => spec.default !== undefined)
        .map(([n, spec]) => [n, spec.default!]),
    );
    const bare = inputsOf(name);
    const filled: Record<string, string> = { ...defaults, ...bare };
    expect(Object.keys(filled).length).toBeGreaterThan(Object.keys(bare).length);
    expect(parseInputs((n) => filled[n] ?? '', ENV)).toEqual(
      parseInputs((n) => bare[n as keyof typeof bare] ?? '', ENV),
    );
  });

  it('every declared input is read by a parser', () => {
    const read = new Set<string>();
    const runs: Record<string, string>[] = [
      ...PROVIDERS.map((n) => inputsOf(n)),
      // Woodpecker with a brought secret reads its own inputs instead of minting in Entra.
      inputsOf('woodpecker', {
        'woodpecker-client-secret': 's',
        'woodpecker-secret-expires-at': '2027-01-01T00:00:00Z',
        'entra-auth-client-id': '',
      }),
      // Okta with a service app instead of an API token.
      inputsOf('okta', {
        'okta-api-token': '',
        'okta-client-id': 'svc',
        'okta-private-key': OKTA_KEY,
        'okta-key-id': 'k1',
      }),
    ];
    for (const inputs of runs)
      parseInputs((n) => {
        read.add(n);
        return inputs[n] ?? '';
      }, ENV);
    expect(Object.keys(INPUTS).filter((n) => !read.has(n))).toEqual([]);
  });

  it('a parser cannot read an input its module does not declare', () => {
    const inputs = inputsOf('whmcs');
    const spy = providers.whmcs.parse;
    try {
      (providers.whmcs as { parse: typeof spy }).parse = (read, ctx) => {
        read('csp-api-token');
        return spy(read, ctx);
      };
      expect(() => parseInputs((n) => inputs[n as keyof typeof inputs] ?? '', ENV)).toThrow(
        "Input 'csp-api-token' is read but not declared.",
      );
    } finally {
      (providers.whmcs as { parse: typeof spy }).parse = spy;
    }
  });

  it('masks every credential', () => {
    // The ones a reader of action.yml would call credentials, as a floor.
    expect(CREDENTIAL_INPUTS).toEqual(
      expect.arrayContaining([
        'github-token',
        'csp-api-token',
        'csp-client-secret',
        'whmcs-secret',
        'whmcs-access-key',
        'entra-auth-client-secret',
        'woodpecker-api-key',
        'woodpecker-client-secret',
        'auth0-management-client-secret',
        'keycloak-admin-client-secret',
        'okta-api-token',
        'okta-private-key',
        'aws-secret-access-key',
        'aws-session-token',
        'gcp-access-token',
      ]),
    );
  });

  it('the provider input lists the registry', () => {
    expect(INPUTS['provider']!.description).toBe(
      'Where the credential lives: vmware-csp, whmcs, entra, woodpecker, auth0, keycloak, okta, aws-iam or gcp-service-account.',
    );
  });
});
