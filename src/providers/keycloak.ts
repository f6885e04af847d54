// Keycloak: a confidential OIDC client's secret, regenerated through the admin REST API by a service
// account with realm-management manage-clients. Without a client policy the old secret dies at once;
// with the realm's `secret-rotation` executor Keycloak keeps it valid for a while (client-secret/rotated).
import { createHash } from 'node:crypto';
import { now, sleep } from '../clock.js';
import { type Call, field, HttpError, type Response } from '../http.js';
import { TokenSession } from './session.js';
import { keycloakInputs, type KeycloakSettings, parseKeycloak } from './keycloak-inputs.js';
import { loggable } from '../untrusted.js';
import {
  type Credential,
  type Found,
  type IssuedSecrets,
  type Provider,
  type ProviderDeps,
  ProviderError,
  type ProviderModule,
  type Rotated,
  type Rotation,
} from './types.js';

/** Client attributes that Keycloak's secret-rotation executor keeps, in epoch seconds. */
export const ATTR = {
  creation: 'client.secret.creation.time',
  expiration: 'client.secret.expiration.time',
  rotated: 'client.secret.rotated',
  rotatedCreation: 'client.secret.rotated.creation.time',
  rotatedExpiration: 'client.secret.rotated.expiration.time',
} as const;

/** What Keycloak (StripSecretsUtils) shows instead of a secret to callers who may not manage the client. */
const STRIPPED = '**********';

/** After a lost regenerate answer: how many reads of the current secret, this far apart. */
const RECHECKS = 3;
const RECHECK_MS = 2_000;

/** Token endpoint errors: `{error, error_description}`. */
function explainToken(status: number, body: unknown): string | undefined {
  const error = field(body, 'error');
  const description = field(body, 'error_description');
  const hint =
    status === 404
      ? 'the realm does not exist, or keycloak-url needs /auth (Keycloak 16 and older)'
      : undefined;
  const said = error
    ? `${loggable(error, 60)}${description ? `: ${loggable(description, 200)}` : ''}`
    : undefined;
  return [hint, said].filter(Boolean).join('; ') || undefined;
}

const HINTS: Record<number, string> = {
  401: 'the admin token was refused or expired',
  403: "the service account lacks realm-management's manage-clients in this realm (or the {realm}-realm client's in master)",
  404: 'the realm or client does not exist, or keycloak-url needs /auth (Keycloak 16 and older)',
  409: 'Keycloak reports a conflict',
  429: 'rate limited (a proxy in front of Keycloak); try again later',
  500: 'Keycloak had an internal error',
};

/** Admin API errors: `{errorMessage}` (validation) or `{error, error_description}`. */
function explainAdmin(status: number, body: unknown): string {
  const said =
    field(body, 'errorMessage') ?? field(body, 'error_description') ?? field(body, 'error');
  return [HINTS[status], said ? `"${loggable(said, 200)}"` : undefined].filter(Boolean).join('; ');
}

