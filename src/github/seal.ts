// libsodium sealed boxes: how GitHub wants secret values, and how the recovery blob is made.
import sodium from 'libsodium-wrappers';

/** Seals `plaintext` to an X25519 public key; standard base64 with padding, as GitHub expects. */
export async function seal(plaintext: string, publicKey: Uint8Array): Promise<string> {
  await sodium.ready;
  const sealed = sodium.crypto_box_seal(sodium.from_string(plaintext), publicKey);
  return sodium.to_base64(sealed, sodium.base64_variants.ORIGINAL);
}

/** Decodes a base64 public key and checks that it is one. */
export async function publicKeyFromBase64(key: string): Promise<Uint8Array> {
  await sodium.ready;
  const bytes = sodium.from_base64(key, sodium.base64_variants.ORIGINAL);
  if (bytes.length !== sodium.crypto_box_PUBLICKEYBYTES) throw new Error(`the public key has ${bytes.length} bytes, not ${sodium.crypto_box_PUBLICKEYBYTES}`);
  return bytes;
}
