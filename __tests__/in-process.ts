// The action run in this process, through the same entry as the bundle (src/main.ts `run()`), for
// the end-to-end tests that do not need the bundle itself: a spawned `node dist/index.js` costs about
// 140 ms of CPU, almost all of it loading the bundle, and the suite makes about a thousand runs.
// What the runner gives a process, each run gets its own, by AsyncLocalStorage: its environment
// (`INPUT_*`, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, read by @actions/core at each call), its stdout
// and stderr, and its set of known secrets (src/untrusted.ts), so that concurrent runs neither see
// nor mask each other's. The exit code is what @actions/core's `setFailed` (the action's only way to
// fail, src/untrusted.ts `log.fail`) says with its `::error::` line, or 1 when `run()` throws, as
// an uncaught error ends the process.
//
// What only a process can show stays with the bundle (harness.ts `runAction` with `bundle`): signals
// and grace periods, the pinned clock, the exit code itself, the bundle's own start-up.
import { AsyncLocalStorage } from 'node:async_hooks';
import { setSecretSet } from '../src/untrusted.ts';

interface Process {
  readonly env: Record<string, string>;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly secrets: Set<string>;
}

const current = new AsyncLocalStorage<Process>();
let installed = false;

/** Routes process.env, stdout, stderr and the known secrets to the run in whose context they are used. */
function install(): void {
  if (installed) return;
  installed = true;
  const real = process.env;
  const env = (): Record<string, string | undefined> => current.getStore()?.env ?? real;
  process.env = new Proxy(real, {
    get: (_, k) => (typeof k === 'string' ? env()[k] : undefined),
    set: (_, k, v) => {
      if (typeof k === 'string') env()[k] = String(v);
      return true;
    },
    has: (_, k) => typeof k === 'string' && k in env(),
    deleteProperty: (_, k) => (typeof k === 'string' ? delete env()[k] : true),
    ownKeys: () => Reflect.ownKeys(env()),
    getOwnPropertyDescriptor: (_, k) => {
      if (typeof k !== 'string' || !(k in env())) return undefined;
      return { value: env()[k], writable: true, enumerable: true, configurable: true };
    },
  });
  for (const [stream, key] of [
    [process.stdout, 'stdout'],
    [process.stderr, 'stderr'],
  ] as const) {
    const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      const run = current.getStore();
      if (!run) return write(chunk, ...rest);
      run[key].push(
        typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(),
      );
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      if (done) queueMicrotask(done);
      return true;
    }) as typeof stream.write;
  }
  const own = new Set<string>();
  setSecretSet(() => current.getStore()?.secrets ?? own);
}

export interface InProcessResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the action once with `env` as its whole environment. */
export async function runInProcess(env: Record<string, string>): Promise<InProcessResult> {
  install();
  const { run } = await import('../src/main.ts');
  const proc: Process = { env: { ...env }, stdout: [], stderr: [], secrets: new Set() };
  let threw = false;
  await current.run(proc, async () => {
    try {
      await run();
    } catch (err) {
      threw = true;
      proc.stderr.push(`${(err as Error).stack ?? String(err)}\n`);
    }
  });
  // `setFailed` set the exit code of this process (the test worker's): the run's own is below.
  process.exitCode = undefined;
  const stdout = proc.stdout.join('');
  const failed = threw || stdout.split('\n').some((l) => l.startsWith('::error::'));
  return { code: failed ? 1 : 0, stdout, stderr: proc.stderr.join('') };
}
