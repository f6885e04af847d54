// Placeholder until the provider lands.
import type { WoodpeckerSettings } from '../inputs/index.js';
import { type Provider, type ProviderDeps, ProviderError } from './types.js';

export function createWoodpecker(_s: WoodpeckerSettings, _deps: ProviderDeps): Provider {
  const no = (): never => {
    throw new ProviderError('provider woodpecker is not implemented yet');
  };
  return { preflight: no, rotate: no, retirePrevious: no, abandon: no };
}
