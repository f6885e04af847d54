// An attacker who controls a provider's (or GitHub's) answers plants workflow commands, CRs and
// markup in every field the action reads. No stdout or stderr line may become a runner command carrying
// it, and the job summary may hold no live markup from it. Known secrets echoed in error bodies are
// redacted (expectClean scans for them).
import { describe as describeInOrder, expect, it } from 'vitest';
import { ownPrefix } from '../src/providers/entra-app.ts';
import { expectClean, worldPerTest } from './checks.ts';
import { graphError } from './emulators/entra.ts';
import { auth0Error } from './emulators/auth0.ts';
import { cspError } from './emulators/csp.ts';
import { oktaError } from './emulators/okta.ts';
import { awsError } from './emulators/aws-iam.ts';
import { gcpError } from './emulators/gcp.ts';
import {
  APP_ID,
  AUTH0_CLIENT,
  CREDENTIALS,
  GCP_ROTATOR,
  OKTA_APP,
  KC_CLIENT,
  KC_REALM,
  TENANT,
  WHMCS_CREDENTIAL,
  WOODPECKER_CREDENTIAL,
  worldOf,
} from './fixtures.ts';
import type { Run } from './harness.ts';
import {
  commandsCarrying,
  foreignElements,
  liveMarkup,
  MARKER,
  PLANT,
  render,
} from './injection.ts';

// Each test starts its own world, so the tests of every describe in this file run concurrently.
const describe = describeInOrder.concurrent;
const start = worldPerTest();

/** The checks of every run here; `shown` says the plant must have reached the log (it was read). */
function safe(run: Run, shown = true): void {
  expect(commandsCarrying(`${run.stdout}\n${run.stderr}`)).toEqual([]);
  expect(liveMarkup(run.summary)).toEqual([]);
  expect(foreignElements(render(run.summary))).toEqual([]);
  if (shown) expect(`${run.stdout}${run.stderr}`).toContain(MARKER);
  expectClean(worldOf(run), run);
}

