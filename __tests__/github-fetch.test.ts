// Octokit's fetch (src/github/fetch.ts): undici's request API under Octokit, without a fetch
// implementation. What Octokit reads of an answer must be what a fetch would have given it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHub } from '../src/github/client.ts';
import { AnswerHeaders, cappedFetch } from '../src/github/fetch.ts';
import { RetryPolicy } from '../src/policy.ts';
import { startGitHub, type GitHubEmulator } from './emulators/github.ts';

const REPO = 'octo/app';
const KEY = `/repos/${REPO}/actions/secrets/public-key`;
let github: GitHubEmulator;

beforeAll(async () => {
  github = await startGitHub();
  github.addRepo(REPO);
});
afterAll(() => github.close());

const client = () => {
  const policy = new RetryPolicy({ timeoutMs: 5_000, storeTimeoutMs: 60_000 });
  policy.startStoring();
  return createGitHub({ token: github.token, apiUrl: github.url, policy, warn: () => undefined });
};

describe("Octokit's fetch", () => {
  it('gives Octokit the status, the headers and the parsed body', async () => {
    const res = await client().request(`GET ${KEY}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.data).toMatchObject({ key_id: expect.any(String), key: expect.any(String) });
  });

  it('sends the method, the headers and the JSON body as Octokit gives them', async () => {
    const gh = client();
    const before = github.requests.length;
    await gh
      .request(`PUT /repos/${REPO}/actions/variables/{name}`, {
        name: 'X',
        value: 'v',
      })
      .catch(() => undefined);
    const sent = github.requests.slice(before).find((r) => r.method === 'PUT');
    expect(sent?.path).toBe(`/repos/${REPO}/actions/variables/X`);
    expect(JSON.parse(sent?.body ?? '{}')).toEqual({ value: 'v' });
  });

  it('never follows a redirect: a moved repository answers as itself, asked once', async () => {
    // Octokit hands a 3xx back like a success; the client makes it a failure with its status.
    github.fault('GET', /public-key$/, {
      status: 301,
      headers: { location: `${github.url}${KEY}` },
      times: 1,
    });
    const before = github.calls('GET', /public-key$/).length;
    await expect(client().request(`GET ${KEY}`)).rejects.toMatchObject({
      name: 'Redirected',
      status: 301,
      response: { status: 301 },
    });
    expect(github.calls('GET', /public-key$/).length - before).toBe(1);
  });

  it('times out an exchange that never answers', async () => {
    github.fault('GET', /public-key$/, { hang: true, times: 1 });
    const fetch = cappedFetch(200, undefined);
    await expect(fetch(`${github.url}${KEY}`, {})).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});

describe('answer headers', () => {
  it('join repeated values and match names in any case, as fetch does', () => {
    const h = new AnswerHeaders({ Link: ['<a>; rel="next"', '<b>; rel="last"'], 'x-one': '1' });
    expect(h.get('link')).toBe('<a>; rel="next", <b>; rel="last"');
    expect(h.get('X-One')).toBe('1');
    expect(h.has('x-two')).toBe(false);
    expect([...h]).toEqual([
      ['link', '<a>; rel="next", <b>; rel="last"'],
      ['x-one', '1'],
    ]);
  });
});
