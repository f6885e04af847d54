import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InputError, parseInputs } from '../src/inputs/index.ts';
import { parseTargets } from '../src/inputs/targets.ts';
import { BAD_TARGETS, GOOD_TARGETS } from './target-names.ts';

const CSP = {
  provider: 'vmware-csp',
  'github-token': 'ghs_token',
  'secret-name': 'CSP_SECRET',
  'csp-api-token': 'api-token-value',
  'csp-org-id': 'a1b2c3d4-0000-4000-8000-000000000001',
  'csp-oauth-app-id': 'my-app',
};
const ENV = { GITHUB_REPOSITORY: 'octo/app' };

function parse(inputs: Record<string, string>, env: Record<string, string> = ENV) {
  return parseInputs((name) => inputs[name] ?? '', env);
}

describe('parseInputs', () => {
  it('fills defaults from the runner environment', () => {
    const s = parse(CSP);
    expect(s.github.targets).toEqual([{ kind: 'repo', repo: 'octo/app', line: 'repo octo/app' }]);
    expect(s.github.apiUrl).toBe('https://api.github.com');
    expect(s.provider).toMatchObject({
      name: 'vmware-csp',
      url: 'https://console.cloud.vmware.com',
      rotation: 'regenerate',
      overlapSeconds: 172800,
    });
    expect(s.dryRun).toBe(false);
    expect(s.requestTimeoutMs).toBe(30_000);
  });

  it('takes GITHUB_API_URL for GHES', () => {
    expect(
      parse(CSP, { ...ENV, GITHUB_API_URL: 'https://ghe.example.com/api/v3/' }).github.apiUrl,
    ).toBe('https://ghe.example.com/api/v3');
  });

  it('parses every target kind', () => {
    const t = parseTargets(
      [
        '# comment',
        'repo octo/app',
        '',
        'environment octo/app Production EU',
        'org octo',
        'org octo2 selected octo/app octo/lib',
        'dependabot octo/app  # trailing comment',
        'dependabot-org octo all',
      ].join('\n'),
    );
    expect(t.map((x) => x.kind)).toEqual([
      'repo',
      'environment',
      'org',
      'org',
      'dependabot',
      'dependabot-org',
    ]);
    expect(t[1]).toMatchObject({ environment: 'Production EU' });
    // No visibility word: the existing secret's visibility is kept (read in preflight).
    expect(t[2]).toMatchObject({ visibility: undefined, repos: [] });
    expect(t[3]).toMatchObject({ visibility: 'selected', repos: ['octo/app', 'octo/lib'] });
  });

  it.each(GOOD_TARGETS.map((g) => [g.why, g] as const))('keeps the name exactly: %s', (_why, g) => {
    const [t, ...more] = parseTargets(g.line);
    expect(more).toEqual([]);
    const { why: _, line: __, ...fields } = g;
    expect(t).toMatchObject(fields);
  });

  it.each(BAD_TARGETS)('refuses %s', (_why, line) => {
    expect(() => parseTargets(line)).toThrow(/^Input 'targets' /);
    expect(() => parseTargets(line)).toThrow(InputError);
  });

  it('accepts loopback http URLs and a valid recovery key', () => {
    const s = parse({
      ...CSP,
      'csp-url': 'http://127.0.0.1:8080/',
      'recovery-public-key': Buffer.alloc(32, 7).toString('base64'),
    });
    expect(s.provider).toMatchObject({ url: 'http://127.0.0.1:8080' });
    expect(s.recoveryKey?.length).toBe(32);
  });

  it('gives a secret brought to Woodpecker the same propagation patience as a minted one', () => {
    const given = {
      provider: 'woodpecker',
      'github-token': 'ghs_token',
      'secret-name': 'WP_SECRET',
      'woodpecker-api-key': 'wp-key-value',
      'woodpecker-credential-id': '42',
      'woodpecker-client-secret': 'brought-secret-value',
      'woodpecker-secret-expires-at': '2028-01-01T00:00:00Z',
    };
    expect(parse(given).provider).toMatchObject({
      source: { kind: 'given', propagationTimeoutMs: 120_000 },
    });
    expect(parse({ ...given, 'entra-propagation-timeout': '45s' }).provider).toMatchObject({
      source: { kind: 'given', propagationTimeoutMs: 45_000 },
    });
  });
});

