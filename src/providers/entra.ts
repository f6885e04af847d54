// Microsoft Entra: application passwords through Microsoft Graph. The old password keeps working, so
// a failed store is undone by removing the new one. The Graph side lives in entra-app.ts.
import {
  bool,
  duration,
  GUID,
  InputError,
  type InputSpecs,
  integer,
  MAX_MS,
  oneOf,
  optional,
  pathId,
  type Read,
  required,
  url,
} from '../inputs/fields.js';
import { loggable } from '../untrusted.js';
import {
  EntraApp,
  type EntraSettings,
  issuedBy,
  type NewPassword,
  ownPrefix,
  type Password,
} from './entra-app.js';

export type { EntraSettings } from './entra-app.js';

import {
  type Credential,
  type Provider,
  type ProviderDeps,
  ProviderError,
  type ParseContext,
  type Found,
  type ProviderModule,
  type Rotated,
  type Rotation,
} from './types.js';

/** Every input this provider reads. */
export const entraInputs = {
  'entra-tenant-id': { description: 'entra / woodpecker: the directory (tenant) id.' },
  'entra-application-id': {
    description: 'entra / woodpecker: the application (client) id whose secret rotates.',
  },
  'entra-auth': {
    description:
      "entra / woodpecker: oidc (the job's GitHub OIDC token; needs permissions id-token: write) or client-secret.",
    default: 'oidc',
  },
  'entra-auth-client-id': {
    description:
      'entra / woodpecker: the app that manages the target app (Application.ReadWrite.OwnedBy or .All).',
  },
  'entra-auth-client-secret': {
    description:
      "entra / woodpecker: the managing app's secret, only with entra-auth: client-secret.",
    credential: true,
  },
  'entra-secret-lifetime-days': {
    description: 'entra / woodpecker: lifetime of the new password, in days.',
    default: '180',
  },
  'entra-remove-previous': {
    description:
      'entra / woodpecker: once the new password is stored everywhere and works, remove the earlier passwords this action created.',
    default: 'true',
  },
  'entra-password-tag': {
    description:
      "entra / woodpecker: this rotation's identity, written into the name of every password it adds; only passwords with the same tag are ever removed. Default: provider, repository and secret-name (e.g. `entra octo/app AZURE_CLIENT_SECRET`).",
  },
  'entra-propagation-timeout': {
    description:
      'entra / woodpecker: how long a new password (minted in Entra, or brought with woodpecker-client-secret) may take to start working, as a duration; at most 1h.',
    default: '2m',
  },
  'entra-login-url': {
    description: 'entra / woodpecker: Microsoft identity platform base URL.',
    default: 'https://login.microsoftonline.com',
  },
  'entra-graph-url': {
    description: 'entra / woodpecker: Microsoft Graph base URL.',
    default: 'https://graph.microsoft.com',
  },
} satisfies InputSpecs;
const inputs = entraInputs;

const TAG = /^[A-Za-z0-9._:/@ -]{1,100}$/;

export function parseEntra(read: Read, ctx: ParseContext): EntraSettings {
  const kind = oneOf(read, 'entra-auth', ['oidc', 'client-secret'] as const, 'oidc');
  const clientId = pathId(
    read,
    'entra-auth-client-id',
    'the managing application (client) id, a GUID',
    GUID,
  );
  const secret = optional(read, 'entra-auth-client-secret');
  let auth: EntraSettings['auth'];
  if (kind === 'client-secret') {
    auth = {
      kind,
      clientId,
      clientSecret: required(
        read,
        'entra-auth-client-secret',
        "the managing app's client secret when 'entra-auth' is client-secret",
      ),
    };
  } else {
    if (secret !== undefined)
      throw new InputError(
        `Input 'entra-auth-client-secret' is set but 'entra-auth' is oidc; set entra-auth: client-secret or remove the secret.`,
      );
    auth = { kind, clientId };
  }
  return {
    name: 'entra',
    tenantId: pathId(
      read,
      'entra-tenant-id',
      'the directory (tenant) id, a GUID or a domain',
      /^[A-Za-z0-9.-]{1,128}$/,
    ),
    appId: pathId(read, 'entra-application-id', 'the application (client) id, a GUID', GUID),
    auth,
    lifetimeDays: integer(read, 'entra-secret-lifetime-days', 1, 3650, 180)!,
    removePrevious: bool(read, 'entra-remove-previous', true),
    loginUrl: url(read, 'entra-login-url', 'https://login.microsoftonline.com'),
    graphUrl: url(read, 'entra-graph-url', 'https://graph.microsoft.com'),
    propagationTimeoutMs: duration(
      read,
      'entra-propagation-timeout',
      MAX_MS.propagationTimeout,
      120_000,
    )!,
    passwordTag: passwordTag(read, ctx),
  };
}

