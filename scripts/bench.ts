#!/usr/bin/env node
// Benchmark of the bundled action on the local emulators (a script, not a timed test).
//   npm run bench [-- --runs 11] [--peer PATH] [--before PATH]
//   --peer PATH, or BENCH_PEER: the published dist/index.js of jpoehnelt/secrets-sync-action, the
//     common secret-writing action, run from a temporary folder to write one repository secret. It is
//     never part of this repository; without it the comparison is skipped and the report says so.
//   --before [NAME=]PATH[,...], or BENCH_BEFORE: earlier builds of this action (a dist/index.js each,
//     e.g. `git show REV:dist/index.js`), run in the same rounds, so that before and after meet the
//     same machine noise. NAME labels the build in the table (default "before").
// Reports, in one run, medians of whole-process runs interleaved round by round with `node -e 0`:
// (a) start-up and the dry run; (b) one full CSP rotation to one repository and its request timeline
// (ms from process start to each request being answered by the emulators, and to exit); (c) the
// floor: @actions/core + @actions/github with the retry and throttling plugins + libsodium, one key
// GET and one sealed PUT, bundled by ncc like dist/; (d) the peer; (e) fan-out to 10 repositories
// against GitHub's write pacing; (f) calls per target; (g) bundle size and peak memory. Then, in
// process on the event clock of the scale test (scripts/bench-paths.ts): (h) fan-outs to 10, 100 and
// 1,000 repositories against the pacing floor, and (i) the lock-out window of CSP `regenerate` for
// 1, 5 and 20 targets; and (j) the critical path of a one-target rotation per provider with 80 ms
// added to every request. Prints a table and writes it to bench/results.md with the machine's
// description; every figure of the previous bench/results.md is kept beside the new one ("before").
// Run with `node --import ./scripts/resolve-ts.mjs` (npm run bench): (h)-(i) run src/ in process.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { startWorld, SECRET_NAME, REPO } from '../__tests__/fixtures.ts';
import { DIST, inputEnv, runAction } from '../__tests__/harness.ts';
import type { LoggedRequest } from '../__tests__/emulators/server.ts';
import type { GitHubEmulator } from '../__tests__/emulators/github.ts';
import {
  criticalPath,
  PATH_PROVIDERS,
  type CriticalPath,
  virtualRotation,
  type VirtualRun,
} from './bench-paths.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(arg('runs') ?? 11);
const PEER = arg('peer') ?? process.env['BENCH_PEER'];
const BEFORE = arg('before') ?? process.env['BENCH_BEFORE'];
const FANOUT = 10;
const LATENCY_MS = 20;
const WRITE_INTERVAL_MS = 1000;
/** (h), (i), (j): virtual fan-outs, CSP regenerate's lock-out window, the latency of each request. */
const VIRTUAL_FANOUTS = [10, 100, 1000];
const LOCKOUT_TARGETS = [1, 5, 20];
const PATH_LATENCY_MS = 80;
const resultsFile = new URL('../bench/results.md', import.meta.url);
/** A measure's name without its request count, which a build may change (`dry run (3 requests)`). */
const sameMeasure = (m: string): string => m.replace(/ \(\d+ requests\)/, '');
/** The previous results' table, by measure: the "before" of every row measured again. */
const previous = (() => {
  const text = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  const date = /Date: (\S+?)\.?\s/.exec(text)?.[1] ?? 'unknown';
  /** By the measure without its request count: the measure as written, and its value. */
  const rows = new Map<string, { measure: string; value: string }>();
  for (const line of text.split('\n')) {
    const cells = line.split(' | ');
    if (!line.startsWith('| ') || cells.length < 3 || line.startsWith('| measure')) continue;
    const measure = cells[0]!.slice(2);
    if (!rows.has(sameMeasure(measure)))
      rows.set(sameMeasure(measure), { measure, value: cells[1]! });
  }
  const machine = /Machine: (.+?), Node/.exec(text)?.[1] ?? 'unknown';
  return { date: date.slice(0, 10), machine, rows };
})();
const befores = (BEFORE ?? '')
  .split(',')
  .filter(Boolean)
  .map((spec) => {
    const eq = spec.indexOf('=');
    return eq > 0
      ? { name: spec.slice(0, eq), file: resolve(spec.slice(eq + 1)) }
      : { name: 'before', file: resolve(spec) };
  });
