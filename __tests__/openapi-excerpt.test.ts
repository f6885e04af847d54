// The emulator validates against an excerpt of GitHub's OpenAPI description kept in the repository.
// This proves the excerpt covers every GitHub call the action makes, for every target kind, so
// that no request of the action escapes validation.
import { describe, expect, it } from 'vitest';
import { scopePath } from '../src/inputs/targets.ts';
import { parseTargets } from '../src/inputs/targets.ts';
import { checkRequest } from './emulators/github-openapi.ts';

const lines = [
  'repo octo/app',
  'environment octo/app production',
  'org octo selected octo/app',
  'dependabot octo/app',
  'dependabot-org octo all',
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
        ...(t.kind === 'org' || t.kind === 'dependabot-org'
          ? { visibility: 'selected', selected_repository_ids: [1] }
          : {}),
      },
    ],
  ]) as [string, string, unknown][];

  it.each(calls)('describes %s %s', (method, path, body) => {
    const checked = checkRequest(method, path, body);
    expect(checked.template, `${method} ${path} is not in the excerpt`).toBeDefined();
    expect(checked.operation).toBeDefined();
    expect(checked.errors).toEqual([]);
  });

  it('refuses what GitHub would refuse', () => {
    expect(checkRequest('PATCH', '/repos/octo/app/actions/secrets/X', {}).errors).not.toEqual([]);
    expect(
      checkRequest('PUT', '/repos/octo/app/actions/secrets/X', { key_id: '1' }).errors,
    ).not.toEqual([]);
  });
});
