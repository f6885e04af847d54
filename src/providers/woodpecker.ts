// Woodpecker: a Microsoft Graph app-only credential. The new secret is minted in Entra (or given by
// the workflow), then saved in Woodpecker, which checks it against Microsoft first. Woodpecker handles
// one request per API key at a time, so every call here is sequential.
import { now, sleep } from '../clock.js';
import { field, HttpError, type Method } from '../http.js';
import {
  duration,
  GUID,
  InputError,
  type InputSpecs,
  integer,
  isoDate,
  MAX_MS,
  optional,
  pathId,
  type Read,
  required,
  url,
} from '../inputs/fields.js';
import { loggable } from '../untrusted.js';

import { entraInputs, type EntraSettings, parseEntra } from './entra.js';
import { EntraApp, issuedBy, type NewPassword, type Password } from './entra-app.js';
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
const inputs = {
  // Woodpecker's secret is minted in Entra, or brought: it reads Entra's inputs too.
  ...entraInputs,
  'woodpecker-api-key': { description: 'woodpecker: API key.', credential: true },
  'woodpecker-url': {
    description: 'woodpecker: API base URL.',
    default: 'https://api.woodpecker.co/rest',
  },
  'woodpecker-credential-id': {
    description:
      'woodpecker: the Microsoft Graph credential to update; without it the credential is found by entra-application-id, or created.',
  },
  'woodpecker-credential-name': { description: 'woodpecker: name on create, rename on update.' },
  'woodpecker-client-secret': {
    description:
      'woodpecker: bring your own new secret instead of minting one in Entra (with woodpecker-secret-expires-at).',
    credential: true,
  },
  'woodpecker-secret-expires-at': {
    description: 'woodpecker: expiry of woodpecker-client-secret, ISO 8601.',
  },
} satisfies InputSpecs;

export interface WoodpeckerSettings {
  readonly name: 'woodpecker';
  readonly url: string;
  readonly apiKey: string;
  /** The credential to update; without it, found by client id in the listing or created. */
  readonly credentialId: number | undefined;
  readonly credentialName: string | undefined;
  /** Where the new secret comes from: minted in Entra, or given by the workflow. */
  readonly source:
    | { readonly kind: 'entra'; readonly entra: EntraSettings }
    | {
        readonly kind: 'given';
        readonly secret: string;
        readonly expiresAt: string;
        readonly tenantId: string | undefined;
        readonly clientId: string | undefined;
        /** How long Woodpecker's INVALID_CLIENT_SECRET is retried: a secret minted elsewhere may still be propagating. */
        readonly propagationTimeoutMs: number;
      };
}

function parseWoodpecker(read: Read, ctx: ParseContext): WoodpeckerSettings {
  const secret = optional(read, 'woodpecker-client-secret');
  const expiresAt = isoDate(read, 'woodpecker-secret-expires-at');
  const credentialId = integer(read, 'woodpecker-credential-id', 1, Number.MAX_SAFE_INTEGER);
  let source: WoodpeckerSettings['source'];
  if (secret !== undefined) {
    if (expiresAt === undefined) {
      throw new InputError(
        `Input 'woodpecker-secret-expires-at' is required with 'woodpecker-client-secret' (Woodpecker takes both together), e.g. 2027-11-28T23:59:59Z.`,
      );
    }
    const tenantId = optional(read, 'entra-tenant-id');
    const clientId = optional(read, 'entra-application-id');
    if (credentialId === undefined && (tenantId === undefined || clientId === undefined)) {
      throw new InputError(
        `Input 'entra-tenant-id' and 'entra-application-id' are required without 'woodpecker-credential-id': they find or create the credential.`,
      );
    }
    if (clientId !== undefined)
      pathId(read, 'entra-application-id', 'the application (client) id, a GUID', GUID);
    source = {
      kind: 'given',
      secret,
      expiresAt,
      tenantId,
      clientId,
      propagationTimeoutMs: duration(
        read,
        'entra-propagation-timeout',
        MAX_MS.propagationTimeout,
        120_000,
      )!,
    };
  } else {
    if (expiresAt !== undefined)
      throw new InputError(
        `Input 'woodpecker-secret-expires-at' goes only with 'woodpecker-client-secret'; without it the secret is minted in Entra.`,
      );
    source = { kind: 'entra', entra: parseEntra(read, ctx) };
  }
  return {
    name: 'woodpecker',
    url: url(read, 'woodpecker-url', 'https://api.woodpecker.co/rest'),
    apiKey: required(read, 'woodpecker-api-key', 'a Woodpecker API key'),
    credentialId,
    credentialName: optional(read, 'woodpecker-credential-name'),
    source,
  };
}