for (const [what, path] of [['--peer', PEER], ...befores.map((b) => ['--before', b.file])])
  if (path && !existsSync(path)) throw new Error(`${what} ${path}: no such file`);

/**
 * Before each rotation: every target secret was last written a day ago, as in a scheduled rotation. A
 * run right after the previous one would otherwise wait up to a second, as it must, for GitHub's
 * clock to pass the second of the previous write (a write counts only when its read-back's
 * updated_at is newer than what preflight read).
 */
const yesterday = new Date(Date.now() - 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
function writtenYesterday(g: GitHubEmulator, repos: readonly string[]): void {
  for (const r of repos) g.seedSecret(`repo:${r}`, SECRET_NAME, 'written-yesterday', yesterday);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Timed {
  /** Spawn to 'close' (the whole process, stdio flushed), ms. */
  readonly ms: number;
  /** Spawn to 'exit', ms. */
  readonly exitMs: number;
  /** Wall clock at spawn, to place the emulators' request log on the same axis. */
  readonly t0: number;
}

/** One whole process. Async: the emulators answer from this same process. */
async function timed(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Timed> {
  const t0 = Date.now();
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, args, {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
  });
  let out = '';
  let exitMs = 0;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.on('exit', () => (exitMs = Number(process.hrtime.bigint() - start) / 1e6));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (code !== 0 || /::error::/.test(out)) throw new Error(`${args.join(' ')} failed:\n${out}`);
  return { ms, exitMs, t0 };
}

/**
 * CPU time (user + system) of one whole process, read by a hook at its exit. A separate pass from
 * the wall-clock rounds: the hook loads Node's ESM loader first, which would tilt wall figures.
 * CPU is what a loaded machine does not distort: a run that waits on nothing costs the same CPU
 * however busy the other cores are.
 */
const cpuFile = join(tmpdir(), `bench-cpu-${process.pid}`);
const cpuHook = `--import=data:text/javascript,import{writeFileSync}from'node:fs';process.on('exit',()=>{const u=process.cpuUsage();writeFileSync(process.env.BENCH_CPU_FILE,String((u.user+u.system)/1000))})`;
async function cpuOf(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<number> {
  await timed([cpuHook, ...args], { ...env, BENCH_CPU_FILE: cpuFile }, cwd);
  return Number(readFileSync(cpuFile, 'utf8'));
}

// The floors, bundled by ncc like dist/: @actions/core alone, and the toolkit writing one secret
// (the least this stack can do for one sealed PUT, used as its authors show).
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
const floorScript = floorBundle(
  'toolkit',
  `import * as core from '@actions/core';
import { getOctokit } from '@actions/github';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import sodium from 'libsodium-wrappers';
const [owner, repo] = core.getInput('repo').split('/');
const value = core.getInput('value');
core.setSecret(value);
const throttle = { onRateLimit: () => false, onSecondaryRateLimit: () => false };
const gh = getOctokit(core.getInput('token'), { baseUrl: core.getInput('api-url'), throttle }, retry, throttling);
const { data: key } = await gh.rest.actions.getRepoPublicKey({ owner, repo });
await sodium.ready;
const v = sodium.base64_variants.ORIGINAL;
const sealed = sodium.crypto_box_seal(sodium.from_string(value), sodium.from_base64(key.key, v));
await gh.rest.actions.createOrUpdateRepoSecret({ owner, repo, secret_name: core.getInput('name'), key_id: key.key_id, encrypted_value: sodium.to_base64(sealed, v) });
core.setOutput('written', 'true');
`,
);

// Each build of this action under test: this worktree's dist/ and, when given, an earlier one.
const builds = [{ name: 'this build', file: DIST }];
builds.unshift(...befores);

const world = await startWorld('vmware-csp');
const gh = world.github;
const csp = world.csp!;
const runDir = mkdtempSync(join(tmpdir(), 'bench-run-'));
writeFileSync(join(runDir, 'output'), '');
const output = join(runDir, 'output');
const summary = join(runDir, 'summary');
const actionEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  writeFileSync(output, '');
  writeFileSync(summary, '');
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? runDir,
    RUNNER_TEMP: runDir,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    ...world.env(extra),
  };
};
const floorEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env['PATH'] ?? '',
  GITHUB_OUTPUT: output,
  ...inputEnv({
    repo: REPO,
    token: gh.token,
    'api-url': gh.url,
    name: SECRET_NAME,
    value: 'floor-secret-value-0123456789',
  }),
});
// The peer as its README shows it: a token, an explicit repository list, secrets taken from env.
const peerDir = mkdtempSync(join(tmpdir(), 'bench-peer-'));
const peerEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env['PATH'] ?? '',
  HOME: peerDir,
  GITHUB_ACTIONS: 'true',
  INPUT_GITHUB_TOKEN: gh.token,
  INPUT_GITHUB_API_URL: gh.url,
  INPUT_REPOSITORIES: REPO,
  INPUT_REPOSITORIES_LIST_REGEX: 'false',
  INPUT_SECRETS: `^${SECRET_NAME}$`,
  INPUT_RETRIES: '3',
  INPUT_CONCURRENCY: '10',
  INPUT_TARGET: 'actions',
  [SECRET_NAME]: 'peer-secret-value-0123456789',
});

