// Keycloak: the inputs the provider reads and their parser (pure, no I/O).
import {
  bool,
  duration,
  InputError,
  type InputSpecs,
  optional,
  pathId,
  type Read,
  required,
  url,
} from '../inputs/fields.js';

/** Every input this provider reads. */
export const keycloakInputs = {
  'keycloak-url': {
    description:
      'keycloak: base URL of the server, e.g. https://sso.example.com; include /auth for Keycloak 16 and older (https://sso.example.com/auth).',
  },
  'keycloak-realm': { description: 'keycloak: the realm of the client whose secret rotates.' },
  'keycloak-client-id': {
    description:
      'keycloak: the clientId (not the internal id) of the confidential client whose secret rotates.',
  },
  'keycloak-admin-realm': {
    description:
      "keycloak: the realm the service account signs in to: keycloak-realm (the default) or master. Its roles are realm-management's manage-clients there, or the {realm}-realm client's manage-clients in master.",
  },
  'keycloak-admin-client-id': {
    description:
      'keycloak: clientId of the service account (client credentials) that manages the client; it may be the client itself.',
  },
  'keycloak-admin-client-secret': {
    description: "keycloak: the service account's client secret.",
    credential: true,
  },
  'keycloak-retire-previous': {
    description:
      "keycloak: where the realm's secret-rotation policy keeps the previous secret valid, remove it (client-secret/rotated) once every target is written and verified.",
    default: 'false',
  },
  'keycloak-overwrite-previous': {
    description:
      'keycloak: under the secret-rotation policy, rotate even when a target may still hold the previous secret Keycloak keeps (a target an earlier run failed to write), or when a target was written less than 2 minutes ago: the rotation overwrites the previous secret, and it stops working at once wherever it is still in use. Without it, such a run refuses before the rotating call.',
    default: 'false',
  },
  'keycloak-confirm-timeout': {
    description:
      "keycloak: how long the new secret may take to obtain a token once every target holds it (a cluster's caches), as a duration; at most 10m.",
    default: '30s',
  },
} satisfies InputSpecs;

export interface KeycloakSettings {
  readonly name: 'keycloak';
  /** Base URL, with `/auth` for Keycloak 16 and older. */
  readonly url: string;
  readonly realm: string;
  /** The clientId (not the internal id) whose secret rotates. */
  readonly clientId: string;
  /** The realm the service account signs in to (default: `realm`). */
  readonly adminRealm: string;
  readonly adminClientId: string;
  readonly adminClientSecret: string;
  /** Remove the previous secret that the secret-rotation policy keeps, once every target is verified. */
  readonly retirePrevious: boolean;
  /** How long the new secret may take to obtain a token (keycloak-confirm-timeout), on the injected clock. */
  readonly confirmTimeoutMs: number;
  /** Rotate even when a target may still hold the previous secret the policy keeps (keycloak-overwrite-previous). */
  readonly overwritePrevious: boolean;
}

const MAX_CONFIRM_MS = 600_000;

const REALM = 'a realm name (letters, digits, . _ -)';

function clientIdOf(read: Read, name: string): string {
  const v = required(read, name, 'a clientId');
  // A query parameter and a form field, never a path segment: only control characters are refused.
  // eslint-disable-next-line no-control-regex
  if (v.length > 255 || /[\u0000-\u001f\u007f]/.test(v))
    throw new InputError(
      `Input '${name}' is not a clientId: expected up to 255 characters without control characters.`,
    );
  return v;
}

export function parseKeycloak(read: Read): KeycloakSettings {
  const realm = pathId(read, 'keycloak-realm', REALM);
  const adminRealm =
    optional(read, 'keycloak-admin-realm') === undefined
      ? realm
      : pathId(read, 'keycloak-admin-realm', REALM);
  if (adminRealm !== realm && adminRealm !== 'master')
    throw new InputError(
      `Input 'keycloak-admin-realm' is '${adminRealm}'; expected '${realm}' (keycloak-realm) or 'master': Keycloak lets a realm's service accounts manage only that realm, and master's manage every realm.`,
    );
  return {
    name: 'keycloak',
    url: url(read, 'keycloak-url'),
    realm,
    clientId: clientIdOf(read, 'keycloak-client-id'),
    adminRealm,
    adminClientId: clientIdOf(read, 'keycloak-admin-client-id'),
    adminClientSecret: required(
      read,
      'keycloak-admin-client-secret',
      "the service account's client secret",
    ),
    retirePrevious: bool(read, 'keycloak-retire-previous', false),
    confirmTimeoutMs: duration(read, 'keycloak-confirm-timeout', MAX_CONFIRM_MS, 30_000)!,
    overwritePrevious: bool(read, 'keycloak-overwrite-previous', false),
  };
}
