// The typed registry: the one list of providers. A new provider is one module beside this file
// (inputs, parser, implementation) and one line here.
import { auth0 } from './auth0.js';
import { awsIam } from './aws-iam.js';
import { csp } from './csp.js';
import { entra } from './entra.js';
import { gcpServiceAccount } from './gcp-service-account.js';
import { keycloak } from './keycloak.js';
import { okta } from './okta.js';
import type { Provider, ProviderDeps, ProviderModule } from './types.js';
import { whmcs } from './whmcs.js';
import { woodpecker } from './woodpecker.js';

export const providers = {
  'vmware-csp': csp,
  whmcs,
  entra,
  woodpecker,
  auth0,
  keycloak,
  okta,
  'aws-iam': awsIam,
  'gcp-service-account': gcpServiceAccount,
} satisfies Record<string, ProviderModule<{ readonly name: string }>>;

export type ProviderName = keyof typeof providers;

/** Each provider's settings, told apart by `name`. */
export type ProviderSettings = {
  [N in ProviderName]: ReturnType<(typeof providers)[N]['parse']>;
}[ProviderName];

// Every entry's settings carry the entry's own name: createProvider dispatches on it.
const _named: { readonly [N in ProviderName]: ProviderModule<{ readonly name: N }> } = providers;

export function createProvider(settings: ProviderSettings, deps: ProviderDeps): Provider {
  const module = providers[settings.name] as ProviderModule<ProviderSettings>;
  return module.create(settings, deps);
}
