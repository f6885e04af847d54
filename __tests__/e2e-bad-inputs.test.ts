// Property 9: a bad input fails the bundled action with a message naming the input, and no request is
// made. Every URL input points at one listening server that records whatever reaches it.
import { afterAll, describe, expect, it } from 'vitest';
import { Emulator } from './emulators/server.ts';
import { findLeaks, runAction } from './harness.ts';
import { BAD_TARGETS } from './target-names.ts';

const sink = await new Emulator().listen();
afterAll(() => sink.close());

const GUID = '11111111-2222-4333-8444-555555555555';
const CREDENTIALS = [
  'ghp_bad_inputs_token_000',
  'csp-api-token-bad-inputs',
  'whmcs-secret-bad-inputs',
  'entra-client-secret-bad',
  'woodpecker-key-bad-inputs',
  'app-private-key-bad-inputs',
];

function common(): Record<string, string> {
  return {
    'github-token': CREDENTIALS[0]!,
    'github-api-url': sink.url,
    'secret-name': 'CLIENT_SECRET',
    targets: 'repo octo/app',
  };
}
const csp = () => ({
  ...common(),
  provider: 'vmware-csp',
  'csp-url': sink.url,
  'csp-api-token': CREDENTIALS[1]!,
  'csp-org-id': GUID,
  'csp-oauth-app-id': 'app-1',
});
const whmcs = () => ({
  ...common(),
  provider: 'whmcs',
  'whmcs-url': sink.url,
  'whmcs-identifier': 'ident',
  'whmcs-secret': CREDENTIALS[2]!,
  'whmcs-credential-id': '7',
});
const entra = () => ({
  ...common(),
  provider: 'entra',
  'entra-login-url': sink.url,
  'entra-graph-url': sink.url,
  'entra-tenant-id': GUID,
  'entra-application-id': GUID,
  'entra-auth': 'client-secret',
  'entra-auth-client-id': GUID,
  'entra-auth-client-secret': CREDENTIALS[3]!,
});
const woodpecker = () => ({
  ...entra(),
  provider: 'woodpecker',
  'woodpecker-url': sink.url,
  'woodpecker-api-key': CREDENTIALS[4]!,
});

