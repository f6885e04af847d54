// The emulator validates against an excerpt of GitHub's OpenAPI description kept in the repository.
// This proves the excerpt covers every GitHub call the action makes, for every target kind, so
// that no request of the action escapes validation.
import { describe, expect, it } from 'vitest';
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