describe('GitHub sign-in', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const app = { ...CSP, 'github-token': '', 'github-app-id': '123456' };

  it('takes github-token, or an App id with its private key', () => {
    expect(parse(CSP).github.auth).toEqual({ kind: 'token', token: 'ghs_token' });
    expect(parse({ ...app, 'github-app-private-key': pem }).github.auth).toEqual({
      kind: 'app',
      appId: '123456',
      privateKey: pem.trim(),
    });
    // A Client ID is accepted as the App's issuer too.
    expect(
      parse({ ...app, 'github-app-id': 'Iv23liAbC.1', 'github-app-private-key': pem }).github.auth,
    ).toMatchObject({ kind: 'app', appId: 'Iv23liAbC.1' });
  });

  it('accepts failure-issue-repository with App sign-in, as with github-token', () => {
    const withIssue = parse({
      ...app,
      'github-app-private-key': pem,
      'failure-issue-repository': 'octo/alerts',
    });
    expect(withIssue.github.auth).toMatchObject({ kind: 'app' });
    expect(withIssue.failureIssue).toMatchObject({ owner: 'octo', repo: 'alerts' });
    expect(parse({ ...CSP, 'failure-issue-repository': 'octo/alerts' }).failureIssue).toMatchObject(
      { owner: 'octo' },
    );
  });

  it('turns a key stored with literal \\n back into lines', () => {
    const oneLine = pem.trim().replace(/\n/g, '\\n');
    expect(parse({ ...app, 'github-app-private-key': oneLine }).github.auth).toMatchObject({
      privateKey: pem.trim(),
    });
  });

  it('refuses two ways or none, naming the inputs and never the key', () => {
    const both = () => parse({ ...CSP, 'github-app-id': '1', 'github-app-private-key': pem });
    expect(both).toThrow(/'github-token' and 'github-app-id' are both set/);
    expect(() => parse({ ...CSP, 'github-token': '' })).toThrow(
      /Input 'github-token' is required: give either 'github-token' .* or 'github-app-id' with 'github-app-private-key'/,
    );
    expect(() => parse({ ...app, 'github-app-private-key': 'not a key at all' })).toThrow(
      /^Input 'github-app-private-key' is not an RSA private key in PEM form/,
    );
    try {
      parse({ ...app, 'github-app-private-key': pem.replace('MII', 'XII') });
    } catch (err) {
      expect((err as Error).message).not.toContain(pem.split('\n')[1]!.slice(4, 30));
    }
  });
});

