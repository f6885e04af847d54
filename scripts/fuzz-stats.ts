// What `npm run fuzz -- --stats` prints: how many drawn faults hit a request, per variant, and per
// kind on the rotating call (see ROTATING in __tests__/search-schedule.ts).
import { type FaultTally, faultStats, KINDS, ROTATING, type Variant } from '../__tests__/search.ts';

const pct = (a: number, b: number): string => (b ? `${((100 * a) / b).toFixed(0)} %` : '-');

export function printStats(variants: readonly Variant[], all: boolean): void {
  for (const variant of variants) {
    const rows = [...faultStats.entries()]
      .map(([k, t]) => ({ k: k.split('\t'), t }))
      .filter((r) => r.k[0] === variant);
    const sum = (f: (r: { k: string[]; t: FaultTally }) => boolean) =>
      rows
        .filter(f)
        .reduce((a, r) => ({ d: a.d + r.t.drawn, a: a.a + r.t.applied }), { d: 0, a: 0 });
    const total = sum(() => true);
    const rot = sum((r) => ROTATING[variant].includes(r.k[1]!));
    console.log(
      `${variant}: ${total.d} faults drawn, ${total.a} applied (${pct(total.a, total.d)}); on the rotating call ${rot.d} drawn, ${rot.a} applied (${pct(rot.a, rot.d)})`,
    );
    for (const route of ROTATING[variant]) {
      const cells = KINDS.map((kind) => {
        const t = faultStats.get(`${variant}\t${route}\t${kind}`);
        return `${kind} ${t?.applied ?? 0}/${t?.drawn ?? 0}`;
      });
      console.log(`  ${route} (applied/drawn): ${cells.join(', ')}`);
    }
    if (all)
      for (const r of rows.sort((a, b) => a.k[1]!.localeCompare(b.k[1]!)))
        console.log(`  ${r.k[1]} ${r.k[2]}: ${r.t.applied}/${r.t.drawn} applied, ${r.t.hits} hits`);
  }
}