/** 401/404/500 carry `{title, detail}`; 422 carries `{message}` such as INVALID_CLIENT_SECRET. */
function explain(status: number, body: unknown): string | undefined {
  const message = field(body, 'message');
  if (message) return `Woodpecker says ${loggable(message, 100)}`;
  const title = field(body, 'title');
  const detail = field(body, 'detail');
  const hint = status === 401 ? '; check woodpecker-api-key' : '';
  return title || detail
    ? `${loggable([title, detail].filter(Boolean).join(': '), 200)}${hint}`
    : undefined;
}

/** Woodpecker stores ISO 8601 without fractions, e.g. 2027-11-28T23:59:59Z. */
function isoSeconds(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What preflight found: the Woodpecker credential to update, when one exists, and its expiry then. */
interface WoodpeckerFound {
  readonly existingId: string | undefined;
  /** The credential's `secret_expires_at` as preflight listed it, in ms: no proof of a save by this run. */
  readonly expiry: number | undefined;
  /** The Entra application's passwords then, with a minted secret: only those may be removed as earlier. */
  readonly passwords: readonly Password[];
}

/** The Entra password this rotation minted, if it minted one: confirmed, or kept, later. */
interface WoodpeckerRotated {
  readonly added: NewPassword | undefined;
  readonly before: ReadonlySet<string>;
}

function createWoodpecker(
  s: WoodpeckerSettings,
  deps: ProviderDeps,
): Provider<WoodpeckerFound, WoodpeckerRotated> {
  const base = `${s.url}/v2/mailboxes/microsoft/credentials`;
  const headers = { 'x-api-key': s.apiKey };
  const entra = s.source.kind === 'entra' ? new EntraApp(s.source.entra, deps) : undefined;
  const tenantId = entra?.tenantId ?? (s.source.kind === 'given' ? s.source.tenantId : undefined);
  const clientId = entra?.appId ?? (s.source.kind === 'given' ? s.source.clientId : undefined);
  const patienceMs =
    s.source.kind === 'entra' ? s.source.entra.propagationTimeoutMs : s.source.propagationTimeoutMs;

  const woodpecker = (
    method: Method,
    url: string,
    what: string,
    retry: 'safe' | 'once',
    json?: unknown,
    attempts?: { mayHaveLanded: boolean },
  ) =>
    deps.http({
      method,
      url,
      headers,
      what,
      retry,
      explain,
      ...(json === undefined ? {} : { json }),
      ...(attempts ? { attempts } : {}),
    });

  /**
   * Saves the secret, retrying Woodpecker's 422 INVALID_CLIENT_SECRET while a new Entra password
   * propagates. A 422 means nothing was saved, so the retry cannot save twice; PATCH is idempotent
   * anyway, and a create is sent `once`.
   */
  async function save(
    secret: string,
    expiresAt: string,
    existingId: string | undefined,
    attempts: { mayHaveLanded: boolean },
  ): Promise<unknown> {
    const deadline = now() + patienceMs;
    const body: Record<string, string> = { client_secret: secret, secret_expires_at: expiresAt };
    if (s.credentialName) body['name'] = s.credentialName;
    for (let attempt = 1; ; attempt++) {
      try {
        if (existingId)
          return (
            await woodpecker(
              'PATCH',
              `${base}/${encodeURIComponent(existingId)}`,
              `update Woodpecker credential ${existingId}`,
              'safe',
              body,
              attempts,
            )
          ).body;
        return (
          await woodpecker(
            'POST',
            base,
            'create the Woodpecker credential',
            'once',
            { tenant_id: tenantId, client_id: clientId, ...body },
            attempts,
          )
        ).body;
      } catch (err) {
        const propagating =
          err instanceof HttpError &&
          err.status === 422 &&
          /INVALID_CLIENT_SECRET/.test(err.message);
        if (!propagating) throw err;
        if (now() >= deadline) {
          throw new HttpError(
            `${err.message} Woodpecker still refused the secret after ${Math.round(patienceMs / 1000)} s of retries (entra-propagation-timeout).`,
            err.status,
            false,
            err.body,
          );
        }
        if (attempt === 1)
          deps.info('Woodpecker cannot use the new secret yet (Entra propagation); retrying.');
        await sleep(Math.min(3000, Math.max(0, deadline - now())));
      }
    }
  }

  async function list(): Promise<unknown[]> {
    const res = await woodpecker(
      'GET',
      base,
      'list Woodpecker Microsoft Graph credentials (checks woodpecker-api-key)',
      'safe',
    );
    const all = (res.body as { credentials?: unknown } | undefined)?.credentials;
    // Read as "none", a malformed answer would make the action create a second credential.
    if (!Array.isArray(all))
      throw new ProviderError(
        'Woodpecker answered the credential listing without a credentials list.',
      );
    return all;
  }

  function pick(all: unknown[], existingId: string | undefined): unknown {
    return s.credentialId !== undefined || existingId !== undefined
      ? all.find((c) => field(c, 'credential_id') === (existingId ?? String(s.credentialId)))
      : all.find((c) => field(c, 'client_id') === clientId);
  }

  /**
   * After a save whose outcome is unknown: the credential as saved, or undefined when it was not. The
   * listing proves a save only by an expiry this run chose to differ from the one preflight saw (an
   * earlier run in the same second, or a person, cannot have left it); without one it cannot tell.
   */
  async function findSaved(
    expiry: string,
    cause: Error,
    found: WoodpeckerFound,
    secretKept: string,
  ): Promise<unknown> {
    const unknown = (why: string) =>
      new ProviderError(
        `${cause.message} Woodpecker may or may not have saved the new secret and ${why}; ${secretKept} Check the credential in Woodpecker, then re-run.`,
        true,
      );
    if (found.expiry !== undefined && found.expiry === Date.parse(expiry))
      throw unknown(
        'its listing cannot tell (it showed woodpecker-secret-expires-at before this run)',
      );
    const match = pick(
      await list().catch(() => {
        throw unknown('could not be asked');
      }),
      found.existingId,
    );
    // Compared as instants: Woodpecker may write the same time differently (fractions, +00:00).
    const listed = Date.parse(field(match, 'secret_expires_at') ?? '');
    return match !== undefined && listed === Date.parse(expiry) ? match : undefined;
  }

  return {
    async preflight(): Promise<Found<WoodpeckerFound>> {
      // Sequential on purpose: Woodpecker must never see two requests at once, and Entra goes first.
      const passwords = entra ? await entra.passwords() : [];
      const match = pick(await list(), undefined);
      if (s.credentialId !== undefined && !match)
        throw new ProviderError(
          `Woodpecker has no Microsoft Graph credential ${s.credentialId} (woodpecker-credential-id).`,
        );
      const existingId = match ? field(match, 'credential_id') : undefined;
      const credential: Credential = {
        clientId: match ? field(match, 'client_id') : clientId,
        credentialId: existingId,
        description: existingId
          ? `Woodpecker credential ${loggable(existingId, 40)}${field(match, 'name') ? ` (${loggable(field(match, 'name'), 100)})` : ''}`
          : `a new Woodpecker credential for client ${clientId}`,
        expiresAt: match ? field(match, 'secret_expires_at') : undefined,
        oldSecretDiesOnRotate: false,
        // Woodpecker's expiry is that of what Woodpecker holds: a run killed after the save leaves
        // the targets with the earlier Entra password, which the expiry rule then decides by.
        ...(s.source.kind === 'entra'
          ? { issued: issuedBy(passwords, s.source.entra.passwordTag) }
          : {}),
      };
      const listed = Date.parse(field(match, 'secret_expires_at') ?? '');
      return {
        credential,
        found: { existingId, expiry: Number.isNaN(listed) ? undefined : listed, passwords },
      };
    },

    async rotate(found, _chosen, issued): Promise<Rotated<WoodpeckerRotated>> {
      let secret: string;
      let expiresAt: string;
      let added: NewPassword | undefined;
      if (entra) {
        added = await entra.addPassword();
        secret = added.secretText;
        // Escrowed before the save: a run killed while Woodpecker saves still hands it over.
        await issued?.(secret);
        expiresAt = added.endDateTime ?? new Date(now()).toISOString();
      } else if (s.source.kind === 'given') {
        secret = s.source.secret;
        expiresAt = s.source.expiresAt;
        deps.mask(secret);
      } else throw new Error('unreachable');
      // The expiry Woodpecker is sent, to the second as it stores it: a minted one is made to differ
      // from the expiry preflight listed (a second earlier at most), so that the listing can prove
      // that this run's save went through even when an earlier run fell in the same second.
      let sent = isoSeconds(expiresAt);
      if (added && found.expiry === Date.parse(sent))
        sent = isoSeconds(new Date(Date.parse(sent) - 1000).toISOString());
      const attempts = { mayHaveLanded: false };
      let saved: unknown;
      try {
        saved = await save(secret, sent, found.existingId, attempts);
        // A success answer that does not show the new expiry may not have saved anything: ask the listing.
        if (Date.parse(field(saved, 'secret_expires_at') ?? '') !== Date.parse(sent))
          throw new ProviderError('Woodpecker answered the save without the new expiry.', true);
      } catch (err) {
        // A 422 means Woodpecker refused and saved nothing, unless an earlier attempt of the same save
        // may have landed unheard (a replica of Entra may refuse a secret another just accepted). Any
        // other failure may follow an attempt that saved: the listing tells, by the expiry just sent.
        const refused = err instanceof HttpError && err.status === 422 && !attempts.mayHaveLanded;
        const kept = added
          ? 'the new Entra password was kept so that neither side breaks.'
          : 'nothing else was changed.';
        saved = refused ? undefined : await findSaved(sent, err as Error, found, kept);
        if (saved === undefined) {
          if (added) await entra!.removePassword(added.keyId);
          throw new ProviderError(
            `${(err as Error).message} ${added ? 'Removed the new Entra password; the' : 'The'} old secret still works in Woodpecker${added ? ' and Entra' : ''}.`,
          );
        }
        deps.info('Woodpecker did save the new secret (its listing shows the new expiry).');
      }
      const existingId = field(saved, 'credential_id') ?? found.existingId;
      const rotation: Rotation = {
        secret,
        clientId: field(saved, 'client_id') ?? clientId,
        credentialId: existingId,
        expiresAt: sent,
        inUseBy: existingId
          ? `Woodpecker credential ${existingId} already uses the new secret`
          : 'Woodpecker already uses the new secret',
      };
      return {
        rotation,
        rotated: { added, before: new Set(found.passwords.map((p) => p.keyId)) },
      };
    },

    async retirePrevious({ added, before }): Promise<string | undefined> {
      if (!entra || !added || s.source.kind !== 'entra') return undefined;
      await entra.confirm(added.secretText);
      return s.source.entra.removePrevious ? entra.removeEarlier(added.keyId, before) : undefined;
    },

    // Woodpecker already holds the new secret and it works: removing it from Entra would break Woodpecker.
    abandon: async () => undefined,
  };
}

export const woodpecker: ProviderModule<WoodpeckerSettings> = {
  inputs,
  docs: {
    title: 'Woodpecker',
    rotates:
      'the client secret of a Microsoft Graph credential: a new Entra password, saved in Woodpecker',
    previous: 'the earlier Entra password is removed once the new one is saved and stored',
  },
  parse: parseWoodpecker,
  create: createWoodpecker,
};
