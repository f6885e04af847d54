#!/usr/bin/env node
// Opens a recovery blob from the action's `recovery` output and prints the secret it holds.
// Usage: RECOVERY_PRIVATE_KEY=<base64> node scripts/open-recovery.mjs <blob>   (or the blob on stdin)
// The private key is read from the environment so that it stays out of shell history.
import sodium from 'libsodium-wrappers';

const readStdin = async () => {
  let s = '';
  for await (const chunk of process.stdin) s += chunk;
  return s;
};
const blob = (process.argv[2] ?? (await readStdin())).trim();
const privateB64 = process.env.RECOVERY_PRIVATE_KEY;
if (!blob || !privateB64) {
  console.error(
    'usage: RECOVERY_PRIVATE_KEY=<base64 private key> node scripts/open-recovery.mjs <blob>',
  );
  process.exit(2);
}
await sodium.ready;
const v = sodium.base64_variants.ORIGINAL;
const privateKey = sodium.from_base64(privateB64.trim(), v);
const publicKey = sodium.crypto_scalarmult_base(privateKey);
try {
  const secret = sodium.crypto_box_seal_open(sodium.from_base64(blob, v), publicKey, privateKey);
  process.stdout.write(`${sodium.to_string(secret)}\n`);
} catch {
  console.error('Could not open the blob: wrong private key, or the blob was cut when copied.');
  process.exit(1);
}