// Each bad value must be refused with a message that names the input it came from.
const BAD: [string, Record<string, string>, string][] = [
  ['unknown provider', { ...CSP, provider: 'onelogin' }, "'provider'"],
  ['missing provider', { ...CSP, provider: '' }, "'provider'"],
  ['missing github-token', { ...CSP, 'github-token': '' }, "'github-token'"],
  ['missing secret-name', { ...CSP, 'secret-name': '' }, "'secret-name'"],
  ['secret name with a dash', { ...CSP, 'secret-name': 'MY-SECRET' }, "'secret-name'"],
  ['secret name with a leading digit', { ...CSP, 'secret-name': '1SECRET' }, "'secret-name'"],
  ['secret name with GITHUB_ prefix', { ...CSP, 'secret-name': 'github_token_x' }, "'secret-name'"],
  [
    'client id secret equal to secret name',
    { ...CSP, 'client-id-secret-name': 'csp_secret' },
    "'client-id-secret-name'",
  ],
  [
    'bad client id secret name',
    { ...CSP, 'client-id-secret-name': 'A B' },
    "'client-id-secret-name'",
  ],
  [
    'bad client id variable name',
    { ...CSP, 'client-id-variable-name': 'GITHUB_ID' },
    "'client-id-variable-name'",
  ],
  [
    'client id variable without a target that has variables',
    { ...CSP, targets: 'dependabot octo/app', 'client-id-variable-name': 'CLIENT_ID' },
    "'client-id-variable-name'",
  ],
  ['unknown target kind', { ...CSP, targets: 'repository octo/app' }, "'targets'"],
  ['pattern with a glob in the owner', { ...CSP, targets: 'repos oct*/app' }, "'targets'"],
  ['pattern with a bad topic', { ...CSP, targets: 'repos octo/* topic:Pay_ments' }, "'targets'"],
  ['pattern with a stray word', { ...CSP, targets: 'repos octo/* payments' }, "'targets'"],
  ['environments pattern without a name', { ...CSP, targets: 'environments octo/*' }, "'targets'"],
  ['max-targets zero', { ...CSP, 'max-targets': '0' }, "'max-targets'"],
  ['repo without owner', { ...CSP, targets: 'repo app' }, "'targets'"],
  ['repo with two names', { ...CSP, targets: 'repo octo/a octo/b' }, "'targets'"],
  ['environment without name', { ...CSP, targets: 'environment octo/app' }, "'targets'"],
  ['org with bad visibility', { ...CSP, targets: 'org octo public' }, "'targets'"],
  ['selected without repositories', { ...CSP, targets: 'org octo selected' }, "'targets'"],
  [
    'repositories without selected',
    { ...CSP, targets: 'dependabot-org octo all octo/app' },
    "'targets'",
  ],
  ['duplicate target', { ...CSP, targets: 'repo octo/app\nrepo OCTO/app' }, "'targets'"],
  ['only comments', { ...CSP, targets: '# nothing' }, "'targets'"],
  [
    'non-https github-api-url',
    { ...CSP, 'github-api-url': 'http://github.example.com' },
    "'github-api-url'",
  ],
  ['non-https csp-url', { ...CSP, 'csp-url': 'http://console.cloud.vmware.com' }, "'csp-url'"],
  [
    'url with credentials',
    { ...CSP, 'csp-url': 'https://u:p@console.cloud.vmware.com' },
    "'csp-url'",
  ],
  ['bad dry-run', { ...CSP, 'dry-run': 'yes' }, "'dry-run'"],
  ['bad duration', { ...CSP, 'skip-if-rotated-within': '12 hours' }, "'skip-if-rotated-within'"],
  ['zero duration', { ...CSP, 'request-timeout': '0s' }, "'request-timeout'"],
  [
    'request-timeout past 10m (timer overflow)',
    { ...CSP, 'request-timeout': '25d' },
    "'request-timeout'",
  ],
  ['store-timeout past 6h', { ...CSP, 'store-timeout': '7h' }, "'store-timeout'"],
  [
    'skip window past 366d',
    { ...CSP, 'skip-if-rotated-within': '367d' },
    "'skip-if-rotated-within'",
  ],
  [
    'recovery key too short',
    { ...CSP, 'recovery-public-key': Buffer.alloc(16).toString('base64') },
    "'recovery-public-key'",
  ],
  [
    'recovery key not base64',
    { ...CSP, 'recovery-public-key': '!'.repeat(44) },
    "'recovery-public-key'",
  ],
  ['csp without credentials', { ...CSP, 'csp-api-token': '' }, "'csp-api-token'"],
  [
    'csp with both credentials',
    { ...CSP, 'csp-client-id': 'x', 'csp-client-secret': 'y' },
    "'csp-api-token'",
  ],
  ['csp bad rotation', { ...CSP, 'csp-rotation': 'rolling' }, "'csp-rotation'"],
  [
    'csp overlap too short',
    { ...CSP, 'csp-rotation': 'overlap', 'csp-overlap-seconds': '5' },
    "'csp-overlap-seconds'",
  ],
  [
    'csp retire with regenerate',
    { ...CSP, 'csp-retire-previous': 'true' },
    "'csp-retire-previous'",
  ],
  ['csp org id with a slash', { ...CSP, 'csp-org-id': 'a/b' }, "'csp-org-id'"],
  ['csp org id of ..', { ...CSP, 'csp-org-id': '..' }, "'csp-org-id'"],
  ['csp app id of .', { ...CSP, 'csp-oauth-app-id': '.' }, "'csp-oauth-app-id'"],
  ['url ending in a bare ?', { ...CSP, 'csp-url': 'https://csp.example/?' }, "'csp-url'"],
  ['url ending in a bare #', { ...CSP, 'csp-url': 'https://csp.example/api#' }, "'csp-url'"],
];

