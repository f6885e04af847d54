// Smoke tests of the provider emulators themselves, with plain fetch: if these drift from the real APIs'
// documented behaviour, every end-to-end test built on them proves less.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCsp, type CspEmulator } from './csp.ts';
import { startEntra, type EntraEmulator } from './entra.ts';
import { startWhmcs, type WhmcsEmulator } from './whmcs.ts';
import { startWoodpecker, type WoodpeckerEmulator } from './woodpecker.ts';

const TENANT = 'bbfb2db7-aaf4-4f7c-9dc2-2c9160d1cb32';
const APP = 'e1c6ac69-480e-4a17-9b85-3467967bd179';
const MANAGER = '0b8c1e52-7d1f-4c9e-9a51-3f2d6c4b8e10';

/** Emulator answers, read loosely: each test asserts on the fields it needs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

async function send(
  url: string,
  init: RequestInit & { form?: Record<string, string | string[]> } = {},
): Promise<{ status: number; body: Loose }> {
  const { form, ...rest } = init;
  if (form) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(form))
      for (const one of Array.isArray(v) ? v : [v]) p.append(k, one);
    rest.body = p;
  }
  const res = await fetch(url, rest);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

const jsonInit = (
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

describe('CSP emulator', () => {
  let csp: CspEmulator;
  const ORG = 'org-1';
  const secretUrl = () => `${csp.url}/csp/gateway/am/api/orgs/${ORG}/oauth-apps/app-1/secret`;
  const clientToken = (id: string, secret: string) =>
    send(`${csp.url}/csp/gateway/am/api/auth/authorize`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
      form: { grant_type: 'client_credentials' },
    });
  const apiToken = async (token: string) =>
    (
      await send(`${csp.url}/csp/gateway/am/api/auth/api-tokens/authorize`, {
        method: 'POST',
        form: { api_token: token },
      })
    ).body.access_token as string;

  beforeAll(async () => {
    csp = await startCsp();
    csp.addApp(ORG, 'app-1', 'Old-secret-1!');
    csp.addApiToken('good-token');
    csp.addApiToken('weak-token', { forbidden: true });
  });
  afterAll(() => csp.close());

  it('regenerates: the old secret dies at once', async () => {
    const bearer = { authorization: `Bearer ${await apiToken('good-token')}` };
    const details = await send(`${csp.url}/csp/gateway/am/api/orgs/${ORG}/oauth-apps/app-1`, {
      headers: bearer,
    });
    expect(details.body).toMatchObject({ id: 'app-1', clientId: 'app-1' });
    expect(JSON.stringify(details.body)).not.toContain('Old-secret-1!');
    const res = await send(secretUrl(), jsonInit('PUT', {}, bearer));
    expect(res.status).toBe(200);
    expect(res.body.clientId).toBe('app-1');
    expect(csp.validSecrets('app-1')).toEqual([res.body.clientSecret]);
    expect((await clientToken('app-1', 'Old-secret-1!')).status).toBe(401);
    expect((await clientToken('app-1', res.body.clientSecret)).body.token_type).toBe('bearer');
    expect(csp.rotations('app-1')).toBe(1);
  });

  it('overlaps: both secrets work until the window ends, DELETE ends it early', async () => {
    const before = csp.validSecrets('app-1')[0]!;
    const token = (await clientToken('app-1', before)).body.access_token as string;
    const weak = await send(
      secretUrl(),
      jsonInit('POST', { newClientSecret: 'weakweak' }, { 'csp-auth-token': token }),
    );
    expect(weak.status).toBe(400);
    expect(weak.body).toMatchObject({
      statusCode: 400,
      errorCode: expect.any(String),
      requestId: expect.any(String),
    });
    const ok = await send(
      secretUrl(),
      jsonInit(
        'POST',
        { newClientSecret: 'New-secret-2#', secretRotationExpirationInSeconds: 3600 },
        { 'csp-auth-token': token },
      ),
    );
    expect(ok.status).toBe(200);
    expect(csp.validSecrets('app-1')).toEqual(['New-secret-2#', before]);
    expect((await clientToken('app-1', before)).status).toBe(200);
    csp.advance(3_601_000);
    expect(csp.validSecrets('app-1')).toEqual(['New-secret-2#']);
    expect((await clientToken('app-1', before)).status).toBe(401);

    const fresh = (await clientToken('app-1', 'New-secret-2#')).body.access_token as string;
    await send(
      secretUrl(),
      jsonInit('POST', { newClientSecret: 'New-secret-3#' }, { authorization: `Bearer ${fresh}` }),
    );
    expect(csp.validSecrets('app-1')).toHaveLength(2);
    expect(
      (await send(secretUrl(), { method: 'DELETE', headers: { authorization: `Bearer ${fresh}` } }))
        .status,
    ).toBe(200);
    expect(csp.validSecrets('app-1')).toEqual(['New-secret-3#']);
  });

  it('answers CSP error bodies: 401, 403, 404, 409', async () => {
    expect(
      (await send(secretUrl(), jsonInit('PUT', {}, { authorization: 'Bearer nope' }))).body,
    ).toMatchObject({ statusCode: 401 });
    const weak = { authorization: `Bearer ${await apiToken('weak-token')}` };
    expect((await send(secretUrl(), jsonInit('PUT', {}, weak))).status).toBe(403);
    const good = { authorization: `Bearer ${await apiToken('good-token')}` };
    expect(
      (await send(secretUrl().replace('app-1', 'app-9'), jsonInit('PUT', {}, good))).status,
    ).toBe(404);
    csp.app('app-1').conflict = true;
    expect((await send(secretUrl(), jsonInit('PUT', {}, good))).body).toMatchObject({
      statusCode: 409,
      cspErrorCode: expect.any(String),
    });
    csp.app('app-1').conflict = false;
  });
});

describe('WHMCS emulator', () => {
  let whmcs: WhmcsEmulator;
  const api = (fields: Record<string, string | string[]>) =>
    send(`${whmcs.url}/includes/api.php`, {
      method: 'POST',
      form: { identifier: 'id', secret: 'sec', responsetype: 'json', ...fields },
    });

  beforeAll(async () => {
    whmcs = await startWhmcs({ identifier: 'id', secret: 'sec', accessKey: 'ak' });
    whmcs.addCredential({ credentialId: 7, clientIdentifier: 'client-7', secret: 'old-secret' });
  });
  afterAll(() => whmcs.close());

  it('lists (with secrets) and resets a secret with updates', async () => {
    const list = await api({ action: 'ListOAuthCredentials' });
    expect(list.body).toMatchObject({
      result: 'success',
      totalresults: 1,
      clients: [{ credentialId: 7, clientIdentifier: 'client-7', clientSecret: 'old-secret' }],
    });
    const res = await api({
      action: 'UpdateOAuthCredential',
      credentialId: '7',
      resetSecret: '1',
      name: 'Renamed',
      'redirectUri[]': ['https://a.example/cb', 'https://b.example/cb'],
    });
    expect(res.body).toMatchObject({
      result: 'success',
      credentialId: '7',
      newClientSecret: expect.any(String),
    });
    expect(whmcs.credential(7)).toMatchObject({
      clientSecret: res.body.newClientSecret,
      name: 'Renamed',
      redirectUri: ['https://a.example/cb', 'https://b.example/cb'],
    });
    expect(whmcs.lastUpdate).toMatchObject({
      credentialId: '7',
      resetSecret: '1',
      name: 'Renamed',
    });
    expect(whmcs.rotations(7)).toBe(1);
  });

  it('answers errors the WHMCS way: HTTP 200 with result=error, 403 for the IP allow-list', async () => {
    const bad = await send(`${whmcs.url}/includes/api.php`, {
      method: 'POST',
      form: {
        identifier: 'id',
        secret: 'wrong',
        responsetype: 'json',
        action: 'ListOAuthCredentials',
      },
    });
    expect(bad).toEqual({
      status: 200,
      body: { result: 'error', message: 'Authentication Failed' },
    });
    expect((await api({ action: 'UpdateOAuthCredential' })).body.message).toBe(
      'A Credential ID or Client Identifier is required.',
    );
    expect(
      (await api({ action: 'UpdateOAuthCredential', clientApiIdentifier: 'nope' })).body.message,
    ).toBe('Invalid Client Identifier provided.');
    expect(
      (await api({ action: 'UpdateOAuthCredential', credentialId: '7', grantType: 'password' }))
        .body.message,
    ).toBe('The requested grant type “password” is invalid.');
    expect(
      (
        await api({
          action: 'UpdateOAuthCredential',
          credentialId: '7',
          grantType: 'single_sign_on',
        })
      ).body.message,
    ).toBe('A service ID is required for the single sign-on grant type.');
    expect(
      (
        await api({
          action: 'UpdateOAuthCredential',
          credentialId: '7',
          scope: 'clientarea:sso admin',
        })
      ).body.message,
    ).toBe('The requested scope “admin” is invalid.');
    expect(whmcs.rotations(7)).toBe(1);
    whmcs.ipAllowList = true;
    expect(await api({ action: 'ListOAuthCredentials' })).toEqual({
      status: 403,
      body: { result: 'error', message: 'Invalid IP 127.0.0.1' },
    });
    expect((await api({ action: 'ListOAuthCredentials', accesskey: 'ak' })).status).toBe(200);
    whmcs.ipAllowList = false;
  });
});

describe('Entra emulator', () => {
  let entra: EntraEmulator;
  const token = (fields: Record<string, string>) =>
    send(`${entra.url}/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      form: { grant_type: 'client_credentials', scope: `${entra.url}/.default`, ...fields },
    });
  const graph = async (method: string, suffix: string, body?: unknown) => {
    const access = (await token({ client_id: MANAGER, client_secret: 'manager-secret' })).body
      .access_token as string;
    const headers = { authorization: `Bearer ${access}`, 'content-type': 'application/json' };
    return send(`${entra.url}/v1.0/applications(appId='${APP}')${suffix}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  };

  beforeAll(async () => {
    entra = await startEntra({
      propagationDelayMs: 5_000,
      tenantId: TENANT,
      federatedSubject: 'repo:octo/app:ref:refs/heads/main',
    });
    entra.addApp(APP, { initialPasswords: ['initial-secret'] });
    entra.addManagingClient(MANAGER, 'manager-secret');
  });
  afterAll(() => entra.close());

  it('adds a password that works only after the propagation delay, lists without secret text, removes', async () => {
    const added = await graph('POST', '/addPassword', {
      passwordCredential: { displayName: 'rotated', endDateTime: '2030-01-01T00:00:00Z' },
    });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({
      keyId: expect.any(String),
      secretText: expect.any(String),
      displayName: 'rotated',
      hint: added.body.secretText.slice(0, 3),
    });
    expect(entra.secretWorks(APP, added.body.secretText)).toBe(false);
    const early = await token({ client_id: APP, client_secret: added.body.secretText });
    expect(early.status).toBe(401);
    expect(early.body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(early.body.error_description).toMatch(
      /^AADSTS7000215: Invalid client secret provided\./,
    );
    entra.advance(5_000);
    expect((await token({ client_id: APP, client_secret: added.body.secretText })).status).toBe(
      200,
    );

    const listed = await send(
      `${entra.url}/v1.0/applications(appId=%27${APP}%27)?$select=id,passwordCredentials`,
      {
        headers: {
          authorization: `Bearer ${(await token({ client_id: MANAGER, client_secret: 'manager-secret' })).body.access_token}`,
        },
      },
    );
    expect(Object.keys(listed.body).filter((k) => !k.startsWith('@'))).toEqual([
      'id',
      'passwordCredentials',
    ]);
    expect(listed.body.passwordCredentials).toHaveLength(2);
    expect(JSON.stringify(listed.body)).not.toContain(added.body.secretText);
    expect((await graph('POST', '/removePassword', { keyId: added.body.keyId })).status).toBe(204);
    expect(entra.passwords(APP).map((p) => p.secretText)).toEqual(['initial-secret']);
  });

  it('accepts a GitHub OIDC assertion with the right subject and refuses Graph writes without rights', async () => {
    const jwt = (claims: object) =>
      `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
    const claims = {
      iss: 'https://token.actions.githubusercontent.com',
      aud: 'api://AzureADTokenExchange',
      sub: 'repo:octo/app:ref:refs/heads/main',
    };
    const assertion = {
      client_id: MANAGER,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    };
    expect((await token({ ...assertion, client_assertion: jwt(claims) })).status).toBe(200);
    expect(
      (
        await token({
          ...assertion,
          client_assertion: jwt({ ...claims, sub: 'repo:evil/app:ref:refs/heads/main' }),
        })
      ).body.error_codes,
    ).toEqual([700213]);
    entra.setCanWrite(MANAGER, false);
    const denied = await graph('POST', '/addPassword', { passwordCredential: {} });
    expect(denied).toMatchObject({
      status: 403,
      body: { error: { code: 'Authorization_RequestDenied' } },
    });
    entra.setCanWrite(MANAGER, true);
    expect((await send(`${entra.url}/v1.0/applications(appId='${APP}')`)).body.error.code).toBe(
      'InvalidAuthenticationToken',
    );
  });
});

describe('Woodpecker emulator', () => {
  let wp: WoodpeckerEmulator;
  const working = new Set(['good-secret', 'newer-secret']);
  const base = () => `${wp.url}/rest/v2/mailboxes/microsoft/credentials`;
  const key = { 'x-api-key': 'wp-key' };

  beforeAll(async () => {
    wp = await startWoodpecker({ apiKeys: ['wp-key'], checkSecret: (_t, _c, s) => working.has(s) });
  });
  afterAll(() => wp.close());

  it('creates, lists without secrets, rotates, deletes', async () => {
    const created = await send(
      base(),
      jsonInit(
        'POST',
        {
          tenant_id: TENANT,
          client_id: APP,
          client_secret: 'good-secret',
          secret_expires_at: '2027-11-28T23:59:59.000Z',
        },
        key,
      ),
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      tenant_id: TENANT,
      client_id: APP,
      secret_expires_at: '2027-11-28T23:59:59Z',
      name: expect.any(String),
    });
    const id = created.body.credential_id as number;
    const list = await send(base(), { headers: key });
    expect(list.body.credentials).toEqual([created.body]);
    const patched = await send(
      `${base()}/${id}`,
      jsonInit(
        'PATCH',
        { client_secret: 'newer-secret', secret_expires_at: '2028-01-01T00:00:00Z', name: 'prod' },
        key,
      ),
    );
    expect(patched.body).toMatchObject({
      credential_id: id,
      name: 'prod',
      secret_expires_at: '2028-01-01T00:00:00Z',
    });
    expect(wp.credential(id)).toMatchObject({ secret: 'newer-secret', secretUpdates: 1 });
    expect((await send(`${base()}/${id}`, { method: 'DELETE', headers: key })).status).toBe(204);
    expect(wp.credential(id)).toBeUndefined();
  });

  it('refuses a bad key, a half rotation, a secret Microsoft refuses, an unknown id', async () => {
    expect(await send(base(), { headers: { 'x-api-key': 'nope' } })).toMatchObject({
      status: 401,
      body: { title: 'Unauthorized', status: 401, detail: 'Invalid api key' },
    });
    const c = wp.addCredential({
      tenantId: TENANT,
      clientId: APP,
      secret: 'good-secret',
      secretExpiresAt: '2027-01-01T00:00:00Z',
    });
    const half = await send(
      `${base()}/${c.credentialId}`,
      jsonInit('PATCH', { client_secret: 'x' }, key),
    );
    expect(half).toEqual({
      status: 422,
      body: { message: 'CLIENT_SECRET_AND_EXPIRY_MUST_BE_PROVIDED_TOGETHER' },
    });
    const refused = await send(
      `${base()}/${c.credentialId}`,
      jsonInit(
        'PATCH',
        { client_secret: 'unknown', secret_expires_at: '2028-01-01T00:00:00Z' },
        key,
      ),
    );
    expect(refused).toEqual({ status: 422, body: { message: 'INVALID_CLIENT_SECRET' } });
    expect(wp.credential(c.credentialId)?.secret).toBe('good-secret');
    expect((await send(`${base()}/999`, jsonInit('PATCH', { name: 'x' }, key))).body).toMatchObject(
      { title: 'Not Found', status: 404 },
    );
  });

  it('counts requests that overlap for one key, and answers them 429', async () => {
    expect(wp.concurrencyViolations).toBe(0);
    // Long enough that the second request surely arrives while the first is held.
    wp.processingMs = 300;
    const results = await Promise.all([
      send(base(), { headers: key }),
      send(base(), { headers: key }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 429]);
    expect(wp.concurrencyViolations).toBe(1);
    wp.processingMs = 20;
    await send(base(), { headers: key });
    expect(wp.concurrencyViolations).toBe(1);
  });
});
