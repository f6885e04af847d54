// One place that sets up a world for each provider: the GitHub emulator, the provider's emulator(s),
// the inputs for a full rotation, and every secret the world knows, for leak scans.
import { startAuth0, type Auth0Emulator } from './emulators/auth0.ts';
import { startAwsIam, type AwsIamEmulator } from './emulators/aws-iam.ts';
import { startCsp, type CspEmulator } from './emulators/csp.ts';
import { startEntra, type EntraEmulator } from './emulators/entra.ts';
import { startGcp, type GcpEmulator } from './emulators/gcp.ts';
import type { App } from './emulators/github-apps.ts';
import {
  type KeycloakEmulator,
  type SecretRotationPolicy,
  startKeycloak,
} from './emulators/keycloak.ts';
import { startGitHub, type GitHubEmulator } from './emulators/github.ts';
import { startOkta, type OktaEmulator } from './emulators/okta.ts';
import type { Emulator } from './emulators/server.ts';
import { startWhmcs, type WhmcsEmulator } from './emulators/whmcs.ts';
import { startWoodpecker, type WoodpeckerEmulator } from './emulators/woodpecker.ts';
import { inputEnv, type Run, type RunOptions, runAction } from './harness.ts';
import { generateKeyPairSync } from 'node:crypto';
import type { ProviderName } from '../src/providers/index.ts';

export type { ProviderName };
// The providers that have a world here; the contract test checks it against src's registry.
export const PROVIDERS: readonly ProviderName[] = [
  'vmware-csp',
  'whmcs',
  'entra',
  'woodpecker',
  'auth0',
  'keycloak',
  'okta',
  'aws-iam',
  'gcp-service-account',
];

export const REPO = 'octo/app';
export const ORG = 'octo';
export const SECRET_NAME = 'CLIENT_SECRET';
export const CSP_ORG = '7f9c2b1e-0d6a-4e53-9a8f-2c4b6d1e3a70';
export const CSP_APP = 'nightly-build-bot';
export const TENANT = '0b1e7c3d-5f2a-4c8e-9d6b-1a2b3c4d5e6f';
export const APP_ID = 'e1c6ac69-480e-4a17-9b85-3467967bd179';
export const MANAGER_ID = '5d1f0c2a-7b3e-4f6a-8c9d-0e1f2a3b4c5d';
export const WHMCS_CREDENTIAL = 7;
export const WOODPECKER_CREDENTIAL = 22334455;
/** Auth0: the application whose secret rotates, the one that manages it, and the API it calls. */
export const AUTH0_CLIENT = 'kT3bQ9rXwP2mN7vL4sY8cZ1dF6gH0jAe';
export const AUTH0_MANAGER = 'Mg7tQ2wErT5yUi8oPa3sDf6gHj9kLz0X';
export const AUTH0_API = 'https://api.example.com/nightly';
export const KC_REALM = 'apps';
export const KC_CLIENT = 'billing-api';
export const KC_ADMIN = 'secret-rotator';
/** The Okta OIDC app whose secret rotates, and the API service app that may sign in to manage it. */
export const OKTA_APP = '0oa1b2c3d4E5F6G7h8i9';
export const OKTA_CLIENT_ID = 'nightly-build-client';
export const OKTA_SERVICE = '0oaServiceApp0000001';
export const OKTA_KID = 'rotator-key-1';
/** AWS: the IAM user whose access key rotates, its key before the run, and the role the run signs in as. */
export const AWS_USER = 'nightly-deployer';
export const AWS_OLD_KEY_ID = 'AKIAOLDKEY0000000001';
export const AWS_ROLE = 'secret-rotator';
/** Google Cloud: the service account whose key rotates (its key before the run holds OLD_SECRET as its file) and the one the run acts as. */
export const GCP_SA = 'nightly-deployer@my-project.iam.gserviceaccount.com';
export const GCP_ROTATOR = 'key-rotator@my-project.iam.gserviceaccount.com';

/** The service app's RSA key pair (made once per process: 2048-bit generation takes a moment). */
export const oktaKeys = (() => {
  let made:
    { privatePem: string; publicPem: string; privateJwk: Record<string, unknown> } | undefined;
  return () => {
    if (!made) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      made = {
        privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        privateJwk: {
          ...privateKey.export({ format: 'jwk' }),
          kid: OKTA_KID,
          alg: 'RS256',
          use: 'sig',
        },
      };
    }
    return made;
  };
})();