const CASES: [string, Record<string, string>, string][] = [
  ['unknown provider', { ...csp(), provider: 'onelogin' }, 'provider'],
  ['no github-token', { ...csp(), 'github-token': '' }, 'github-token'],
  [
    'github-token and an App both',
    { ...csp(), 'github-app-id': '123', 'github-app-private-key': CREDENTIALS[5]! },
    'github-app-id',
  ],
  [
    'github-app-id without its key',
    { ...csp(), 'github-token': '', 'github-app-id': '123' },
    'github-app-private-key',
  ],
  [
    'github-app-private-key without the id',
    { ...csp(), 'github-token': '', 'github-app-private-key': CREDENTIALS[5]! },
    'github-app-id',
  ],
  [
    'github-app-id not an id',
    {
      ...csp(),
      'github-token': '',
      'github-app-id': 'my-app',
      'github-app-private-key': CREDENTIALS[5]!,
    },
    'github-app-id',
  ],
  [
    'github-app-private-key not a PEM key',
    {
      ...csp(),
      'github-token': '',
      'github-app-id': '123',
      'github-app-private-key': CREDENTIALS[5]!,
    },
    'github-app-private-key',
  ],
  ['no secret-name', { ...csp(), 'secret-name': '' }, 'secret-name'],
  ['secret-name with GITHUB_ prefix', { ...csp(), 'secret-name': 'GITHUB_SECRET' }, 'secret-name'],
  ['secret-name starting with a digit', { ...csp(), 'secret-name': '9LIVES' }, 'secret-name'],
  ['secret-name with a dot', { ...csp(), 'secret-name': 'MY.SECRET' }, 'secret-name'],
  [
    'client-id-secret-name with a space',
    { ...csp(), 'client-id-secret-name': 'CLIENT ID' },
    'client-id-secret-name',
  ],
  ['target kind misspelt', { ...csp(), targets: 'repositry octo/app' }, 'targets'],
  ['repo target without owner', { ...csp(), targets: 'repo app' }, 'targets'],
  [
    'environment target without environment',
    { ...csp(), targets: 'environment octo/app' },
    'targets',
  ],
  ['org target with unknown visibility', { ...csp(), targets: 'org octo internal' }, 'targets'],
  ['org selected without repositories', { ...csp(), targets: 'org octo selected' }, 'targets'],
  [
    'dependabot-org repositories without selected',
    { ...csp(), targets: 'dependabot-org octo private octo/app' },
    'targets',
  ],
  [
    'dependabot target with a bad repository',
    { ...csp(), targets: 'dependabot octo/app/extra' },
    'targets',
  ],
  ['the same target twice', { ...csp(), targets: 'repo octo/app\nrepo octo/app' }, 'targets'],
  [
    'plain http github-api-url',
    { ...csp(), 'github-api-url': 'http://api.github.example' },
    'github-api-url',
  ],
  ['dry-run not a boolean', { ...csp(), 'dry-run': 'maybe' }, 'dry-run'],
  [
    'skip window without a unit',
    { ...csp(), 'skip-if-rotated-within': '12' },
    'skip-if-rotated-within',
  ],
  [
    'recovery key of 31 bytes',
    { ...csp(), 'recovery-public-key': Buffer.alloc(31, 1).toString('base64') },
    'recovery-public-key',
  ],
  ['csp: no credentials', { ...csp(), 'csp-api-token': '' }, 'csp-api-token'],
  [
    'csp: client id without secret',
    { ...csp(), 'csp-api-token': '', 'csp-client-id': 'abc' },
    'csp-client-secret',
  ],
  ['csp: plain http url', { ...csp(), 'csp-url': 'http://console.cloud.vmware.com' }, 'csp-url'],
  ['csp: no org id', { ...csp(), 'csp-org-id': '' }, 'csp-org-id'],
  ['csp: unknown rotation mode', { ...csp(), 'csp-rotation': 'rolling' }, 'csp-rotation'],
  [
    'csp: overlap seconds not a number',
    { ...csp(), 'csp-rotation': 'overlap', 'csp-overlap-seconds': '2d' },
    'csp-overlap-seconds',
  ],
  [
    'csp: retire previous with regenerate',
    { ...csp(), 'csp-retire-previous': 'true' },
    'csp-retire-previous',
  ],
  ['whmcs: no url', { ...whmcs(), 'whmcs-url': '' }, 'whmcs-url'],
  [
    'whmcs: neither credential id nor identifier',
    { ...whmcs(), 'whmcs-credential-id': '' },
    'whmcs-credential-id',
  ],
  [
    'whmcs: credential id not a number',
    { ...whmcs(), 'whmcs-credential-id': 'seven' },
    'whmcs-credential-id',
  ],
  [
    'whmcs: unknown grant type',
    { ...whmcs(), 'whmcs-grant-type': 'client_credentials' },
    'whmcs-grant-type',
  ],
  [
    'whmcs: single sign-on without service id',
    { ...whmcs(), 'whmcs-grant-type': 'single_sign_on' },
    'whmcs-service-id',
  ],
  [
    'whmcs: redirect URI not absolute',
    { ...whmcs(), 'whmcs-redirect-uris': 'https://ok.example/cb\n/relative/cb' },
    'whmcs-redirect-uris',
  ],
  [
    'entra: application id not a GUID',
    { ...entra(), 'entra-application-id': 'my-app' },
    'entra-application-id',
  ],
  ['entra: unknown auth mode', { ...entra(), 'entra-auth': 'certificate' }, 'entra-auth'],
  [
    'entra: client-secret mode without secret',
    { ...entra(), 'entra-auth-client-secret': '' },
    'entra-auth-client-secret',
  ],
  [
    'entra: lifetime of zero days',
    { ...entra(), 'entra-secret-lifetime-days': '0' },
    'entra-secret-lifetime-days',
  ],
  ['woodpecker: no api key', { ...woodpecker(), 'woodpecker-api-key': '' }, 'woodpecker-api-key'],
  [
    'woodpecker: secret without expiry',
    { ...woodpecker(), 'woodpecker-client-secret': 'given-secret-value' },
    'woodpecker-secret-expires-at',
  ],
  [
    'woodpecker: expiry not ISO 8601',
    {
      ...woodpecker(),
      'woodpecker-client-secret': 'given-secret-value',
      'woodpecker-secret-expires-at': '28/11/2027',
    },
    'woodpecker-secret-expires-at',
  ],
  // A base URL with a bare ? or # would send credentials somewhere else than {url}/path.
  ['whmcs: url ending in a bare ?', { ...whmcs(), 'whmcs-url': `${sink.url}/?` }, 'whmcs-url'],
  ['whmcs: url ending in a bare #', { ...whmcs(), 'whmcs-url': `${sink.url}#` }, 'whmcs-url'],
  ['whmcs: url ending in ?#', { ...whmcs(), 'whmcs-url': `${sink.url}/billing?#` }, 'whmcs-url'],
  ['github-api-url ending in ?', { ...csp(), 'github-api-url': `${sink.url}?` }, 'github-api-url'],
  [
    'woodpecker: url ending in #',
    { ...woodpecker(), 'woodpecker-url': `${sink.url}/rest#` },
    'woodpecker-url',
  ],
  // Path ids that a URL would resolve away.
  ['csp: org id of .', { ...csp(), 'csp-org-id': '.' }, 'csp-org-id'],
  ['csp: app id of ..', { ...csp(), 'csp-oauth-app-id': '..' }, 'csp-oauth-app-id'],
  ['entra: tenant of ..', { ...entra(), 'entra-tenant-id': '..' }, 'entra-tenant-id'],
  ['secret-name with a non-ASCII letter', { ...csp(), 'secret-name': 'SECRÉT' }, 'secret-name'],
  ...BAD_TARGETS.map(([why, line]): [string, Record<string, string>, string] => [
    `targets: ${why}`,
    { ...csp(), targets: line },
    'targets',
  ]),
];

describe('bad inputs (bundled action)', () => {
  it('has at least 30 distinct cases', () => {
    expect(new Set(CASES.map((c) => c[0])).size).toBeGreaterThanOrEqual(30);
  });

  it.concurrent.each(CASES)('%s', async (_name, inputs, input) => {
    const run = await runAction(inputs);
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain(`'${input}'`);
    expect(JSON.parse(run.outputs['targets'] ?? 'null')).toEqual([]);
    expect(run.outputs['rotated']).toBe('false');
    expect(findLeaks(run, CREDENTIALS)).toEqual([]);
  });

  afterAll(() => {
    // Checked once all cases ran: not one request reached any URL.
    expect(sink.requests).toEqual([]);
  });
});