describe('auth0-domain', () => {
  const AUTH0 = {
    provider: 'auth0',
    'github-token': 'ghs_token',
    'secret-name': 'AUTH0_SECRET',
    'auth0-management-client-id': 'manager',
    'auth0-management-client-secret': 's',
    'auth0-client-id': 'client',
  };
  const urlOf = (domain: string) => {
    const p = parse({ ...AUTH0, 'auth0-domain': domain }).provider;
    return p.name === 'auth0' ? [p.url, p.audience] : [];
  };

  it('takes a bare domain, with or without a port, or an https URL', () => {
    const canonical = ['https://my-tenant.eu.auth0.com', 'https://my-tenant.eu.auth0.com/api/v2/'];
    expect(urlOf('my-tenant.eu.auth0.com')).toEqual(canonical);
    expect(urlOf('https://my-tenant.eu.auth0.com/')).toEqual(canonical);
    // `login:8443` is a host and a port, not a URL scheme `login:`.
    expect(urlOf('login:8443')).toEqual(['https://login:8443', 'https://login:8443/api/v2/']);
  });

  it('takes auth0-management-audience as the Management API identifier, with or without its final slash', () => {
    const audienceOf = (audience: string) => {
      const p = parse({
        ...AUTH0,
        'auth0-domain': 'login.example.com',
        'auth0-management-audience': audience,
      }).provider;
      return p.name === 'auth0' ? p.audience : undefined;
    };
    const canonical = 'https://my-tenant.eu.auth0.com/api/v2/';
    expect(audienceOf(canonical)).toBe(canonical);
    // Auth0 matches the identifier exactly: the slash it always ends with is added, not required.
    expect(audienceOf('https://my-tenant.eu.auth0.com/api/v2')).toBe(canonical);
    for (const bad of ['https://my-tenant.eu.auth0.com', 'https://my-tenant.eu.auth0.com/api/v1/'])
      expect(() => audienceOf(bad), bad).toThrow(/'auth0-management-audience'.*\/api\/v2\//);
  });
});

describe('gcp-service-account sign-in', () => {
  const GCP = {
    provider: 'gcp-service-account',
    'github-token': 'ghs_token',
    'secret-name': 'GCP_KEY',
    'gcp-service-account-email': 'deployer@my-project.iam.gserviceaccount.com',
  };
  const WIF = {
    'gcp-workload-identity-provider':
      'projects/123456789012/locations/global/workloadIdentityPools/github/providers/my-org',
    'gcp-auth-service-account': 'key-rotator@my-project.iam.gserviceaccount.com',
  };

  it('signs in through WIF or with an access token, one of them', () => {
    expect(parse({ ...GCP, ...WIF }).provider).toMatchObject({
      signIn: { kind: 'wif', serviceAccount: WIF['gcp-auth-service-account'] },
      clientId: 'key-id',
      confirmTimeoutMs: 60_000,
    });
    expect(parse({ ...GCP, 'gcp-access-token': 'ya29.token' }).provider).toMatchObject({
      signIn: { kind: 'token', accessToken: 'ya29.token' },
    });
    expect(() => parse({ ...GCP, ...WIF, 'gcp-access-token': 'ya29.token' })).toThrow(
      /'gcp-access-token' is given with 'gcp-workload-identity-provider'/,
    );
    expect(() => parse(GCP)).toThrow(/'gcp-workload-identity-provider'.*or 'gcp-access-token'/);
    expect(() =>
      parse({ ...GCP, 'gcp-workload-identity-provider': WIF['gcp-workload-identity-provider'] }),
    ).toThrow(/'gcp-auth-service-account' is required/);
  });

  it('refuses what is not a service account email, a WIF provider or a key id', () => {
    expect(() => parse({ ...GCP, ...WIF, 'gcp-service-account-email': 'me@example.com' })).toThrow(
      /'gcp-service-account-email' is 'me@example.com'/,
    );
    expect(() =>
      parse({ ...GCP, ...WIF, 'gcp-workload-identity-provider': 'github/my-org' }),
    ).toThrow(/workloadIdentityPools\/POOL\/providers\/PROVIDER/);
    expect(() => parse({ ...GCP, ...WIF, 'gcp-sign-in-key-id': 'abc' })).toThrow(
      /'gcp-sign-in-key-id' is 'abc'/,
    );
    expect(() => parse({ ...GCP, ...WIF, 'gcp-confirm-timeout': '11m' })).toThrow(
      /'gcp-confirm-timeout'.*at most 10m/,
    );
  });
});

describe('duration bounds', () => {
  it('accept each bound itself', () => {
    const s = parse({
      ...CSP,
      'request-timeout': '10m',
      'store-timeout': '6h',
      'skip-if-rotated-within': '366d',
    });
    expect([s.requestTimeoutMs, s.storeTimeoutMs, s.skipIfRotatedWithinMs]).toEqual([
      600_000,
      21_600_000,
      366 * 86_400_000,
    ]);
  });

  it('name the bound in the message', () => {
    expect(() => parse({ ...CSP, 'request-timeout': '25d' })).toThrow(
      "Input 'request-timeout' is '25d'; expected at most 10m.",
    );
  });
});

describe('bad inputs', () => {
  it.each(BAD)('%s', (_name, inputs, named) => {
    let error: unknown;
    try {
      parse(inputs);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(named);
  });

  it('never repeats the password of a URL with credentials', () => {
    for (const url of [
      'https://u:pa55word@console.cloud.vmware.com',
      'https://u:pa55/word@console.cloud.vmware.com',
      'http://u:pa55word@example.com',
    ]) {
      const error = (() => {
        try {
          parse({ ...CSP, 'csp-url': url });
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      expect(error, url).toBeInstanceOf(InputError);
      expect(error!.message).toContain("'csp-url'");
      expect(error!.message).not.toContain('pa55');
    }
  });

  it('never quotes a credential input in its message', () => {
    const secret = 'super-secret-token-value';
    for (const inputs of [
      { ...CSP, 'csp-api-token': secret, 'csp-client-id': 'x', 'csp-client-secret': secret },
    ]) {
      expect(() => parse(inputs)).toThrow(InputError);
      try {
        parse(inputs);
      } catch (e) {
        expect((e as Error).message).not.toContain(secret);
      }
    }
  });
});

describe('target patterns', () => {
  it('parses each pattern form, topics and a quoted environment name with a comment', async () => {
    const { parseTargetLines } = await import('../src/inputs/patterns.ts');
    const { patterns, targets } = parseTargetLines(
      [
        'repo octo/app',
        'repos octo/service-* topic:payments topic:go  # services',
        'environments octo/api-? topic:api "prod #1"  # quoted',
        'environments octo/web-* prod eu',
        'dependabot-repos octo/*',
        'codespaces-repos octo/dev-?',
      ].join('\n'),
    );
    expect(targets.map((t) => t.line)).toEqual(['repo octo/app']);
    expect(patterns).toEqual([
      {
        kind: 'repo',
        owner: 'octo',
        glob: 'service-*',
        topics: ['payments', 'go'],
        line: 'repos octo/service-* topic:payments topic:go',
      },
      {
        kind: 'environment',
        owner: 'octo',
        glob: 'api-?',
        topics: ['api'],
        environment: { name: 'prod #1', written: '"prod #1"' },
        line: 'environments octo/api-? topic:api "prod #1"',
      },
      {
        kind: 'environment',
        owner: 'octo',
        glob: 'web-*',
        topics: [],
        environment: { name: 'prod eu', written: 'prod eu' },
        line: 'environments octo/web-* prod eu',
      },
      { kind: 'dependabot', owner: 'octo', glob: '*', topics: [], line: 'dependabot-repos octo/*' },
      {
        kind: 'codespaces',
        owner: 'octo',
        glob: 'dev-?',
        topics: [],
        line: 'codespaces-repos octo/dev-?',
      },
    ]);
  });

  it("parses the org-wide example's targets", async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const { parseTargetLines } = await import('../src/inputs/patterns.ts');
    const flow = parse(
      readFileSync(new URL('../examples/rotate-org-wide.yml', import.meta.url), 'utf8'),
    ) as { jobs: { rotate: { steps: { with?: Record<string, string> }[] } } };
    const text = flow.jobs.rotate.steps.find((x) => x.with?.['targets'])!.with!['targets']!;
    const { targets, patterns } = parseTargetLines(text);
    expect(targets.map((t) => t.line)).toEqual(['org acme']);
    expect(patterns.map((p) => p.kind)).toEqual(['repo', 'environment', 'dependabot']);
  });
});
