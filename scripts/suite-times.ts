// Per-file times of the test suite, side by side, from vitest's JSON reports:
//   npx vitest run --reporter=json --outputFile=after.json
//   node --import ./scripts/resolve-ts.mjs scripts/suite-times.ts before.json after.json [more.json]
// Prints a markdown table (file, tests, seconds per report), slowest first by the last report.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Report {
  readonly startTime: number;
  readonly testResults: readonly {
    readonly name: string;
    readonly startTime: number;
    readonly endTime: number;
    readonly assertionResults: readonly unknown[];
  }[];
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: suite-times.ts REPORT.json [REPORT.json ...]\n');
  process.exit(2);
}
const reports = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Report);
const short = (name: string): string => name.replace(/^.*__tests__\//, '');
const times = reports.map(
  (r) =>
    new Map(
      r.testResults.map((t) => [
        short(t.name),
        { s: (t.endTime - t.startTime) / 1000, n: t.assertionResults.length },
      ]),
    ),
);
const last = times.at(-1)!;
const names = [...new Set(times.flatMap((m) => [...m.keys()]))].sort(
  (a, b) => (last.get(b)?.s ?? 0) - (last.get(a)?.s ?? 0),
);
const cell = (m: (typeof times)[number], n: string): string =>
  m.has(n) ? m.get(n)!.s.toFixed(1) : '—';
const wall = (r: Report): string =>
  (
    (Math.max(...r.testResults.map((t) => t.endTime)) -
      Math.min(...r.testResults.map((t) => t.startTime))) /
    1000
  ).toFixed(1);
const lines = [
  `| file | tests | ${files.map((f) => `${basename(f, '.json')} (s)`).join(' | ')} |`,
  `|---|---:|${files.map(() => '---:').join('|')}|`,
  ...names.map(
    (n) => `| ${n} | ${last.get(n)?.n ?? '—'} | ${times.map((m) => cell(m, n)).join(' | ')} |`,
  ),
  `| **first file started → last file ended** | | ${reports.map(wall).join(' | ')} |`,
  `| sum of file times | | ${times.map((m) => [...m.values()].reduce((a, x) => a + x.s, 0).toFixed(1)).join(' | ')} |`,
];
process.stdout.write(`${lines.join('\n')}\n`);
