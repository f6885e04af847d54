// Readers for single inputs. Each one throws an InputError that starts with the input's name,
// quotes the bad value when it is not secret, and shows the expected form.

export class InputError extends Error {
  override readonly name = 'InputError';
}

/** Reads one raw input by its action.yml name; '' when absent. */
export type Read = (name: string) => string;

/** One input as action.yml declares it; `npm run docs` writes action.yml and the README from these. */
export interface InputSpec {
  readonly description: string;
  /** action.yml's default, which the runner applies; parseInputs applies it too when run elsewhere. */
  readonly default?: string;
  /** Only inputs every run needs; a provider's own inputs are checked by its parser. */
  readonly required?: true;
  /** A credential: masked in the log before anything else happens. */
  readonly credential?: true;
}

export type InputSpecs = Readonly<Record<string, InputSpec>>;

export function optional(read: Read, name: string): string | undefined {
  const v = read(name).trim();
  return v === '' ? undefined : v;
}

export function required(read: Read, name: string, expected: string): string {
  const v = optional(read, name);
  if (v === undefined) throw new InputError(`Input '${name}' is required: ${expected}.`);
  return v;
}

export function bool(read: Read, name: string, fallback: boolean): boolean {
  const v = optional(read, name)?.toLowerCase();
  if (v === undefined) return fallback;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new InputError(`Input '${name}' is '${v}'; expected true or false.`);
}

export function oneOf<T extends string>(
  read: Read,
  name: string,
  values: readonly T[],
  fallback: T,
): T {
  const v = optional(read, name) ?? fallback;
  if ((values as readonly string[]).includes(v)) return v as T;
  throw new InputError(`Input '${name}' is '${v}'; expected one of: ${values.join(', ')}.`);
}

export function integer(
  read: Read,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number | undefined {
  const v = optional(read, name);
  if (v === undefined) return fallback;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new InputError(
      `Input '${name}' is '${v}'; expected a whole number from ${min} to ${max}.`,
    );
  }
  return n;
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `90m`, `12h`, `7d`, `30s`, at most `maxMs`: every duration has an upper bound a careful user
 * expects (Node's timers overflow past about 24.8 days, and a limit of weeks is never meant).
 */
export function duration(
  read: Read,
  name: string,
  maxMs: number,
  fallbackMs?: number,
): number | undefined {
  const v = optional(read, name);
  if (v === undefined) return fallbackMs;
  const m = /^(\d{1,7})([smhd])$/.exec(v);
  const ms = m ? Number(m[1]) * UNITS[m[2]!]! : 0;
  if (ms <= 0)
    throw new InputError(
      `Input '${name}' is '${v}'; expected a duration such as 30s, 90m, 12h or 7d.`,
    );
  if (ms > maxMs)
    throw new InputError(`Input '${name}' is '${v}'; expected at most ${spoken(maxMs)}.`);
  return ms;
}

/** The largest whole unit: 600000 -> `10m`. */
function spoken(ms: number): string {
  const [unit, size] = Object.entries(UNITS)
    .reverse()
    .find(([, size]) => ms % size === 0)!;
  return `${ms / size}${unit}`;
}

/** Upper bounds of the duration inputs; README and action.yml state the same. */
export const MAX_MS = {
  requestTimeout: 600_000, // 10m: one HTTP exchange
  storeTimeout: 21_600_000, // 6h: a GitHub-hosted job's own limit
  propagationTimeout: 3_600_000, // 1h: Entra propagation takes minutes
  skipIfRotatedWithin: 366 * 86_400_000, // 366d: a yearly rotation
  expiresWithin: 366 * 86_400_000, // 366d: a yearly rotation
} as const;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An https URL, or http on a loopback host (for local emulators). Returned without a trailing slash. */
export function url(read: Read, name: string, fallback?: string): string {
  const v = optional(read, name) ?? fallback;
  if (v === undefined) throw new InputError(`Input '${name}' is required: an https:// URL.`);
  return checkUrl(name, v);
}

export function checkUrl(name: string, v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new InputError(`Input '${name}' is '${shownUrl(v)}'; expected an https:// URL.`);
  }
  const ok = u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname));
  // The raw text, not u.search/u.hash: a bare trailing `?` or `#` parses as an empty query or
  // fragment, and a base URL with one would send requests somewhere else than `{url}/path`.
  if (!ok || u.username || u.password || /[?#]/.test(v)) {
    throw new InputError(
      `Input '${name}' is '${shownUrl(v)}'; expected an https:// URL without credentials, query or fragment (no ? or #; http only for 127.0.0.1, localhost, [::1]).`,
    );
  }
  return u.href.replace(/\/+$/, '');
}

/** A URL as an error may repeat it: whatever precedes an `@` may be a password, so it is left out. */
function shownUrl(v: string): string {
  return v.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/i, '$1***@');
}

/** A name GitHub accepts for a secret (or, `what: 'variable'`, a variable: the same rules). */
export function secretName(
  name: string,
  v: string,
  what: 'secret' | 'variable' = 'secret',
): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v) || /^GITHUB_/i.test(v)) {
    throw new InputError(
      `Input '${name}' is '${v}'; a GitHub ${what} name has only letters, digits and _, does not start with a digit, and does not start with GITHUB_.`,
    );
  }
  return v;
}

/** A value safe to put in a URL path segment (ids, GUIDs, org names). */
export function pathId(
  read: Read,
  name: string,
  expected: string,
  pattern = /^[A-Za-z0-9._-]{1,128}$/,
): string {
  const v = required(read, name, expected);
  // `.` and `..` are path segments a URL resolves away: they would address another path.
  if (!pattern.test(v) || v === '.' || v === '..')
    throw new InputError(`Input '${name}' is '${v}'; expected ${expected}.`);
  return v;
}

export const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** An ISO 8601 date-time with a time zone, e.g. 2027-11-28T23:59:59Z. */
export function isoDate(read: Read, name: string): string | undefined {
  const v = optional(read, name);
  if (v === undefined) return undefined;
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) ||
    Number.isNaN(Date.parse(v))
  ) {
    throw new InputError(
      `Input '${name}' is '${v}'; expected an ISO 8601 date-time with a time zone, such as 2027-11-28T23:59:59Z.`,
    );
  }
  return v;
}
