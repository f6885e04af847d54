#!/usr/bin/env node
// Regenerates __tests__/emulators/github-secrets-openapi.json, the excerpt of GitHub's OpenAPI
// description that the GitHub emulator validates every request and answer against.
//   node scripts/openapi-excerpt.mjs            rewrite the excerpt
//   node scripts/openapi-excerpt.mjs --check    fail when the committed excerpt differs
// @octokit/openapi is installed into a temporary folder, never into the project's dependencies.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const VERSION = '23.0.2';
const OUT = new URL('../__tests__/emulators/github-secrets-openapi.json', import.meta.url);
/**
 * The paths kept: every secrets scope GitHub has (Actions, environments, Dependabot, Codespaces),
 * the Actions variables of repositories, environments and organizations, the repository listings
 * that target patterns expand from (organization, user, installation), the issue paths the failure
 * issue calls (list, create, comment, close), and what GitHub App sign-in calls (the App, its
 * installations, minting and revoking their tokens).
 */
const KEEP = new RegExp(
  [
    /^\/(orgs\/\{org\}|repos\/\{owner\}\/\{repo\}(\/environments\/\{environment_name\})?)\/(actions|codespaces|dependabot)?\/?secrets(\/|$)/,
    /^\/(orgs\/\{org\}|repos\/\{owner\}\/\{repo\})\/actions\/variables(\/|$)/,
    /^\/repos\/\{owner\}\/\{repo\}\/environments\/\{environment_name\}\/variables(\/|$)/,
    /^\/(orgs\/\{org\}\/repos|users\/\{username\}\/repos|installation\/repositories)$/,
    /^\/app$/,
    /^\/app\/installations(\/\{installation_id\}\/access_tokens)?$/,
    /^\/(orgs\/\{org\}|users\/\{username\}|repos\/\{owner\}\/\{repo\})\/installation$/,
    /^\/installation\/token$/,
    /^\/repos\/\{owner\}\/\{repo\}\/issues(\/\{issue_number\}(\/comments)?)?$/,
  ]
    .map((r) => r.source)
    .join('|'),
);

const dir = mkdtempSync(join(tmpdir(), 'octokit-openapi-'));
try {
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      dir,
      '--no-save',
      '--no-audit',
      '--no-fund',
      `@octokit/openapi@${VERSION}`,
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const file = join(dir, 'node_modules/@octokit/openapi/generated/api.github.com.deref.json');
  const full = JSON.parse(readFileSync(file, 'utf8'));
  const paths = Object.fromEntries(
    Object.entries(full.paths)
      .filter(([p]) => KEEP.test(p))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  const excerpt = {
    openapi: full.openapi,
    info: {
      title: full.info.title,
      version: VERSION,
      'x-source': `@octokit/openapi ${VERSION} generated/api.github.com.deref.json (GitHub REST API description), secrets, variables, repository-listing, issue and GitHub App sign-in paths only`,
    },
    paths,
  };
  const text = `${JSON.stringify(excerpt, null, 2)}\n`;
  if (process.argv.includes('--check')) {
    if (readFileSync(OUT, 'utf8') !== text) {
      console.error(
        'openapi: the committed excerpt differs from @octokit/openapi; run node scripts/openapi-excerpt.mjs',
      );
      process.exit(1);
    }
    console.log(
      `openapi: excerpt matches @octokit/openapi ${VERSION} (${Object.keys(paths).length} paths)`,
    );
  } else {
    writeFileSync(OUT, text);
    console.log(
      `openapi: wrote ${Object.keys(paths).length} paths from @octokit/openapi ${VERSION}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