/** The requests both emulators answered during one run, on the run's time axis (ms from spawn). */
function timeline(t: Timed, from: { gh: number; csp: number }): { at: number; r: LoggedRequest }[] {
  return [...gh.requests.slice(from.gh), ...csp.requests.slice(from.csp)]
    .map((r) => ({ at: r.at - t.t0, r }))
    .sort((a, b) => a.at - b.at);
}

interface Series {
  ms: number[];
  first: number[];
  gap: number[];
  tail: number[];
  requests: number;
  example: string;
  /** CPU ms per run, from the separate CPU pass. */
  cpu: number[];
}
const series = (): Series => ({
  ms: [],
  first: [],
  gap: [],
  tail: [],
  requests: 0,
  example: '',
  cpu: [],
});
const baselineCpu: number[] = [];
const baseline: number[] = [];
const coreOnly: number[] = [];
const floor = series();
const peer = series();
const dry = builds.map(() => series());
const full = builds.map(() => series());

/** Runs one process and records its whole time, the first request, the rotation gap and the tail. */
async function measure(s: Series, args: string[], env: NodeJS.ProcessEnv, cwd?: string) {
  const from = { gh: gh.requests.length, csp: csp.requests.length };
  const t = await timed(args, env, cwd);
  const tl = timeline(t, from);
  s.ms.push(t.ms);
  s.requests = tl.length;
  if (tl.length === 0) return;
  s.first.push(tl[0]!.at);
  s.tail.push(t.exitMs - tl.at(-1)!.at);
  const rotate = tl.find((x) => x.r.method === 'PUT' && x.r.path.endsWith('/secret'));
  const put = tl.find((x) => x.r.method === 'PUT' && x.r.path.includes('/actions/secrets/'));
  if (rotate && put) s.gap.push(put.at - rotate.at);
  s.example = [
    ...tl.map(
      (x) => `${x.at.toFixed(0)} ${x.r.method} ${x.r.path.replace(/^.*\/(\w+\/[^/]+)$/, '…/$1')}`,
    ),
    `${t.exitMs.toFixed(0)} exit`,
  ].join(' → ');
}

// (a)-(d), interleaved so that machine noise hits all alike.
for (let i = 0; i < RUNS; i++) {
  baseline.push((await timed(['-e', '0'], {})).ms);
  coreOnly.push((await timed([coreBundle], { PATH: '' })).ms);
  await measure(floor, [floorScript], floorEnv());
  if (PEER) await measure(peer, [resolve(PEER)], peerEnv(), peerDir);
  for (const [b, build] of builds.entries()) {
    await measure(dry[b]!, [build.file], actionEnv({ 'dry-run': 'true' }));
    writtenYesterday(gh, [REPO]);
    await measure(full[b]!, [build.file], actionEnv());
  }
}

// CPU per run, interleaved the same way.
for (let i = 0; i < RUNS; i++) {
  baselineCpu.push(await cpuOf(['-e', '0'], {}));
  if (PEER) peer.cpu.push(await cpuOf([resolve(PEER)], peerEnv(), peerDir));
  for (const [b, build] of builds.entries()) {
    dry[b]!.cpu.push(await cpuOf([build.file], actionEnv({ 'dry-run': 'true' })));
    writtenYesterday(gh, [REPO]);
    full[b]!.cpu.push(await cpuOf([build.file], actionEnv()));
  }
}
rmSync(cpuFile, { force: true });

