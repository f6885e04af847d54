// The Okta emulator keeps Okta's rules: if it drifts from the documented behaviour, every end-to-end
// test built on it proves less. Plain fetch, no action code (the assertion is signed here by hand).
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startOkta } from './okta.ts';

const okta = await startOkta({ limitPerMinute: 1000 });
afterAll(() => okta.close());
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
okta.addServiceApp('svc', publicKey, { kid: 'k1' });
okta.addServiceApp('reader', publicKey, { scopes: ['okta.apps.read'] });
okta.addApiToken('ssws-admin');
okta.addApiToken('ssws-nobody', { canManage: false });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

async function send(
  path: string,
  init: { method?: string; auth?: string; json?: unknown; form?: Record<string, string> } = {},
): Promise<{ status: number; body: Loose; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (init.auth) headers['authorization'] = init.auth;
  let body: string | undefined;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  } else if (init.form) body = new URLSearchParams(init.form).toString();
  if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(`${okta.url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? (JSON.parse(text) as unknown) : undefined,
    headers: res.headers,
  };
}

function assertion(claims: Record<string, unknown> = {}, key = privateKey, kid?: string): string {
  const iat = Math.floor(Date.now() / 1000);
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${part({ alg: 'RS256', ...(kid ? { kid } : {}) })}.${part({
    iss: 'svc',
    sub: 'svc',
    aud: `${okta.url}/oauth2/v1/token`,
    iat,
    exp: iat + 300,
    jti: randomUUID(),
    ...claims,
  })}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

const token = (jwt: string, scope = 'okta.apps.manage') =>
  send('/oauth2/v1/token', {
    method: 'POST',
    form: {
      grant_type: 'client_credentials',
      scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt,
    },
  });

describe('Okta emulator: token endpoint (private_key_jwt)', () => {
  it('issues a Bearer token for a valid assertion, and refuses a replayed one', async () => {
    const jwt = assertion({}, privateKey, 'k1');
    const ok = await token(jwt);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'okta.apps.manage',
    });
    const again = await token(jwt);
    expect(again.status).toBe(401);
    expect(again.body).toEqual({
      error: 'invalid_client',
      error_description: 'The client_assertion token has already been used.',
    });
  });

  it('refuses a wrong key, kid, audience, a lifetime over an hour, and an ungranted scope', async () => {
    expect((await token(assertion({}, other))).body.error_description).toMatch(
      /signature is invalid/,
    );
    expect((await token(assertion({}, privateKey, 'k2'))).body.error_description).toMatch(
      /signature is invalid/,
    );
    expect((await token(assertion({ aud: 'https://elsewhere/oauth2/v1/token' }))).body.error).toBe(
      'invalid_client',
    );
    const far = Math.floor(Date.now() / 1000) + 7200;
    expect((await token(assertion({ exp: far }))).body.error_description).toMatch(/too far/);
    const reader = await token(assertion({ iss: 'reader', sub: 'reader' }));
    expect(reader.status).toBe(400);
    expect(reader.body.error).toBe('invalid_scope');
  });

  it('a service app that requires DPoP refuses a token request without a proof', async () => {
    okta.addServiceApp('dpop', publicKey, { requireDpop: true });
    const res = await token(assertion({ iss: 'dpop', sub: 'dpop' }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_dpop_proof',
      error_description: 'The DPoP proof JWT header is missing.',
    });
  });
});

describe('Okta emulator: client secrets', () => {
  const ssws = 'SSWS ssws-admin';
  const secrets = (app: string) => `/api/v1/apps/${app}/credentials/secrets`;

  it('lists hashes only, shows a new value once, allows two secrets, deletes only inactive ones', async () => {
    okta.addApp('0oaA', { secrets: [{ secret: 'First-Secret-0123456789' }] });
    const listed = await send(secrets('0oaA'), { auth: ssws });
    expect(listed.status).toBe(200);
    expect(listed.body).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain('First-Secret-0123456789');
    expect(listed.body[0]).toMatchObject({ status: 'ACTIVE', secret_hash: expect.any(String) });
    expect(listed.headers.get('x-rate-limit-limit')).toBe('1000');
    expect(Number(listed.headers.get('x-rate-limit-reset'))).toBeGreaterThan(Date.now() / 1000);

    const made = await send(secrets('0oaA'), { method: 'POST', auth: ssws, json: {} });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ status: 'ACTIVE', client_secret: expect.any(String) });
    expect(okta.secretWorks('0oaA', made.body.client_secret)).toBe(true);
    expect(okta.secretWorks('0oaA', 'First-Secret-0123456789')).toBe(true);

    const third = await send(secrets('0oaA'), { method: 'POST', auth: ssws, json: {} });
    expect(third.status).toBe(400);
    expect(third.body).toMatchObject({
      errorCode: 'E0000001',
      errorSummary: expect.any(String),
      errorLink: 'E0000001',
      errorId: expect.stringMatching(/^oae/),
      errorCauses: [{ errorSummary: expect.any(String) }],
    });

    const old = listed.body[0].id as string;
    const del = await send(`${secrets('0oaA')}/${old}`, { method: 'DELETE', auth: ssws });
    expect(del.status).toBe(400);
    const off = await send(`${secrets('0oaA')}/${old}/lifecycle/deactivate`, {
      method: 'POST',
      auth: ssws,
    });
    expect(off.body).toMatchObject({ id: old, status: 'INACTIVE' });
    expect(okta.secretWorks('0oaA', 'First-Secret-0123456789')).toBe(false);
    expect((await send(`${secrets('0oaA')}/${old}`, { method: 'DELETE', auth: ssws })).status).toBe(
      204,
    );
    expect(okta.removed('0oaA').map((x) => x.id)).toEqual([old]);
    expect((await send(`${secrets('0oaA')}/${old}`, { method: 'DELETE', auth: ssws })).status).toBe(
      404,
    );
    // The last active secret stays active.
    const last = await send(`${secrets('0oaA')}/${made.body.id}/lifecycle/deactivate`, {
      method: 'POST',
      auth: ssws,
    });
    expect(last.status).toBe(400);
  });

  it("refuses to deactivate an app's only secret (Okta's rule), not its only active one", async () => {
    okta.addApp('0oaB', {
      secrets: [
        { secret: 'Inactive-Secret-0123456789', status: 'INACTIVE' },
        { secret: 'Active-Secret-0123456789' },
      ],
    });
    const [inactive, active] = okta.app('0oaB').secrets.map((x) => x.id);
    const off = await send(`${secrets('0oaB')}/${active}/lifecycle/deactivate`, {
      method: 'POST',
      auth: ssws,
    });
    expect(off.status).toBe(200);
    expect(okta.secretWorks('0oaB', 'Active-Secret-0123456789')).toBe(false);
    await send(`${secrets('0oaB')}/${inactive}`, { method: 'DELETE', auth: ssws });
    const only = await send(`${secrets('0oaB')}/${active}/lifecycle/deactivate`, {
      method: 'POST',
      auth: ssws,
    });
    expect(only.status).toBe(400);
    expect(only.body).toMatchObject({ errorCode: 'E0000001' });
  });

  it('answers Okta error bodies: 401 bad token, 403 no rights or scope, 404 no app, 429 over the limit', async () => {
    okta.addApp('0oaB', { secrets: [{ secret: 'Second-Secret-0123456789' }] });
    const bad = await send(secrets('0oaB'), { auth: 'SSWS nope' });
    expect(bad.status).toBe(401);
    expect(bad.body.errorCode).toBe('E0000011');
    expect((await send(secrets('0oaB'), { auth: 'SSWS ssws-nobody' })).body.errorCode).toBe(
      'E0000006',
    );
    const readerToken = (await token(assertion({ iss: 'reader', sub: 'reader' }), 'okta.apps.read'))
      .body.access_token as string;
    expect((await send(secrets('0oaB'), { auth: `Bearer ${readerToken}` })).status).toBe(200);
    const write = await send(secrets('0oaB'), {
      method: 'POST',
      auth: `Bearer ${readerToken}`,
      json: {},
    });
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toContain('insufficient_scope');
    expect((await send(secrets('0oaZ'), { auth: ssws })).body.errorCode).toBe('E0000007');

    const tight = await startOkta({ limitPerMinute: 1 });
    tight.addApiToken('t');
    tight.addApp('0oaC');
    expect(
      (await fetch(`${tight.url}${secrets('0oaC')}`, { headers: { authorization: 'SSWS t' } }))
        .status,
    ).toBe(200);
    const limited = await fetch(`${tight.url}${secrets('0oaC')}`, {
      headers: { authorization: 'SSWS t' },
    });
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { errorCode: string }).errorCode).toBe('E0000047');
    expect(limited.headers.get('x-rate-limit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-rate-limit-reset'))).toBeGreaterThan(Date.now() / 1000);
    await tight.close();
  });

  it('access tokens expire and can be revoked', async () => {
    const t = (await token(assertion())).body.access_token as string;
    okta.addApp('0oaD', { secrets: [{ secret: 'Third-Secret-0123456789' }] });
    expect((await send(secrets('0oaD'), { auth: `Bearer ${t}` })).status).toBe(200);
    okta.expireAccessTokens();
    const gone = await send(secrets('0oaD'), { auth: `Bearer ${t}` });
    expect(gone.status).toBe(401);
    expect(gone.headers.get('www-authenticate')).toContain('invalid_token');
  });
});
