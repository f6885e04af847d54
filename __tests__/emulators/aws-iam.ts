// AWS IAM and STS, as their query APIs document them: every request is a form-encoded POST signed
// with Signature Version 4, checked here independently of the signing library (node:crypto, from the
// canonical request up): the scope must name the service (iam, signed for us-east-1; sts, for the
// region), host and x-amz-date must be signed, a signature older than 15 minutes is expired, a session
// token must be signed and belong to its key. A user holds at most two access keys (LimitExceeded for
// a third), every Active key signs, an Inactive one does not (InvalidClientTokenId), a new key's secret
// is shown once, and a new key signs only after a propagation delay (IAM is eventually consistent).
// Answers are XML with the documented element names; errors are ErrorResponse/Error/{Type,Code,
// Message} with the documented codes and statuses (NoSuchEntity 404, LimitExceeded 409,
// InvalidClientTokenId 403, SignatureDoesNotMatch 403, AccessDenied 403, Throttling 400,
// ServiceFailure 500). IAM is served at `/`, STS at `/sts/`.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Emulator, type EmulatorOptions, form, type Reply, type Request } from './server.ts';

const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export interface AwsKey {
  readonly id: string;
  readonly secret: string;
  status: 'Active' | 'Inactive';
  readonly created: string;
  /** Emulator time from which the key signs (propagation). */
  readonly usableAt: number;
}

export interface AwsUser {
  readonly name: string;
  readonly arn: string;
  keys: AwsKey[];
  /** IAM users this user's keys may manage (iam:*AccessKey*); '*' any. */
  manages: readonly string[];
}

/** Temporary credentials of an assumed role (what configure-aws-credentials leaves after OIDC). */
export interface AwsSession {
  readonly id: string;
  readonly secret: string;
  readonly token: string;
  readonly arn: string;
  manages: readonly string[];
}

export interface AwsIamOptions extends EmulatorOptions {
  readonly account?: string;
  /** How long a new access key takes to sign (default 0). */
  readonly propagationDelayMs?: number;
  /** The STS region (default us-east-1). */
  readonly region?: string;
}

/** An ErrorResponse body, for armed faults too: `fault('POST', '/', { status: 400, body: awsError('Throttling', 'Rate exceeded') })`. */
export function awsError(
  code: string,
  message: string,
  type: 'Sender' | 'Receiver' = 'Sender',
  ns = IAM_NS,
): string {
  return `<ErrorResponse xmlns="${ns}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${code}</Code>\n    <Message>${esc(message)}</Message>\n  </Error>\n  <RequestId>${requestId()}</RequestId>\n</ErrorResponse>\n`;
}

function esc(v: string): string {
  return v
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
function requestId(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
const sha256 = (v: string | Buffer) => createHash('sha256').update(v).digest('hex');
const hmac = (k: Buffer | string, v: string) => createHmac('sha256', k).update(v).digest();

/** SigV4's URI encoding: every byte but A-Z a-z 0-9 - _ . ~ percent-encoded. */
function uriEncode(v: string): string {
  return encodeURIComponent(v).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function xmlOk(action: string, ns: string, result: string): Reply {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId() },
    body: `<${action}Response xmlns="${ns}">\n  <${action}Result>${result}</${action}Result>\n  <ResponseMetadata>\n    <RequestId>${requestId()}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`,
  };
}
/** An action whose answer has no result element (UpdateAccessKey, DeleteAccessKey). */
function xmlDone(action: string): Reply {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body: `<${action}Response xmlns="${IAM_NS}">\n  <ResponseMetadata>\n    <RequestId>${requestId()}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`,
  };
}
function fail(status: number, code: string, message: string, ns = IAM_NS): Reply {
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body: awsError(code, message, status >= 500 ? 'Receiver' : 'Sender', ns),
  };
}

type Signer =
  { kind: 'user'; user: AwsUser; key: AwsKey } | { kind: 'session'; session: AwsSession };