// Peak memory of one dry run.
const rssFile = join(tmpdir(), `bench-rss-${process.pid}`);
const rssHook = `--import=data:text/javascript,import{writeFileSync}from'node:fs';process.on('exit',()=>writeFileSync(process.env.BENCH_RSS_FILE,String(process.resourceUsage().maxRSS)))`;
await timed([DIST], {
  ...actionEnv({ 'dry-run': 'true' }),
  NODE_OPTIONS: rssHook,
  BENCH_RSS_FILE: rssFile,
});
const peakKb = Number(readFileSync(rssFile, 'utf8'));
rmSync(rssFile, { force: true });

// Calls per target, one repository.
const before = gh.requests.length;
writtenYesterday(gh, [REPO]);
const one = await runAction(world.inputs());
if (one.code !== 0) throw new Error(`rotation failed: ${one.stdout}`);
const callsOne = gh.requests.length - before;
await world.close();

// (e), (f) fan-out to 10 repositories, every GitHub request delayed by 20 ms.
const repos = Array.from({ length: FANOUT }, (_, i) => `octo/service-${i}`);
const fan = await startWorld('vmware-csp', { repos });
fan.github.fault('*', /.*/, { delayMs: LATENCY_MS });
const fanRuns: number[] = [];
let callsFan = 0;
for (let i = 0; i < Math.min(RUNS, 3); i++) {
  writtenYesterday(fan.github, repos);
  const from = fan.github.requests.length;
  const r = await runAction(fan.inputs({ targets: repos.map((x) => `repo ${x}`).join('\n') }));
  if (r.code !== 0) throw new Error(`fan-out failed: ${r.stdout}`);
  fanRuns.push(r.ms);
  callsFan = fan.github.requests.length - from;
}
await fan.close();

// (h) Large fan-outs and (i) the lock-out window, in process on the event clock (no real pacing).
const virtualFan: VirtualRun[] = [];
for (const n of VIRTUAL_FANOUTS) virtualFan.push(await virtualRotation(n));
// The same 1,000 repositories reached by one organization secret (`org octo selected ...`).
const orgFan = await virtualRotation(1000, { orgSelected: true });
// The scale test's run: App sign-in and GitHub's four secondary limits (the 500-an-hour one binds).
const limitedFan = await virtualRotation(1000, {
  app: true,
  limits: { concurrent: 100, pointsPerMinute: 900, contentPerMinute: 80, contentPerHour: 500 },
});
const lockOut: VirtualRun[] = [];
for (const n of LOCKOUT_TARGETS) lockOut.push(await virtualRotation(n));

// (j) The critical path of a one-target rotation per provider, every request 80 ms slower.
const paths: CriticalPath[] = [];
for (const p of PATH_PROVIDERS)
  paths.push(await criticalPath(p, PATH_LATENCY_MS, Math.min(RUNS, 3)));
rmSync(floorDir, { recursive: true, force: true });
rmSync(runDir, { recursive: true, force: true });
rmSync(peerDir, { recursive: true, force: true });
const pacingFloor = (FANOUT - 1) * WRITE_INTERVAL_MS;

/** The main chunk, and each lazily loaded chunk named by what it holds. */
const sizeOf = (file: string): { main: number; lazy: string } => {
  const dir = dirname(file);
  const lazy = readdirSync(dir)
    .filter((f) => /^\d+\.index\.js$/.test(f))
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      const what = text.includes('libsodium')
        ? 'libsodium, loaded beside the preflight'
        : text.includes('function fetching (')
          ? "undici's fetch, which no run loads"
          : text.includes('SignatureV4')
            ? "aws-iam's SigV4 signer"
            : text.includes('XMLParser')
              ? "aws-iam's XML parser"
              : text.includes('Sha256')
                ? "aws-iam's SHA-256"
                : 'other';
      return `${(statSync(join(dir, f)).size / 1024).toFixed(0)} KiB of ${what}`;
    });
  return { main: statSync(file).size, lazy: lazy.join('; ') };
};

const ms = (x: number[]): string => (x.length ? `${median(x).toFixed(0)} ms` : 'n/a');
const ratio = (x: number[], to: number[], name: string): string =>
  x.length && to.length ? `${(median(x) / median(to)).toFixed(2)}x ${name}` : '';
