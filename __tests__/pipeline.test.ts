// The order of effects, on fakes that record every call. The end-to-end tests prove the same on the
// real bundle and emulators; these pin down the branches one by one.
import sodium from 'libsodium-wrappers';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../src/github/errors.ts';
import { parseInputs, type Target } from '../src/inputs/index.ts';
import { type Destination, ESCROW_PREFIX, runPipeline } from '../src/pipeline.ts';
import type { Provider } from '../src/providers/types.ts';

const NEW = 'new-secret-value-123';

interface World {
  log: string[];
  failWrites?: (t: Target, name: string) => StoreError | undefined;
  failPreflight?: 'provider' | 'keys';
  updatedAt?: Date;
  oldDies?: boolean;
}

function fakes(w: World) {
  // Each step must get what the step before it returned, passed along by the pipeline.
  const found = { from: 'preflight' };
  const rotated = { from: 'rotate' };
  const same = (got: unknown, want: object, step: string): void => {
    if (got !== want) throw new Error(`${step} did not get what the step before returned`);
  };
  const provider: Provider<typeof found, typeof rotated> = {
    async preflight() {
      w.log.push('provider.preflight');
      if (w.failPreflight === 'provider') throw new Error('bad provider credentials');
      const credential = {
        clientId: 'client-1',
        credentialId: 'cred-1',
        description: 'fake credential',
        expiresAt: undefined,
        oldSecretDiesOnRotate: w.oldDies ?? true,
      };
      return { credential, found };
    },
    async rotate(f) {
      w.log.push('rotate');
      same(f, found, 'rotate');
      const rotation = {
        secret: NEW,
        clientId: 'client-1',
        credentialId: 'cred-1',
        expiresAt: '2027-01-01T00:00:00Z',
      };
      return { rotation, rotated };
    },
    async retirePrevious(r) {
      w.log.push('retire');
      same(r, rotated, 'retirePrevious');
      return 'the old one';
    },
    async abandon(r) {
      w.log.push('abandon');
      same(r, rotated, 'abandon');
      return 'removed the new one';
    },
  };
  const destination: Destination = {
    async preflight() {
      w.log.push('keys');
      if (w.failPreflight === 'keys') throw new StoreError('403 on a public key', 'no', 403);
    },
    async updatedAt() {
      w.log.push('updatedAt');
      return w.updatedAt;
    },
    async store(t, name) {
      w.log.push(`store ${t.line} ${name}`);
      const e = w.failWrites?.(t, name);
      if (e) throw e;
    },
    async listRepositories() {
      return [];
    },
    async storeVariable(t, name) {
      w.log.push(`variable ${t.line} ${name}`);
      const e = w.failWrites?.(t, name);
      if (e) throw e;
    },
  };
  return {
    provider,
    destination,
    policy: {
      startPreflight: () => w.log.push('phase preflight'),
      startStoring: () => w.log.push('phase storing'),
    },
    mask: (v: string) => w.log.push(`mask ${v === NEW ? 'NEW' : 'other'}`),
    info: (m: string) => {
      if (m.startsWith(ESCROW_PREFIX)) w.log.push(`escrow ${m.split(' ')[2]}`);
    },
    warn: () => {},
  };
}

async function keyPair() {
  await sodium.ready;
  return sodium.crypto_box_keypair();
}

function settings(extra: Record<string, string> = {}) {
  const inputs: Record<string, string> = {
    provider: 'vmware-csp',
    'github-token': 't',
    'secret-name': 'S',
    'client-id-secret-name': 'S_ID',
    'csp-api-token': 'x',
    'csp-org-id': 'org',
    'csp-oauth-app-id': 'app',
    targets: 'repo o/a\nrepo o/b\norg o',
    ...extra,
  };
  return parseInputs((n) => inputs[n] ?? '', {});
}