/** Credentials the world hands to the action: none may ever appear in what it prints. */
export const CREDENTIALS = {
  cspApiToken: 'csp-api-token-0123456789abcdef',
  whmcsIdentifier: 'whmcs-identifier-0123',
  whmcsSecret: 'whmcs-api-secret-0123456789',
  managerSecret: 'entra-manager-secret-0123456789',
  woodpeckerKey: 'woodpecker-api-key-0123456789',
  auth0ManagerSecret: 'auth0-manager-secret-0123456789abcdef',
  keycloakAdminSecret: 'keycloak-admin-secret-0123456789',
  oktaApiToken: '00OktaApiToken0123456789abcdefABCDEF',
};
export const OLD_SECRET = 'Old-Secret-Value-0123456789!';

export interface WorldOptions {
  /** Repositories to create (default: octo/app with environment `production`). */
  readonly repos?: readonly string[];
  /** Entra propagation delay for new passwords; Auth0's for a rotated secret. */
  readonly propagationDelayMs?: number;
  /** GitHub's emulator gives every scope the same key_id string (the keys still differ). */
  readonly sameKeyIds?: boolean;
  /** Every emulator's clock (default Date.now), for runs on virtual time. */
  readonly now?: () => number;
  /** GitHub's emulator alone on this clock (its updated_at stamps and Date headers); overrides `now` there. */
  readonly githubNow?: () => number;
  /** The token GitHub's emulator accepts (default an installation token, `ghs_...`). */
  readonly githubToken?: string;
  /** How long Woodpecker holds its API key per request (default 20 ms). */
  readonly woodpeckerProcessingMs?: number;
  /** Sign in as a GitHub App installed on `octo` (all repositories) instead of with a token. */
  readonly app?: boolean;
  /** Serve GitHub's API under this path (GitHub Enterprise Server: `/api/v3`). */
  readonly githubPrefix?: string;
  /** Keycloak: the realm's secret-rotation policy (the client was stamped by it already). */
  readonly keycloakPolicy?: SecretRotationPolicy;
}

export interface World {
  readonly name: ProviderName;
  readonly github: GitHubEmulator;
  /** The GitHub App the action signs in as, when the world was started with `app`. */
  readonly app?: App;
  readonly csp?: CspEmulator;
  readonly whmcs?: WhmcsEmulator;
  readonly entra?: EntraEmulator;
  readonly woodpecker?: WoodpeckerEmulator;
  readonly auth0?: Auth0Emulator;
  readonly keycloak?: KeycloakEmulator;
  readonly okta?: OktaEmulator;
  readonly aws?: AwsIamEmulator;
  readonly gcp?: GcpEmulator;
  /** Every provider-side emulator, for "no request was made" assertions. */
  readonly providerEmulators: readonly Emulator[];
  /** Inputs for a full rotation into `repo octo/app`; `extra` overrides or adds. */
  inputs(extra?: Record<string, string>): Record<string, string>;
  /** The environment of a run as the runner would give it, inputs included (for spawnSync callers). */
  env(extra?: Record<string, string>): Record<string, string>;
  run(extra?: Record<string, string>, options?: RunOptions): Promise<Run>;
  /** The secret the provider now holds as current: what every target must contain after a rotation. */
  currentSecret(): string;
  /** Every secret and credential this world has seen, old and new, for leak scans. */
  secrets(): string[];
  close(): Promise<void>;
}

