// Placeholder until the provider lands.
import type { WhmcsSettings } from '../inputs/index.js';
import { type Provider, type ProviderDeps, ProviderError } from './types.js';

export function createWhmcs(_s: WhmcsSettings, _deps: ProviderDeps): Provider {
  const no = (): never => {
    throw new ProviderError('provider whmcs is not implemented yet');
  };
  return { preflight: no, rotate: no, retirePrevious: no, abandon: no };
}
