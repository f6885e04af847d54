// Smoke tests of the Keycloak emulator with plain fetch: it must keep Keycloak's documented rules, or
// every end-to-end test built on it proves less.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTR, type KeycloakEmulator, startKeycloak, STRIPPED } from './keycloak.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

let now = Date.parse('2026-11-23T03:00:00Z');
let kc: KeycloakEmulator;

beforeAll(async () => {
  kc = await startKeycloak({ now: () => now });
  kc.addRealm('master')
    .addRealm('apps')
    .addRealm('rotating', {
      secretRotation: { expirationSeconds: 86_400, rotatedExpirationSeconds: 3_600 },
    });
  kc.addClient('apps', { clientId: 'app', secret: 'app-secret' });
  kc.addClient('apps', { clientId: 'app-2', secret: 'app-2-secret' });
  kc.addClient('apps', { clientId: 'manager', secret: 'm', roles: { apps: ['manage-clients'] } });
  kc.addClient('apps', { clientId: 'viewer', secret: 'v', roles: { apps: ['view-clients'] } });
  kc.addClient('apps', { clientId: 'querier', secret: 'q', roles: { apps: ['query-clients'] } });
  kc.addClient('apps', { clientId: 'spa', publicClient: true });
  kc.addClient('apps', { clientId: 'web', secret: 'w', serviceAccountsEnabled: false });
  kc.addClient('master', {
    clientId: 'root',
    secret: 'r',
    roles: { apps: ['manage-clients'], rotating: ['manage-clients'] },
  });
  kc.addClient('rotating', { clientId: 'svc', secret: 'svc-secret' });
});
afterAll(() => kc.close());

