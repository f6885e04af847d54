import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';
registerHooks({ resolve(specifier, context, next) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL) {
      const ts = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (!existsSync(fileURLToPath(new URL(specifier, context.parentURL))) && existsSync(ts)) return next(ts.href, context);
    }
    return next(specifier, context); } });
const fc = (await import('fast-check')).default;
const { runSchedule, scheduleArb, VARIANTS } = await import('../__tests__/search.ts');
const n = Number(process.argv[2] ?? 300);
for (const variant of VARIANTS) {
  const groups = new Map<string, { count: number; ex: any; log: string[] }>();
  for (const s of fc.sample(scheduleArb(variant), { numRuns: n, seed: Number(process.argv[3] ?? 3) })) {
    const o = await runSchedule(s);
    for (const v of o.violations) {
      const key = v.replace(/\d+/g, 'N').slice(0, 90);
      const g = groups.get(key);
      const size = JSON.stringify(s.faults).length;
      if (!g) groups.set(key, { count: 1, ex: s, log: o.log });
      else { g.count++; if (size < JSON.stringify(g.ex.faults).length) { g.ex = s; g.log = o.log; } }
    }
  }
  console.log(`## ${variant}`);
  for (const [k, g] of groups) console.log(`  ${g.count}x ${k}\n     ${JSON.stringify(g.ex.faults)} prop=${g.ex.propagationMs} old=${g.ex.oldByAction} key=${g.ex.recoveryKey} st=${g.ex.storeTimeout}\n     ${g.log.filter(l=>/::|Retired|Undid/.test(l)).map(l=>l.slice(0,250)).join('\n     ')}`);
}
