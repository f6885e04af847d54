// WHMCS: the single API endpoint with ListOAuthCredentials and UpdateOAuthCredential. WHMCS answers
// most errors with HTTP 200 and `result: error`, and resetSecret kills the old secret at once.
import { randomBytes, randomUUID } from 'node:crypto';
import { Emulator, type EmulatorOptions, form, type Reply, type Request } from './server.ts';

export interface WhmcsOptions extends EmulatorOptions {
  /** API credentials (also accepted as `username` + `password`). */
  readonly identifier?: string;
  readonly secret?: string;
  /** Bypasses the IP allow-list when sent as `accesskey`. */
  readonly accessKey?: string;
  /** The allow-list refuses the loopback caller unless a valid accesskey is sent. */
  readonly ipAllowList?: boolean;
  /** HTTP status of `Authentication Failed`; WHMCS commonly answers 200. */
  readonly authErrorStatus?: number;
  /** HTTP status of other `result: error` answers. */
  readonly errorStatus?: number;
  /** Scopes UpdateOAuthCredential accepts. */
  readonly permittedScopes?: readonly string[];
}

export interface WhmcsCredential {
  readonly credentialId: number;
  clientIdentifier: string;
  clientSecret: string;
  name: string;
  description: string;
  grantType: string;
  scope: string;
  serviceId: number;
  logoUri: string;
  redirectUri: string[];
  readonly uuid: string;
  updatedAt: string;
  rotations: number;
}

/** The fields of the last UpdateOAuthCredential call, as sent (auth fields left out). */
export interface WhmcsUpdate {
  readonly credentialId?: string;
  readonly clientApiIdentifier?: string;
  readonly name?: string;
  readonly description?: string;
  readonly grantType?: string;
  readonly scope?: string;
  readonly serviceId?: string;
  readonly logoUri?: string;
  readonly redirectUri?: string[];
  readonly resetSecret?: string;
}

const GRANT_TYPES = ['authorization_code', 'single_sign_on'];
const CREATED_AT = '2026-01-02 10:00:00';
const UPDATE_FIELDS = [
  'credentialId',
  'clientApiIdentifier',
  'name',
  'description',
  'grantType',
  'scope',
  'serviceId',
  'logoUri',
  'resetSecret',
] as const;

export class WhmcsEmulator extends Emulator {
  identifier: string;
  secret: string;
  accessKey: string | undefined;
  ipAllowList: boolean;
  authErrorStatus: number;
  errorStatus: number;
  permittedScopes: readonly string[];
  lastUpdate: WhmcsUpdate | undefined;
  readonly #credentials = new Map<number, WhmcsCredential>();