describe('pipeline', () => {
  it('preflights, masks, rotates once, stores everywhere, then retires', async () => {
    const w: World = { log: [] };
    const r = await runPipeline(settings(), fakes(w));
    expect(r).toMatchObject({ outcome: 'rotated', rotated: true, retired: 'the old one' });
    expect(r.targets).toHaveLength(6);
    expect(w.log.filter((l) => l === 'rotate')).toHaveLength(1);
    const rotateAt = w.log.indexOf('rotate');
    expect(w.log.indexOf('mask NEW')).toBe(rotateAt + 1);
    expect(w.log.indexOf('keys')).toBeLessThan(rotateAt);
    expect(w.log.at(-1)).toBe('retire');
    expect(JSON.stringify(r)).not.toContain(NEW);
    // GitHub's short preflight budget first; its long one from the rotating call on.
    expect(w.log.indexOf('phase preflight')).toBe(0);
    expect(w.log.indexOf('phase storing')).toBe(rotateAt - 1);
  });

  it('escrows the new secret to the recovery key in the log after the rotating answer, before the first store', async () => {
    const { publicKey, privateKey } = await keyPair();
    const w: World = { log: [] };
    const r = await runPipeline(
      settings({ 'recovery-public-key': Buffer.from(publicKey).toString('base64') }),
      fakes(w),
    );
    expect(r).toMatchObject({ outcome: 'rotated', escrowed: true });
    const at = w.log.findIndex((l) => l.startsWith('escrow '));
    expect(at).toBeGreaterThan(w.log.indexOf('mask NEW'));
    expect(at).toBeLessThan(w.log.findIndex((l) => l.startsWith('store ')));
    expect(w.log.filter((l) => l.startsWith('escrow '))).toHaveLength(1);
    const blob = sodium.from_base64(w.log[at]!.slice(7), sodium.base64_variants.ORIGINAL);
    expect(sodium.to_string(sodium.crypto_box_seal_open(blob, publicKey, privateKey))).toBe(NEW);
  });

  it('without a recovery key nothing is escrowed', async () => {
    const w: World = { log: [] };
    const r = await runPipeline(settings(), fakes(w));
    expect(r.escrowed).toBeUndefined();
    expect(w.log.some((l) => l.startsWith('escrow '))).toBe(false);
  });

  it('a secret the provider lets the action choose is masked and escrowed before the rotating call, and sent as chosen', async () => {
    const { publicKey, privateKey } = await keyPair();
    const w: World = { log: [] };
    const deps = fakes(w);
    const inner = deps.provider;
    const sent: (string | undefined)[] = [];
    const provider: typeof inner = {
      ...inner,
      chooseSecret: () => NEW,
      rotate: (f, chosen) => {
        sent.push(chosen);
        return inner.rotate(f);
      },
    };
    const r = await runPipeline(
      settings({ 'recovery-public-key': Buffer.from(publicKey).toString('base64') }),
      { ...deps, provider },
    );
    expect(r.outcome).toBe('rotated');
    expect(sent).toEqual([NEW]);
    const escrowAt = w.log.findIndex((l) => l.startsWith('escrow '));
    expect(w.log.indexOf('mask NEW')).toBeLessThan(escrowAt);
    expect(escrowAt).toBeLessThan(w.log.indexOf('rotate'));
    // The same secret came back from the rotation: one escrow line, not two.
    expect(w.log.filter((l) => l.startsWith('escrow '))).toHaveLength(1);
    const blob = sodium.from_base64(w.log[escrowAt]!.slice(7), sodium.base64_variants.ORIGINAL);
    expect(sodium.to_string(sodium.crypto_box_seal_open(blob, publicKey, privateKey))).toBe(NEW);
  });

  it.each(['provider', 'keys'] as const)(
    'stops before rotating when %s preflight fails',
    async (which) => {
      const w: World = { log: [], failPreflight: which };
      await expect(runPipeline(settings(), fakes(w))).rejects.toThrow();
      expect(w.log).not.toContain('rotate');
    },
  );

  it('dry run changes nothing', async () => {
    const w: World = { log: [] };
    const r = await runPipeline(settings({ 'dry-run': 'true' }), fakes(w));
    expect(r.outcome).toBe('dry-run');
    expect(r.targets.every((t) => t.status === 'skipped')).toBe(true);
    expect(w.log.some((l) => l === 'rotate' || l.startsWith('store'))).toBe(false);
  });

  it('skips when the first target was updated within the window', async () => {
    const w: World = { log: [], updatedAt: new Date(Date.now() - 3_600_000) };
    expect(
      (await runPipeline(settings({ 'skip-if-rotated-within': '2h' }), fakes(w))).outcome,
    ).toBe('skipped');
    expect(w.log).not.toContain('rotate');
    const w2: World = { log: [], updatedAt: new Date(Date.now() - 3 * 3_600_000) };
    expect(
      (await runPipeline(settings({ 'skip-if-rotated-within': '2h' }), fakes(w2))).outcome,
    ).toBe('rotated');
  });

  it('on a partial failure: stores the rest, does not retire, emits a recovery blob that opens to the new secret', async () => {
    const { publicKey, privateKey } = await keyPair();
    const w: World = {
      log: [],
      failWrites: (t) => (t.line === 'repo o/b' ? new StoreError('nope', 'no', 404) : undefined),
    };
    const r = await runPipeline(
      settings({ 'recovery-public-key': Buffer.from(publicKey).toString('base64') }),
      fakes(w),
    );
    expect(r.outcome).toBe('failed');
    expect(r.targets.filter((t) => t.status === 'failed').map((t) => t.target)).toEqual([
      'repo o/b',
      'repo o/b',
    ]);
    expect(r.targets.filter((t) => t.status === 'written')).toHaveLength(4);
    expect(w.log).not.toContain('retire');
    expect(w.log).not.toContain('abandon');
    const opened = sodium.crypto_box_seal_open(
      sodium.from_base64(r.recovery!, sodium.base64_variants.ORIGINAL),
      publicKey,
      privateKey,
    );
    expect(sodium.to_string(opened)).toBe(NEW);
  });

  it('undoes the rotation when no target can have received the secret', async () => {
    const w: World = {
      log: [],
      oldDies: false,
      failWrites: () => new StoreError('nope', 'no', 422),
    };
    const r = await runPipeline(settings(), fakes(w));
    expect(r).toMatchObject({ outcome: 'failed', undone: 'removed the new one' });
    expect(w.log.at(-1)).toBe('abandon');
  });

  it('keeps the rotation when a write may have landed', async () => {
    const w: World = {
      log: [],
      oldDies: false,
      failWrites: (t) => new StoreError('timeout', t.line === 'org o' ? 'maybe' : 'no'),
    };
    const r = await runPipeline(settings(), fakes(w));
    expect(r.undone).toBeUndefined();
    expect(w.log).not.toContain('abandon');
  });

  it('counts a write failure that does not say whether it landed as maybe landed', async () => {
    const w: World = {
      log: [],
      oldDies: false,
      failWrites: (t) =>
        t.line === 'org o'
          ? (Object.assign(new Error('a bug'), { landed: 'no' }) as StoreError)
          : new StoreError('nope', 'no', 422),
    };
    const r = await runPipeline(settings(), fakes(w));
    expect(r.undone).toBeUndefined();
    expect(w.log).not.toContain('abandon');
  });

  it('after the rotation, an unexpected exception still yields a full report with the recovery blob', async () => {
    const { publicKey, privateKey } = await keyPair();
    const w: World = { log: [] };
    const deps = fakes(w);
    // Anything after rotate() that throws unexpectedly (here the log line right after it).
    const info = (m: string): void => {
      if (m.startsWith('Rotated ')) throw new Error('log pipe closed');
    };
    const r = await runPipeline(
      settings({ 'recovery-public-key': Buffer.from(publicKey).toString('base64') }),
      { ...deps, info },
    );
    expect(r.outcome).toBe('failed');
    expect(r.targets).toHaveLength(6);
    expect(r.targets.every((t) => t.status === 'failed')).toBe(true);
    expect(r.failure).toContain('The rotation of fake credential happened');
    expect(r.failure).toContain('log pipe closed');
    expect(r.failure).toContain('The old secret no longer works');
    expect(r.failure).not.toContain('Nothing was changed');
    const opened = sodium.crypto_box_seal_open(
      sodium.from_base64(r.recovery!, sodium.base64_variants.ORIGINAL),
      publicKey,
      privateKey,
    );
    expect(sodium.to_string(opened)).toBe(NEW);
    expect(JSON.stringify(r)).not.toContain(NEW);
  });

  it('refuses a low-order recovery-public-key before rotating, naming the input', async () => {
    const w: World = { log: [] };
    const zero = Buffer.alloc(32).toString('base64');
    await expect(runPipeline(settings({ 'recovery-public-key': zero }), fakes(w))).rejects.toThrow(
      /^Input 'recovery-public-key' is not a usable X25519 public key/,
    );
    expect(w.log).not.toContain('rotate');
  });
});
