// The runner's proxy (http_proxy / https_proxy / no_proxy, read by @actions/http-client) carries
// both GitHub's and the provider's requests. Loopback names always bypass a proxy, so the services
// are addressed as 0.0.0.0 (which reaches this machine) while the proxy listens on 127.0.0.1. In
// process only: the action refuses http:// for any but loopback names, and the emulators speak http.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHub } from '../src/github/client.ts';
import { createHttp } from '../src/http.ts';
import { RetryPolicy } from '../src/policy.ts';
import { startGitHub, type GitHubEmulator } from './emulators/github.ts';

const REPO = 'octo/app';
let github: GitHubEmulator;
let proxy: Server;
/** Every CONNECT the proxy tunnelled, host:port. */
const tunnels: string[] = [];
const saved = { http: process.env['http_proxy'], https: process.env['https_proxy'] };

beforeAll(async () => {
  github = await startGitHub();
  github.addRepo(REPO);
  proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req, client, head) => {
    const target = req.url ?? '';
    tunnels.push(target);
    const [host, port] = [
      target.slice(0, target.lastIndexOf(':')),
      target.slice(target.lastIndexOf(':') + 1),
    ];
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  process.env['http_proxy'] = url;
  process.env['https_proxy'] = url;
});
afterAll(async () => {
  for (const [k, v] of [
    ['http_proxy', saved.http],
    ['https_proxy', saved.https],
  ] as const)
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  proxy.closeAllConnections();
  proxy.close();
  await github.close();
});

const policy = () => {
  const p = new RetryPolicy({ timeoutMs: 5_000, storeTimeoutMs: 60_000 });
  p.startStoring();
  return p;
};
const viaAnyAddress = (url: string) => url.replace('127.0.0.1', '0.0.0.0');

describe('a proxy from the environment', () => {
  it("carries GitHub's requests (Octokit's fetch through the proxy's tunnel)", async () => {
    const apiUrl = viaAnyAddress(github.url);
    const gh = createGitHub({
      token: github.token,
      apiUrl,
      policy: policy(),
      warn: () => undefined,
    });
    const res = await gh.request(`GET /repos/${REPO}/actions/secrets/public-key`);
    expect(res.status).toBe(200);
    expect(tunnels).toContain(new URL(apiUrl).host);
  });

  it("carries the provider's requests (the provider helper through the same kind of tunnel)", async () => {
    const url = `${viaAnyAddress(github.url)}/repos/${REPO}/actions/secrets/public-key`;
    const before = tunnels.length;
    const res = await createHttp(policy())({
      method: 'GET',
      url,
      what: 'read a key',
      headers: { authorization: `Bearer ${github.token}` },
      retry: 'safe',
    });
    expect(res.status).toBe(200);
    expect(tunnels.slice(before)).toContain(new URL(url).host);
  });

  it('leaves loopback names alone, as the runner does', async () => {
    const before = tunnels.length;
    const gh = createGitHub({
      token: github.token,
      apiUrl: github.url,
      policy: policy(),
      warn: () => undefined,
    });
    await gh.request(`GET /repos/${REPO}/actions/secrets/public-key`);
    expect(tunnels.length).toBe(before);
  });
});
