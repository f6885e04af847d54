// Woodpecker REST v2: Microsoft Graph app-only credentials. Woodpecker checks a secret against Microsoft
// before saving it, and processes one request per API key at a time; overlapping requests are counted.
import { Emulator, type EmulatorOptions, json, type Reply, type Request } from './server.ts';

export type CheckSecret = (
  tenantId: string,
  clientId: string,
  secret: string,
) => boolean | Promise<boolean>;

export interface WoodpeckerOptions extends EmulatorOptions {
  /** Where the API is mounted, as in `https://api.woodpecker.co/rest`. */
  readonly basePath?: string;
  readonly apiKeys?: readonly string[];
  /** Woodpecker's check that the secret obtains a Graph token; wire it to `EntraEmulator.secretWorks`. Default: every secret works. */
  readonly checkSecret?: CheckSecret;
  /** How long each request holds its key, so that overlapping calls are caught. */
  readonly processingMs?: number;
}

export interface WoodpeckerCredential {
  readonly credentialId: number;
  readonly tenantId: string;
  readonly clientId: string;
  secret: string;
  secretExpiresAt: string;
  name: string;
  /** A mailbox uses it: DELETE is refused. */
  inUse: boolean;
  /** Accepted secret changes since it was added or created. */
  secretUpdates: number;
}

const TITLES: Record<number, [string, string]> = {
  401: ['Unauthorized', 'Invalid api key'],
  404: ['Not Found', 'Requested resource does not exist'],
  429: ['Too Many Requests', 'Too many concurrent requests for this api key'],
  500: ['Internal server error', 'An unexpected error has occurred. Please try again later.'],
};

/** Woodpecker's `{title, status, detail, timestamp}` error body; also for armed faults. */
export function woodpeckerError(status: number): Record<string, unknown> {
  const [title, detail] = TITLES[status] ?? ['Error', 'Error'];
  return {
    title,
    status,
    detail,
    timestamp: new Date().toISOString().slice(0, 19).replace('T', ' '),
  };
}

const problem = (status: number): Reply => ({ status, body: woodpeckerError(status) });
const invalid = (message: string): Reply => ({ status: 422, body: { message } });

export class WoodpeckerEmulator extends Emulator {
  checkSecret: CheckSecret;
  processingMs: number;
  /** How listings write `secret_expires_at`: `Z` (2027-11-28T23:59:59Z) or `offset` (...59.000+00:00), the same instant. */
  expiryStyle: 'Z' | 'offset' = 'Z';
  readonly basePath: string;
  readonly #keys: Set<string>;
  readonly #busy = new Set<string>();
  readonly #credentials = new Map<number, WoodpeckerCredential>();
  #nextId = 22334455;
  #violations = 0;