  constructor(o: WhmcsOptions = {}) {
    super(o);
    this.identifier = o.identifier ?? 'whmcs-identifier';
    this.secret = o.secret ?? 'whmcs-secret';
    this.accessKey = o.accessKey;
    this.ipAllowList = o.ipAllowList ?? false;
    this.authErrorStatus = o.authErrorStatus ?? 200;
    this.errorStatus = o.errorStatus ?? 200;
    this.permittedScopes = o.permittedScopes ?? [
      'clientarea:sso',
      'clientarea:billing_info',
      'clientarea:announcements',
    ];
    this.route('POST', '/includes/api.php', (r) => this.#api(r));
  }

  addCredential(c: {
    credentialId: number;
    clientIdentifier: string;
    secret: string;
    grantType?: string;
    serviceId?: number;
    name?: string;
    scope?: string;
  }): WhmcsCredential {
    const credential: WhmcsCredential = {
      credentialId: c.credentialId,
      clientIdentifier: c.clientIdentifier,
      clientSecret: c.secret,
      name: c.name ?? `Credential ${c.credentialId}`,
      description: '',
      grantType: c.grantType ?? 'authorization_code',
      scope: c.scope ?? 'clientarea:sso',
      serviceId: c.serviceId ?? 0,
      logoUri: '',
      redirectUri: [],
      uuid: randomUUID(),
      updatedAt: CREATED_AT,
      rotations: 0,
    };
    this.#credentials.set(c.credentialId, credential);
    return credential;
  }

  /** The live credential, secret included (throws when unknown). */
  credential(id: number): WhmcsCredential {
    const c = this.#credentials.get(id);
    if (!c) throw new Error(`no WHMCS credential ${id}`);
    return c;
  }

  /** Successful secret resets. */
  rotations(id: number): number {
    return this.credential(id).rotations;
  }

  #api(r: Request): Reply {
    const f = form(r);
    const answer = (status: number, body: Record<string, unknown>): Reply =>
      reply(status, body, f.get('responsetype'));
    // The allow-list is checked before the credentials, as WHMCS does.
    if (this.ipAllowList && !(this.accessKey && f.get('accesskey') === this.accessKey)) {
      return answer(403, { result: 'error', message: 'Invalid IP 127.0.0.1' });
    }
    const id = f.get('identifier') ?? f.get('username');
    const secret = f.get('secret') ?? f.get('password');
    if (id !== this.identifier || secret !== this.secret)
      return answer(this.authErrorStatus, { result: 'error', message: 'Authentication Failed' });
    const fail = (message: string) => answer(this.errorStatus, { result: 'error', message });
    switch (f.get('action')) {
      case 'ListOAuthCredentials':
        return answer(200, this.#list(f));
      case 'UpdateOAuthCredential': {
        const result = this.#update(f);
        return typeof result === 'string' ? fail(result) : answer(200, result);
      }
      default:
        return fail('Command Not Found');
    }
  }

  #list(f: URLSearchParams): Record<string, unknown> {
    const grantType = f.get('grantType');
    const sortField = f.get('sortField') ?? 'credentialId';
    const desc = f.get('sortOrder')?.toUpperCase() === 'DESC';
    // WHMCS list calls page; callers that forget `limit` see only the first 25.
    const limit = Number(f.get('limit') ?? 25) || 25;
    const all = [...this.#credentials.values()]
      .filter((c) => !grantType || c.grantType === grantType)
      .map(listed)
      .sort(
        (a, b) =>
          String(a[sortField] ?? '').localeCompare(String(b[sortField] ?? ''), 'en', {
            numeric: true,
          }) * (desc ? -1 : 1),
      );
    return { result: 'success', totalresults: all.length, clients: all.slice(0, limit) };
  }

  /** Answers an error message, or the success body; validation order follows the documented error list. */
  #update(f: URLSearchParams): string | Record<string, unknown> {
    const update: Record<string, unknown> = {};
    for (const k of UPDATE_FIELDS) if (f.has(k)) update[k] = f.get(k);
    const redirects = [...f.entries()]
      .filter(([k]) => /^redirectUri(\[\d*\])?$/.test(k))
      .map(([, v]) => v);
    if (redirects.length) update['redirectUri'] = redirects;
    this.lastUpdate = update as WhmcsUpdate;

    const byId = f.get('credentialId');
    const byIdentifier = f.get('clientApiIdentifier');
    if (!byId && !byIdentifier) return 'A Credential ID or Client Identifier is required.';
    const c = byId
      ? this.#credentials.get(/^\d+$/.test(byId) ? Number(byId) : NaN)
      : [...this.#credentials.values()].find((x) => x.clientIdentifier === byIdentifier);
    if (!c) return byId ? 'Invalid Credential ID provided.' : 'Invalid Client Identifier provided.';
    const grantType = f.get('grantType') ?? c.grantType;
    if (!GRANT_TYPES.includes(grantType))
      return `The requested grant type “${grantType}” is invalid.`;
    const name = f.get('name') ?? c.name;
    if (!name.trim()) return 'A name for the Client Credential is required.';
    const serviceId = f.has('serviceId')
      ? Number.parseInt(f.get('serviceId')!, 10) || 0
      : c.serviceId;
    if (grantType === 'single_sign_on' && !serviceId)
      return 'A service ID is required for the single sign-on grant type.';
    const scope = f.get('scope') ?? c.scope;
    const badScope = scope
      .split(/\s+/)
      .filter(Boolean)
      .find((s) => !this.permittedScopes.includes(s));
    if (badScope !== undefined) return `The requested scope “${badScope}” is invalid.`;

    Object.assign(c, {
      grantType,
      name,
      serviceId,
      scope,
      description: f.get('description') ?? c.description,
      logoUri: f.get('logoUri') ?? c.logoUri,
    });
    if (redirects.length) c.redirectUri = redirects;
    c.updatedAt = whmcsDate(new Date(this.clock()));
    const body: Record<string, unknown> = {
      result: 'success',
      credentialId: String(c.credentialId),
    };
    // PHP casts the field to bool: anything but '' and '0' resets.
    const reset = f.get('resetSecret');
    if (reset !== null && reset !== '' && reset !== '0') {
      c.clientSecret = randomBytes(24).toString('hex');
      c.rotations += 1;
      body['newClientSecret'] = c.clientSecret;
    }
    return body;
  }
}

function listed(c: WhmcsCredential): Record<string, unknown> {
  return {
    credentialId: c.credentialId,
    name: c.name,
    description: c.description,
    grantTypes: c.grantType,
    scope: c.scope,
    clientIdentifier: c.clientIdentifier,
    clientSecret: c.clientSecret,
    uuid: c.uuid,
    serviceId: c.serviceId,
    logoUri: c.logoUri,
    redirectUri: c.redirectUri,
    createdAt: CREATED_AT,
    updatedAt: c.updatedAt,
  };
}

/** JSON when asked for; otherwise WHMCS's default XML, which a JSON client must not mistake for success. */
function reply(status: number, body: Record<string, unknown>, responsetype: string | null): Reply {
  if (responsetype === 'json') return { status, body };
  const esc = (v: unknown) =>
    String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const fields = Object.entries(body)
    .filter(([, v]) => typeof v !== 'object')
    .map(([k, v]) => `<${k}>${esc(v)}</${k}>`)
    .join('');
  return {
    status,
    body: `<?xml version="1.0" encoding="utf-8"?>\n<whmcsapi version="8.13.0">${fields}</whmcsapi>`,
    headers: { 'content-type': 'text/xml' },
  };
}

function whmcsDate(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

export async function startWhmcs(options: WhmcsOptions = {}): Promise<WhmcsEmulator> {
  return new WhmcsEmulator(options).listen();
}
