// The layers of src/, bottom to top (ARCHITECTURE.md draws them). A module may import its own layer
// and the layers below it, never one above, and no import may close a cycle. `npm run lint` runs this.
const BASE = '^src/(clock|stop|untrusted|retry|policy|undici|http)\\.ts$';
const FIELDS = '^src/inputs/(fields|targets|patterns|common|signin|issue)\\.ts$';
const VOCABULARY = '^src/(report|destination|providers/types)\\.ts$';
const PROVIDERS = '^src/providers/';
const GITHUB = '^src/github/';
const SETTINGS = '^src/inputs/index\\.ts$';
const FEATURES =
  '^src/(pipeline|preflight|rotate|after-rotation|writes|check|due|expand|previous|issue|summary|escrow)\\.ts$';
const ENTRY = '^src/(index|main|wire)\\.ts$';

const layer = (name, from, allowed) => ({
  name,
  severity: 'error',
  comment: `${name}: may import only ${allowed.join(', ')}`,
  from: { path: from },
  to: { path: '^src/', pathNot: allowed },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    layer('base', BASE, [BASE, '^src/undici-lib\\.d\\.ts$']),
    layer('fields', FIELDS, [BASE, FIELDS]),
    layer('vocabulary', VOCABULARY, [BASE, FIELDS, VOCABULARY]),
    layer('providers', PROVIDERS, [BASE, FIELDS, VOCABULARY, PROVIDERS]),
    layer('github', GITHUB, [BASE, FIELDS, VOCABULARY, GITHUB]),
    layer('settings', SETTINGS, [BASE, FIELDS, VOCABULARY, PROVIDERS]),
    layer('features', FEATURES, [BASE, FIELDS, VOCABULARY, PROVIDERS, GITHUB, SETTINGS, FEATURES]),
    {
      name: 'every-module-in-a-layer',
      severity: 'error',
      comment: 'a new module belongs to a layer: add it to one of the patterns above',
      from: {
        path: '^src/',
        pathNot: [BASE, FIELDS, VOCABULARY, PROVIDERS, GITHUB, SETTINGS, FEATURES, ENTRY],
      },
      to: {},
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^dist/', '^__tests__/'] },
  },
};
