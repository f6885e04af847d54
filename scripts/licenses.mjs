#!/usr/bin/env node
// Writes dist/licenses.txt: the license of every production dependency in the lock file. (ncc's own
// --license keeps only the last chunk's licenses once the bundle is split, so it is not used.)
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const entries = Object.entries(lock.packages)
  .filter(([path, p]) => path.startsWith('node_modules/') && !p.dev && !p.optional)
  .sort(([a], [b]) => a.localeCompare(b));
const seen = new Set();
const parts = [];
for (const [path] of entries) {
  const pkg = JSON.parse(readFileSync(join(root, path, 'package.json'), 'utf8'));
  const id = `${pkg.name}@${pkg.version}`;
  if (seen.has(id)) continue;
  seen.add(id);
  const file = readdirSync(join(root, path)).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  const text =
    file && existsSync(join(root, path, file))
      ? readFileSync(join(root, path, file), 'utf8').trim()
      : '(no license file in the package)';
  parts.push(
    `${pkg.name} ${pkg.version}\n${typeof pkg.license === 'string' ? pkg.license : 'see below'}\n${text}`,
  );
}
writeFileSync(join(root, 'dist', 'licenses.txt'), `${parts.join('\n\n')}\n`);
