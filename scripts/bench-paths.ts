// Parts of `npm run bench` (scripts/bench.ts) that run the action in process or read request logs:
// (1) large fan-outs and (2) the lock-out window of CSP `regenerate`, both on the event clock of the
// 1,000-target scale test (__tests__/scale.test.ts), where GitHub's one-second pacing costs no real
// time; (3) the critical path of a one-target rotation per provider, from the emulators' request log
// (when each request arrived, when it was answered).
import type { GitHubLimits } from '../__tests__/emulators/github.ts';
import type { LoggedRequest } from '../__tests__/emulators/server.ts';
import { REPO, SECRET_NAME, startWorld } from '../__tests__/fixtures.ts';
import type { ProviderName } from '../src/providers/index.ts';

/** The start of every virtual run (the clock the action and the emulators read). */
const START = Date.parse('2026-12-01T03:00:00Z');

export interface VirtualRun {
  readonly targets: number;
  /** Virtual time from the start of the run to its report. */
  readonly virtualMs: number;
  /** Real time and CPU time (user + system) of this process meanwhile, emulators included. */
  readonly realMs: number;
  readonly cpuMs: number;
  readonly githubCalls: number;
  /** GitHub's content-creating requests (POST, PUT, PATCH): the writes its pacing spaces. */
  readonly githubWrites: number;
  readonly providerCalls: number;
  /** Virtual time from the rotating call's answer to the last target's read-back answered. */
  readonly lockOutMs: number;
  /** Secondary limits met (403 with Retry-After), when limits were set. */
  readonly limited: number;
}

/**
 * One CSP rotation (`regenerate`, the default: the old secret dies at once) into `n` repository
 * targets, run in process as src/main.ts wires it, on an event clock that moves only when the run is
 * idle: requests take no virtual time, every sleep (GitHub's pacing, Retry-After) none of real time.
 * Throws unless every target ends up holding the new secret. `orgSelected`: instead, one organization
 * secret (`org octo selected ...`) given to the `n` repositories.
 */
export async function virtualRotation(
  n: number,
  o: { app?: boolean; limits?: GitHubLimits; orgSelected?: boolean } = {},
): Promise<VirtualRun> {
  // Loaded only here: the whole-process figures are measured before this module's work starts.
  const { setClock } = await import('../src/clock.ts');
  const { parseInputs } = await import('../src/inputs/index.ts');
  const { execute } = await import('../src/wire.ts');
  const { EventClock, fastZeroTimeouts, RunProcess } =
    await import('../__tests__/search-process.ts');
  const proc = new RunProcess();
  const clock = new EventClock(START, () => proc.inFlight > 0);
  const repos = Array.from({ length: n }, (_, i) => `octo/svc-${String(i).padStart(4, '0')}`);
  const w = await startWorld('vmware-csp', {
    now: clock.now,
    repos,
    ...(o.app ? { app: true } : {}),
  });
  if (o.limits) w.github.limits = o.limits;
  const inputs = w.inputs({
    targets: o.orgSelected
      ? `org octo selected ${repos.join(' ')}`
      : repos.map((r) => `repo ${r}`).join('\n'),
    'store-timeout': '3h',
    'max-targets': String(n),
  });
  setClock(clock);
  const undo = fastZeroTimeouts();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    const report = await proc.run(() =>
      execute(
        parseInputs((name) => inputs[name] ?? '', { GITHUB_REPOSITORY: REPO }),
        {
          mask: () => undefined,
          info: () => undefined,
          warn: () => undefined,
          idToken: () => Promise.reject(new Error('no OIDC here')),
        },
      ),
    );
    const realMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const virtualMs = clock.now() - START;
    if (report.outcome !== 'rotated')
      throw new Error(`virtual fan-out to ${n}: ${report.outcome}: ${report.failure ?? ''}`);
    const current = w.currentSecret();
    const org = w.github.secret('org:octo', SECRET_NAME);
    const held = o.orgSelected
      ? org?.value === current
        ? (org.selected_repository_ids ?? []).length
        : 0
      : repos.filter((r) => w.github.secret(`repo:${r}`, SECRET_NAME)?.value === current).length;
    if (held !== n) throw new Error(`virtual fan-out to ${n}: ${held} repositories get it`);
    const rotating = w.csp!.requests.find((r) => r.method === 'PUT' && r.path.endsWith('/secret'));
    const verified = w.github.requests.filter(
      (r) => r.method === 'GET' && r.path.endsWith(`/actions/secrets/${SECRET_NAME}`),
    );
    return {
      targets: n,
      virtualMs,
      realMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      githubCalls: w.github.requests.length,
      githubWrites: w.github.requests.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method))
        .length,
      providerCalls: w.csp!.requests.length,
      lockOutMs: verified.at(-1)!.at - rotating!.at,
      limited: w.github.limited.length,
    };
  } finally {
    undo();
    setClock();
    await w.close();
  }
}

