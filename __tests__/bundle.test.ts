// What the bundle loads before its first request (issue 12): one copy of undici's client, none of
// the rest of undici. tsconfig.json maps `undici` to src/undici.ts for every importer; a dependency
// update that brings its own undici, or an import of the package's index, shows here.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dist = new URL('../dist/', import.meta.url);
const main = readFileSync(new URL('index.js', dist), 'utf8');
const chunks = readdirSync(dist)
  .filter((f) => /^\d+\.index\.js$/.test(f))
  .map((f) => readFileSync(new URL(f, dist), 'utf8'));
const count = (text: string, what: string): number => text.split(what).length - 1;

describe('the bundle', () => {
  it("holds undici's client once, in the main chunk", () => {
    expect(count(main, 'class Agent extends DispatcherBase')).toBe(1);
    expect(count(main, 'class ProxyAgent extends DispatcherBase')).toBe(1);
    for (const chunk of chunks) expect(count(chunk, 'extends DispatcherBase')).toBe(0);
  });

  it("loads none of undici's index: no mocks, WebSocket, EventSource or cache", () => {
    for (const what of [
      'MockAgent',
      'class WebSocket',
      'class EventSource',
      'class Cache ',
      'EnvHttpProxyAgent',
    ])
      expect(count(main, what), what).toBe(0);
  });

  it("keeps undici's fetch out of the main chunk (only a fallback that no run calls)", () => {
    expect(count(main, 'function fetching (')).toBe(0);
  });
});