describe('whmcs', () => {
  it('credential name', async () => {
    const world = await start('whmcs');
    world.whmcs!.credential(WHMCS_CREDENTIAL).name = PLANT;
    const run = await world.run();
    expect(run.code).toBe(0);
    expect(run.summary).toContain(MARKER);
    safe(run);
  });

  it('error message, echoing the API secret', async () => {
    const world = await start('whmcs');
    world.whmcs!.fault('POST', '/includes/api.php', {
      status: 200,
      body: { result: 'error', message: `${PLANT} ${CREDENTIALS.whmcsSecret}` },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });
});

describe('woodpecker', () => {
  it('credential name and expiry', async () => {
    const world = await start('woodpecker');
    const c = world.woodpecker!.credential(WOODPECKER_CREDENTIAL)!;
    c.name = PLANT;
    c.secretExpiresAt = PLANT;
    const run = await world.run();
    expect(run.code).toBe(0);
    expect(run.summary).toContain(MARKER);
    safe(run);
  });

  it('credential id', async () => {
    const world = await start('woodpecker');
    world.woodpecker!.fault('GET', /credentials$/, {
      status: 200,
      times: 1,
      body: {
        credentials: [
          {
            credential_id: PLANT,
            tenant_id: TENANT,
            client_id: APP_ID,
            secret_expires_at: PLANT,
            name: PLANT,
          },
        ],
      },
    });
    const run = await world.run();
    safe(run);
  });

  it('error title and detail, echoing the API key', async () => {
    const world = await start('woodpecker');
    world.woodpecker!.fault('GET', /credentials$/, {
      status: 401,
      body: { title: PLANT, detail: `${PLANT} ${CREDENTIALS.woodpeckerKey}`, status: 401 },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });

  it('422 message', async () => {
    const world = await start('woodpecker');
    world.woodpecker!.fault('PATCH', /credentials\/\d+$/, {
      status: 422,
      body: { message: PLANT },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });
});

describe('entra', () => {
  it('password keyId, displayName, endDateTime and hint; the hint is never printed', async () => {
    const world = await start('entra');
    world.entra!.fault('GET', /^\/v1\.0\//, {
      status: 200,
      body: {
        passwordCredentials: [
          {
            keyId: PLANT,
            displayName: `${ownPrefix('tag')}${PLANT}`,
            endDateTime: PLANT,
            hint: 'HINT-PWNED',
          },
        ],
      },
    });
    const run = await world.run({ 'entra-password-tag': 'tag' });
    expect(run.summary).toContain(MARKER);
    safe(run);
    for (const text of [run.stdout, run.stderr, run.summary]) expect(text).not.toContain('HINT');
  });

  it('Graph error code and message', async () => {
    const world = await start('entra');
    world.entra!.fault('POST', /addPassword$/, graphError(403, PLANT, PLANT));
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });

  it('sign-in error and description, echoing the managing secret', async () => {
    const world = await start('entra');
    world.entra!.fault('POST', /token$/, {
      status: 401,
      body: {
        error: PLANT,
        error_description: `${PLANT} ${CREDENTIALS.managerSecret}`,
      },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });
});

describe('vmware-csp', () => {
  it('clientId', async () => {
    const world = await start('vmware-csp');
    world.csp!.fault('GET', /oauth-apps\/[^/]+$/, {
      status: 200,
      times: 1,
      body: { clientId: PLANT },
    });
    const run = await world.run({ 'dry-run': 'true' });
    expect(run.code).toBe(0);
    expect(run.summary).toContain(MARKER);
    safe(run, false);
  });

  it('error code, message and request id, echoing the API token', async () => {
    const world = await start('vmware-csp');
    world.csp!.fault('*', /secret$/, {
      status: 400,
      body: {
        ...cspError(400, `${PLANT} ${CREDENTIALS.cspApiToken}`, PLANT),
        requestId: PLANT,
      },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });
});

describe('auth0', () => {
  it('application name', async () => {
    const world = await start('auth0');
    world.auth0!.client(AUTH0_CLIENT).name = PLANT;
    const run = await world.run();
    expect(run.code).toBe(0);
    expect(run.summary).toContain(MARKER);
    safe(run);
  });

  it('token_endpoint_auth_method in a refusal', async () => {
    const world = await start('auth0');
    world.auth0!.client(AUTH0_CLIENT).tokenEndpointAuthMethod = PLANT;
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });

  it('Management API error code and message, echoing the management secret', async () => {
    const world = await start('auth0');
    world.auth0!.fault('POST', /rotate-secret$/, {
      status: 400,
      body: auth0Error(400, `${PLANT} ${CREDENTIALS.auth0ManagerSecret}`, PLANT),
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });

  it('token error and description, echoing the management secret', async () => {
    const world = await start('auth0');
    world.auth0!.fault('POST', '/oauth/token', {
      status: 403,
      body: { error: PLANT, error_description: `${PLANT} ${CREDENTIALS.auth0ManagerSecret}` },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });
});

describe('keycloak', () => {
  it('client authenticator type and protocol in a refusal', async () => {
    const world = await start('keycloak');
    const c = world.keycloak!.client(KC_REALM, KC_CLIENT);
    c.clientAuthenticatorType = PLANT;
    c.protocol = PLANT;
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });

  it('client attributes (expiry times) are read as numbers only', async () => {
    const world = await start('keycloak');
    Object.assign(world.keycloak!.client(KC_REALM, KC_CLIENT).attributes, {
      'client.secret.expiration.time': PLANT,
      'client.secret.rotated.expiration.time': PLANT,
    });
    const run = await world.run();
    expect(run.code).toBe(0);
    safe(run, false);
  });

  it('token endpoint error and description, echoing the admin secret', async () => {
    const world = await start('keycloak');
    world.keycloak!.fault('POST', /token$/, {
      status: 401,
      body: { error: PLANT, error_description: `${PLANT} ${CREDENTIALS.keycloakAdminSecret}` },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });

  it('admin API errorMessage, echoing the admin secret', async () => {
    const world = await start('keycloak');
    world.keycloak!.fault('POST', /client-secret$/, {
      status: 400,
      body: { errorMessage: `${PLANT} ${CREDENTIALS.keycloakAdminSecret}` },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });
});

describe('okta', () => {
  const ssws = {
    'okta-api-token': CREDENTIALS.oktaApiToken,
    'okta-client-id': '',
    'okta-private-key': '',
  };

  it('app label and client id', async () => {
    const world = await start('okta');
    world.okta!.app(OKTA_APP).label = PLANT;
    world.okta!.app(OKTA_APP).clientId = PLANT;
    const run = await world.run();
    expect(run.code).toBe(0);
    expect(run.summary).toContain(MARKER);
    safe(run);
  });

  for (const [what, entry] of [
    ['id', { id: PLANT, status: 'ACTIVE' }],
    ['status', { id: 'ocsSecond', status: PLANT }],
  ] as const)
    it(`a secret ${what} in the listing: refused before any change, never quoted`, async () => {
      const world = await start('okta');
      world.okta!.fault('GET', /\/credentials\/secrets$/, {
        status: 200,
        body: [
          { id: 'ocsFirst', status: 'ACTIVE', created: PLANT, client_secret: PLANT },
          { ...entry, created: PLANT },
        ],
      });
      const run = await world.run();
      expect(run.code).toBe(1);
      expect(run.errors[0]).toContain('without a usable id or status');
      safe(run, false);
      expect(run.stdout).not.toContain(MARKER);
    });

  it('errorSummary, errorCauses and errorId, echoing the API token', async () => {
    const world = await start('okta');
    world.okta!.fault('POST', /\/credentials\/secrets$/, {
      status: 400,
      body: {
        ...oktaError(400, `${PLANT} ${CREDENTIALS.oktaApiToken}`, PLANT, [PLANT, PLANT]),
        errorId: PLANT,
      },
    });
    const run = await world.run(ssws);
    expect(run.code).toBe(1);
    safe(run);
  });

  it('token endpoint error and description, echoing the client assertion', async () => {
    const world = await start('okta');
    world.okta!.fault('POST', '/oauth2/v1/token', {
      status: 401,
      body: { error: PLANT, error_description: `${PLANT} eyJhbGciOiJSUzI1NiJ9` },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    safe(run);
  });
});

describe('aws-iam', () => {
  const esc = (v: string) =>
    v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');

  it('the caller ARN from GetCallerIdentity', async () => {
    const world = await start('aws-iam');
    world.aws!.fault('POST', '/sts/', {
      times: 1,
      status: 200,
      headers: { 'content-type': 'text/xml' },
      body: `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:sts::${world.aws!.account}:assumed-role/${esc(PLANT)}</Arn><UserId>${esc(PLANT)}</UserId><Account>${world.aws!.account}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`,
    });
    const run = await world.run();
    expect(run.code).toBe(0);
    safe(run);
  });

  it('a key id in the listing: refused before any change, never quoted', async () => {
    const world = await start('aws-iam');
    world.aws!.fault('POST', '/', {
      bodyIncludes: 'Action=ListAccessKeys',
      status: 200,
      body: `<ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata><member><AccessKeyId>${esc(PLANT)}</AccessKeyId><Status>Active</Status><CreateDate>${esc(PLANT)}</CreateDate></member></AccessKeyMetadata></ListAccessKeysResult></ListAccessKeysResponse>`,
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    expect(run.errors[0]).toContain('without a usable id or status');
    expect(world.aws!.creations()).toBe(0);
    safe(run, false);
    expect(run.stdout).not.toContain(MARKER);
  });

  it('error code, message and request id, echoing the session secret', async () => {
    const world = await start('aws-iam');
    const secret = world.env()['AWS_SECRET_ACCESS_KEY']!;
    world.aws!.fault('POST', '/', {
      bodyIncludes: 'Action=CreateAccessKey',
      status: 403,
      body: awsError('AccessDenied', `${PLANT} ${secret}`).replace(
        /<RequestId>[^<]*</,
        `<RequestId>${esc(PLANT)}<`,
      ),
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    expect(world.aws!.creations()).toBe(0);
    safe(run);
  });
});

describe('gcp-service-account', () => {
  const KEYS = /\/serviceAccounts\/[^/]+\/keys$/;

  it('a key name in the listing: refused before any change, never quoted', async () => {
    const world = await start('gcp-service-account');
    world.gcp!.fault('GET', KEYS, {
      status: 200,
      body: { keys: [{ name: PLANT, validAfterTime: PLANT, keyType: 'USER_MANAGED' }] },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    expect(run.errors[0]).toContain('without a usable name or state');
    expect(world.gcp!.creations()).toBe(0);
    safe(run, false);
    expect(run.stdout).not.toContain(MARKER);
  });

  it('error status, message and policy on the create, echoing the access token', async () => {
    const world = await start('gcp-service-account');
    const token = world.gcp!.addAccessToken(GCP_ROTATOR);
    world.gcp!.fault('POST', KEYS, {
      status: 400,
      body: gcpError(400, 'FAILED_PRECONDITION', `${PLANT} ${token}`, [
        { violations: [{ type: `constraints/${PLANT}` }] },
      ]),
    });
    const run = await world.run({
      'gcp-workload-identity-provider': '',
      'gcp-auth-service-account': '',
      'gcp-access-token': token,
    });
    expect(run.code).toBe(1);
    expect(world.gcp!.creations()).toBe(0);
    safe(run);
  });

  it("the token endpoint's error description on the confirm", async () => {
    const world = await start('gcp-service-account');
    world.gcp!.fault('POST', '/oauth2/token', {
      status: 400,
      body: { error: 'invalid_grant', error_description: PLANT },
    });
    const run = await world.run({ 'gcp-confirm-timeout': '1s' });
    expect(run.code).toBe(1);
    safe(run);
  });
});

describe('github', () => {
  it('deprecation headers (sunset, link) and error bodies', async () => {
    const world = await start('whmcs');
    const headers = {
      deprecation: 'true',
      sunset: `::add-mask::${MARKER} ##[group]${MARKER} <img src=x>`,
      link: `<https://evil.example/##[group]${MARKER}>; rel="deprecation"`,
    };
    world.github.fault('GET', /public-key$/, { afterEffect: true, headers });
    world.github.fault('PUT', /secrets\//, { status: 422, body: { message: PLANT }, headers });
    // Octokit warns of a deprecation once per process: a process of its own shows it.
    const run = await world.run({}, { bundle: true });
    expect(run.code).toBe(1);
    safe(run);
  });
});

describe('inputs', () => {
  it('an invalid provider input is never echoed in the summary, and its log line is inert', async () => {
    const world = await start('whmcs');
    const run = await world.run({ provider: PLANT });
    expect(run.code).toBe(1);
    expect(run.summary).not.toContain(MARKER);
    expect(run.summary).toContain('An input is invalid');
    safe(run);
  });
});

describe('partial secrets', () => {
  it('a secret echoed across the 200-character cut leaves no prefix of itself', async () => {
    const world = await start('whmcs');
    const secret = CREDENTIALS.whmcsSecret;
    world.whmcs!.fault('POST', '/includes/api.php', {
      status: 200,
      body: { result: 'error', message: `${'x'.repeat(190)}${secret}` },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    const printed = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    for (const text of [printed.join('\n'), run.stderr, run.summary])
      expect(text).not.toContain(secret.slice(0, 8));
    expectClean(world, run);
  });
});

describe('bounded answers', () => {
  it('a provider answer above 4 MiB fails clearly and is not repeated', async () => {
    const world = await start('whmcs');
    world.whmcs!.fault('POST', '/includes/api.php', {
      status: 200,
      body: { result: 'success', clients: [], pad: 'x'.repeat(5 * 1024 * 1024) },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/larger than 4 MiB/);
    expect(world.whmcs!.requests).toHaveLength(1);
    expectClean(world, run);
  });

  it('a GitHub answer above 4 MiB fails clearly and is not repeated', async () => {
    const world = await start('whmcs');
    world.github.fault('GET', /public-key$/, {
      status: 200,
      body: { key_id: '1', key: 'x'.repeat(5 * 1024 * 1024) },
    });
    const run = await world.run();
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/larger than 4 MiB/);
    expect(world.github.calls('GET', /public-key$/)).toHaveLength(1);
    expect(world.whmcs!.rotations(WHMCS_CREDENTIAL)).toBe(0);
    expectClean(world, run);
  });
});