/** The provider's calls that make or save the new secret (the contract test's "once" calls). */
const ROTATING: Record<ProviderName, (r: LoggedRequest) => boolean> = {
  'vmware-csp': (r) => r.method === 'PUT' && /\/oauth-apps\/[^/]+\/secret$/.test(r.path),
  whmcs: (r) => new URLSearchParams(r.body).get('action') === 'UpdateOAuthCredential',
  entra: (r) => r.method === 'POST' && r.path.endsWith('/addPassword'),
  // Entra's new password first, then Woodpecker's save of it: the save is the last of the two.
  woodpecker: (r) =>
    (r.method === 'POST' || r.method === 'PATCH') &&
    /\/mailboxes\/microsoft\/credentials/.test(r.path),
  auth0: (r) => r.method === 'POST' && r.path.endsWith('/rotate-secret'),
  keycloak: (r) => r.method === 'POST' && r.path.endsWith('/client-secret'),
  okta: (r) => r.method === 'POST' && r.path.endsWith('/credentials/secrets'),
  'aws-iam': (r) => new URLSearchParams(r.body).get('Action') === 'CreateAccessKey',
  'gcp-service-account': (r) =>
    r.method === 'POST' && /\/serviceAccounts\/[^/]+\/keys$/.test(r.path),
};

/** Every provider, from the table above (its type makes it complete): the critical paths measured. */
export const PATH_PROVIDERS = Object.keys(ROTATING) as ProviderName[];

interface Span {
  readonly who: string;
  readonly r: LoggedRequest;
}

/** A request as a reader recognises it: service, method, the path's end, and the form action. */
export function label(s: Span): string {
  const action =
    new URLSearchParams(s.r.body).get('action') ?? new URLSearchParams(s.r.body).get('Action');
  const segs = s.r.path.split('/').filter(Boolean);
  const path =
    (segs.length > 3 ? '…/' : '/') +
    segs
      .slice(-3)
      .map((seg) => (seg.length > 24 ? `${seg.slice(0, 8)}…` : seg))
      .join('/');
  return `${s.who} ${s.r.method} ${path}${action ? ` (${action})` : ''}`;
}

export interface CriticalPath {
  readonly provider: ProviderName;
  /** Whole process, spawn to close (median of the runs). */
  readonly ms: number;
  readonly requests: number;
  /** The longest chain of requests each sent after the one before it was answered. */
  readonly path: readonly { readonly label: string; readonly from: number; readonly to: number }[];
  /** Requests that ran beside the chain. */
  readonly beside: readonly string[];
  /** The rotating call's answer to the last read-back of a target answered (real ms). */
  readonly lockOutMs: number;
}

/**
 * The longest chain of requests, each sent after the one before it was answered: with a fixed
 * latency on every request, what the run waits for one after the other.
 */
export function longestChain(spans: readonly Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a.r.receivedAt - b.r.receivedAt);
  const best: { len: number; prev: number }[] = [];
  for (const [j, s] of sorted.entries()) {
    let cur = { len: 1, prev: -1 };
    for (let i = 0; i < j; i++)
      if (sorted[i]!.r.at <= s.r.receivedAt && best[i]!.len + 1 > cur.len)
        cur = { len: best[i]!.len + 1, prev: i };
    best.push(cur);
  }
  let end = -1;
  for (const [i, b] of best.entries())
    if (
      end < 0 ||
      b.len > best[end]!.len ||
      (b.len === best[end]!.len && sorted[i]!.r.at > sorted[end]!.r.at)
    )
      end = i;
  const chain: Span[] = [];
  for (let i = end; i >= 0; i = best[i]!.prev) chain.unshift(sorted[i]!);
  return chain;
}

/**
 * A one-target rotation per provider with `latencyMs` added to every request at every emulator,
 * through the bundle (dist/index.js) as the runner starts it, `runs` times (a new world each); the
 * path and the requests are the last run's, the time the median.
 */
export async function criticalPath(
  provider: ProviderName,
  latencyMs: number,
  runs: number,
): Promise<CriticalPath> {
  const times: number[] = [];
  let spans: Span[] = [];
  let t0 = 0;
  // A fresh world each run: a second rotation would meet the first one's secrets (Okta and IAM
  // allow two at a time) and the retire step of the first.
  for (let i = 0; i < runs; i++) {
    const w = await startWorld(provider);
    const emulators = [
      { who: 'github', e: w.github },
      ...w.providerEmulators.map((e, k) => ({
        who: provider === 'woodpecker' ? ['entra', 'woodpecker'][k]! : provider,
        e,
      })),
    ];
    for (const { e } of emulators) e.fault('*', /.*/, { delayMs: latencyMs });
    try {
      t0 = Date.now();
      const run = await w.run();
      if (run.code !== 0)
        throw new Error(`${provider} with ${latencyMs} ms latency failed:\n${run.stdout}`);
      times.push(run.ms);
      spans = emulators.flatMap(({ who, e }) => e.requests.map((r) => ({ who, r })));
    } finally {
      await w.close();
    }
  }
  const chain = longestChain(spans);
  const rotating = spans.find((s) => ROTATING[provider](s.r));
  const verified = spans.filter(
    (s) =>
      s.who === 'github' &&
      s.r.method === 'GET' &&
      s.r.path.endsWith(`/actions/secrets/${SECRET_NAME}`),
  );
  const sortedTimes = [...times].sort((a, b) => a - b);
  return {
    provider,
    ms: sortedTimes[Math.floor(sortedTimes.length / 2)]!,
    requests: spans.length,
    path: chain.map((s) => ({ label: label(s), from: s.r.receivedAt - t0, to: s.r.at - t0 })),
    beside: spans.filter((s) => !chain.includes(s)).map(label),
    lockOutMs: rotating && verified.length ? verified.at(-1)!.r.at - rotating.r.at : Number.NaN,
  };
}
