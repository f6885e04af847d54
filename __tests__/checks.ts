// Assertions every end-to-end test shares (vitest only: the bench and demo import fixtures.ts and
// harness.ts under plain node, so these live apart).
import sodium from 'libsodium-wrappers';
import { afterAll, expect } from 'vitest';
import { type ProviderName, startWorld, type World, type WorldOptions } from './fixtures.ts';
import { findLeaks, type Run } from './harness.ts';

/**
 * What must hold after every run: no secret the world knows (plus `extra`) anywhere the action printed
 * or wrote, GitHub saw only requests its OpenAPI description allows, Woodpecker never two at once.
 */
export function expectClean(world: World, run: Run, extra: readonly string[] = []): void {
  expect(findLeaks(run, [...world.secrets(), ...extra])).toEqual([]);
  expect(world.github.violations).toEqual([]);
  if (world.woodpecker) expect(world.woodpecker.concurrencyViolations).toBe(0);
}

/** A recovery key pair: the input to give the action, and a way to open the blob it emits. */
export async function recoveryKey(): Promise<{ input: string; open: (blob: string) => string }> {
  await sodium.ready;
  const { publicKey, privateKey } = sodium.crypto_box_keypair();
  return {
    input: Buffer.from(publicKey).toString('base64'),
    open: (blob) =>
      sodium.to_string(
        sodium.crypto_box_seal_open(
          sodium.from_base64(blob, sodium.base64_variants.ORIGINAL),
          publicKey,
          privateKey,
        ),
      ),
  };
}

/**
 * A `startWorld` for one test file whose tests each start their own world (so they may run
 * concurrently, `describe.concurrent`): every world it started is closed after the file.
 */
export function worldPerTest(): (name: ProviderName, o?: WorldOptions) => Promise<World> {
  const open: World[] = [];
  afterAll(async () => {
    await Promise.all(open.map((w) => w.close()));
  });
  return async (name, o) => {
    const w = await startWorld(name, o);
    open.push(w);
    return w;
  };
}
