// Write-ahead escrow: the new secret sealed to recovery-public-key, logged as one line before the
// first store (before the rotating call when the provider takes a secret the action chose). The log
// is durable the moment a line is written, so a run stopped or killed at any later point has already
// handed the secret to the operator. Only the holder of the recovery private key can open the line.
import { seal } from './github/seal.js';

/** The first words of the escrow line; docs/recovery.md tells how to find and open it. */
export const ESCROW_PREFIX = 'Recovery escrow:';

/** Seals `secret` to the recovery key and logs it as one line; returns the blob (output `recovery`). */
export async function writeAheadEscrow(
  secret: string,
  key: Uint8Array,
  info: (message: string) => void,
): Promise<string> {
  const blob = await seal(secret, key);
  info(
    `${ESCROW_PREFIX} ${blob} (the new secret sealed to recovery-public-key, logged before any target is written so that a stopped or killed run still hands it over)`,
  );
  return blob;
}
