// The Auth0 emulator itself, with plain fetch: if it drifts from Auth0's documented behaviour, every
// end-to-end test built on it proves less.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Auth0Emulator, startAuth0 } from './auth0.ts';

const MANAGER = 'manager0000000000000000000000001';
const APP = 'app00000000000000000000000000001';
const BASIC_APP = 'basic000000000000000000000000001';
const KEY_JWT_APP = 'keyjwt00000000000000000000000001';
const API = 'https://api.example.com/';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

async function send(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Loose; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

describe('Auth0 emulator', () => {
  let t = Date.parse('2026-11-23T03:00:00Z');
  let auth0: Auth0Emulator;
  const token = (fields: Record<string, string>, headers: Record<string, string> = {}, base = '') =>
    send(`${base || auth0.url}/oauth/token`, {
      method: 'POST',
      headers,
      body: new URLSearchParams({ grant_type: 'client_credentials', ...fields }),
    });
  const managementToken = async (base = '') =>
    (
      await token(
        {
          client_id: MANAGER,
          client_secret: 'manager-secret',
          audience: auth0.managementAudience,
        },
        {},
        base,
      )
    ).body.access_token as string;
  const bearer = (access: string) => ({ authorization: `Bearer ${access}` });

  beforeAll(async () => {
    auth0 = await startAuth0({
      now: () => t,
      propagationDelayMs: 30_000,
      rateLimit: { limit: 5, windowMs: 1000 },
    });
    auth0.addApi(API);
    auth0.addClient(MANAGER, 'manager-secret', {
      grants: { [auth0.managementAudience]: ['read:clients', 'update:client_keys'] },
    });
    auth0.addClient(APP, 'app-secret', { grants: { [API]: ['read:things'] } });
    auth0.addClient(BASIC_APP, 'basic-secret', {
      tokenEndpointAuthMethod: 'client_secret_basic',
      grants: { [API]: [] },
    });
    auth0.addClient(KEY_JWT_APP, 'unused', { privateKeyJwt: true });
  });
  afterAll(() => auth0.close());

  it('issues a Management API token with the granted scopes and a lifetime', async () => {
    const res = await token({
      client_id: MANAGER,
      client_secret: 'manager-secret',
      audience: auth0.managementAudience,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      scope: 'read:clients update:client_keys',
      expires_in: 86_400,
      token_type: 'Bearer',
    });
  });

  it('refuses bad credentials (401), an ungranted audience and a missing grant type (403), an unknown audience', async () => {
    const bad = await token({ client_id: APP, client_secret: 'nope', audience: API });
    expect(bad).toMatchObject({ status: 401, body: { error: 'access_denied' } });
    const ungranted = await token({
      client_id: APP,
      client_secret: 'app-secret',
      audience: auth0.managementAudience,
    });
    expect(ungranted.status).toBe(403);
    expect(ungranted.body.error_description).toContain('not authorized to access');
    const unknown = await token({
      client_id: MANAGER,
      client_secret: 'manager-secret',
      audience: `${auth0.customDomainUrl}/api/v2/`,
    });
    expect(unknown.status).toBe(403);
    expect(unknown.body.error_description).toContain('Service not found');
    auth0.client(APP).grantTypes = [];
    const noGrant = await token({ client_id: APP, client_secret: 'app-secret', audience: API });
    auth0.client(APP).grantTypes = ['client_credentials'];
    expect(noGrant).toMatchObject({ status: 403, body: { error: 'unauthorized_client' } });
  });

  it('holds each application to its authentication method', async () => {
    const inBody = await token({
      client_id: BASIC_APP,
      client_secret: 'basic-secret',
      audience: API,
    });
    expect(inBody.status).toBe(400);
    const basic = Buffer.from(`${BASIC_APP}:basic-secret`).toString('base64');
    const ok = await token({ audience: API }, { authorization: `Basic ${basic}` });
    expect(ok.status).toBe(200);
    const keyJwt = await token({ client_id: KEY_JWT_APP, client_secret: 'unused', audience: API });
    expect(keyJwt.status).toBe(401);
  });

  it('reads a client with only the fields asked for, never the secret without read:client_keys', async () => {
    const access = await managementToken();
    const all = await send(`${auth0.url}/api/v2/clients/${APP}`, { headers: bearer(access) });
    expect(all.status).toBe(200);
    expect(all.body.client_id).toBe(APP);
    expect(all.body.client_secret).toBeUndefined();
    const some = await send(
      `${auth0.url}/api/v2/clients/${APP}?fields=client_id,grant_types&include_fields=true`,
      { headers: bearer(access) },
    );
    expect(Object.keys(some.body).sort()).toEqual(['client_id', 'grant_types']);
    expect(auth0.clientReads.at(-1)!.get('fields')).toBe('client_id,grant_types');
    const missing = await send(`${auth0.url}/api/v2/clients/nobody`, { headers: bearer(access) });
    expect(missing).toMatchObject({
      status: 404,
      body: { statusCode: 404, error: 'Not Found', errorCode: 'inexistent_client' },
    });
    expect(missing.headers.get('x-ratelimit-limit')).toBe('5');
  });

  it('shows client_authentication_methods and the secret only to read:client_keys or read:client_credentials', async () => {
    t += 2000;
    const read = (access: string) =>
      send(`${auth0.url}/api/v2/clients/${KEY_JWT_APP}`, { headers: bearer(access) });
    const narrow = await read(await managementToken());
    expect(narrow.status).toBe(200);
    // read:clients: the settings, with token_endpoint_auth_method null (the two are exclusive),
    // but neither the secret nor how the Private Key JWT is set up.
    expect(narrow.body.token_endpoint_auth_method).toBeNull();
    expect(narrow.body.grant_types).toEqual(['client_credentials']);
    expect(narrow.body).not.toHaveProperty('client_authentication_methods');
    expect(narrow.body).not.toHaveProperty('client_secret');
    const grants = auth0.client(MANAGER).grants;
    grants[auth0.managementAudience] = ['read:client_keys'];
    const keys = await read(await managementToken());
    grants[auth0.managementAudience] = ['read:client_summary'];
    const summary = await read(await managementToken());
    grants[auth0.managementAudience] = ['read:clients', 'update:client_keys'];
    expect(keys.body.client_authentication_methods).toHaveProperty('private_key_jwt');
    expect(Object.keys(summary.body).sort()).toEqual(['app_type', 'client_id', 'name']);
  });

  it('rotates: the old secret dies at once, the new one works only after the propagation delay', async () => {
    t += 2000;
    const access = await managementToken();
    const res = await send(`${auth0.url}/api/v2/clients/${APP}/rotate-secret`, {
      method: 'POST',
      headers: bearer(access),
    });
    expect(res.status).toBe(200);
    const secret = res.body.client_secret as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(auth0.client(APP).rotations).toBe(1);
    expect(auth0.secretWorks(APP, 'app-secret')).toBe(false);
    expect(
      (await token({ client_id: APP, client_secret: 'app-secret', audience: API })).status,
    ).toBe(401);
    expect((await token({ client_id: APP, client_secret: secret, audience: API })).status).toBe(
      401,
    );
    t += 29_999;
    expect(auth0.secretWorks(APP, secret)).toBe(false);
    t += 1;
    expect((await token({ client_id: APP, client_secret: secret, audience: API })).status).toBe(
      200,
    );
  });

  it('refuses to rotate a Private Key JWT client, and rotating without update:client_keys', async () => {
    t += 2000;
    const access = await managementToken();
    const keyJwt = await send(`${auth0.url}/api/v2/clients/${KEY_JWT_APP}/rotate-secret`, {
      method: 'POST',
      headers: bearer(access),
    });
    expect(keyJwt).toMatchObject({ status: 400, body: { statusCode: 400, error: 'Bad Request' } });
    auth0.client(MANAGER).grants[auth0.managementAudience] = ['read:clients'];
    const narrow = await managementToken();
    auth0.client(MANAGER).grants[auth0.managementAudience] = ['read:clients', 'update:client_keys'];
    const forbidden = await send(`${auth0.url}/api/v2/clients/${APP}/rotate-secret`, {
      method: 'POST',
      headers: bearer(narrow),
    });
    expect(forbidden).toMatchObject({ status: 403, body: { errorCode: 'insufficient_scope' } });
    expect(auth0.client(KEY_JWT_APP).rotations).toBe(0);
  });

  it('tokens expire, and a token is valid only on the domain that issued it', async () => {
    t += 2000;
    const canonical = await managementToken();
    const custom = await managementToken(auth0.customDomainUrl);
    const read = (base: string, access: string) =>
      send(`${base}/api/v2/clients/${APP}`, { headers: bearer(access) });
    expect((await read(auth0.customDomainUrl, custom)).status).toBe(200);
    expect((await read(auth0.url, custom)).status).toBe(401);
    t += 86_400_000;
    expect(await read(auth0.url, canonical)).toMatchObject({
      status: 401,
      body: { message: 'Expired token' },
    });
  });

  it('rate limits the Management API with 429 and x-ratelimit-* headers, reset at the window end', async () => {
    t += 5000;
    const access = await managementToken();
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof send>> | undefined;
    for (let i = 0; i < 6; i++) {
      last = await send(`${auth0.url}/api/v2/clients/${APP}`, { headers: bearer(access) });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(last!.body).toMatchObject({ statusCode: 429, errorCode: 'too_many_requests' });
    expect(last!.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(last!.headers.get('x-ratelimit-reset'))).toBe(Math.ceil((t + 1000) / 1000));
    t += 1000;
    expect(
      (await send(`${auth0.url}/api/v2/clients/${APP}`, { headers: bearer(access) })).status,
    ).toBe(200);
  });
});
