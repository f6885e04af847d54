#!/usr/bin/env node
// Benchmark of the bundled action on the local emulators (a script, not a timed test).
//   npm run bench [-- --runs 9]
// Reports, in one run: (a) start-up, a dry run against `node -e 0`; (b) one full rotation to one
// repository; (c) fan-out to 10 repositories with 20 ms emulated latency against the floor set by
// GitHub's write pacing; (d) GitHub API calls per target; (e) bundle size and peak memory.
// Prints a table and writes it to bench/results.md with the machine's description.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld } from '../__tests__/fixtures.ts';
import { DIST, runAction } from '../__tests__/harness.ts';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 9;
const FANOUT = 10;
const LATENCY_MS = 20;
const WRITE_INTERVAL_MS = 1000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Wall time of one process, in ms. Async: the emulators answer from this same process. */
async function timed(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const t = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`${args.join(' ')} failed:\n${out}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

// The stack's own floors, bundled by ncc like dist/: one that only loads @actions/core and sets an
// output, and one that also makes a single undici request, the least an action that calls an API costs.
const floorDir = new URL('../bench/.floor/', import.meta.url);
function floorBundle(name: string, source: string): string {
  const dir = new URL(`${name}/`, floorDir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('entry.js', dir), source);
  execFileSync(process.execPath, [
    new URL('../node_modules/@vercel/ncc/dist/ncc/cli.js', import.meta.url).pathname,
    'build',
    new URL('entry.js', dir).pathname,
    '-o',
    new URL('out', dir).pathname,
    '--quiet',
  ]);
  return new URL('out/index.js', dir).pathname;
}
const coreBundle = floorBundle(
  'core',
  "import * as core from '@actions/core';\ncore.setOutput('x', core.getInput('x'));\n",
);
const requestBundle = floorBundle(
  'request',
  "import * as core from '@actions/core';\nimport { request } from 'undici';\nconst res = await request(core.getInput('url'));\nawait res.body.text();\ncore.setOutput('status', String(res.statusCode));\n",
);

// (a) start-up: `node -e 0`, the floor bundles and a dry run, interleaved so that machine noise hits all alike.
const world = await startWorld('vmware-csp');
const rssFile = join(tmpdir(), `bench-rss-${process.pid}`);
const rssHook = `--import=data:text/javascript,import{writeFileSync}from'node:fs';process.on('exit',()=>writeFileSync(process.env.BENCH_RSS_FILE,String(process.resourceUsage().maxRSS)))`;
const baseline: number[] = [];
const coreOnly: number[] = [];
const oneRequest: number[] = [];
const dry: number[] = [];
const dryEnv = { ...process.env, ...world.env({ 'dry-run': 'true' }) };
const requestEnv = {
  ...process.env,
  INPUT_URL: `${world.github.url}/repos/octo/app/actions/secrets/public-key`,
};
for (let i = 0; i < RUNS; i++) {
  baseline.push(await timed(['-e', '0']));
  coreOnly.push(await timed([coreBundle]));
  oneRequest.push(await timed([requestBundle], requestEnv));
  dry.push(await timed([DIST], dryEnv));
}
const startupRatio = median(dry) / median(baseline);

// Peak memory of one dry run.
await timed([DIST], { ...dryEnv, NODE_OPTIONS: rssHook, BENCH_RSS_FILE: rssFile });
const peakKb = Number(readFileSync(rssFile, 'utf8'));
rmSync(rssFile, { force: true });

// (b) one full rotation to one repository target.
const full: number[] = [];
let callsOne = 0;
for (let i = 0; i < RUNS; i++) {
  const before = world.github.requests.length;
  const r = await runAction(world.inputs());
  if (r.code !== 0) throw new Error(`rotation failed: ${r.stdout}`);
  full.push(r.ms);
  callsOne = world.github.requests.length - before;
}
await world.close();

// (c), (d) fan-out to 10 repositories, every GitHub request delayed by 20 ms.
const repos = Array.from({ length: FANOUT }, (_, i) => `octo/service-${i}`);
const fan = await startWorld('vmware-csp', { repos });
fan.github.fault('*', /.*/, { delayMs: LATENCY_MS });
const fanRuns: number[] = [];
let callsFan = 0;
for (let i = 0; i < Math.min(RUNS, 3); i++) {
  const before = fan.github.requests.length;
  const r = await runAction(fan.inputs({ targets: repos.map((x) => `repo ${x}`).join('\n') }));
  if (r.code !== 0) throw new Error(`fan-out failed: ${r.stdout}`);
  fanRuns.push(r.ms);
  callsFan = fan.github.requests.length - before;
}
await fan.close();
rmSync(floorDir, { recursive: true, force: true });
const floor = (FANOUT - 1) * WRITE_INTERVAL_MS;
const fanRatio = median(fanRuns) / floor;

const distDir = new URL('../dist/', import.meta.url);
const chunks = readdirSync(distDir).filter((f) => f.endsWith('.js'));
const size = statSync(DIST).size;
const lazy = chunks
  .filter((f) => f !== 'index.js')
  .reduce((n, f) => n + statSync(new URL(f, distDir)).size, 0);
const rows: [string, string, string][] = [
  ['(a) start-up: `node -e 0`, median', `${median(baseline).toFixed(0)} ms`, ''],
  [
    '(a) start-up: a bundle of `@actions/core` alone, median',
    `${median(coreOnly).toFixed(0)} ms`,
    `${(median(coreOnly) / median(baseline)).toFixed(2)}x node -e 0: the stack's floor`,
  ],
  [
    '(a) start-up: `@actions/core` + one undici request, median',
    `${median(oneRequest).toFixed(0)} ms`,
    `${(median(oneRequest) / median(baseline)).toFixed(2)}x node -e 0: the floor for an action that calls one API`,
  ],
  [
    '(a) start-up: dry run of dist/index.js, median',
    `${median(dry).toFixed(0)} ms`,
    `${startupRatio.toFixed(2)}x node -e 0 (goal < 3x); ${(median(dry) / median(oneRequest)).toFixed(2)}x the one-request floor`,
  ],
  [
    '(b) full rotation, 1 repository, median',
    `${median(full).toFixed(0)} ms`,
    `${(median(full) / median(dry)).toFixed(2)}x the dry run`,
  ],
  [
    `(c) fan-out, ${FANOUT} repositories, ${LATENCY_MS} ms latency, median`,
    `${median(fanRuns).toFixed(0)} ms`,
    `${fanRatio.toFixed(3)}x the ${floor} ms pacing floor (goal ≤ 1.10x)`,
  ],
  [
    '(d) GitHub API calls per target, 1 repository',
    `${callsOne}`,
    'key + write + verify (floor 3)',
  ],
  [
    `(d) GitHub API calls per target, ${FANOUT} repositories`,
    `${(callsFan / FANOUT).toFixed(2)}`,
    `${callsFan} calls; one key per scope`,
  ],
  [
    '(e) dist/index.js size',
    `${(size / 1024 / 1024).toFixed(2)} MiB`,
    `${size} bytes; plus ${(lazy / 1024).toFixed(0)} KiB loaded only to seal (libsodium)`,
  ],
  ['(e) peak memory of a dry run (max RSS)', `${(peakKb / 1024).toFixed(1)} MiB`, ''],
];
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}-${process.arch}`;
const table = [
  '| measure | value | note |',
  '|---|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
const report = `# Benchmark results\n\nMachine: ${machine}. Runs per figure: ${RUNS} (fan-out: ${fanRuns.length}). Date: ${new Date().toISOString()}.\n\n${table}\n\nProduced by \`npm run bench\` (scripts/bench.ts) on the local emulators.\n`;
console.log(report);
mkdirSync(new URL('../bench/', import.meta.url), { recursive: true });
writeFileSync(new URL('../bench/results.md', import.meta.url), report);
