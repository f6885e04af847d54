// Lets plain Node 24 (type stripping) run src/: its imports name `.js` files, as the TypeScript
// compiler and ncc want; where no such file exists, the `.ts` beside it runs instead.
//   node --import ./scripts/resolve-ts.mjs scripts/x.mjs
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL) {
      const js = new URL(specifier, context.parentURL);
      const ts = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (!existsSync(fileURLToPath(js)) && existsSync(fileURLToPath(ts)))
        return next(ts.href, context);
    }
    return next(specifier, context);
  },
});