export class AwsIamEmulator extends Emulator {
  readonly account: string;
  readonly region: string;
  readonly propagationDelayMs: number;
  readonly #users = new Map<string, AwsUser>();
  readonly #sessions = new Map<string, AwsSession>();
  /** Every key ever deleted, for leak scans and "never deleted an Active key" checks. */
  readonly deleted: (AwsKey & { user: string; wasStatus: AwsKey['status'] })[] = [];
  /** Every secret access key ever issued. */
  readonly issuedSecrets: string[] = [];
  #created = 0;

  constructor(o: AwsIamOptions = {}) {
    super(o);
    this.account = o.account ?? '123456789012';
    this.region = o.region ?? 'us-east-1';
    this.propagationDelayMs = o.propagationDelayMs ?? 0;
    this.route('POST', '/', (r) => this.#iam(r));
    this.route('POST', '/sts/', (r) => this.#sts(r));
  }

  get iamUrl(): string {
    return this.url;
  }
  get stsUrl(): string {
    return `${this.url}/sts`;
  }

  addUser(
    name: string,
    o: {
      keys?: { id?: string; secret: string; status?: AwsKey['status']; created?: string }[];
      manages?: readonly string[];
    } = {},
  ): AwsUser {
    const user: AwsUser = {
      name,
      arn: `arn:aws:iam::${this.account}:user/${name}`,
      keys: (o.keys ?? []).map((k, i) => ({
        id: k.id ?? this.#newKeyId('AKIA'),
        secret: k.secret,
        status: k.status ?? 'Active',
        created: k.created ?? `2026-0${i + 1}-05T10:00:00Z`,
        usableAt: 0,
      })),
      manages: o.manages ?? [],
    };
    this.#users.set(name, user);
    return user;
  }

  addSession(role: string, manages: readonly string[]): AwsSession {
    const s: AwsSession = {
      id: this.#newKeyId('ASIA'),
      secret: randomBytes(30).toString('base64').slice(0, 40),
      token: `IQoJb3JpZ2luX2VjE${randomBytes(60).toString('base64')}`,
      arn: `arn:aws:sts::${this.account}:assumed-role/${role}/GitHubActions`,
      manages,
    };
    this.#sessions.set(s.id, s);
    return s;
  }

  user(name: string): AwsUser {
    const u = this.#users.get(name);
    if (!u) throw new Error(`no user ${name}`);
    return u;
  }

  /** True when this id and secret sign now (an Active key past its propagation delay). */
  keyWorks(id: string, secret: string): boolean {
    for (const u of this.#users.values())
      for (const k of u.keys)
        if (k.id === id)
          return k.secret === secret && k.status === 'Active' && this.clock() >= k.usableAt;
    return false;
  }

  /** How many CreateAccessKey calls took effect. */
  creations(): number {
    return this.#created;
  }

  #newKeyId(prefix: string): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    let id = prefix;
    for (const b of randomBytes(16)) id += alphabet[b % 32];
    return id;
  }

  /** Checks the SigV4 signature; the signer, or the error reply. */
  #verify(r: Request, service: 'iam' | 'sts', ns: string): Signer | Reply {
    const auth = r.headers['authorization'];
    if (typeof auth !== 'string')
      return fail(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token', ns);
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
        auth,
      );
    if (!m)
      return fail(
        400,
        'IncompleteSignature',
        'Authorization header requires Credential, SignedHeaders and Signature parameters.',
        ns,
      );
    const [, keyId, day, region, svc, signedHeaders, signature] = m as unknown as string[];
    const wantRegion = service === 'iam' ? 'us-east-1' : this.region;
    if (region !== wantRegion)
      return fail(
        403,
        'SignatureDoesNotMatch',
        `Credential should be scoped to a valid region, not '${region}'.`,
        ns,
      );
    if (svc !== service)
      return fail(
        403,
        'SignatureDoesNotMatch',
        `Credential should be scoped to correct service: '${service}'.`,
        ns,
      );
    const signed = signedHeaders!.split(';');
    if (!signed.includes('host') || !signed.includes('x-amz-date'))
      return fail(403, 'SignatureDoesNotMatch', 'Host and X-Amz-Date must be signed.', ns);
    const amzDate = r.headers['x-amz-date'];
    const dm =
      typeof amzDate === 'string'
        ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)
        : null;
    if (!dm || amzDate!.slice(0, 8) !== day)
      return fail(
        403,
        'SignatureDoesNotMatch',
        'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.',
        ns,
      );
    const t = Date.UTC(+dm[1]!, +dm[2]! - 1, +dm[3]!, +dm[4]!, +dm[5]!, +dm[6]!);
    if (Math.abs(this.clock() - t) > 15 * 60_000)
      return fail(
        403,
        'SignatureDoesNotMatch',
        `Signature expired: ${amzDate} is now earlier than ${new Date(this.clock() - 15 * 60_000).toISOString().replace(/[-:]|\.\d+/g, '')} (${new Date(this.clock()).toISOString().replace(/[-:]|\.\d+/g, '')} - 15 min.)`,
        ns,
      );
    // The signer: a user's key or a session's.
    let signer: Signer | undefined;
    let secret: string | undefined;
    const session = this.#sessions.get(keyId!);
    if (session) {
      signer = { kind: 'session', session };
      secret = session.secret;
    } else
      for (const u of this.#users.values()) {
        const k = u.keys.find((x) => x.id === keyId);
        if (k && k.status === 'Active' && this.clock() >= k.usableAt) {
          signer = { kind: 'user', user: u, key: k };
          secret = k.secret;
        }
      }
    if (!signer || secret === undefined)
      return fail(
        403,
        'InvalidClientTokenId',
        'The security token included in the request is invalid.',
        ns,
      );
    // The canonical request, from what arrived.
    const headerLines = signed.map((h) => {
      const v = r.headers[h];
      const value = (Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ');
      return `${h}:${value}\n`;
    });
    const query = [...r.query.entries()]
      .map(([k, v]) => [uriEncode(k), uriEncode(v)])
      .sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : a[1]! < b[1]! ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const payloadHash = sha256(r.text);
    // The hash of what arrived, whatever x-amz-content-sha256 declares (IAM and STS, unlike S3, never
    // sign a declared hash): a changed body fails the signature.
    const canonical = [
      'POST',
      r.path.split('/').map(uriEncode).join('/'),
      query,
      headerLines.join(''),
      signedHeaders,
      payloadHash,
    ].join('\n');
    const scope = `${day}/${region}/${svc}/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
    const kSigning = hmac(hmac(hmac(hmac(`AWS4${secret}`, day!), region!), svc!), 'aws4_request');
    const expected = createHmac('sha256', kSigning).update(toSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex')))
      return fail(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
        ns,
      );
    if (signer.kind === 'session') {
      const token = r.headers['x-amz-security-token'];
      if (token !== signer.session.token || !signed.includes('x-amz-security-token'))
        return fail(
          403,
          'InvalidClientTokenId',
          'The security token included in the request is invalid.',
          ns,
        );
    } else if (r.headers['x-amz-security-token'] !== undefined)
      return fail(
        403,
        'InvalidClientTokenId',
        'The security token included in the request is invalid.',
        ns,
      );
    return signer;
  }

  #sts(r: Request): Reply {
    const signer = this.#verify(r, 'sts', STS_NS);
    if ('status' in signer) return signer;
    const p = form(r);
    if (p.get('Version') !== '2011-06-15' || p.get('Action') !== 'GetCallerIdentity')
      return fail(
        400,
        'InvalidAction',
        `Could not find operation ${p.get('Action') ?? ''} for version ${p.get('Version') ?? ''}`,
        STS_NS,
      );
    const arn = signer.kind === 'user' ? signer.user.arn : signer.session.arn;
    const userId =
      signer.kind === 'user'
        ? `AIDA${signer.user.name.length}EXAMPLE`
        : `AROAEXAMPLE:GitHubActions`;
    return xmlOk(
      'GetCallerIdentity',
      STS_NS,
      `\n    <Arn>${esc(arn)}</Arn>\n    <UserId>${userId}</UserId>\n    <Account>${this.account}</Account>\n  `,
    );
  }

  #iam(r: Request): Reply {
    const signer = this.#verify(r, 'iam', IAM_NS);
    if ('status' in signer) return signer;
    const p = form(r);
    const action = p.get('Action') ?? '';
    if (p.get('Version') !== '2010-05-08')
      return fail(
        400,
        'InvalidAction',
        `Could not find operation ${action} for version ${p.get('Version') ?? ''}`,
      );
    const actions = ['ListAccessKeys', 'CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey'];
    if (!actions.includes(action))
      return fail(
        400,
        'InvalidAction',
        `Could not find operation ${action} for version 2010-05-08`,
      );
    const self = signer.kind === 'user' ? signer.user : undefined;
    const name = p.get('UserName') ?? self?.name;
    if (!name)
      return fail(
        400,
        'ValidationError',
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null",
      );
    const manages = signer.kind === 'user' ? signer.user.manages : signer.session.manages;
    const principal = signer.kind === 'user' ? signer.user.arn : signer.session.arn;
    if (!(manages.includes('*') || manages.includes(name)))
      return fail(
        403,
        'AccessDenied',
        `User: ${principal} is not authorized to perform: iam:${action} on resource: user ${name} because no identity-based policy allows the iam:${action} action`,
      );
    const user = this.#users.get(name);
    if (!user) return fail(404, 'NoSuchEntity', `The user with name ${name} cannot be found.`);
    const member = (k: AwsKey, secret = false) =>
      `\n      <UserName>${esc(user.name)}</UserName>\n      <AccessKeyId>${k.id}</AccessKeyId>\n      <Status>${k.status}</Status>${secret ? `\n      <SecretAccessKey>${esc(k.secret)}</SecretAccessKey>` : ''}\n      <CreateDate>${k.created}</CreateDate>\n    `;
    switch (action) {
      case 'ListAccessKeys':
        return xmlOk(
          'ListAccessKeys',
          IAM_NS,
          `\n    <UserName>${esc(user.name)}</UserName>\n    <AccessKeyMetadata>${user.keys.map((k) => `\n      <member>${member(k)}</member>`).join('')}\n    </AccessKeyMetadata>\n    <IsTruncated>false</IsTruncated>\n  `,
        );
      case 'CreateAccessKey': {
        if (user.keys.length >= 2)
          return fail(409, 'LimitExceeded', 'Cannot exceed quota for AccessKeysPerUser: 2');
        const k: AwsKey = {
          id: this.#newKeyId('AKIA'),
          secret: randomBytes(30).toString('base64').slice(0, 40),
          status: 'Active',
          created: new Date(this.clock()).toISOString().replace(/\.\d+Z$/, 'Z'),
          usableAt: this.clock() + this.propagationDelayMs,
        };
        user.keys.push(k);
        this.issuedSecrets.push(k.secret);
        this.#created += 1;
        return xmlOk(
          'CreateAccessKey',
          IAM_NS,
          `\n    <AccessKey>${member(k, true)}</AccessKey>\n  `,
        );
      }
      case 'UpdateAccessKey':
      case 'DeleteAccessKey': {
        const id = p.get('AccessKeyId') ?? '';
        const k = user.keys.find((x) => x.id === id);
        if (!k) return fail(404, 'NoSuchEntity', `The Access Key with id ${id} cannot be found.`);
        if (action === 'UpdateAccessKey') {
          const status = p.get('Status');
          if (status !== 'Active' && status !== 'Inactive')
            return fail(
              400,
              'ValidationError',
              `1 validation error detected: Value '${status ?? 'null'}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]`,
            );
          k.status = status;
          return xmlDone('UpdateAccessKey');
        }
        user.keys = user.keys.filter((x) => x !== k);
        this.deleted.push({ ...k, user: user.name, wasStatus: k.status });
        return xmlDone('DeleteAccessKey');
      }
    }
    return fail(500, 'ServiceFailure', 'unreachable');
  }
}

export async function startAwsIam(o: AwsIamOptions = {}): Promise<AwsIamEmulator> {
  return new AwsIamEmulator(o).listen();
}
