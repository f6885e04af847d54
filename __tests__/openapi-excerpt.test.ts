// The emulator validates against an excerpt of GitHub's OpenAPI description kept in the repository.
// This proves the excerpt covers every GitHub call the action makes, for every target kind, so
// that no request of the action escapes validation.
import { describe, expect, it } from 'vitest';
import { grantsFor } from '../src/github/app.ts';
import type { GitHub } from '../src/github/client.ts';
import { fileFailureIssue, parseFailureIssue } from '../src/issue.ts';
import {
  isOrg,
  parseTargets,
  scopePath,
  TARGET_KINDS,
  variablesPath,
} from '../src/inputs/targets.ts';
import { checkRequest } from './emulators/github-openapi.ts';

const lines = [
  'repo octo/app',
  'environment octo/app production',
  'org octo selected octo/app',
  'dependabot octo/app',
  'dependabot-org octo all',
  'codespaces octo/app',
  'codespaces-org octo private',
];

describe('the OpenAPI excerpt', () => {
  const calls = parseTargets(lines.join('\n')).flatMap((t) => [
    ['GET', `${scopePath(t)}/secrets/public-key`, undefined],
    ['GET', `${scopePath(t)}/secrets/CLIENT_SECRET`, undefined],
    [
      'PUT',
      `${scopePath(t)}/secrets/CLIENT_SECRET`,
      {
        encrypted_value: 'c2VhbGVk',
        key_id: '1',
        ...(isOrg(t) ? { visibility: 'selected', selected_repository_ids: [1] } : {}),
      },
    ],
    ...(isOrg(t) ? [['GET', `${scopePath(t)}/secrets/CLIENT_SECRET/repositories`, undefined]] : []),
    // The client id variable, where the kind has variables: probe, list, create, update, read back.
    ...variableCalls(t),
  ]) as [string, string, unknown][];

  // GitHub App sign-in: finding each owner's installation, minting its token, revoking it; the
  // App's own description when an installation is missing. Bodies as src/github/app.ts sends them.
  const grants = [false, true].flatMap((read) =>
    grantsFor(parseTargets(lines.join('\n')), { variables: true, read }),
  );
  const appCalls: [string, string, unknown][] = [
    ['GET', '/app', undefined],
    ['GET', '/orgs/octo/installation', undefined],
    ['GET', '/repos/octo/app/installation', undefined],
    ...grants.map((g): [string, string, unknown] => [
      'POST',
      '/app/installations/42/access_tokens',
      { permissions: g.permissions, ...(g.repositories ? { repositories: g.repositories } : {}) },
    ]),
    ['DELETE', '/installation/token', undefined],
  ];
  calls.push(...appCalls);

  function variableCalls(t: ReturnType<typeof parseTargets>[number]): unknown[][] {
    const base = variablesPath(t);
    if (base === undefined) return [];
    const access = isOrg(t) ? { visibility: 'selected', selected_repository_ids: [1] } : {};
    return [
      ['GET', `${base}/variables/CLIENT_ID`, undefined],
      ['GET', `${base}/variables`, undefined],
      ['POST', `${base}/variables`, { name: 'CLIENT_ID', value: 'id', ...access }],
      ['PATCH', `${base}/variables/CLIENT_ID`, { name: 'CLIENT_ID', value: 'id', ...access }],
      ...(isOrg(t) ? [['GET', `${base}/variables/CLIENT_ID/repositories`, undefined]] : []),
    ];
  }

  // Target patterns list repositories: an organization's, a user's, an installation's.
  calls.push(
    ['GET', '/orgs/octo/repos', undefined],
    ['GET', '/users/alice/repos', undefined],
    ['GET', '/installation/repositories', undefined],
  );

  it.each(calls)('describes %s %s', (method, path, body) => {
    const checked = checkRequest(method, path, body);
    expect(checked.template, `${method} ${path} is not in the excerpt`).toBeDefined();
    expect(checked.operation).toBeDefined();
    expect(checked.errors).toEqual([]);
  });

  it('describes every call of the failure issue: list, open, comment, close', async () => {
    const recorded: [string, string, unknown][] = [];
    let open: unknown[] = [];
    const gh = {
      request: (route: string, params: Record<string, unknown> = {}) => {
        const [method, template] = route.split(' ') as [string, string];
        const { request: _options, ...rest } = params;
        const path = template.replace(/\{([^}]+)\}/g, (_, k: string) => {
          const v = String(rest[k]);
          delete rest[k];
          return v;
        });
        recorded.push([method, path, method === 'GET' ? undefined : rest]);
        const data = method === 'GET' ? open : { number: 1, id: 1, state: 'closed' };
        return Promise.resolve({ status: 200, data });
      },
    } as unknown as GitHub;
    const issue = parseFailureIssue(
      (n) => ({ 'failure-issue-repository': 'octo/alerts', provider: 'entra' })[n] ?? '',
    )!;
    const failed = { outcome: 'failed', rotated: false, targets: [], failure: 'x' } as const;
    const warn = (m: string): never => {
      throw new Error(m);
    };
    await fileFailureIssue(gh, issue, 'entra', failed, undefined, warn); // opens
    open = [{ number: 1, title: issue.title, html_url: 'https://github.com/octo/alerts/issues/1' }];
    await fileFailureIssue(gh, issue, 'entra', failed, undefined, warn); // comments
    await fileFailureIssue(
      gh,
      issue,
      'entra',
      { outcome: 'rotated', rotated: true, targets: [] },
      undefined,
      warn,
    ); // closes
    expect(recorded.map(([m, p]) => `${m} ${p}`)).toEqual([
      'GET /repos/octo/alerts/issues',
      'POST /repos/octo/alerts/issues',
      'GET /repos/octo/alerts/issues',
      'POST /repos/octo/alerts/issues/1/comments',
      'GET /repos/octo/alerts/issues',
      'POST /repos/octo/alerts/issues/1/comments',
      'PATCH /repos/octo/alerts/issues/1',
    ]);
    for (const [method, path, body] of recorded) {
      const checked = checkRequest(method, path, body);
      expect(checked.template, `${method} ${path} is not in the excerpt`).toBeDefined();
      expect(checked.operation, `${method} ${path}`).toBeDefined();
      expect(checked.errors).toEqual([]);
    }
  });

  it('covers every target kind', () => {
    expect(new Set(parseTargets(lines.join('\n')).map((t) => t.kind))).toEqual(
      new Set(Object.keys(TARGET_KINDS)),
    );
  });

  it('refuses what GitHub would refuse', () => {
    expect(checkRequest('PATCH', '/repos/octo/app/actions/secrets/X', {}).errors).not.toEqual([]);
    expect(
      checkRequest('PUT', '/repos/octo/app/actions/secrets/X', { key_id: '1' }).errors,
    ).not.toEqual([]);
  });
});
