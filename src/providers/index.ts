// The typed registry: a provider named in the inputs without an entry here fails to compile.
import type { ProviderName, ProviderSettings } from '../inputs/index.js';
import { createCsp } from './csp.js';
import { createEntra } from './entra.js';
import type { Provider, ProviderDeps } from './types.js';
import { createWhmcs } from './whmcs.js';
import { createWoodpecker } from './woodpecker.js';

type Factories = {
  [N in ProviderName]: (
    settings: Extract<ProviderSettings, { name: N }>,
    deps: ProviderDeps,
  ) => Provider;
};

const factories = {
  'vmware-csp': createCsp,
  whmcs: createWhmcs,
  entra: createEntra,
  woodpecker: createWoodpecker,
} satisfies Factories;

export function createProvider(settings: ProviderSettings, deps: ProviderDeps): Provider {
  return (factories[settings.name] as (s: ProviderSettings, d: ProviderDeps) => Provider)(
    settings,
    deps,
  );
}
