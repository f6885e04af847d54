// Placeholder until the provider lands.
import type { EntraSettings } from '../inputs/index.js';
import { type Provider, type ProviderDeps, ProviderError } from './types.js';

export function createEntra(_s: EntraSettings, _deps: ProviderDeps): Provider {
  const no = (): never => {
    throw new ProviderError('provider entra is not implemented yet');
  };
  return { preflight: no, rotate: no, retirePrevious: no, abandon: no };
}