async function send(
  path: string,
  init: { method?: string; token?: string; form?: Record<string, string>; json?: unknown } = {},
): Promise<{ status: number; body: Loose }> {
  const headers: Record<string, string> = {};
  if (init.token) headers['authorization'] = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.form) body = new URLSearchParams(init.form).toString();
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(`${kc.url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

const token = (realm: string, clientId: string, secret: string) =>
  send(`/realms/${realm}/protocol/openid-connect/token`, {
    method: 'POST',
    form: { grant_type: 'client_credentials', client_id: clientId, client_secret: secret },
  });

async function adminToken(realm: string, clientId: string, secret: string): Promise<string> {
  const res = await token(realm, clientId, secret);
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

describe('Keycloak emulator: token endpoint', () => {
  it('issues short-lived bearer tokens by client credentials', async () => {
    const res = await token('apps', 'manager', 'm');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 60, refresh_expires_in: 0 });
  });

  it('answers OAuth errors with error and error_description', async () => {
    expect(await token('apps', 'manager', 'wrong')).toEqual({
      status: 401,
      body: {
        error: 'invalid_client',
        error_description: 'Invalid client or Invalid client credentials',
      },
    });
    expect((await token('apps', 'web', 'w')).body.error_description).toBe(
      'Client not enabled to retrieve service account',
    );
    expect((await token('apps', 'spa', 'x')).body.error).toBe('unauthorized_client');
    expect((await token('nowhere', 'manager', 'm')).status).toBe(404);
  });
});

describe('Keycloak emulator: admin API', () => {
  it('finds a client by exact clientId, or by substring with search=true', async () => {
    const t = await adminToken('apps', 'manager', 'm');
    const exact = await send('/admin/realms/apps/clients?clientId=app', { token: t });
    expect(exact.body.map((c: Loose) => c.clientId)).toEqual(['app']);
    const search = await send('/admin/realms/apps/clients?clientId=app&search=true', { token: t });
    expect(search.body.map((c: Loose) => c.clientId)).toEqual(['app', 'app-2']);
    expect(exact.body[0]).toMatchObject({
      publicClient: false,
      clientAuthenticatorType: 'client-secret',
      secret: 'app-secret',
    });
  });

  it('gives the secret only to manage-clients, full views to view-clients, bare ids to query-clients', async () => {
    const viewer = await adminToken('apps', 'viewer', 'v');
    const viewed = await send('/admin/realms/apps/clients?clientId=app', { token: viewer });
    expect(viewed.body[0].publicClient).toBe(false);
    expect(viewed.body[0].secret).toBe(STRIPPED);
    const id = viewed.body[0].id as string;
    expect(
      (await send(`/admin/realms/apps/clients/${id}/client-secret`, { token: viewer })).status,
    ).toBe(403);
    const querier = await adminToken('apps', 'querier', 'q');
    const queried = await send('/admin/realms/apps/clients?clientId=app', { token: querier });
    expect(queried.body).toEqual([{ id, clientId: 'app', description: '' }]);
  });

  it("lets a realm's service accounts manage only that realm; master's manage others", async () => {
    const own = await adminToken('apps', 'manager', 'm');
    expect((await send('/admin/realms/rotating/clients', { token: own })).status).toBe(403);
    const root = await adminToken('master', 'root', 'r');
    expect((await send('/admin/realms/rotating/clients', { token: root })).status).toBe(200);
    // An unknown realm is 404 to anyone, before the realm rule.
    expect(await send('/admin/realms/nowhere/clients', { token: own })).toEqual({
      status: 404,
      body: { error: 'Realm not found.' },
    });
  });

  it('refuses expired admin tokens with 401', async () => {
    const t = await adminToken('apps', 'manager', 'm');
    now += 61_000;
    expect(await send('/admin/realms/apps/clients', { token: t })).toEqual({
      status: 401,
      body: { error: 'HTTP 401 Unauthorized' },
    });
  });

  it('regenerates: the old secret dies at once without a policy', async () => {
    const t = await adminToken('apps', 'manager', 'm');
    const id = kc.client('apps', 'app').id;
    const res = await send(`/admin/realms/apps/clients/${id}/client-secret`, {
      method: 'POST',
      token: t,
      json: {},
    });
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('secret');
    expect(res.body.value).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(kc.validSecrets('apps', 'app')).toEqual([res.body.value]);
    expect((await token('apps', 'app', 'app-secret')).status).toBe(401);
    expect((await token('apps', 'app', res.body.value as string)).status).toBe(200);
    const read = await send(`/admin/realms/apps/clients/${id}/client-secret`, { token: t });
    expect(read.body.value).toBe(res.body.value);
    expect(
      (await send(`/admin/realms/apps/clients/${id}/client-secret/rotated`, { token: t })).body,
    ).toEqual({ error: 'Client does not have a rotated secret' });
  });

  it('keeps the previous secret under the secret-rotation policy until it expires, or until removed', async () => {
    const t = await adminToken('master', 'root', 'r');
    // The executor stamps the client on its first sign-in under the policy.
    expect((await token('rotating', 'svc', 'svc-secret')).status).toBe(200);
    const svc = kc.client('rotating', 'svc');
    expect(Number(svc.attributes[ATTR.expiration])).toBe(Math.floor(now / 1000) + 86_400);
    const base = `/admin/realms/rotating/clients/${svc.id}`;
    const res = await send(`${base}/client-secret`, { method: 'POST', token: t, json: {} });
    const fresh = res.body.value as string;
    expect(kc.validSecrets('rotating', 'svc')).toEqual([fresh, 'svc-secret']);
    const rep = await send(base, { token: t });
    expect(Number(rep.body.attributes[ATTR.rotatedExpiration])).toBe(Math.floor(now / 1000) + 3600);
    expect((await send(`${base}/client-secret/rotated`, { token: t })).body.value).toBe(
      'svc-secret',
    );
    now += 3_601_000;
    expect(kc.validSecrets('rotating', 'svc')).toEqual([fresh]);
    now -= 3_601_000;
    const t2 = await adminToken('master', 'root', 'r');
    expect(
      (await send(`${base}/client-secret/rotated`, { method: 'DELETE', token: t2 })).status,
    ).toBe(204);
    expect(kc.validSecrets('rotating', 'svc')).toEqual([fresh]);
    expect((await token('rotating', 'svc', 'svc-secret')).status).toBe(401);
    // Removing again is not an error.
    expect(
      (await send(`${base}/client-secret/rotated`, { method: 'DELETE', token: t2 })).status,
    ).toBe(204);
  });

  it('refuses every secret once the current one expired, the rotated one too (ClientIdAndSecretAuthenticator)', async () => {
    kc.addClient('rotating', { clientId: 'svc-2', secret: 'svc-2-secret' });
    const t = await adminToken('master', 'root', 'r');
    expect((await token('rotating', 'svc-2', 'svc-2-secret')).status).toBe(200);
    const svc = kc.client('rotating', 'svc-2');
    const base = `/admin/realms/rotating/clients/${svc.id}`;
    const fresh = (await send(`${base}/client-secret`, { method: 'POST', token: t, json: {} })).body
      .value as string;
    // The rotated secret's window (1 h) is still open, but the current secret expired a second ago.
    svc.attributes[ATTR.expiration] = String(Math.floor(now / 1000) - 1);
    expect(Number(svc.attributes[ATTR.rotatedExpiration])).toBeGreaterThan(now / 1000);
    expect(kc.validSecrets('rotating', 'svc-2')).toEqual([]);
    expect((await token('rotating', 'svc-2', 'svc-2-secret')).status).toBe(401);
    expect((await token('rotating', 'svc-2', fresh)).status).toBe(401);
    // A rotated secret without an expiration counts as expired.
    svc.attributes[ATTR.expiration] = String(Math.floor(now / 1000) + 3_600);
    delete svc.attributes[ATTR.rotatedExpiration];
    expect(kc.validSecrets('rotating', 'svc-2')).toEqual([fresh]);
  });

  it('answers unknown clients 404 to listers, and the realm 404 when it does not exist', async () => {
    const t = await adminToken('master', 'root', 'r');
    expect(await send('/admin/realms/apps/clients/nope', { token: t })).toEqual({
      status: 404,
      body: { error: 'Could not find client' },
    });
  });
});
