// The Google Cloud emulator keeps Google's rules: if it drifts from the documented behaviour, every
// end-to-end test built on it proves less. Plain fetch; JWTs signed here with node:crypto.
import { type KeyObject, createPrivateKey, sign } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { GITHUB_ISSUER, KEY_LIMIT, startGcp } from './gcp.ts';
import { answerProblems, methodOf, requestProblems } from './gcp-models.ts';

let clock = Date.now();
const gcp = await startGcp({ now: () => clock, propagationDelayMs: 5_000 });
afterAll(() => gcp.close());
const target = gcp.addServiceAccount('deployer');
const rotator = gcp.addServiceAccount('rotator', { manages: [target.email] });
const outsider = gcp.addServiceAccount('outsider');
gcp.impersonable.add(rotator.email);
const old = gcp.addKey(target.email);
const token = gcp.addAccessToken(rotator.email);

/** The fields the tests read of IAM answers and of the token endpoint's. */
interface Body {
  error?: { status: string; message: string };
  keys?: { keyType: string; name: string }[];
  name?: string;
  privateKeyData?: string;
  disabled?: boolean;
}
interface OAuth {
  error?: string;
  error_description?: string;
  access_token?: string;
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function api(method: string, path: string, o: { bearer?: string; body?: unknown } = {}) {
  const res = await fetch(`${gcp.iamUrl}/v1/projects/-/serviceAccounts/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${o.bearer ?? token}`,
      ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Body };
}

function jwt(file: string, claims: Record<string, unknown> = {}) {
  const f = JSON.parse(file) as Record<string, string>;
  const key: KeyObject = createPrivateKey(f['private_key']!);
  const iat = Math.floor(clock / 1000);
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: f['private_key_id'] })}.${b64({
    iss: f['client_email'],
    aud: gcp.tokenUrl,
    scope: 'https://www.googleapis.com/auth/cloud-platform',
    iat,
    exp: iat + 3600,
    ...claims,
  })}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

async function mint(assertion: string) {
  const res = await fetch(gcp.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion,
    }),
  });
  return { status: res.status, body: (await res.json()) as OAuth };
}

const email = encodeURIComponent(target.email);