const peerNote = PEER ? '' : ' (peer not given: --peer or BENCH_PEER; comparison skipped)';
const rows: [string, string, string][] = [
  ['`node -e 0`', ms(baseline), `CPU ${ms(baselineCpu)}`],
  ['a bundle of `@actions/core` alone', ms(coreOnly), ratio(coreOnly, baseline, 'node -e 0')],
  [
    'floor: the toolkit writing one secret (key GET + sealed PUT)',
    ms(floor.ms),
    `${ratio(floor.ms, baseline, 'node -e 0')}; first request at ${ms(floor.first)}`,
  ],
  [
    `peer: secrets-sync-action writing one secret (${peer.requests} requests)`,
    PEER ? ms(peer.ms) : 'n/a',
    PEER
      ? `${ratio(peer.ms, baseline, 'node -e 0')}; first request at ${ms(peer.first)}; CPU ${ms(peer.cpu)}`
      : peerNote.trim(),
  ],
];
const cmp = PEER ? peer.ms : floor.ms;
const cmpName = PEER ? 'the peer' : 'the floor';
for (const [b, build] of builds.entries()) {
  const d = dry[b]!;
  const f = full[b]!;
  const size = sizeOf(build.file);
  rows.push(
    [
      `${build.name}: dry run (${d.requests} requests)`,
      ms(d.ms),
      `${ratio(d.ms, cmp, cmpName)}; CPU ${ms(d.cpu)}${PEER ? `, ${ratio(d.cpu, peer.cpu, "the peer's")}` : ''}`,
    ],
    [
      `${build.name}: CSP rotation, 1 repository (${f.requests} requests)`,
      ms(f.ms),
      `${ratio(f.ms, cmp, cmpName)}; ${ratio(f.ms, floor.ms, 'the floor')}; CPU ${ms(f.cpu)}${PEER ? `, ${ratio(f.cpu, peer.cpu, "the peer's")}` : ''}`,
    ],
    [`${build.name}: start-up, process start → first request answered`, ms(f.first), ''],
    [`${build.name}: CSP rotating PUT answered → GitHub PUT answered`, ms(f.gap), ''],
    [`${build.name}: last request answered → process exit`, ms(f.tail), ''],
    [
      `${build.name}: bundle`,
      `${(size.main / 1024 / 1024).toFixed(2)} MiB`,
      `${size.main} bytes at start; plus ${size.lazy}`,
    ],
  );
}
rows.push(
  [
    `fan-out, ${FANOUT} repositories, ${LATENCY_MS} ms latency`,
    ms(fanRuns),
    `${(median(fanRuns) / pacingFloor).toFixed(3)}x the ${pacingFloor} ms pacing floor (goal ≤ 1.02x)`,
  ],
  [
    'GitHub API calls per target, 1 repository',
    `${callsOne}`,
    'key + preflight read of what it held + write + read-back',
  ],
  [
    `GitHub API calls per target, ${FANOUT} repositories`,
    `${(callsFan / FANOUT).toFixed(2)}`,
    `${callsFan} calls; one key per scope`,
  ],
  ['peak memory of a dry run (max RSS)', `${(peakKb / 1024).toFixed(1)} MiB`, ''],
);
const sec = (x: number): string =>
  x >= 120_000 ? `${(x / 60_000).toFixed(1)} min` : `${(x / 1000).toFixed(x < 10_000 ? 2 : 1)} s`;
for (const v of virtualFan) {
  const floorMs = (v.targets - 1) * WRITE_INTERVAL_MS;
  rows.push([
    `this build: fan-out, ${v.targets} repositories, virtual clock`,
    sec(v.virtualMs),
    `${(v.virtualMs / floorMs).toFixed(3)}x the ${sec(floorMs)} pacing floor (goal ≤ 1.02x); ${(v.githubCalls / v.targets).toFixed(2)} GitHub calls per target (${v.githubCalls}), ${v.providerCalls} CSP calls; real ${sec(v.realMs)}, CPU ${sec(v.cpuMs)}`,
  ]);
}
const repoFan = virtualFan.find((v) => v.targets === 1000)!;
rows.push([
  'this build: one org secret with selected 1000 repositories, virtual clock',
  sec(orgFan.virtualMs),
  `${orgFan.githubWrites} write against ${repoFan.githubWrites} for 1000 repository secrets (${sec(repoFan.virtualMs)}); ${orgFan.githubCalls} GitHub calls, one repository id lookup each (reads are not paced); real ${sec(orgFan.realMs)}, CPU ${sec(orgFan.cpuMs)}`,
]);
rows.push([
  'this build: fan-out, 1000 repositories, App sign-in under all four secondary limits, virtual clock',
  sec(limitedFan.virtualMs),
  `${limitedFan.limited} requests answered by a limit; ${(limitedFan.githubCalls / 1000).toFixed(2)} GitHub calls per target (${limitedFan.githubCalls}, token mints and limited answers included); real ${sec(limitedFan.realMs)}, CPU ${sec(limitedFan.cpuMs)}`,
]);
for (const v of lockOut)
  rows.push([
    `this build: CSP regenerate lock-out window, ${v.targets} target(s), virtual clock`,
    sec(v.lockOutMs),
    `rotating answer → last read-back answered; pacing floor ${sec((v.targets - 1) * WRITE_INTERVAL_MS)} (requests take no time on this clock)`,
  ]);
