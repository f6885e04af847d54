// AWS's published service models (botocore's service-2.json, excerpted in aws-models.json) as
// checks: whether a query API request names an operation and members the model has, and whether an
// XML answer has the model's shape. The AWS IAM emulator's tests and the action's end-to-end test
// check against them, so neither the emulator nor the action can drift from AWS unnoticed.
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';

interface Shape {
  readonly type: string;
  readonly required?: readonly string[];
  readonly members?: Record<string, { readonly shape: string }>;
  readonly member?: { readonly shape: string };
  readonly enum?: readonly string[];
  readonly error?: { readonly code: string; readonly httpStatusCode: number };
}
interface Operation {
  readonly input?: { readonly shape: string };
  readonly output?: { readonly shape: string; readonly resultWrapper: string };
  readonly errors?: readonly { readonly shape: string }[];
}
interface Service {
  readonly metadata: { readonly apiVersion: string; readonly xmlNamespace: string };
  readonly operations: Record<string, Operation>;
  readonly shapes: Record<string, Shape>;
}
export const MODELS = JSON.parse(
  readFileSync(new URL('./aws-models.json', import.meta.url), 'utf8'),
) as { readonly source: string; readonly services: Record<'iam' | 'sts', Service> };

/** Every way a form-encoded query request departs from the model: one line each. */
export function requestProblems(service: 'iam' | 'sts', body: string): string[] {
  const m = MODELS.services[service];
  const params = new URLSearchParams(body);
  const action = params.get('Action') ?? '';
  const op = m.operations[action];
  if (!op) return [`${service}: no operation ${action} in the model`];
  const problems: string[] = [];
  if (params.get('Version') !== m.metadata.apiVersion)
    problems.push(
      `${action}: Version ${params.get('Version')}, the model's is ${m.metadata.apiVersion}`,
    );
  const input = op.input ? m.shapes[op.input.shape]! : { type: 'structure', members: {} };
  const given = [...params.keys()].filter((k) => k !== 'Action' && k !== 'Version');
  for (const k of given) {
    const member = input.members?.[k];
    if (!member) {
      problems.push(`${action}: ${k} is not a member of ${op.input?.shape ?? 'its input'}`);
      continue;
    }
    const allowed = m.shapes[member.shape]?.enum;
    if (allowed && !allowed.includes(params.get(k)!))
      problems.push(`${action}: ${k}=${params.get(k)} is not one of ${allowed.join(', ')}`);
  }
  for (const r of input.required ?? [])
    if (!given.includes(r)) problems.push(`${action}: required member ${r} is missing`);
  return problems;
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  isArray: (name) => name === 'member',
});

/**
 * Elements AWS sends that its model does not declare (SDKs skip them; the action reads none): IAM's
 * documented ListAccessKeys answer names the user beside the keys.
 */
const UNMODELLED: Record<string, readonly string[]> = { ListAccessKeysResult: ['UserName'] };

/** Every way a member's value departs from its shape (structures, lists, enums), recursively. */
function shapeProblems(m: Service, shapeName: string, value: unknown, at: string): string[] {
  const shape = m.shapes[shapeName];
  if (!shape) return [`${at}: the model has no shape ${shapeName}`];
  if (shape.type === 'structure') {
    if (value === '' || value === undefined) value = {};
    if (typeof value !== 'object' || value === null) return [`${at}: expected ${shapeName}`];
    const v = value as Record<string, unknown>;
    const out: string[] = [];
    for (const k of Object.keys(v)) {
      const member = shape.members?.[k];
      if (!member && UNMODELLED[at]?.includes(k)) continue;
      if (!member) out.push(`${at}: ${k} is not a member of ${shapeName}`);
      else out.push(...shapeProblems(m, member.shape, v[k], `${at}.${k}`));
    }
    for (const r of shape.required ?? [])
      if (!(r in v)) out.push(`${at}: required member ${r} of ${shapeName} is missing`);
    return out;
  }
  if (shape.type === 'list') {
    const items = value === '' ? [] : (value as { member?: unknown[] }).member;
    if (!Array.isArray(items)) return [`${at}: expected a list of <member>`];
    return items.flatMap((item, i) => shapeProblems(m, shape.member!.shape, item, `${at}[${i}]`));
  }
  if (typeof value !== 'string') return [`${at}: expected text for ${shapeName}`];
  if (shape.enum && !shape.enum.includes(value))
    return [`${at}: ${value} is not one of ${shape.enum.join(', ')}`];
  if (shape.type === 'timestamp' && Number.isNaN(Date.parse(value)))
    return [`${at}: ${value} is not a timestamp`];
  return [];
}

/**
 * Every way a 2xx answer to `action` departs from the model: the root element and namespace, the
 * result wrapper's members (recursively), and a RequestId.
 */
export function answerProblems(service: 'iam' | 'sts', action: string, text: string): string[] {
  const m = MODELS.services[service];
  const op = m.operations[action];
  if (!op) return [`${service}: no operation ${action} in the model`];
  const doc = xml.parse(text) as Record<string, Record<string, unknown>>;
  const root = doc[`${action}Response`];
  if (!root) return [`${action}: the root element is not ${action}Response`];
  const out: string[] = [];
  if (root['@xmlns'] !== m.metadata.xmlNamespace)
    out.push(
      `${action}: namespace ${String(root['@xmlns'])}, the model's is ${m.metadata.xmlNamespace}`,
    );
  const meta = root['ResponseMetadata'] as Record<string, unknown> | undefined;
  if (typeof meta?.['RequestId'] !== 'string') out.push(`${action}: no ResponseMetadata/RequestId`);
  if (op.output) {
    const result = root[op.output.resultWrapper];
    if (result === undefined) out.push(`${action}: no ${op.output.resultWrapper}`);
    else out.push(...shapeProblems(m, op.output.shape, result, op.output.resultWrapper));
  }
  return out;
}

/** The error codes the model declares for an operation, with their HTTP status. */
export function declaredErrors(service: 'iam' | 'sts', action: string): Map<string, number> {
  const m = MODELS.services[service];
  return new Map(
    (m.operations[action]?.errors ?? []).map((e) => {
      const err = m.shapes[e.shape]!.error!;
      return [err.code, err.httpStatusCode] as const;
    }),
  );
}