export async function startWorld(name: ProviderName, o: WorldOptions = {}): Promise<World> {
  const clock = o.now ? { now: o.now } : {};
  const github = await startGitHub({
    ...clock,
    ...(o.githubNow ? { now: o.githubNow } : {}),
    ...(o.sameKeyIds ? { sameKeyIds: true } : {}),
    ...(o.githubPrefix ? { prefix: o.githubPrefix } : {}),
    ...(o.githubToken ? { token: o.githubToken } : {}),
  });
  for (const repo of o.repos ?? [REPO]) github.addRepo(repo, { environments: ['production'] });
  github.addRepo('octo/lib', {});
  github.addOrg(ORG);
  const app = o.app ? github.apps.add({ slug: 'secret-rotator' }) : undefined;
  if (app) github.apps.install(app.id, ORG);
  const seen = new Set<string>([OLD_SECRET, ...Object.values(CREDENTIALS), github.token]);
  const base: Record<string, string> = {
    provider: name,
    ...(app
      ? { 'github-app-id': String(app.id), 'github-app-private-key': app.privateKey }
      : { 'github-token': github.token }),
    'github-api-url': github.apiUrl,
    'secret-name': SECRET_NAME,
    targets: `repo ${REPO}`,
    'request-timeout': '5s',
  };
  const runEnv: Record<string, string> = {
    GITHUB_REPOSITORY: REPO,
    GITHUB_RUN_ID: '4242',
    ACTIONS_ID_TOKEN_REQUEST_URL: github.oidcRequestUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: github.oidcRequestToken,
  };
  seen.add(github.oidcRequestToken);

  let awsEnv: Record<string, string> = {};
  let world: Omit<World, 'name' | 'github' | 'inputs' | 'env' | 'run' | 'secrets' | 'close'> & {
    extra: Record<string, string>;
  };
  switch (name) {
    case 'vmware-csp': {
      const csp = await startCsp(clock);
      csp.addApp(CSP_ORG, CSP_APP, OLD_SECRET);
      csp.addApiToken(CREDENTIALS.cspApiToken);
      world = {
        csp,
        providerEmulators: [csp],
        extra: {
          'csp-url': csp.url,
          'csp-api-token': CREDENTIALS.cspApiToken,
          'csp-org-id': CSP_ORG,
          'csp-oauth-app-id': CSP_APP,
        },
        currentSecret: () => csp.validSecrets(CSP_APP)[0]!,
      };
      break;
    }
    case 'whmcs': {
      const whmcs = await startWhmcs({
        ...clock,
        identifier: CREDENTIALS.whmcsIdentifier,
        secret: CREDENTIALS.whmcsSecret,
      });
      whmcs.addCredential({
        credentialId: WHMCS_CREDENTIAL,
        clientIdentifier: 'client-7-identifier',
        secret: OLD_SECRET,
      });
      whmcs.addCredential({
        credentialId: 8,
        clientIdentifier: 'other-client',
        secret: 'Other-Credential-Secret-8',
      });
      seen.add('Other-Credential-Secret-8');
      world = {
        whmcs,
        providerEmulators: [whmcs],
        extra: {
          'whmcs-url': whmcs.url,
          'whmcs-identifier': CREDENTIALS.whmcsIdentifier,
          'whmcs-secret': CREDENTIALS.whmcsSecret,
          'whmcs-credential-id': String(WHMCS_CREDENTIAL),
        },
        currentSecret: () => whmcs.credential(WHMCS_CREDENTIAL).clientSecret,
      };
      break;
    }
    case 'entra':
    case 'woodpecker': {
      const entra = await startEntra({
        ...clock,
        tenantId: TENANT,
        propagationDelayMs: o.propagationDelayMs ?? 0,
      });
      entra.addApp(APP_ID, {
        initialPasswords: [{ secretText: OLD_SECRET, displayName: 'made by a person' }],
      });
      entra.addManagingClient(MANAGER_ID, CREDENTIALS.managerSecret);
      const entraInputs = {
        'entra-tenant-id': TENANT,
        'entra-application-id': APP_ID,
        'entra-auth': 'client-secret',
        'entra-auth-client-id': MANAGER_ID,
        'entra-auth-client-secret': CREDENTIALS.managerSecret,
        'entra-login-url': entra.url,
        'entra-graph-url': entra.url,
        'entra-propagation-timeout': '30s',
      };
      const newest = (): string => entra.passwords(APP_ID).at(-1)!.secretText;
      if (name === 'entra') {
        world = { entra, providerEmulators: [entra], extra: entraInputs, currentSecret: newest };
        break;
      }
      const woodpecker = await startWoodpecker({
        ...clock,
        ...(o.woodpeckerProcessingMs !== undefined
          ? { processingMs: o.woodpeckerProcessingMs }
          : {}),
        apiKeys: [CREDENTIALS.woodpeckerKey],
        checkSecret: (_t, c, s) => entra.secretWorks(c, s),
      });
      woodpecker.addCredential({
        credentialId: WOODPECKER_CREDENTIAL,
        tenantId: TENANT,
        clientId: APP_ID,
        secret: OLD_SECRET,
        secretExpiresAt: '2027-01-01T00:00:00Z',
        name: 'MS Graph app',
      });
      world = {
        entra,
        woodpecker,
        providerEmulators: [entra, woodpecker],
        extra: {
          ...entraInputs,
          'woodpecker-url': `${woodpecker.url}/rest`,
          'woodpecker-api-key': CREDENTIALS.woodpeckerKey,
        },
        currentSecret: () => woodpecker.credentials().find((c) => c.clientId === APP_ID)!.secret,
      };
      break;
    }
    case 'auth0': {
      const auth0 = await startAuth0({ ...clock, propagationDelayMs: o.propagationDelayMs ?? 0 });
      auth0.addApi(AUTH0_API);
      auth0.addClient(AUTH0_MANAGER, CREDENTIALS.auth0ManagerSecret, {
        name: 'secret rotator',
        grants: { [auth0.managementAudience]: ['read:clients', 'update:client_keys'] },
      });
      auth0.addClient(AUTH0_CLIENT, OLD_SECRET, {
        name: 'nightly build',
        grants: { [AUTH0_API]: ['read:builds'] },
      });
      world = {
        auth0,
        providerEmulators: [auth0],
        extra: {
          'auth0-domain': auth0.url,
          'auth0-management-client-id': AUTH0_MANAGER,
          'auth0-management-client-secret': CREDENTIALS.auth0ManagerSecret,
          'auth0-client-id': AUTH0_CLIENT,
          'auth0-confirm-audience': AUTH0_API,
        },
        currentSecret: () => auth0.client(AUTH0_CLIENT).secret,
      };
      break;
    }
    case 'keycloak': {
      const keycloak = await startKeycloak(clock);
      keycloak.addRealm(KC_REALM, o.keycloakPolicy ? { secretRotation: o.keycloakPolicy } : {});
      const client = keycloak.addClient(KC_REALM, { clientId: KC_CLIENT, secret: OLD_SECRET });
      if (o.keycloakPolicy)
        client.attributes['client.secret.expiration.time'] = String(
          Math.floor(keycloak.now() / 1000) + o.keycloakPolicy.expirationSeconds,
        );
      keycloak.addClient(KC_REALM, {
        clientId: KC_ADMIN,
        secret: CREDENTIALS.keycloakAdminSecret,
        roles: { [KC_REALM]: ['manage-clients'] },
      });
      world = {
        keycloak,
        providerEmulators: [keycloak],
        extra: {
          'keycloak-url': keycloak.url,
          'keycloak-realm': KC_REALM,
          'keycloak-client-id': KC_CLIENT,
          'keycloak-admin-client-id': KC_ADMIN,
          'keycloak-admin-client-secret': CREDENTIALS.keycloakAdminSecret,
        },
        currentSecret: () => keycloak.client(KC_REALM, KC_CLIENT).secret,
      };
      break;
    }
    case 'aws-iam': {
      const aws = await startAwsIam({ ...clock, propagationDelayMs: o.propagationDelayMs ?? 0 });
      aws.addUser(AWS_USER, { keys: [{ id: AWS_OLD_KEY_ID, secret: OLD_SECRET }] });
      const session = aws.addSession(AWS_ROLE, [AWS_USER]);
      // What aws-actions/configure-aws-credentials leaves in the job's environment after OIDC.
      awsEnv = {
        AWS_ACCESS_KEY_ID: session.id,
        AWS_SECRET_ACCESS_KEY: session.secret,
        AWS_SESSION_TOKEN: session.token,
        AWS_REGION: 'us-east-1',
      };
      seen.add(session.secret);
      seen.add(session.token);
      world = {
        aws,
        providerEmulators: [aws],
        extra: {
          'aws-iam-user-name': AWS_USER,
          'aws-iam-endpoint': aws.iamUrl,
          'aws-sts-endpoint': aws.stsUrl,
        },
        currentSecret: () =>
          aws
            .user(AWS_USER)
            .keys.filter((k) => k.status === 'Active')
            .sort((a, b) => a.created.localeCompare(b.created))
            .at(-1)?.secret ?? '',
      };
      break;
    }
    case 'gcp-service-account': {
      const gcp = await startGcp({ ...clock, propagationDelayMs: o.propagationDelayMs ?? 0 });
      gcp.addServiceAccount('nightly-deployer');
      gcp.addServiceAccount('key-rotator', { manages: [GCP_SA] });
      // roles/iam.workloadIdentityUser for the pool's principals on the rotator.
      gcp.impersonable.add(GCP_ROTATOR);
      gcp.addKey(GCP_SA, { file: OLD_SECRET, validAfter: '2026-01-05T10:00:00Z' });
      world = {
        gcp,
        providerEmulators: [gcp],
        extra: {
          'gcp-service-account-email': GCP_SA,
          'gcp-workload-identity-provider': gcp.wifProvider,
          'gcp-auth-service-account': GCP_ROTATOR,
          'gcp-iam-endpoint': gcp.iamUrl,
          'gcp-sts-endpoint': gcp.stsUrl,
          'gcp-iamcredentials-endpoint': gcp.credentialsUrl,
          'gcp-token-endpoint': gcp.tokenUrl,
        },
        currentSecret: () =>
          gcp
            .account(GCP_SA)
            .keys.filter((k) => !k.disabled)
            .at(-1)?.file ?? '',
      };
      break;
    }
    case 'okta': {
      const okta = await startOkta(clock);
      okta.addApp(OKTA_APP, {
        clientId: OKTA_CLIENT_ID,
        label: 'Nightly build client',
        secrets: [{ secret: OLD_SECRET, created: '2026-01-05T10:00:00.000Z' }],
      });
      okta.addApiToken(CREDENTIALS.oktaApiToken);
      const keys = oktaKeys();
      okta.addServiceApp(OKTA_SERVICE, keys.publicPem, { kid: OKTA_KID });
      seen.add(keys.privatePem);
      const newest = () =>
        okta
          .app(OKTA_APP)
          .secrets.filter((x) => x.status === 'ACTIVE')
          .sort((a, b) => a.created.localeCompare(b.created))
          .at(-1)?.secret ?? '';
      world = {
        okta,
        providerEmulators: [okta],
        extra: {
          'okta-url': okta.url,
          'okta-app-id': OKTA_APP,
          // The service app with private_key_jwt; tests of okta-api-token (SSWS) pass it instead.
          'okta-client-id': OKTA_SERVICE,
          'okta-private-key': keys.privatePem,
        },
        currentSecret: newest,
      };
      break;
    }
  }

  const { extra, ...rest } = world;
  if (rest.aws) Object.assign(runEnv, awsEnv);
  const inputs = (more: Record<string, string> = {}): Record<string, string> => ({
    ...base,
    ...extra,
    ...more,
  });
  const secrets = (): string[] => {
    if (rest.csp)
      for (const s of [rest.csp.app(CSP_APP).current, rest.csp.app(CSP_APP).previous?.secret])
        if (s) seen.add(s);
    if (rest.whmcs) seen.add(rest.whmcs.credential(WHMCS_CREDENTIAL).clientSecret);
    if (rest.entra)
      for (const p of [...rest.entra.passwords(APP_ID), ...rest.entra.removedPasswords(APP_ID)])
        seen.add(p.secretText);
    if (rest.woodpecker) for (const c of rest.woodpecker.credentials()) seen.add(c.secret);
    if (rest.auth0) for (const x of rest.auth0.issuedSecrets) seen.add(x);
    if (rest.keycloak) for (const x of rest.keycloak.generatedSecrets) seen.add(x);
    if (rest.okta)
      for (const x of [...rest.okta.app(OKTA_APP).secrets, ...rest.okta.removed(OKTA_APP)])
        seen.add(x.secret);
    if (rest.aws) for (const x of rest.aws.issuedSecrets) seen.add(x);
    if (rest.gcp) for (const x of rest.gcp.issued) seen.add(x);
    for (const t of github.issuedOidcTokens) seen.add(t);
    for (const v of github.allValues(SECRET_NAME)) seen.add(v);
    for (const v of github.appSecrets()) seen.add(v);
    return [...seen];
  };
  const made: World = {
    name,
    github,
    ...(app ? { app } : {}),
    ...rest,
    inputs,
    env: (more = {}) => ({ ...runEnv, ...inputEnv(inputs(more)) }),
    run: async (more = {}, options = {}) => {
      const run = await runAction(inputs(more), {
        ...options,
        env: { ...runEnv, ...options.env },
      });
      origins.set(run, made);
      return run;
    },
    secrets,
    close: async () => {
      await Promise.all([github.close(), ...rest.providerEmulators.map((e) => e.close())]);
    },
  };
  return made;
}

const origins = new WeakMap<Run, World>();

/** The world a run was made in: helpers take the run, so tests need no shared `world` and can run concurrently. */
export function worldOf(run: Run): World {
  const world = origins.get(run);
  if (!world) throw new Error('this run was not made by World.run');
  return world;
}