for (const p of paths)
  rows.push([
    `this build: ${p.provider}, 1 repository, ${PATH_LATENCY_MS} ms per request`,
    `${p.ms.toFixed(0)} ms`,
    `${p.path.length} sequential round trips of ${p.requests} requests; rotating answer → last read-back ${p.lockOutMs.toFixed(0)} ms`,
  ]);
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}-${process.arch}`;
const measured = new Set(rows.map((r) => sameMeasure(r[0])));
const table = [
  `| measure (median) | value | before (${previous.date}) | note |`,
  '|---|---|---|---|',
  ...rows.map(
    ([m, v, n]) => `| ${m} | ${v} | ${previous.rows.get(sameMeasure(m))?.value ?? '—'} | ${n} |`,
  ),
].join('\n');
const earlier = [...previous.rows].filter(([m]) => !measured.has(m));
const earlierTable = earlier.length
  ? `\n\nFrom the previous results (${previous.date}), not measured in this run (other builds, the peer):\n\n| measure (median) | value |\n|---|---|\n${earlier.map(([, { measure, value }]) => `| ${measure} | ${value} |`).join('\n')}`
  : '';
const pathList = paths
  .map(
    (p) =>
      `- ${p.provider} (${p.ms.toFixed(0)} ms, ${p.path.length} round trips): ${p.path.map((x) => `${x.label} [${x.from.toFixed(0)}–${x.to.toFixed(0)}]`).join(' → ')}${p.beside.length ? `; beside the path: ${p.beside.join(', ')}` : ''}`,
  )
  .join('\n');
const examples = [
  ...builds.map((b, i) => `- ${b.name}, rotation: ${full[i]!.example}`),
  ...(PEER ? [`- peer: ${peer.example}`] : []),
  `- floor: ${floor.example}`,
].join('\n');
const report = `# Benchmark results

Machine: ${machine}. Whole-process runs per figure: ${RUNS}, interleaved round by round (fan-out: ${fanRuns.length}). Date: ${new Date().toISOString()}.${peerNote}

Column "before": the figure of the same measure in the previous \`bench/results.md\` (${previous.date}, machine: ${previous.machine}), when it had one. Another run, perhaps another machine: set ratios side by side (\`node -e 0\` is in both), not milliseconds.

${table}${earlierTable}

Virtual clock (fan-outs, lock-out window): the event clock of \`__tests__/scale.test.ts\`, the action run in
process as src/main.ts wires it (token sign-in unless said), against the emulators on loopback; time moves only
while the run is idle, so a request takes no time on it and the figure is GitHub's one-second pacing plus whatever
the action waits beyond it. The pacing floor of N writes is N − 1 seconds. Real and CPU time are this process's,
emulators included. Before each whole-process rotation every target secret was last written a day earlier, as in a
scheduled rotation (a run right after the previous one waits up to a second for GitHub's clock to pass that write's
second).

Critical paths (${PATH_LATENCY_MS} ms added to every request at every emulator, one repository target, the bundle as the
runner starts it; the longest chain of requests each sent after the one before it was answered, ms from process
start to arrival and answer at the emulator):

${pathList}

Timeline of the last run of each (ms from process start to each request being answered by the emulators, then to exit):

${examples}

Produced by \`npm run bench\` (scripts/bench.ts) on the local emulators; the machine is shared, so compare figures from the same run.
`;
console.log(report);
mkdirSync(new URL('../bench/', import.meta.url), { recursive: true });
writeFileSync(resultsFile, report);
