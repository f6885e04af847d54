// AWS's query API, the parts every call shares: the SigV4 signer and the XML parser (loaded on first
// use), reading XML answers, and AWS error bodies reduced to their safe parts for messages.
import type { XMLParser } from 'fast-xml-parser';
import { loggable } from '../untrusted.js';

/**
 * The signer and the XML parser, loaded on first use: the bundle keeps them in a chunk of their own,
 * so runs of every other provider neither read nor compile them.
 */
interface AwsLibs {
  readonly SignatureV4: typeof import('@smithy/signature-v4').SignatureV4;
  readonly Sha256: typeof import('@aws-crypto/sha256-js').Sha256;
  readonly xml: XMLParser;
}
let libs: Promise<AwsLibs> | undefined;
/** Set once the libraries are loaded: parseXml needs the parser synchronously (explain). */
let xml: XMLParser | undefined;
export function loadLibs(): Promise<AwsLibs> {
  libs ??= Promise.all([
    import('@smithy/signature-v4'),
    import('@aws-crypto/sha256-js'),
    import('fast-xml-parser'),
  ]).then(([sig, sha, fxp]) => {
    xml = new fxp.XMLParser({
      ignoreAttributes: true,
      parseTagValue: false,
      processEntities: true,
      htmlEntities: false,
      isArray: (name: string) => name === 'member',
    });
    return { SignatureV4: sig.SignatureV4, Sha256: sha.Sha256, xml };
  });
  return libs;
}

/** Parses an answer body (text) as XML; undefined when it is not XML. */
export function parseXml(body: unknown): Record<string, unknown> | undefined {
  if (xml === undefined || typeof body !== 'string' || !body.trimStart().startsWith('<'))
    return undefined;
  // AWS never sends a document type: one is refused rather than expanded (entity bombs).
  if (/<!DOCTYPE|<!ENTITY/i.test(body)) return undefined;
  try {
    const doc = xml.parse(body) as unknown;
    return doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The value at a path of element names, when it is a string. */
export function at(doc: unknown, ...path: string[]): unknown {
  let v = doc;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}
export function text(doc: unknown, ...path: string[]): string | undefined {
  const v = at(doc, ...path);
  return typeof v === 'string' ? v : undefined;
}

/** An AWS error answer's code (ErrorResponse/Error/Code). */
export function awsCode(body: unknown): string | undefined {
  const code = text(parseXml(body), 'ErrorResponse', 'Error', 'Code');
  return code !== undefined && /^[\w.]{1,64}$/.test(code) ? code : undefined;
}

const HINTS: Record<string, string> = {
  InvalidClientTokenId: 'AWS does not know this access key id (wrong, deleted, or not yet known)',
  SignatureDoesNotMatch: 'the secret access key does not match the key id, or the clock is off',
  ExpiredToken: 'the session token expired: sign in again (configure-aws-credentials)',
  AccessDenied:
    'the signer may not do this: see the least-privilege policy in docs/providers/aws-iam.md',
  NoSuchEntity: 'no such IAM user or access key',
  LimitExceeded: 'the user already holds two access keys, the most IAM allows',
  Throttling: 'AWS rate limit; try again later',
  ServiceFailure: 'AWS failed to process the request',
};

/** AWS error bodies: the code, the message and the request id; the safe parts only. */
export function explainAws(_status: number, body: unknown): string | undefined {
  const doc = parseXml(body);
  const code = awsCode(body);
  if (!code) return undefined;
  const message = text(doc, 'ErrorResponse', 'Error', 'Message');
  const id = text(doc, 'ErrorResponse', 'RequestId');
  return [
    HINTS[code],
    `code ${code}`,
    message ? `"${loggable(message, 200)}"` : undefined,
    id ? `RequestId ${loggable(id, 60)}` : undefined,
  ]
    .filter(Boolean)
    .join('; ');
}

export interface SigningKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}