function passwordTag(read: Read, ctx: ParseContext): string {
  const v = optional(read, 'entra-password-tag');
  if (v === undefined) return ctx.defaultTag;
  if (!TAG.test(v))
    throw new InputError(
      `Input 'entra-password-tag' is '${v}'; expected up to 100 letters, digits, spaces and . _ : / @ -.`,
    );
  return v;
}

/** What preflight listed: the application's passwords then (only those may be removed as earlier). */
interface EntraFound {
  readonly passwords: readonly Password[];
}

/** The password this run added, and the keyIds preflight listed. */
interface EntraRotated {
  readonly added: NewPassword;
  readonly before: ReadonlySet<string>;
}

function createEntra(s: EntraSettings, deps: ProviderDeps): Provider<EntraFound, EntraRotated> {
  const app = new EntraApp(s, deps);
  return {
    async preflight(): Promise<Found<EntraFound>> {
      const passwords = await app.passwords();
      // The expiry that matters is that of the passwords this rotation made (entra-password-tag):
      // others belong to people or other rotations, and rotating does not replace them.
      const own = ownPrefix(s.passwordTag);
      const ends = passwords
        .filter((p) => p.displayName.startsWith(own))
        .map((p) => p.endDateTime)
        .filter((e): e is string => !!e)
        .sort();
      const credential: Credential = {
        clientId: s.appId,
        credentialId: undefined,
        description: `Entra application ${s.appId} (${passwords.length} password(s))`,
        expiresAt: ends.at(-1),
        oldSecretDiesOnRotate: false,
        // The latest expiry may be that of a killed run's password no target holds: the expiry
        // rule decides by what the targets hold instead.
        issued: issuedBy(passwords, s.passwordTag),
      };
      return { credential, found: { passwords } };
    },

    async rotate(found): Promise<Rotated<EntraRotated>> {
      const added = await app.addPassword();
      const rotation: Rotation = {
        secret: added.secretText,
        clientId: s.appId,
        credentialId: added.keyId,
        expiresAt: added.endDateTime,
      };
      return { rotation, rotated: { added, before: new Set(found.passwords.map((p) => p.keyId)) } };
    },

    async retirePrevious({ added, before }): Promise<string | undefined> {
      await app.confirm(added.secretText).catch((err: unknown) => {
        throw new ProviderError(
          `The new password is stored but did not obtain a token within entra-propagation-timeout (${(err as Error).message}); earlier passwords were kept.`,
        );
      });
      return s.removePrevious ? app.removeEarlier(added.keyId, before) : undefined;
    },

    async abandon({ added }): Promise<string | undefined> {
      await app.removePassword(added.keyId);
      return `removed the new Entra password ${loggable(added.keyId, 40)}`;
    },
  };
}

export const entra: ProviderModule<EntraSettings> = {
  inputs,
  docs: {
    title: 'Microsoft Entra',
    rotates: "an application's password: a new one is added",
    previous: 'works until removed, after the new one obtains a token',
  },
  parse: parseEntra,
  create: createEntra,
};