describe('gcp emulator: sign-in', () => {
  it('exchanges a GitHub OIDC token at STS, then impersonates only an allowed account', async () => {
    const oidc = `${b64({ alg: 'RS256' })}.${b64({
      iss: GITHUB_ISSUER,
      aud: `https://iam.googleapis.com/${gcp.wifProvider}`,
      sub: 'repo:octo/app:environment:secret-rotation',
      exp: Math.floor(clock / 1000) + 300,
    })}.sig`;
    const exchange = (audience: string) =>
      fetch(`${gcp.stsUrl}/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
          audience,
          scope: 'https://www.googleapis.com/auth/cloud-platform',
          requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
          subjectToken: oidc,
          subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
        }),
      });
    const wrong = await exchange('//iam.googleapis.com/projects/1/locations/global/x');
    expect([wrong.status, ((await wrong.json()) as { error: string }).error]).toEqual([
      400,
      'invalid_target',
    ]);
    const sts = await exchange(`//iam.googleapis.com/${gcp.wifProvider}`);
    expect(sts.status).toBe(200);
    const federated = ((await sts.json()) as { access_token: string }).access_token;
    const generate = (who: string) =>
      fetch(
        `${gcp.credentialsUrl}/v1/projects/-/serviceAccounts/${encodeURIComponent(who)}:generateAccessToken`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${federated}`, 'content-type': 'application/json' },
          body: JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'] }),
        },
      );
    const denied = await generate(outsider.email);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as Body).error?.status).toBe('PERMISSION_DENIED');
    const ok = await generate(rotator.email);
    expect(ok.status).toBe(200);
    const { accessToken } = (await ok.json()) as { accessToken: string };
    expect(
      (await api('GET', `${email}/keys?keyTypes=USER_MANAGED`, { bearer: accessToken })).status,
    ).toBe(200);
    // The federated token itself is no service account's: IAM refuses it.
    expect((await api('GET', `${email}/keys`, { bearer: federated })).status).toBe(401);
  });
});

describe('gcp emulator: keys', () => {
  it('lists user-managed keys only with keyTypes=USER_MANAGED, checks the right to manage', async () => {
    const all = await api('GET', `${email}/keys`);
    expect(all.body.keys?.map((k) => k.keyType)).toEqual(['USER_MANAGED', 'SYSTEM_MANAGED']);
    const user = await api('GET', `${email}/keys?keyTypes=USER_MANAGED`);
    expect(user.body.keys).toEqual([
      expect.objectContaining({
        name: `projects/my-project/serviceAccounts/${target.email}/keys/${old.id}`,
        keyType: 'USER_MANAGED',
      }),
    ]);
    expect(JSON.stringify(user.body)).not.toContain('privateKeyData');
    const denied = await api('GET', `${email}/keys`, {
      bearer: gcp.addAccessToken(outsider.email),
    });
    expect([denied.status, denied.body.error?.status]).toEqual([403, 'PERMISSION_DENIED']);
    const missing = await api('DELETE', `${email}/keys/${'0'.repeat(40)}`);
    expect([missing.status, missing.body.error?.status]).toEqual([404, 'NOT_FOUND']);
  });

  it('a new key mints only after propagation; a disabled key never; the JWT is checked', async () => {
    const created = await api('POST', `${email}/keys`, {
      body: { privateKeyType: 'TYPE_GOOGLE_CREDENTIALS_FILE' },
    });
    expect(created.status).toBe(200);
    const file = Buffer.from(created.body.privateKeyData!, 'base64').toString('utf8');
    const id = JSON.parse(file).private_key_id as string;
    expect(created.body.name).toMatch(new RegExp(`/keys/${id}$`));
    expect(await mint(jwt(file))).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    clock += 5_000;
    expect(gcp.keyWorks(file)).toBe(true);
    expect((await mint(jwt(file))).body.access_token).toMatch(/^ya29\./);
    // Signed with another key, or for another audience: refused.
    expect(
      (
        await mint(
          jwt(old.file, { iss: target.email }).replace(/\.[^.]+$/, `.${jwt(file).split('.')[2]}`),
        )
      ).status,
    ).toBe(400);
    expect(
      (await mint(jwt(file, { aud: 'https://example.com' }))).body.error_description,
    ).toContain('audience');
    expect((await api('POST', `${email}/keys/${id}:disable`, { body: {} })).status).toBe(200);
    expect((await mint(jwt(file))).body.error).toBe('invalid_grant');
    expect(gcp.keyWorks(file)).toBe(false);
    expect((await api('POST', `${email}/keys/${id}:enable`, { body: {} })).status).toBe(200);
    expect((await api('GET', `${email}/keys/${id}`)).body.disabled).toBeUndefined();
    expect((await api('DELETE', `${email}/keys/${id}`)).status).toBe(200);
    expect(gcp.deleted.map((d) => d.id)).toEqual([id]);
  });

  it('refuses an 11th user-managed key, and any key under the organization policy', async () => {
    const full = gcp.addServiceAccount('full');
    (rotator.manages as string[]).push(full.email);
    for (let i = 0; i < KEY_LIMIT; i++) gcp.addKey(full.email);
    const e = encodeURIComponent(full.email);
    const over = await api('POST', `${e}/keys`, { body: {} });
    expect([over.status, over.body.error?.status]).toEqual([400, 'FAILED_PRECONDITION']);
    gcp.keyCreationDisabled = true;
    const refused = await api('POST', `${email}/keys`, { body: {} });
    expect([refused.status, refused.body.error?.status]).toEqual([400, 'FAILED_PRECONDITION']);
    expect(refused.body.error?.message).toContain('iam.disableServiceAccountKeyCreation');
    gcp.keyCreationDisabled = false;
  });
});

describe("gcp emulator: Google's API descriptions", () => {
  const account = gcp.addServiceAccount('modelled');
  const manager = gcp.addServiceAccount('modeller', { manages: [account.email] });
  gcp.impersonable.add(manager.email);
  const bearer = gcp.addAccessToken(manager.email);
  const who = encodeURIComponent(account.email);

  it('answers every IAM call the action makes with only the fields of its schema', async () => {
    gcp.addKey(account.email);
    const calls: [string, string, unknown, string][] = [
      ['GET', `${who}/keys?keyTypes=USER_MANAGED`, undefined, 'projects.serviceAccounts.keys.list'],
      [
        'POST',
        `${who}/keys`,
        { privateKeyType: 'TYPE_GOOGLE_CREDENTIALS_FILE', keyAlgorithm: 'KEY_ALG_RSA_2048' },
        'projects.serviceAccounts.keys.create',
      ],
    ];
    let created = '';
    for (const [method, path, body, id] of calls) {
      const service = `/v1/projects/-/serviceAccounts/${path}`;
      expect(
        requestProblems('iam', method, service, body === undefined ? '' : JSON.stringify(body)),
      ).toEqual([]);
      const r = await api(method, path, { bearer, ...(body !== undefined ? { body } : {}) });
      expect(r.status, id).toBe(200);
      expect(answerProblems('iam', id, r.body), id).toEqual([]);
      if (id.endsWith('.list')) expect(r.body.keys, 'a key to list').toHaveLength(1);
      if (id.endsWith('.create')) created = r.body.name!.split('/').pop()!;
    }
    const onKey: [string, string, unknown, string][] = [
      ['GET', `${who}/keys/${created}`, undefined, 'projects.serviceAccounts.keys.get'],
      ['POST', `${who}/keys/${created}:disable`, {}, 'projects.serviceAccounts.keys.disable'],
      ['DELETE', `${who}/keys/${created}`, undefined, 'projects.serviceAccounts.keys.delete'],
    ];
    for (const [method, path, body, id] of onKey) {
      const service = `/v1/projects/-/serviceAccounts/${path}`;
      expect(methodOf('iam', method, service), path).toBe(id);
      const r = await api(method, path, { bearer, ...(body !== undefined ? { body } : {}) });
      expect(r.status, id).toBe(200);
      expect(answerProblems('iam', id, r.body), id).toEqual([]);
    }
  });

  it('answers the STS exchange and generateAccessToken with only the fields of their schemas', async () => {
    const oidc = `${b64({ alg: 'RS256' })}.${b64({
      iss: GITHUB_ISSUER,
      aud: `https://iam.googleapis.com/${gcp.wifProvider}`,
      sub: 'repo:octo/app:environment:secret-rotation',
      exp: Math.floor(clock / 1000) + 300,
    })}.sig`;
    const exchange = JSON.stringify({
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: `//iam.googleapis.com/${gcp.wifProvider}`,
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      subjectToken: oidc,
      subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
    });
    expect(requestProblems('sts', 'POST', '/v1/token', exchange)).toEqual([]);
    const sts = await fetch(`${gcp.stsUrl}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: exchange,
    });
    expect(sts.status).toBe(200);
    const federated = (await sts.json()) as { access_token: string };
    expect(answerProblems('sts', 'v1.token', federated)).toEqual([]);
    const path = `/v1/projects/-/serviceAccounts/${encodeURIComponent(manager.email)}:generateAccessToken`;
    const ask = JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'] });
    expect(requestProblems('iamcredentials', 'POST', path, ask)).toEqual([]);
    const generated = await fetch(`${gcp.credentialsUrl}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${federated.access_token}`,
        'content-type': 'application/json',
      },
      body: ask,
    });
    expect(generated.status).toBe(200);
    expect(
      answerProblems(
        'iamcredentials',
        'projects.serviceAccounts.generateAccessToken',
        await generated.json(),
      ),
    ).toEqual([]);
  });

  it('the checks find a departure (they can fail)', () => {
    expect(requestProblems('iam', 'PUT', `/v1/projects/-/serviceAccounts/${who}/keys`, '')).toEqual(
      ['iam: no method for PUT /v1/projects/-/serviceAccounts/' + who + '/keys'],
    );
    expect(
      requestProblems(
        'iam',
        'GET',
        `/v1/projects/-/serviceAccounts/${who}/keys?keyType=USER_MANAGED`,
        '',
      ),
    ).toEqual(['projects.serviceAccounts.keys.list: no query parameter keyType']);
    expect(
      answerProblems('iam', 'projects.serviceAccounts.keys.list', {
        keys: [{ name: 'k', disabled: 'false', privateKey: 'x' }],
      }),
    ).toEqual([
      'projects.serviceAccounts.keys.list.keys[0].disabled: expected a boolean',
      'projects.serviceAccounts.keys.list.keys[0]: privateKey is not a field of ServiceAccountKey',
    ]);
  });
});
