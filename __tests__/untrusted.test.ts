// Untrusted text: the one place that makes provider, GitHub and input text safe to print and to put
// in the job summary, the lint rule that forbids printing around it, and the summary built from it.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import type { Report } from '../src/pipeline.ts';
import { summaryMarkdown } from '../src/summary.ts';
import { loggable, markdownText, mask, redact } from '../src/untrusted.ts';
import { PLANTS, commandsCarrying, liveMarkup } from './injection.ts';

describe('loggable()', () => {
  it.each(PLANTS)('leaves no runner command in %j', (plant) => {
    const line = loggable(`Found WHMCS OAuth credential 7 (${plant})`, 4000);
    expect(line).not.toMatch(/[\r\n\u2028\u2029]/);
    expect(commandsCarrying(`${line}\n${loggable(plant)}`, 'PWNED')).toEqual([]);
  });

  it('breaks every :: and ##[, however they are repeated', () => {
    for (const s of [':::::add-mask:::PWNED', '##[[##[group]PWNED', '  ::stop-commands::PWNED'])
      expect(loggable(s)).not.toMatch(/::|##\[/);
  });

  it('redacts a known secret before cutting, so no prefix of it survives the cut', () => {
    const secret = 'Echoed-Secret-Value-0123456789';
    mask(secret);
    const message = `${'x'.repeat(185)} token ${secret} rest`;
    const out = loggable(message, 200);
    expect(out.length).toBeLessThanOrEqual(200);
    expect(out).not.toContain(secret.slice(0, 6));
  });

  it('redacts the base64, base64url, URL and form encodings of a known secret', () => {
    const secret = 'Sec/ret+Value ~with=odd?chars!';
    mask(secret);
    for (const form of [
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('base64url'),
      encodeURIComponent(secret),
      new URLSearchParams({ v: secret }).toString().slice(2),
    ])
      expect(redact(`echo ${form} end`)).toBe('echo *** end');
  });

  it('caps the length', () => {
    expect(loggable('y'.repeat(10_000), 200)).toHaveLength(200);
  });
});

describe('markdownText()', () => {
  it.each(PLANTS)('leaves no live markup from %j', (plant) => {
    expect(liveMarkup(markdownText(plant, 1000), 'PWNED')).toEqual([]);
  });
});

describe('job summary', () => {
  const evil = PLANTS.join(' ');
  it('escapes every provider-controlled and input value and cuts it', () => {
    const r: Report = {
      outcome: 'failed',
      rotated: false,
      credential: {
        clientId: evil,
        credentialId: evil,
        description: evil,
        expiresAt: evil,
        oldSecretDiesOnRotate: true,
      },
      rotation: { clientId: evil, credentialId: evil, expiresAt: evil },
      targets: [{ target: evil, secret: evil, status: 'failed', error: evil }],
      retired: evil,
      undone: evil,
      failure: evil,
      nextStep: 'Re-run.',
    };
    const md = summaryMarkdown('whmcs', r);
    expect(liveMarkup(md, 'PWNED')).toEqual([]);
    for (const line of md.split('\n')) expect(line.length).toBeLessThan(4000);
  });

  it('never echoes the provider input when the inputs were invalid', () => {
    const md = summaryMarkdown(undefined, {
      outcome: 'failed',
      rotated: false,
      targets: [],
      failure: 'An input is invalid.',
    });
    expect(md).not.toContain('Provider');
  });
});

describe('lint', () => {
  it('fails a log call made outside src/untrusted.ts', async () => {
    const eslint = new ESLint();
    const code = [
      "import * as core from '@actions/core';",
      'export function f(name: string): void {',
      '  core.info(`Found ${name}`);',
      '  core.warning(name);',
      '  core.setFailed(name);',
      '  console.log(name);',
      '  process.stderr.write(name);',
      '}',
      '',
    ].join('\n');
    const [result] = await eslint.lintText(code, { filePath: 'src/providers/raw.ts' });
    const rules = result!.messages.map((m) => m.ruleId);
    expect(rules.filter((r) => r === 'no-restricted-syntax')).toHaveLength(4);
    expect(rules).toContain('no-console');
  });
});
