// The AWS IAM/STS emulator keeps AWS's rules: if it drifts from the documented behaviour, every
// end-to-end test built on it proves less. Plain fetch, signed here with AWS's own signer
// (@smithy/signature-v4), checked by the emulator's independent SigV4 implementation.
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, describe, expect, it } from 'vitest';
import { startAwsIam } from './aws-iam.ts';
import { answerProblems, declaredErrors, requestProblems } from './aws-models.ts';

let clock = Date.now();
const aws = await startAwsIam({ now: () => clock, propagationDelayMs: 5_000 });
afterAll(() => aws.close());
aws.addUser('target', {
  keys: [{ id: 'AKIATARGET0000000001', secret: 'Target-Secret-0123456789abcdef' }],
});
aws.addUser('lonely');
const session = aws.addSession('rotator', ['target', 'lonely']);
const outsider = aws.addSession('outsider', []);
const admin = aws.addSession('admin', ['*']);

interface Key {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
const asSession = (s = session): Key => ({
  accessKeyId: s.id,
  secretAccessKey: s.secret,
  sessionToken: s.token,
});

async function call(
  params: Record<string, string>,
  o: {
    key?: Key;
    service?: 'iam' | 'sts';
    region?: string;
    date?: number;
    tamper?: (body: string) => string;
    unsigned?: boolean;
  } = {},
): Promise<{ status: number; text: string; code: string | undefined }> {
  const service = o.service ?? 'iam';
  const u = new URL(service === 'iam' ? `${aws.iamUrl}/` : `${aws.stsUrl}/`);
  const body = new URLSearchParams({
    ...params,
    Version: service === 'iam' ? '2010-05-08' : '2011-06-15',
  }).toString();
  const headers: Record<string, string> = {
    host: u.host,
    'content-type': 'application/x-www-form-urlencoded',
  };
  const signed = o.unsigned
    ? { headers }
    : await new SignatureV4({
        service,
        region: o.region ?? 'us-east-1',
        credentials: o.key ?? asSession(),
        sha256: Sha256,
      }).sign(
        {
          method: 'POST',
          protocol: 'http:',
          hostname: u.hostname,
          port: Number(u.port),
          path: u.pathname,
          headers,
          body,
        },
        { signingDate: new Date(o.date ?? clock) },
      );
  const send = { ...signed.headers };
  delete send['host'];
  const res = await fetch(u, {
    method: 'POST',
    headers: send,
    body: o.tamper ? o.tamper(body) : body,
  });
  const text = await res.text();
  return { status: res.status, text, code: /<Code>([^<]+)<\/Code>/.exec(text)?.[1] };
}

describe('aws-iam emulator: SigV4', () => {
  it('accepts a request signed by AWS signer, with a session token', async () => {
    const r = await call({ Action: 'ListAccessKeys', UserName: 'target' });
    expect(r.status).toBe(200);
    expect(r.text).toContain('<AccessKeyId>AKIATARGET0000000001</AccessKeyId>');
    expect(r.text).toContain('<Status>Active</Status>');
    const me = await call({ Action: 'GetCallerIdentity' }, { service: 'sts' });
    expect(me.status).toBe(200);
    expect(me.text).toContain(`<Arn>${session.arn}</Arn>`);
    expect(me.text).toContain(`<Account>${aws.account}</Account>`);
  });

  it('refuses a changed body, a wrong secret, an unknown key, no signature, no token', async () => {
    const tampered = await call(
      { Action: 'ListAccessKeys', UserName: 'target' },
      { tamper: (b) => b.replace('target', 'lonely') },
    );
    expect([tampered.status, tampered.code]).toEqual([403, 'SignatureDoesNotMatch']);
    const wrong = await call(
      { Action: 'ListAccessKeys', UserName: 'target' },
      { key: { ...asSession(), secretAccessKey: 'not-the-secret-0123456789' } },
    );
    expect([wrong.status, wrong.code]).toEqual([403, 'SignatureDoesNotMatch']);
    const unknown = await call(
      { Action: 'ListAccessKeys', UserName: 'target' },
      { key: { accessKeyId: 'AKIANOBODY0000000001', secretAccessKey: 'x'.repeat(40) } },
    );
    expect([unknown.status, unknown.code]).toEqual([403, 'InvalidClientTokenId']);
    const none = await call({ Action: 'ListAccessKeys' }, { unsigned: true });
    expect([none.status, none.code]).toEqual([403, 'MissingAuthenticationToken']);
    const noToken = await call(
      { Action: 'ListAccessKeys', UserName: 'target' },
      { key: { accessKeyId: session.id, secretAccessKey: session.secret } },
    );
    expect([noToken.status, noToken.code]).toEqual([403, 'InvalidClientTokenId']);
  });

  it('refuses a signature older than 15 minutes and a wrong scope', async () => {
    const old = await call(
      { Action: 'ListAccessKeys', UserName: 'target' },
      { date: clock - 16 * 60_000 },
    );
    expect([old.status, old.code]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(old.text).toContain('Signature expired');
    const region = await call(
      { Action: 'ListAccessKeys', UserName: 'target' },
      { region: 'eu-west-1' },
    );
    expect([region.status, region.code]).toEqual([403, 'SignatureDoesNotMatch']);
    const service = await call(
      { Action: 'GetCallerIdentity' },
      { service: 'sts', region: 'eu-west-1' },
    );
    expect(service.code).toBe('SignatureDoesNotMatch');
  });
});

describe('aws-iam emulator: access keys', () => {
  it('answers ErrorResponse XML with the documented codes', async () => {
    const missing = await call(
      { Action: 'ListAccessKeys', UserName: 'nobody' },
      { key: asSession(admin) },
    );
    expect([missing.status, missing.code]).toEqual([404, 'NoSuchEntity']);
    expect(missing.text).toMatch(
      /^<ErrorResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/">/,
    );
    expect(missing.text).toMatch(/<Type>Sender<\/Type>[^]*<RequestId>[0-9a-f-]{36}<\/RequestId>/);
    const denied = await call(
      { Action: 'CreateAccessKey', UserName: 'target' },
      { key: asSession(outsider) },
    );
    expect([denied.status, denied.code]).toEqual([403, 'AccessDenied']);
    const noKey = await call({
      Action: 'DeleteAccessKey',
      UserName: 'target',
      AccessKeyId: 'AKIANOSUCHKEY0000001',
    });
    expect([noKey.status, noKey.code]).toEqual([404, 'NoSuchEntity']);
  });

  it('creates at most two keys; a new key signs only after propagation; an Inactive key never', async () => {
    const created = await call({ Action: 'CreateAccessKey', UserName: 'lonely' });
    expect(created.status).toBe(200);
    const id = /<AccessKeyId>([^<]+)</.exec(created.text)![1]!;
    const secret = /<SecretAccessKey>([^<]+)</.exec(created.text)![1]!;
    const own: Key = { accessKeyId: id, secretAccessKey: secret };
    expect((await call({ Action: 'GetCallerIdentity' }, { service: 'sts', key: own })).code).toBe(
      'InvalidClientTokenId',
    );
    clock += 5_000;
    const me = await call({ Action: 'GetCallerIdentity' }, { service: 'sts', key: own });
    expect(me.status).toBe(200);
    expect(me.text).toContain(`<Arn>arn:aws:iam::${aws.account}:user/lonely</Arn>`);
    // The listing never shows a secret.
    expect((await call({ Action: 'ListAccessKeys', UserName: 'lonely' })).text).not.toContain(
      'SecretAccessKey',
    );
    expect((await call({ Action: 'CreateAccessKey', UserName: 'lonely' })).status).toBe(200);
    const third = await call({ Action: 'CreateAccessKey', UserName: 'lonely' });
    expect([third.status, third.code]).toEqual([409, 'LimitExceeded']);
    const off = await call({
      Action: 'UpdateAccessKey',
      UserName: 'lonely',
      AccessKeyId: id,
      Status: 'Inactive',
    });
    expect(off.status).toBe(200);
    expect((await call({ Action: 'GetCallerIdentity' }, { service: 'sts', key: own })).code).toBe(
      'InvalidClientTokenId',
    );
    expect(
      (await call({ Action: 'DeleteAccessKey', UserName: 'lonely', AccessKeyId: id })).status,
    ).toBe(200);
    expect(aws.deleted.map((k) => [k.id, k.wasStatus])).toEqual([[id, 'Inactive']]);
  });
});

describe("aws-iam emulator: AWS's service models (botocore)", () => {
  const version = { iam: '2010-05-08', sts: '2011-06-15' } as const;
  const asBody = (service: 'iam' | 'sts', params: Record<string, string>) =>
    new URLSearchParams({ ...params, Version: version[service] }).toString();

  it('answers every call the action makes in the shape the model gives it', async () => {
    aws.addUser('modelled', {
      keys: [{ id: 'AKIAMODELLED00000001', secret: 'Modelled-Secret-0123456789abcdef' }],
    });
    const created = await call(
      { Action: 'CreateAccessKey', UserName: 'modelled' },
      { key: asSession(admin) },
    );
    const id = /<AccessKeyId>([^<]+)</.exec(created.text)![1]!;
    expect(answerProblems('iam', 'CreateAccessKey', created.text)).toEqual([]);
    // Two keys to list: the list shape is checked on its members, not on an empty list.
    const listed = await call(
      { Action: 'ListAccessKeys', UserName: 'modelled' },
      { key: asSession(admin) },
    );
    expect(listed.text.match(/<member>/g)).toHaveLength(2);
    expect(answerProblems('iam', 'ListAccessKeys', listed.text)).toEqual([]);
    const calls: ['iam' | 'sts', Record<string, string>][] = [
      ['iam', { Action: 'CreateAccessKey', UserName: 'modelled' }],
      ['iam', { Action: 'ListAccessKeys', UserName: 'modelled' }],
      [
        'iam',
        { Action: 'UpdateAccessKey', UserName: 'modelled', AccessKeyId: id, Status: 'Inactive' },
      ],
      ['iam', { Action: 'DeleteAccessKey', UserName: 'modelled', AccessKeyId: id }],
      ['sts', { Action: 'GetCallerIdentity' }],
    ];
    for (const [service, params] of calls.slice(1)) {
      expect(requestProblems(service, asBody(service, params)), params['Action']).toEqual([]);
      const r = await call(params, { key: asSession(admin), service });
      expect(r.status, params['Action']).toBe(200);
      expect(answerProblems(service, params['Action']!, r.text), params['Action']).toEqual([]);
    }
    expect(requestProblems('iam', asBody('iam', calls[0]![1]))).toEqual([]);
  });

  it('answers errors with the code and status the model declares for the operation', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ Action: 'ListAccessKeys', UserName: 'nobody' }, 'NoSuchEntity'],
      [
        { Action: 'DeleteAccessKey', UserName: 'target', AccessKeyId: 'AKIANOSUCHKEY0000001' },
        'NoSuchEntity',
      ],
      [
        {
          Action: 'UpdateAccessKey',
          UserName: 'target',
          AccessKeyId: 'AKIANOSUCHKEY0000001',
          Status: 'Inactive',
        },
        'NoSuchEntity',
      ],
    ];
    aws.addUser('full');
    for (let i = 0; i < 2; i++)
      await call({ Action: 'CreateAccessKey', UserName: 'full' }, { key: asSession(admin) });
    cases.push([{ Action: 'CreateAccessKey', UserName: 'full' }, 'LimitExceeded']);
    for (const [params, code] of cases) {
      const r = await call(params, { key: asSession(admin) });
      const declared = declaredErrors('iam', params['Action']!);
      expect([r.code, r.status], params['Action']).toEqual([code, declared.get(code)]);
    }
  });

  it('the checks find a departure (they can fail)', () => {
    expect(
      requestProblems(
        'iam',
        asBody('iam', { Action: 'CreateAccessKey', UserName: 'u', Status: 'On' }),
      ),
    ).toEqual(['CreateAccessKey: Status is not a member of CreateAccessKeyRequest']);
    expect(
      requestProblems(
        'iam',
        asBody('iam', {
          Action: 'UpdateAccessKey',
          AccessKeyId: 'AKIA0000000000000000',
          Status: 'Off',
        }),
      ),
    ).toEqual(['UpdateAccessKey: Status=Off is not one of Active, Inactive, Expired']);
    const ns = 'https://iam.amazonaws.com/doc/2010-05-08/';
    const answer = (inner: string) =>
      `<CreateAccessKeyResponse xmlns="${ns}"><CreateAccessKeyResult><AccessKey>${inner}</AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateAccessKeyResponse>`;
    expect(
      answerProblems(
        'iam',
        'CreateAccessKey',
        answer(
          '<UserName>u</UserName><AccessKeyID>A</AccessKeyID><Status>Active</Status><SecretAccessKey>s</SecretAccessKey>',
        ),
      ),
    ).toEqual([
      'CreateAccessKeyResult.AccessKey: AccessKeyID is not a member of AccessKey',
      'CreateAccessKeyResult.AccessKey: required member AccessKeyId of AccessKey is missing',
    ]);
    expect(
      answerProblems('iam', 'ListAccessKeys', `<ListAccessKeysResponse xmlns="${ns}"/>`),
    ).toEqual([
      'ListAccessKeys: no ResponseMetadata/RequestId',
      'ListAccessKeys: no ListAccessKeysResult',
    ]);
  });
});
