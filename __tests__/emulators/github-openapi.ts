// Validates requests and responses against GitHub's own OpenAPI description of the secrets endpoints
// (github-secrets-openapi.json beside this file, an excerpt of @octokit/openapi made by
// scripts/openapi-excerpt.mjs), so the emulator accepts only what GitHub would.
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

interface Operation {
  parameters?: { name: string; in: string; schema: object }[];
  requestBody?: { content: { 'application/json': { schema: object } } };
  responses: Record<string, { content?: { 'application/json'?: { schema: object } } }>;
}

const SPEC_URL = new URL('./github-secrets-openapi.json', import.meta.url);
/**
 * OpenAPI 3.0's `nullable` beside `anyOf`/`oneOf` without a `type` (the App endpoints' `account`),
 * which Ajv refuses: written as "null, or one of these" instead.
 */
function untyped(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(untyped);
  if (node === null || typeof node !== 'object') return node;
  const o = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, untyped(v)]));
  if (o['nullable'] === true && o['type'] === undefined) {
    delete o['nullable'];
    return { anyOf: [{ type: 'null' }, o] };
  }
  return o;
}

const spec = untyped(JSON.parse(readFileSync(SPEC_URL, 'utf8'))) as {
  paths: Record<string, Record<string, Operation>>;
};
const ajv = new Ajv({ strict: false, allErrors: true });
// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as (a: Ajv) => void;
addFormats(ajv);

/**
 * OpenAPI 3.0's `nullable: true`, written as one more alternative, `{type: 'null'}`: Ajv refuses it
 * beside `anyOf` without a `type` (as the issue schemas have it), and with an `enum` it would still
 * refuse null.
 */
function nullables(schema: unknown): object {
  if (Array.isArray(schema)) return schema.map(nullables);
  if (schema === null || typeof schema !== 'object') return schema as object;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = nullables(v);
  if (out['nullable'] === true) {
    delete out['nullable'];
    return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

const compiled = new Map<object, ValidateFunction>();
function validator(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(nullables(schema));
    compiled.set(schema, v);
  }
  return v;
}

const templates = Object.keys(spec.paths).map((t) => ({
  template: t,
  names: [...t.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!),
  pattern: new RegExp(`^${t.replace(/\{[^}]+\}/g, '([^/]+)')}$`),
}));

export interface Checked {
  /** The spec's path template, or undefined when the path is not in the description. */
  readonly template: string | undefined;
  /** Violations of the description; empty when the request is valid. */
  readonly errors: string[];
  readonly operation: Operation | undefined;
}

/** Checks a request: known path, allowed method, path parameters and JSON body per the description. */
export function checkRequest(method: string, path: string, body: unknown): Checked {
  // Literal segments win over parameters (`public-key` is not a secret name).
  const matches = templates
    .filter((t) => t.pattern.test(path))
    .sort((a, b) => a.names.length - b.names.length);
  const match = matches[0];
  if (!match) return { template: undefined, errors: [], operation: undefined };
  const operation = spec.paths[match.template]![method.toLowerCase()];
  if (!operation)
    return {
      template: match.template,
      errors: [`${method} is not an operation of ${match.template}`],
      operation: undefined,
    };
  const errors: string[] = [];
  const values = match.pattern.exec(path)!.slice(1).map(decodeURIComponent);
  for (const p of operation.parameters ?? []) {
    if (p.in !== 'path') continue;
    const v = validator(p.schema);
    const raw = values[match.names.indexOf(p.name)];
    // A path segment is text: an integer parameter (issue_number) is its decimal form.
    const value =
      (p.schema as { type?: string }).type === 'integer' && /^\d{1,15}$/.test(raw ?? '')
        ? Number(raw)
        : raw;
    if (!v(value)) errors.push(`path parameter ${p.name}: ${ajv.errorsText(v.errors)}`);
  }
  const schema = operation.requestBody?.content['application/json'].schema;
  if (schema) {
    const v = validator(schema);
    if (!v(body)) errors.push(`${method} ${match.template} body: ${ajv.errorsText(v.errors)}`);
  } else if (body !== undefined) errors.push(`${method} ${match.template} takes no body`);
  return { template: match.template, errors, operation };
}

/** Checks the emulator's own answer against the description of that status. */
export function checkResponse(
  checked: Checked,
  method: string,
  status: number,
  body: unknown,
): string[] {
  const response = checked.operation?.responses[String(status)];
  if (!checked.operation || status >= 400) return [];
  if (!response)
    return [
      `${method} ${checked.template} answered ${status}, which the description does not list`,
    ];
  const schema = response.content?.['application/json']?.schema;
  if (!schema)
    return body === undefined
      ? []
      : [`${method} ${checked.template} ${status} has a body the description does not list`];
  const v = validator(schema);
  return v(body)
    ? []
    : [`${method} ${checked.template} ${status} response: ${ajv.errorsText(v.errors)}`];
}
