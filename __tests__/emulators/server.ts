// The base of every emulator: a loopback HTTP server with a tiny router, a request log and
// per-route fault injection. Emulators add routes; tests read `requests` and call `fault()`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Request {
  readonly method: string;
  /** Path without the query string, percent-decoding left to the route. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  /** Raw body text. */
  readonly text: string;
  /** Route parameters from `:name` segments, decoded. */
  params: Record<string, string>;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: Request) => Reply | Promise<Reply>;

/** One fault, applied to the next `times` requests that match (default: every one). */
export interface Fault {
  /** Answer with this status (and `body`, `headers`) instead of the route. */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering (or before dropping). */
  delayMs?: number;
  /** Destroy the socket instead of answering. */
  drop?: boolean;
  /** Never answer (the socket is closed when the server closes). */
  hang?: boolean;
  /** Run the real route first, then drop, hang or answer `status` (the effect happened but the client never hears of it), or, with only `headers`, add them to the real answer. */
  afterEffect?: boolean;
  /** How many matching requests this fault applies to; omitted: all. */
  times?: number;
  /** Only requests whose body contains this text (one endpoint, many actions: WHMCS). */
  bodyIncludes?: string;
  /** Let this many matching requests through untouched before the fault starts to apply. */
  skip?: number;
  /** Runs when the fault applies, before anything else (e.g. moves a virtual clock: an answer that takes minutes). */
  onMatch?: () => void;
  /** Runs once the answer was handed to the socket (a test's "the rotating answer was sent"). */
  onAnswered?: () => void;
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number | 'dropped' | 'hung';
  readonly body: string;
  /** When the answer was sent (or the request dropped or hung), on the emulator's clock. */
  readonly at: number;
  /** When the request began to arrive, on the emulator's clock (`at` minus it: the time it took here). */
  readonly receivedAt: number;
}

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

interface ArmedFault extends Fault {
  method: string;
  pattern: RegExp;
  left: number;
  skipLeft: number;
}

export interface EmulatorOptions {
  /** The emulator's clock (default Date.now): token lifetimes, timestamps and the Date header follow it. */
  readonly now?: () => number;
}

export class Emulator {
  readonly requests: LoggedRequest[] = [];
  #routes: Route[] = [];
  #faults: ArmedFault[] = [];
  #server: Server;
  #sockets = new Set<Socket>();
  #url = '';
  /** The clock every time-dependent answer reads; a test may inject a virtual one. */
  readonly clock: () => number;
  /** Requests received and not yet answered (or closed). */
  inFlight = 0;
  /** The most requests ever in flight at once. */
  peakInFlight = 0;

  constructor(options: EmulatorOptions = {}) {
    this.clock = options.now ?? Date.now;
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  /** Base URL, `http://127.0.0.1:PORT`, without a trailing slash. */
  get url(): string {
    return this.#url;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** `path` uses `:name` segments; a trailing `*name` segment takes the rest of the path. */
  route(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path
      .split('/')
      .map((seg) => {
        if (seg.startsWith(':')) {
          names.push(seg.slice(1));
          return '([^/]+)';
        }
        if (seg.startsWith('*')) {
          names.push(seg.slice(1));
          return '(.+)';
        }
        return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.#routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  /** Arms a fault for requests whose method is `method` (or `*`) and whose path matches `path` (a regex or an exact string). */
  fault(method: string, path: string | RegExp, fault: Fault): this {
    const pattern =
      typeof path === 'string'
        ? new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
        : path;
    this.#faults.push({
      ...fault,
      method,
      pattern,
      left: fault.times ?? Number.POSITIVE_INFINITY,
      skipLeft: fault.skip ?? 0,
    });
    return this;
  }

  clearFaults(): void {
    this.#faults = [];
  }

  /** Requests whose method and path match, for assertions. */
  calls(method: string, path: string | RegExp): LoggedRequest[] {
    return this.requests.filter(
      (r) =>
        (method === '*' || r.method === method) &&
        (typeof path === 'string' ? r.path === path : path.test(r.path)),
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = this.clock();
    this.inFlight += 1;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    res.once('close', () => (this.inFlight -= 1));
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const log = (status: LoggedRequest['status']): void => {
      this.requests.push({ method, path, status, body: text, at: this.clock(), receivedAt });
    };

    const matching = this.#faults.filter(
      (f) =>
        f.left > 0 &&
        (f.method === '*' || f.method === method) &&
        f.pattern.test(path) &&
        (f.bodyIncludes === undefined || text.includes(f.bodyIncludes)),
    );
    // Every armed fault counts the requests it lets through; the first one not skipping applies.
    let fault: ArmedFault | undefined;
    for (const f of matching) {
      if (f.skipLeft > 0) f.skipLeft -= 1;
      else fault ??= f;
    }
    if (fault) fault.left -= 1;
    fault?.onMatch?.();
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));

    const request: Request = {
      method,
      path,
      query: url.searchParams,
      headers: req.headers,
      text,
      params: {},
    };
    if (fault && !fault.afterEffect && (fault.drop || fault.hang || fault.status !== undefined)) {
      if (fault.drop) {
        log('dropped');
        res.socket?.destroy();
        return;
      }
      if (fault.hang) {
        log('hung');
        return;
      }
      log(fault.status!);
      send(res, this.clock(), {
        status: fault.status!,
        body: fault.body,
        ...(fault.headers ? { headers: fault.headers } : {}),
      });
      return;
    }

    let reply: Reply;
    try {
      reply = await this.#dispatch(request);
    } catch (err) {
      reply = { status: 500, body: { message: `emulator error: ${(err as Error).message}` } };
    }
    if (fault?.afterEffect && fault.drop) {
      log('dropped');
      res.socket?.destroy();
      return;
    }
    if (fault?.afterEffect && fault.hang) {
      log('hung');
      return;
    }
    if (fault?.afterEffect && fault.status === undefined && fault.headers)
      reply = { ...reply, headers: { ...reply.headers, ...fault.headers } };
    if (fault?.afterEffect && fault.status !== undefined) {
      reply = {
        status: fault.status,
        body: fault.body,
        ...(fault.headers ? { headers: fault.headers } : {}),
      };
    }
    log(reply.status);
    send(res, this.clock(), reply);
    fault?.onAnswered?.();
  }

  async #dispatch(req: Request): Promise<Reply> {
    for (const r of this.#routes) {
      if (r.method !== req.method) continue;
      const m = r.pattern.exec(req.path);
      if (!m) continue;
      req.params = Object.fromEntries(
        r.names.map((n, i) => [n, decodeURIComponent(m[i + 1] ?? '')]),
      );
      return r.handler(req);
    }
    return { status: 404, body: { message: 'Not Found' } };
  }
}

function send(res: ServerResponse, at: number, reply: Reply): void {
  // The Date header Node would add, but from the emulator's clock.
  const headers: Record<string, string> = { date: new Date(at).toUTCString(), ...reply.headers };
  let payload = '';
  if (reply.body !== undefined) {
    payload = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    headers['content-type'] ??=
      typeof reply.body === 'string' ? 'text/plain' : 'application/json; charset=utf-8';
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

/** Parses a JSON body, answering `undefined` when it is not JSON. */
export function json(req: Request): unknown {
  try {
    return JSON.parse(req.text);
  } catch {
    return undefined;
  }
}

/** Parses a form-encoded body. */
export function form(req: Request): URLSearchParams {
  return new URLSearchParams(req.text);
}
