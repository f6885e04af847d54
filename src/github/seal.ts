// libsodium sealed boxes: how GitHub wants secret values, and how the recovery blob is made.
// libsodium is loaded during preflight (see `usable`), never first after the rotating call.

type Sodium = typeof import('libsodium-wrappers').default;
let loading: Promise<Sodium> | undefined;

/** Loads libsodium once; the first call starts the load, so preflight can run it beside its requests. */
export function loadSodium(): Promise<Sodium> {
  loading ??= import('libsodium-wrappers').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return loading;
}

/** Seals `plaintext` to an X25519 public key; standard base64 with padding, as GitHub expects. */
export async function seal(plaintext: string, publicKey: Uint8Array): Promise<string> {
  const s = await loadSodium();
  const sealed = s.crypto_box_seal(s.from_string(plaintext), publicKey);
  return s.to_base64(sealed, s.base64_variants.ORIGINAL);
}

/**
 * Proves, before anything changes, that a key can be sealed to: libsodium loads and a probe value
 * seals. libsodium refuses low-order points (such as 32 zero bytes), whose shared secret is all zero.
 * Throws an Error whose message starts with `what`.
 */
export async function usable(publicKey: Uint8Array, what: string): Promise<void> {
  let s: Sodium;
  try {
    s = await loadSodium();
  } catch (err) {
    throw new Error(`Could not load libsodium to seal secrets: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    s.crypto_box_seal(s.from_string('probe'), publicKey);
  } catch {
    throw new Error(
      `${what} is not a usable X25519 public key (libsodium refuses to seal to it: a low-order or invalid point).`,
    );
  }
}

/** Decodes a base64 X25519 public key and checks its length. */
export function publicKeyFromBase64(key: string): Uint8Array {
  const bytes = Buffer.from(key, 'base64');
  if (bytes.length !== 32) throw new Error(`the public key has ${bytes.length} bytes, not 32`);
  return new Uint8Array(bytes);
}
