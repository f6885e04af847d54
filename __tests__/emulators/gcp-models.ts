// Google's API descriptions for the calls the action makes (excerpted in gcp-models.json from the
// generated clients Google publishes on npm, which are built from its discovery documents) as checks:
// whether a request names a method, parameters and body fields the description has, and whether a
// JSON answer has only the fields of its schema. The Google Cloud emulator's tests and the action's
// end-to-end test check against them. The OAuth token endpoint (/oauth2/token, RFC 7523) has no
// discovery document and is not checked here.
import { readFileSync } from 'node:fs';

type Fields = Record<string, string>;
interface Method {
  readonly httpMethod: string;
  readonly path: string;
  readonly parameters?: readonly string[];
  readonly request?: string;
  readonly response?: string;
  readonly nameFormat?: string;
}
interface Service {
  readonly methods: Record<string, Method>;
  readonly schemas: Record<string, Fields>;
}
export type GcpService = 'iam' | 'iamcredentials' | 'sts';
export const MODELS = JSON.parse(
  readFileSync(new URL('./gcp-models.json', import.meta.url), 'utf8'),
) as { readonly source: string; readonly services: Record<GcpService, Service> };

/** A method's URL path as a pattern: `{+name}` in its documented format, every `{X}` one segment. */
function pathPattern(m: Method): RegExp {
  const esc = (t: string) => t.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
  if (!m.path.includes('{+name}')) return new RegExp(`^${esc(m.path)}$`);
  const [before, after] = m.path.split('{+name}') as [string, string];
  const name = (m.nameFormat ?? '{NAME}')
    .split(/\{[A-Z_]+\}/)
    .map(esc)
    .join('[^/]+');
  return new RegExp(`^${esc(before)}${name}${esc(after)}$`);
}

/** The description's method for a request, by HTTP method and path (without the emulator's prefix). */
export function methodOf(
  service: GcpService,
  httpMethod: string,
  path: string,
): string | undefined {
  const methods = MODELS.services[service].methods;
  const decoded = decodeURIComponent(path.split('?')[0]!);
  return Object.keys(methods).find(
    (id) => methods[id]!.httpMethod === httpMethod && pathPattern(methods[id]!).test(decoded),
  );
}

/** Every way a request departs from the description: its method, query parameters, body fields. */
export function requestProblems(
  service: GcpService,
  httpMethod: string,
  path: string,
  body: string,
): string[] {
  const id = methodOf(service, httpMethod, path);
  if (!id) return [`${service}: no method for ${httpMethod} ${path.split('?')[0]}`];
  const m = MODELS.services[service].methods[id]!;
  const problems: string[] = [];
  const query = new URLSearchParams(path.split('?')[1] ?? '');
  for (const k of query.keys())
    if (!(m.parameters ?? []).includes(k)) problems.push(`${id}: no query parameter ${k}`);
  if (body.trim() !== '') {
    if (!m.request) problems.push(`${id}: a body, and the method takes none`);
    else {
      const fields = MODELS.services[service].schemas[m.request]!;
      const given = body.trimStart().startsWith('{')
        ? Object.keys(JSON.parse(body) as object)
        : [...new URLSearchParams(body).keys()];
      for (const k of given)
        if (!(k in fields)) problems.push(`${id}: ${k} is not a field of ${m.request}`);
    }
  }
  return problems;
}

/** Every field of a JSON value that its schema does not have, recursively (objects and arrays). */
function fieldProblems(service: GcpService, schema: string, value: unknown, at: string): string[] {
  const fields = MODELS.services[service].schemas[schema];
  if (!fields) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return [`${at}: expected an object (${schema})`];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
    const type = fields[k];
    if (type === undefined) return [`${at}: ${k} is not a field of ${schema}`];
    if (type.endsWith('[]')) {
      if (!Array.isArray(v)) return [`${at}.${k}: expected an array`];
      return v.flatMap((item, i) =>
        fieldProblems(service, type.slice(0, -2), item, `${at}.${k}[${i}]`),
      );
    }
    if (type === 'string' && typeof v !== 'string') return [`${at}.${k}: expected a string`];
    if (type === 'boolean' && typeof v !== 'boolean') return [`${at}.${k}: expected a boolean`];
    if (type === 'number' && typeof v !== 'number') return [`${at}.${k}: expected a number`];
    return fieldProblems(service, type, v, `${at}.${k}`);
  });
}

/** Every way a 2xx JSON answer to method `id` departs from its response schema. */
export function answerProblems(service: GcpService, id: string, answer: unknown): string[] {
  const m = MODELS.services[service].methods[id];
  if (!m) return [`${service}: no method ${id}`];
  return fieldProblems(service, m.response ?? 'Empty', answer, id);
}
