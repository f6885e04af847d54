// The emulator refuses what GitHub refuses when an App signs in: a JWT that is not the App's, or
// whose claims are out of bounds, and any call an installation token was not minted for.
import { createSign } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import { afterAll, describe, expect, it } from 'vitest';
import { startGitHub } from './github.ts';

const gh = await startGitHub();
afterAll(() => gh.close());
gh.addOrg('acme');
gh.addRepo('acme/api', { environments: ['production'] });
gh.addRepo('acme/web');
gh.addRepo('other/api');
const app = gh.apps.add({ slug: 'rotator' });
const stranger = gh.apps.add();
const inst = gh.apps.install(app.id, 'acme');

async function call(method: string, path: string, auth: string, body?: unknown): Promise<number> {
  const res = await fetch(`${gh.url}${path}`, {
    method,
    headers: { authorization: `bearer ${auth}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.arrayBuffer();
  return res.status;
}

const jwt = async (key = app.privateKey): Promise<string> =>
  (await createAppAuth({ appId: app.id, privateKey: key })({ type: 'app' })).token;

/** A JWT with chosen claims, signed with the App's key. */
function signed(claims: Record<string, unknown>): string {
  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${body}.${createSign('RSA-SHA256').update(body).sign(app.privateKey, 'base64url')}`;
}

async function mint(body: object): Promise<{ status: number; token?: string }> {
  const res = await fetch(`${gh.url}/app/installations/${inst.id}/access_tokens`, {
    method: 'POST',
    headers: { authorization: `bearer ${await jwt()}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = (await res.json()) as { token?: string };
  return { status: res.status, ...(data.token ? { token: data.token } : {}) };
}

describe('the emulated App sign-in', () => {
  it("checks the JWT's signature and claims", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await call('GET', '/orgs/acme/installation', await jwt())).toBe(200);
    expect(await call('GET', '/users/acme/installation', await jwt())).toBe(200);
    expect(await call('GET', '/repos/acme/api/installation', await jwt())).toBe(200);
    expect(await call('GET', '/app/installations', await jwt())).toBe(200);
    // Another App's key, under this App's id.
    expect(await call('GET', '/orgs/acme/installation', await jwt(stranger.privateKey))).toBe(401);
    expect(
      await call(
        'GET',
        '/orgs/acme/installation',
        signed({ iss: String(app.id), iat: now - 30, exp: now + 570 }),
      ),
    ).toBe(200);
    expect(
      await call(
        'GET',
        '/orgs/acme/installation',
        signed({ iss: '999', iat: now - 30, exp: now + 570 }),
      ),
    ).toBe(401);
    expect(
      await call(
        'GET',
        '/orgs/acme/installation',
        signed({ iss: String(app.id), iat: now - 700, exp: now - 100 }),
      ),
    ).toBe(401);
    expect(
      await call(
        'GET',
        '/orgs/acme/installation',
        signed({ iss: String(app.id), iat: now + 120, exp: now + 600 }),
      ),
    ).toBe(401);
    expect(
      await call(
        'GET',
        '/orgs/acme/installation',
        signed({ iss: String(app.id), iat: now, exp: now + 3600 }),
      ),
    ).toBe(401);
    // Not installed there, or not an App's JWT at all.
    expect(await call('GET', '/orgs/other/installation', await jwt())).toBe(404);
    expect(await call('GET', '/orgs/acme/installation', gh.token)).toBe(401);
    expect(gh.violations).toEqual([]);
  });

  it('limits a minted token to its repositories and permissions, until it is revoked', async () => {
    const { status, token } = await mint({
      repositories: ['api'],
      permissions: { secrets: 'write', metadata: 'read' },
    });
    expect(status).toBe(201);
    const t = token!;
    expect(await call('GET', '/repos/acme/api/actions/secrets/public-key', t)).toBe(200);
    expect(await call('GET', '/repos/acme/api', t)).toBe(200);
    // Outside its repositories: GitHub hides the repository.
    expect(await call('GET', '/repos/acme/web/actions/secrets/public-key', t)).toBe(404);
    expect(await call('GET', '/repos/acme/web', t)).toBe(404);
    expect(await call('GET', '/repos/other/api/actions/secrets/public-key', t)).toBe(404);
    // Without the permission: refused.
    expect(await call('GET', '/repos/acme/api/dependabot/secrets/public-key', t)).toBe(403);
    expect(await call('GET', '/repos/acme/api/environments/production/secrets/public-key', t)).toBe(
      403,
    );
    expect(await call('GET', '/orgs/acme/actions/secrets/public-key', t)).toBe(403);
    // An App's token cannot mint or look up installations.
    expect(await call('GET', '/orgs/acme/installation', t)).toBe(401);
    expect(await call('DELETE', '/installation/token', t)).toBe(204);
    expect(await call('GET', '/repos/acme/api/actions/secrets/public-key', t)).toBe(401);
    expect(gh.violations).toEqual([]);
  });

  it('refuses to mint what the installation does not grant', async () => {
    const narrow = gh.apps.install(stranger.id, 'acme', {
      repos: ['acme/api'],
      permissions: { secrets: 'read' },
    });
    const auth = (
      await createAppAuth({ appId: stranger.id, privateKey: stranger.privateKey })({ type: 'app' })
    ).token;
    const post = (body: object) =>
      call('POST', `/app/installations/${narrow.id}/access_tokens`, auth, body);
    expect(await post({ permissions: { secrets: 'write' } })).toBe(422);
    expect(await post({ repositories: ['web'], permissions: { secrets: 'read' } })).toBe(422);
    expect(await post({ repositories: ['api'], permissions: { secrets: 'read' } })).toBe(201);
    // Another App's installation.
    expect(await call('POST', `/app/installations/${inst.id}/access_tokens`, auth, {})).toBe(404);
  });
});
