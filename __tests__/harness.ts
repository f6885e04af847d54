// Runs the action as the runner does, with INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
// files, then reads back everything it printed and wrote: as the bundle, `node dist/index.js` in its
// own process (files that call `useBundle()`, options only a process has, or E2E_BUNDLE=1 for every
// run), or in this process through the same entry (in-process.ts), which costs a tenth of the time.
import { AsyncLocalStorage } from 'node:async_hooks';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aroundEach } from 'vitest';

export const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const COMPILE_CACHE = join(tmpdir(), 'rotate-client-secret-action-compile-cache');

export interface Run {
  readonly code: number | null;
  /** The signal that ended the process, when one did (SIGKILL: killed before it could exit). */
  readonly signal?: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputs: Record<string, string>;
  readonly summary: string;
  /** Lines of stdout that are workflow commands `::error::`, `::warning::`, `::add-mask::`. */
  readonly errors: string[];
  readonly warnings: string[];
  readonly masks: string[];
  readonly ms: number;
  /** Where it ran: `node dist/index.js` in a process of its own, or src/main.ts in this one. */
  readonly process: 'bundle' | 'in-process';
}

/** E2E_BUNDLE=1: every run of the suite spawns the bundle. */
const everyRun = process.env['E2E_BUNDLE'] === '1';
/** Set while a test runs whose suite or file called `useBundle()`. */
const bundleScope = new AsyncLocalStorage<true>();

/**
 * Every run of the tests of the calling suite (or file, at the top level) spawns `node dist/index.js`:
 * the contract table and one suite per provider, so that the bundle, as users get it, runs every
 * provider's main paths. Registers an `aroundEach` hook, so that concurrent tests keep their scope.
 */
export function useBundle(): void {
  aroundEach(async (runTest) => {
    await bundleScope.run(true, runTest);
  });
}

export interface RunOptions {
  /** true: spawn the bundle for this run; false: run in process even under `useBundle()` or E2E_BUNDLE=1. */
  readonly bundle?: boolean;
  /** Extra environment, e.g. GITHUB_REPOSITORY or the OIDC request variables. */
  readonly env?: Record<string, string>;
  /** Kill the process after this long (a test of bounded time fails rather than hangs). */
  readonly killAfterMs?: number;
  /** Arguments for node before the script, e.g. V8 tracing flags. */
  readonly nodeArgs?: readonly string[];
  /** Told the process once it is started, e.g. to send it signals as the runner does. */
  readonly onSpawn?: (child: ChildProcess) => void;
}

/**
 * Node arguments that pin the action's clock (`Date.now`, which src/clock.ts reads) to `atMs`, moving
 * on one millisecond per real second: runs given the same `atMs` fall into the same second however
 * long each takes (a re-run within the same second). Real timers still run, so waits stay real.
 */
export function pinnedClock(atMs: number): string[] {
  return [
    `--import=data:text/javascript,const t=${Math.floor(atMs)},s=performance.now();Date.now=()=>t+Math.floor((performance.now()-s)/1000);`,
  ];
}

/** The runner's name for input `foo-bar`: `INPUT_FOO-BAR`. */
export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]),
  );
}

export async function runAction(
  inputs: Record<string, string>,
  options: RunOptions = {},
): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'rotate-run-'));
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? dir,
    RUNNER_TEMP: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    // V8's code cache for the bundle, shared by every run of the suite: the same code, compiled once
    // (about 15 ms less CPU a run, over a thousand runs). Node checks it against the file's contents.
    NODE_COMPILE_CACHE: COMPILE_CACHE,
    ...options.env,
    ...inputEnv(inputs),
  };
  const started = Date.now();
  const spawned =
    !!(options.nodeArgs || options.onSpawn || options.killAfterMs) ||
    (options.bundle ?? (everyRun || bundleScope.getStore() === true));
  const [code, signal, stdout, stderr] = spawned
    ? await spawnBundle(env, options)
    : // Loaded on first use: a caller that only spawns the bundle (npm run demo) never loads src/.
      await import('./in-process.ts').then(({ runInProcess }) =>
        runInProcess(env).then((r) => [r.code, null, r.stdout, r.stderr] as const),
      );
  const ms = Date.now() - started;
  const outputs = parseOutputFile(readFileSync(outputFile, 'utf8'));
  const summary = readFileSync(summaryFile, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  const lines = stdout.split('\n');
  const pick = (prefix: string): string[] =>
    lines.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
  return {
    code,
    signal,
    stdout,
    stderr,
    outputs,
    summary,
    errors: lines
      .filter((l) => l.startsWith('::error'))
      .map((l) => l.replace(/^::error[^:]*::/, '')),
    warnings: lines
      .filter((l) => l.startsWith('::warning'))
      .map((l) => l.replace(/^::warning[^:]*::/, '')),
    masks: pick('::add-mask::'),
    ms,
    process: spawned ? 'bundle' : 'in-process',
  };
}

async function spawnBundle(
  env: Record<string, string>,
  options: RunOptions,
): Promise<readonly [number | null, NodeJS.Signals | null, string, string]> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), DIST], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = options.killAfterMs
    ? setTimeout(() => child.kill('SIGKILL'), options.killAfterMs)
    : undefined;
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  if (timer) clearTimeout(timer);
  return [code, signal, stdout, stderr];
}

/** GITHUB_OUTPUT holds `name<<DELIMITER`, the value's lines, then `DELIMITER`. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i]!);
    if (!m) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!);
    out[m[1]!] = value.join('\n');
  }
  return out;
}

/**
 * Every place a secret could leak to: stdout except the `::add-mask::` lines (the only line allowed
 * to carry a secret, because that is how the runner learns to hide it), stderr, outputs and summary.
 * Returns a description of each leak found; tests expect an empty list.
 */
export function findLeaks(run: Run, secrets: readonly string[]): string[] {
  const places: [string, string][] = [
    [
      'stdout',
      run.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
    ],
    ['stderr', run.stderr],
    ['summary', run.summary],
    ...Object.entries(run.outputs).map(([k, v]): [string, string] => [`output ${k}`, v]),
  ];
  const leaks: string[] = [];
  for (const secret of secrets) {
    if (secret.length < 6) throw new Error(`test secret '${secret}' is too short to scan for`);
    const forms = [
      secret,
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('base64url'),
      encodeURIComponent(secret),
    ];
    for (const [where, text] of places) {
      for (const form of forms)
        if (text.includes(form))
          leaks.push(
            `${where} contains a secret (${form === secret ? 'plain' : 'encoded'}) starting ${secret.slice(0, 3)}…`,
          );
    }
  }
  return leaks;
}

/** One entry of output `targets`. */
export interface TargetResult {
  readonly target: string;
  readonly secret: string;
  readonly status: string;
}

/** Output `targets`, parsed; empty when the action did not set it. */
export function targets(run: Run): TargetResult[] {
  return JSON.parse(run.outputs['targets'] ?? '[]') as TargetResult[];
}

/** Index of the first stdout line containing `text`, for order-of-effects assertions. */
export function lineOf(run: Run, predicate: (line: string) => boolean): number {
  return run.stdout.split('\n').findIndex(predicate);
}