  constructor(o: WoodpeckerOptions = {}) {
    super(o);
    this.basePath = o.basePath ?? '/rest';
    this.#keys = new Set(o.apiKeys ?? ['woodpecker-key']);
    this.checkSecret = o.checkSecret ?? (() => true);
    this.processingMs = o.processingMs ?? 20;
    const list = `${this.basePath}/v2/mailboxes/microsoft/credentials`;
    this.route('GET', list, (r) =>
      this.#serve(r, () => ({
        status: 200,
        body: {
          credentials: [...this.#credentials.values()].map((c) => visible(c, this.expiryStyle)),
        },
      })),
    );
    this.route('POST', list, (r) => this.#serve(r, () => this.#create(r)));
    this.route('PATCH', `${list}/:id`, (r) => this.#serve(r, () => this.#update(r)));
    this.route('DELETE', `${list}/:id`, (r) => this.#serve(r, () => this.#delete(r)));
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
      this.route(method, `${this.basePath}/*rest`, () => problem(404));
  }

  /** Requests that arrived while another one for the same key was in flight (each answered 429). */
  get concurrencyViolations(): number {
    return this.#violations;
  }

  addApiKey(key: string): void {
    this.#keys.add(key);
  }

  addCredential(c: {
    tenantId: string;
    clientId: string;
    secret: string;
    secretExpiresAt: string;
    name?: string;
    credentialId?: number;
    inUse?: boolean;
  }): WoodpeckerCredential {
    const id = c.credentialId ?? this.#nextId++;
    // Like Woodpecker, never hand out an id that is already taken: a later create gets a fresh one.
    if (id >= this.#nextId) this.#nextId = id + 1;
    const credential: WoodpeckerCredential = {
      credentialId: id,
      tenantId: c.tenantId,
      clientId: c.clientId,
      secret: c.secret,
      secretExpiresAt: isoSeconds(c.secretExpiresAt) ?? c.secretExpiresAt,
      name: c.name ?? `Microsoft Graph credential ${id}`,
      inUse: c.inUse ?? false,
      secretUpdates: 0,
    };
    this.#credentials.set(id, credential);
    return credential;
  }

  /** Deletes a credential behind the API's back (a world without one for the client id). */
  removeCredential(id: number): boolean {
    return this.#credentials.delete(id);
  }

  /** The live credential, stored secret included (undefined when unknown or deleted). */
  credential(id: number): WoodpeckerCredential | undefined {
    return this.#credentials.get(id);
  }

  credentials(): WoodpeckerCredential[] {
    return [...this.#credentials.values()];
  }

  async #serve(r: Request, work: () => Reply | Promise<Reply>): Promise<Reply> {
    const key = r.headers['x-api-key'];
    if (typeof key !== 'string' || !this.#keys.has(key)) return problem(401);
    if (this.#busy.has(key)) {
      this.#violations += 1;
      return problem(429);
    }
    this.#busy.add(key);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.processingMs));
      return await work();
    } finally {
      this.#busy.delete(key);
    }
  }

  async #create(r: Request): Promise<Reply> {
    const body = json(r);
    if (!isObject(body)) return invalid('INVALID_REQUEST_BODY');
    // Unverified: the documented list of 422 messages is empty past the two named ones; these follow their style.
    for (const field of ['tenant_id', 'client_id', 'client_secret', 'secret_expires_at']) {
      if (typeof body[field] !== 'string' || body[field] === '')
        return invalid(`${field.toUpperCase()}_IS_REQUIRED`);
    }
    const expires = isoSeconds(body['secret_expires_at'] as string);
    if (!expires) return invalid('INVALID_SECRET_EXPIRES_AT');
    const [tenantId, clientId, secret] = [
      body['tenant_id'],
      body['client_id'],
      body['client_secret'],
    ] as string[];
    if (!(await this.checkSecret(tenantId!, clientId!, secret!)))
      return invalid('INVALID_CLIENT_SECRET');
    const name = typeof body['name'] === 'string' && body['name'] ? body['name'] : undefined;
    const c = this.addCredential({
      tenantId: tenantId!,
      clientId: clientId!,
      secret: secret!,
      secretExpiresAt: expires,
      ...(name ? { name } : {}),
    });
    return { status: 201, body: visible(c) };
  }

  async #update(r: Request): Promise<Reply> {
    const c = this.#find(r);
    if (!c) return problem(404);
    const body = json(r);
    if (!isObject(body)) return invalid('INVALID_REQUEST_BODY');
    const hasSecret = body['client_secret'] !== undefined;
    if (hasSecret !== (body['secret_expires_at'] !== undefined))
      return invalid('CLIENT_SECRET_AND_EXPIRY_MUST_BE_PROVIDED_TOGETHER');
    if (body['name'] !== undefined && (typeof body['name'] !== 'string' || !body['name']))
      return invalid('INVALID_NAME');
    if (hasSecret) {
      const secret = body['client_secret'];
      const expires =
        typeof body['secret_expires_at'] === 'string'
          ? isoSeconds(body['secret_expires_at'])
          : undefined;
      if (typeof secret !== 'string' || !secret) return invalid('CLIENT_SECRET_IS_REQUIRED');
      if (!expires) return invalid('INVALID_SECRET_EXPIRES_AT');
      if (!(await this.checkSecret(c.tenantId, c.clientId, secret)))
        return invalid('INVALID_CLIENT_SECRET');
      c.secret = secret;
      c.secretExpiresAt = expires;
      c.secretUpdates += 1;
    }
    if (typeof body['name'] === 'string') c.name = body['name'];
    return { status: 200, body: visible(c) };
  }

  #delete(r: Request): Reply {
    const c = this.#find(r);
    if (!c) return problem(404);
    if (c.inUse) return invalid('CREDENTIAL_IN_USE');
    this.#credentials.delete(c.credentialId);
    return { status: 204 };
  }

  #find(r: Request): WoodpeckerCredential | undefined {
    const id = r.params['id'] ?? '';
    return /^\d+$/.test(id) ? this.#credentials.get(Number(id)) : undefined;
  }
}

/** What the API shows: never the secret. */
function visible(c: WoodpeckerCredential, style: 'Z' | 'offset' = 'Z'): Record<string, unknown> {
  return {
    credential_id: c.credentialId,
    tenant_id: c.tenantId,
    client_id: c.clientId,
    secret_expires_at:
      style === 'Z' ? c.secretExpiresAt : c.secretExpiresAt.replace(/Z$/, '.000+00:00'),
    name: c.name,
  };
}

/** Woodpecker stores expiries to the second, as `2027-11-28T23:59:59Z`. */
function isoSeconds(s: string): string | undefined {
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function startWoodpecker(
  options: WoodpeckerOptions = {},
): Promise<WoodpeckerEmulator> {
  return new WoodpeckerEmulator(options).listen();
}