/** A secret's fingerprint: enough to tell two secrets apart without keeping the earlier one. */
function fingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function seconds(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d{1,12}$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Until when (epoch ms) Keycloak accepts the client's rotated secret, from its attributes: its own
 * expiration (none: not at all), and no later than the current secret's, since once that has passed
 * ClientIdAndSecretAuthenticator refuses the client whichever secret it sends.
 */
function keptUntil(attrs: Record<string, unknown>): number | undefined {
  const rotated = attrs[ATTR.rotated];
  const until = seconds(attrs[ATTR.rotatedExpiration]);
  if (typeof rotated !== 'string' || rotated === '' || until === undefined) return undefined;
  if (seconds(attrs[ATTR.rotatedCreation]) === undefined) return undefined;
  const expires = seconds(attrs[ATTR.expiration]);
  return Math.min(until, expires ?? Infinity) * 1000;
}

/**
 * The secrets a target may hold under the rotation policy, for the expiry rules (src/due.ts): the
 * current one from its creation, and the rotated one, which was current before that (when it came
 * Keycloak does not keep, so any earlier write may hold it). A target written before the current
 * secret came holds the rotated one at best: its end, not the current secret's, is what it has.
 */
function heldSecrets(attrs: Record<string, unknown>): { issued?: IssuedSecrets } {
  const created = seconds(attrs[ATTR.creation]);
  const expires = seconds(attrs[ATTR.expiration]);
  if (created === undefined || expires === undefined) return {};
  const kept = keptUntil(attrs);
  return {
    issued: {
      noun: 'secret',
      newer:
        'The current secret was created after that, so not every target holds it (an earlier run failed there).',
      secrets: [
        { createdAt: created * 1000, expiresAt: expires * 1000 },
        ...(kept === undefined ? [] : [{ createdAt: 0, expiresAt: kept }]),
      ],
    },
  };
}

function ms(s: number | undefined): number | undefined {
  return s === undefined ? undefined : s * 1000;
}

function attributes(client: unknown): Record<string, unknown> {
  const a = (client as { attributes?: unknown } | undefined)?.attributes;
  return a !== null && typeof a === 'object' ? (a as Record<string, unknown>) : {};
}

/** What preflight found: the client's internal id and what the rotation needs to know about it. */
interface KeycloakFound {
  readonly id: string;
  readonly serviceAccounts: boolean;
  /** Fingerprint of the secret before the rotation: a lost answer is resolved against it. */
  readonly before: string;
}

/** What the rotation did, for retirePrevious. */
interface KeycloakRotated {
  readonly id: string;
  readonly secret: string;
  readonly serviceAccounts: boolean;
  /** Whether Keycloak kept the previous secret (undefined: the read after the rotation failed). */
  readonly previousKept: boolean | undefined;
  readonly previousUntil: string | undefined;
}

function createKeycloak(
  s: KeycloakSettings,
  deps: ProviderDeps,
): Provider<KeycloakFound, KeycloakRotated> {
  const admin = `${s.url}/admin/realms/${encodeURIComponent(s.realm)}/clients`;
  const tokenUrl = (realm: string) =>
    `${s.url}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/token`;
  const selfRotation = s.adminRealm === s.realm && s.adminClientId === s.clientId;
  const where = `client ${s.clientId} in Keycloak realm ${s.realm}`;
  // The session's admin token and the secret it signs in with (the new one once a client that
  // manages itself has rotated): a cache, not step state.
  let adminSecret = s.adminClientSecret;

  function tokenRequest(
    realm: string,
    clientId: string,
    secret: string,
    what: string,
  ): Promise<Response> {
    return deps.http({
      method: 'POST',
      url: tokenUrl(realm),
      form: { grant_type: 'client_credentials', client_id: clientId, client_secret: secret },
      what,
      retry: 'safe',
      explain: explainToken,
    });
  }

  // Admin tokens often live a minute (master's default): renewed in the last quarter of their life.
  const session = new TokenSession({
    signIn: async () =>
      (
        await tokenRequest(
          s.adminRealm,
          s.adminClientId,
          adminSecret,
          `sign in to Keycloak realm ${s.adminRealm} as ${s.adminClientId} (client credentials)`,
        )
      ).body,
    missingToken: 'Keycloak answered the sign-in without an access_token.',
    mask: deps.mask,
    defaultLifetimeS: 60,
    marginMs: (lifetimeMs) => Math.min(60_000, lifetimeMs / 4),
  });

  /**
   * An admin call with a fresh token: signs in again when the token is within its last quarter, and,
   * for calls that are safe to repeat, once more after a 401. The rotating call gets the 401 back
   * (see rotate()): Keycloak refuses a stale token before acting, but a proxy in front may not.
   */
  const managed = (c: Omit<Call, 'headers' | 'explain'>, resendAfter401 = true) =>
    session.call(deps.http, { ...c, explain: explainAdmin }, resendAfter401);

  /**
   * A client representation carries the current secret, and the previous one under the policy; to a
   * caller who may not manage the client, Keycloak shows a placeholder instead, which is no secret.
   */
  function maskClient(client: unknown): void {
    for (const v of [field(client, 'secret'), attributes(client)[ATTR.rotated]])
      if (typeof v === 'string' && v !== '' && v !== STRIPPED) deps.mask(v);
  }

  async function readSecret(id: string): Promise<string> {
    const res = await managed({
      method: 'GET',
      url: `${admin}/${encodeURIComponent(id)}/client-secret`,
      what: `read the current secret of ${where}`,
      retry: 'safe',
    });
    const value = field(res.body, 'value') ?? '';
    if (value) deps.mask(value);
    return value;
  }

  /**
   * After a regenerate answer that was lost (or said nothing): the current secret tells. A value that
   * differs from the one before is the new secret; the same value, read a few times, means Keycloak
   * did not regenerate it as far as can be seen.
   */
  async function recover(found: KeycloakFound, why: string): Promise<string> {
    for (let i = 0; i < RECHECKS; i++) {
      if (i > 0) await sleep(RECHECK_MS);
      let current: string;
      try {
        current = await readSecret(found.id);
      } catch (err) {
        throw new ProviderError(
          `${why} Reading the client's secret to find out failed too: ${(err as Error).message} Keycloak may have regenerated it, and then the old secret no longer works: look at the client's Credentials tab in the Keycloak admin console, store what it shows, or re-run the workflow to regenerate again.`,
          true,
        );
      }
      if (current && fingerprint(current) !== found.before) {
        // Whichever call set it (this one, or someone at the same moment), it is the secret that
        // works now, so it is the one to store.
        deps.info(
          "The client's secret changed: the current one was read back and is the one stored.",
        );
        return current;
      }
    }
    throw new ProviderError(
      `${why} The client's secret, read ${RECHECKS} times over ${((RECHECKS - 1) * RECHECK_MS) / 1000} s, is still the one from before: Keycloak did not regenerate it as far as can be seen, and the old secret still works. Check the client's Credentials tab in the Keycloak admin console before re-running the workflow.`,
      true,
    );
  }

  /**
   * After a 401 on the regenerate call: signs in again and reads the secret. Returns it when it is no
   * longer the one from before (the call took effect after all), undefined when it is unchanged (the
   * call may be sent again). When it cannot look, the outcome is unknown: a client that manages
   * itself cannot sign in again with its old secret if Keycloak did regenerate it.
   */
  async function lookAfter401(found: KeycloakFound, err: HttpError): Promise<string | undefined> {
    let current: string;
    try {
      await session.renew();
      current = await readSecret(found.id);
    } catch (again) {
      throw new ProviderError(
        `${err.message} Signing in again to read the client's secret before repeating the call failed: ${(again as Error).message} ${selfRotation ? 'The service account is the client itself, so this is what happens when the first call did regenerate its secret: Keycloak may have regenerated it' : 'Keycloak may have regenerated it if the 401 came from a proxy in front of it'}. Look at the client's Credentials tab in the Keycloak admin console, store what it shows, or re-run the workflow to regenerate again.`,
        true,
      );
    }
    if (current && fingerprint(current) !== found.before) {
      deps.info(
        "The regenerate call was answered 401, yet the client's secret changed: it was read back and is the one stored.",
      );
      return current;
    }
    return undefined;
  }

  /** Within keycloak-confirm-timeout, the new secret obtains a token for the client's service account. */
  async function confirm(secret: string): Promise<void> {
    const deadline = now() + s.confirmTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await tokenRequest(
          s.realm,
          s.clientId,
          secret,
          `obtain a token with the new secret of ${where}`,
        );
        const t = field(res.body, 'access_token');
        if (t) {
          deps.mask(t);
          return;
        }
        throw new ProviderError(
          'Keycloak answered the sign-in with the new secret without an access_token.',
        );
      } catch (err) {
        const refused = err instanceof HttpError && (err.status === 400 || err.status === 401);
        if (!refused || now() >= deadline) throw err;
        if (attempt === 1) deps.info('The new secret does not obtain a token yet; waiting.');
        await sleep(Math.min(2000, Math.max(0, deadline - now())));
      }
    }
  }

  /** Once the new secret is known: what Keycloak did with the previous one. Nothing here may throw. */
  async function afterRegenerate(
    found: KeycloakFound,
    secret: string,
    issued: ((secret: string) => Promise<void>) | undefined,
  ): Promise<Rotated<KeycloakRotated>> {
    // Escrowed before the client is read again: a run killed meanwhile loses nothing.
    await issued?.(secret);
    if (selfRotation) adminSecret = secret;
    // What Keycloak did with the previous secret. Only a report: nothing here may throw now.
    let previousKept: boolean | undefined;
    let previousUntil: string | undefined;
    let expiresAt: string | undefined;
    try {
      const res = await managed({
        method: 'GET',
        url: `${admin}/${encodeURIComponent(found.id)}`,
        what: `read ${where} after the rotation`,
        retry: 'safe',
      });
      maskClient(res.body);
      const attrs = attributes(res.body);
      const expires = seconds(attrs[ATTR.expiration]);
      const until = keptUntil(attrs);
      // Only the secret this run's preflight read counts as kept: a rotated secret that is any other
      // (someone rotated meanwhile) says nothing about the one the targets held.
      const rotated = attrs[ATTR.rotated];
      const ours = typeof rotated === 'string' && fingerprint(rotated) === found.before;
      previousKept = ours && until !== undefined && until > now();
      if (previousKept) previousUntil = new Date(until!).toISOString();
      if (expires !== undefined) expiresAt = new Date(expires * 1000).toISOString();
      deps.info(
        previousKept
          ? `Keycloak's secret-rotation policy keeps the previous secret valid until ${previousUntil}.`
          : until !== undefined && !ours
            ? 'Keycloak keeps a previous secret, but not the one from before this rotation: the old one no longer works.'
            : 'Keycloak kept no previous secret: the old one no longer works.',
      );
    } catch (err) {
      deps.warn(
        `Could not read the client after the rotation to learn whether Keycloak kept the previous secret: ${(err as Error).message}`,
      );
    }
    const rotation: Rotation = {
      secret,
      clientId: s.clientId,
      credentialId: found.id,
      expiresAt,
      // Only what was seen counts as kept: unknown is reported as dead, the safe side.
      oldSecretDied: previousKept !== true,
      ...(previousUntil ? { previousUntil } : {}),
    };
    return {
      rotation,
      rotated: {
        id: found.id,
        secret,
        serviceAccounts: found.serviceAccounts,
        previousKept,
        previousUntil,
      },
    };
  }

  return {
    async preflight(): Promise<Found<KeycloakFound>> {
      await session.renew();
      const res = await managed({
        method: 'GET',
        url: `${admin}?clientId=${encodeURIComponent(s.clientId)}&search=false`,
        what: `find ${where}`,
        retry: 'safe',
      });
      const list = Array.isArray(res.body) ? (res.body as unknown[]) : [];
      list.forEach(maskClient);
      // `search=false` asks for the exact clientId; the filter holds whatever a version answers.
      const matches = list.filter((c) => field(c, 'clientId') === s.clientId);
      if (matches.length !== 1)
        throw new ProviderError(
          matches.length === 0
            ? `Found no ${where}: check keycloak-client-id (the clientId, not the internal id) and keycloak-realm.`
            : `Found ${matches.length} clients with clientId ${s.clientId} in Keycloak realm ${s.realm}; refusing to guess which one rotates.`,
        );
      const client = matches[0] as Record<string, unknown>;
      const id = field(client, 'id');
      if (!id) throw new ProviderError(`Keycloak listed ${where} without its id.`);
      const refuse = (why: string): never => {
        throw new ProviderError(`Refusing to rotate ${where}: ${why}. Nothing was changed.`);
      };
      if (client['publicClient'] !== false)
        refuse(
          client['publicClient'] === true
            ? 'it is a public client, which has no secret'
            : 'Keycloak did not say whether it is public (the service account needs view or manage rights on clients)',
        );
      const authenticator = field(client, 'clientAuthenticatorType');
      if (authenticator !== 'client-secret')
        refuse(
          `it authenticates with ${authenticator ? `'${loggable(authenticator, 40)}'` : 'an unknown authenticator'}, not 'client-secret' (Client Id and Secret); only that is rotated here`,
        );
      const protocol = field(client, 'protocol');
      if (protocol !== undefined && protocol !== 'openid-connect')
        refuse(`it is a ${loggable(protocol, 40)} client, not openid-connect`);
      if (client['enabled'] === false)
        refuse('it is disabled, so nothing could confirm the new secret');
      // Needs the same role as regenerating, so it proves the right before anything changes.
      const current = await readSecret(id);
      // Without the current secret a changed one could not be told from an unchanged one later.
      if (!current) refuse("Keycloak's answer for its current secret carried no value");
      const before = fingerprint(current);
      const attrs = attributes(client);
      const expires = seconds(attrs[ATTR.expiration]);
      // Keycloak's secret-rotation executor stamps an expiry on the clients it applies to.
      const policy = expires !== undefined;
      const credential: Credential = {
        clientId: s.clientId,
        credentialId: id,
        description: `Keycloak ${where}${policy ? ' (secret-rotation policy)' : ''}`,
        expiresAt: expires === undefined ? undefined : new Date(expires * 1000).toISOString(),
        oldSecretDiesOnRotate: !policy,
        ...(policy ? heldSecrets(attrs) : {}),
        // The one rotated secret the policy keeps, which the next rotation overwrites.
        ...(policy
          ? {
              previous: {
                until: keptUntil(attrs),
                since: ms(seconds(attrs[ATTR.creation] ?? attrs[ATTR.rotatedCreation])),
                windowMs: 0,
                exact: true,
                overwrite: {
                  input: 'keycloak-overwrite-previous',
                  allowed: s.overwritePrevious,
                },
              },
            }
          : {}),
      };
      return {
        credential,
        found: { id, serviceAccounts: client['serviceAccountsEnabled'] === true, before },
      };
    },

    async rotate(found, _chosen, issued): Promise<Rotated<KeycloakRotated>> {
      const regenerate = () =>
        managed(
          {
            method: 'POST',
            url: `${admin}/${encodeURIComponent(found.id)}/client-secret`,
            json: {},
            what: `regenerate the secret of ${where}`,
            retry: 'once',
          },
          false,
        );
      let secret: string | undefined;
      try {
        let res: Response;
        try {
          res = await regenerate();
        } catch (err) {
          if (!(err instanceof HttpError && err.status === 401)) throw err;
          // Keycloak checks the token before it acts, so its own 401 changed nothing; but a 401 from
          // a proxy in front may come after the effect. Sending again would then regenerate twice
          // (under the policy the kept "previous" secret would be the unseen first one, and the old
          // secret would die at once), so look at the secret before sending again.
          const current = await lookAfter401(found, err);
          if (current !== undefined) return await afterRegenerate(found, current, issued);
          res = await regenerate();
        }
        secret = field(res.body, 'value');
        if (secret) deps.mask(secret);
        if (!secret || fingerprint(secret) === found.before) {
          deps.warn(
            `Keycloak answered the regenerate call without a new secret; reading the client's current secret (the call is not repeated).`,
          );
          secret = await recover(
            found,
            'Keycloak answered the regenerate call without a new secret.',
          );
        }
      } catch (err) {
        if (!(err instanceof HttpError && err.outcomeUnknown)) throw err;
        deps.warn(
          `${err.message} Reading the client's current secret to learn whether Keycloak regenerated it (the call is not repeated).`,
        );
        secret = await recover(found, err.message);
      }
      return afterRegenerate(found, secret, issued);
    },

    async retirePrevious(r): Promise<string | undefined> {
      if (r.serviceAccounts) {
        await confirm(r.secret).catch((err: unknown) => {
          throw new ProviderError(
            `The new secret is stored everywhere but did not obtain a token within keycloak-confirm-timeout (${s.confirmTimeoutMs / 1000} s: ${(err as Error).message})${r.previousKept === false ? '' : '; the previous secret was not removed'}.`,
          );
        });
      } else {
        deps.info(
          'The new secret was not confirmed with a token request: the client has no service account (client credentials grant), so Keycloak issues it no token that way.',
        );
      }
      if (!s.retirePrevious) {
        if (r.previousKept)
          deps.info(
            `The previous secret stays valid until ${r.previousUntil}; set keycloak-retire-previous: true to remove it once every target is verified.`,
          );
        return undefined;
      }
      if (r.previousKept === false) {
        deps.info('Nothing to retire: Keycloak kept no previous secret.');
        return undefined;
      }
      // The rotated slot holds the secret from before this run only while this run's is current:
      // after someone else's regenerate it holds this run's, which every target now uses.
      if (fingerprint(await readSecret(r.id)) !== fingerprint(r.secret))
        throw new ProviderError(
          `Not removing the previous secret of ${where}: its current secret is no longer the one this run stored (it was regenerated meanwhile), so the rotated secret Keycloak keeps is this run's, which the targets hold, until the policy lets it expire. Re-run the workflow to store a current secret.`,
        );
      await managed({
        method: 'DELETE',
        url: `${admin}/${encodeURIComponent(r.id)}/client-secret/rotated`,
        what: `remove the previous secret of ${where} (client-secret/rotated)`,
        retry: 'safe',
      });
      return r.previousKept
        ? `the previous Keycloak client secret (kept by the secret-rotation policy until ${r.previousUntil})`
        : 'the previous Keycloak client secret, if the secret-rotation policy kept one';
    },

    async abandon(): Promise<string | undefined> {
      // Nothing to undo: Keycloak cannot bring a secret back. Under the policy the old one still works.
      return undefined;
    },
  };
}

export const keycloak: ProviderModule<KeycloakSettings> = {
  inputs: keycloakInputs,
  docs: {
    title: 'Keycloak',
    rotates: "a confidential OpenID Connect client's secret",
    previous:
      'dies at once, or, with a `secret-rotation` client policy, works until its expiry (removed with `keycloak-retire-previous`)',
  },
  parse: parseKeycloak,
  create: createKeycloak,
};
