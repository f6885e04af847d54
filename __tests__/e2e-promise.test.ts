// Issue 9: the promise under adversarial faults. One test per defect found by the outside review,
// each against the bundled action and the emulators, each ending with the leak scan.
import { describe as describeInOrder, expect, it } from 'vitest';
import {
  APP_ID,
  CSP_APP,
  OLD_SECRET,
  REPO,
  SECRET_NAME,
  WHMCS_CREDENTIAL,
  WOODPECKER_CREDENTIAL,
  type World,
} from './fixtures.ts';
import { expectClean, worldPerTest } from './checks.ts';
import { MARKER } from '../src/providers/entra-app.ts';

// Each test starts its own world, so the tests of every describe in this file run concurrently.
const describe = describeInOrder.concurrent;
const start = worldPerTest();

const stored = (w: World, scope = `repo:${REPO}`): string | undefined =>
  w.github.secret(scope, SECRET_NAME)?.value;

describe('defect 1: everything after rotate() is proven before it', () => {
  it('a low-order recovery-public-key (32 zero bytes) fails the preflight, naming the input', async () => {
    const w = await start('whmcs');
    const run = await w.run({ 'recovery-public-key': Buffer.alloc(32).toString('base64') });
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain("'recovery-public-key'");
    expect(w.whmcs!.rotations(WHMCS_CREDENTIAL)).toBe(0);
    expect(w.whmcs!.credential(WHMCS_CREDENTIAL).clientSecret).toBe(OLD_SECRET);
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    expectClean(w, run);
  });
});

describe('defect 2: uncertainty is sticky', () => {
  it('Entra: a PUT that landed but lost its answer, then hit a secondary rate limit past the budget, is not undone', async () => {
    const w = await start('entra');
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, { drop: true, afterEffect: true, times: 1 });
    w.github.secondaryRateLimit('PUT', /secrets\/CLIENT_SECRET$/, {
      times: 10,
      retryAfterSeconds: 60,
    });
    const run = await w.run({ 'store-timeout': '5s' });
    expect(run.code).toBe(1);
    expect(w.github.calls('PUT', /secrets\/CLIENT_SECRET$/).length).toBeGreaterThanOrEqual(2);
    // GitHub holds the new password: removing it from Entra would lock the user out.
    const newest = w.entra!.passwords(APP_ID).at(-1)!.secretText;
    expect(newest).not.toBe(OLD_SECRET);
    expect(stored(w)).toBe(newest);
    expect(w.entra!.secretWorks(APP_ID, newest)).toBe(true);
    expect(run.outputs['undone'] ?? '').toBe('');
    expect(run.errors[0]).not.toContain('nothing needs recovering');
    expectClean(w, run);
  });
});

describe('defect 3: only 2xx is success', () => {
  it('CSP overlap: a 302 on the rotating POST is an unknown outcome, checked and reported', async () => {
    const w = await start('vmware-csp');
    w.csp!.fault('POST', /secret$/, { status: 302, headers: { location: '/elsewhere' } });
    const run = await w.run({ 'csp-rotation': 'overlap' });
    expect(run.code).toBe(1);
    expect(run.outputs['rotated']).toBe('false');
    expect(run.errors[0]).toMatch(/redirect.*did not take the new secret/);
    expect(w.csp!.validSecrets(CSP_APP)).toEqual([OLD_SECRET]);
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    expectClean(w, run);
  });

  it('Woodpecker: a 307 on the PATCH is not a save; the listing decides and the old secret keeps working', async () => {
    const w = await start('woodpecker');
    w.woodpecker!.fault('PATCH', /credentials\/\d+$/, {
      status: 307,
      headers: { location: '/elsewhere' },
    });
    const run = await w.run();
    expect(run.code).toBe(1);
    expect(run.outputs['rotated']).toBe('false');
    expect(w.woodpecker!.credential(WOODPECKER_CREDENTIAL)!.secret).toBe(OLD_SECRET);
    expect(w.entra!.passwords(APP_ID).map((p) => p.secretText)).toEqual([OLD_SECRET]);
    expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
    expectClean(w, run);
  });
});

describe('defect 4: tokens are fresh when used', () => {
  it('CSP: the retire DELETE after a long store signs in again instead of failing with 401', async () => {
    const w = await start('vmware-csp');
    // The store takes a while; meanwhile CSP's clock passes the access token's ten minutes.
    w.github.fault('PUT', /secrets\/CLIENT_SECRET$/, { delayMs: 800, times: 1 });
    const pending = w.run({ 'csp-rotation': 'overlap', 'csp-retire-previous': 'true' });
    while (w.csp!.calls('POST', /secret$/).length === 0 && w.github.requests.length < 50)
      await new Promise((r) => setTimeout(r, 5));
    w.csp!.advance(11 * 60_000);
    const run = await pending;
    expect(run.errors).toEqual([]);
    // The action's own clock did not move, so CSP's 401 tells it; one new sign-in, one repeat.
    expect(w.csp!.calls('DELETE', /secret$/).map((r) => r.status)).toEqual([401, 200]);
    expect(w.csp!.calls('POST', /api-tokens\/authorize$/)).toHaveLength(2);
    expect(w.csp!.validSecrets(CSP_APP)).toEqual([w.currentSecret()]);
    expect(stored(w)).toBe(w.currentSecret());
    expectClean(w, run);
  });
});

describe('defect 5: "own" Entra passwords are scoped to this rotation', () => {
  it('never removes passwords made for another secret, another provider or by an earlier version; removes its own', async () => {
    const w = await start('entra');
    const others = [
      {
        secretText: 'Other-Workflow-Secret-1',
        displayName: `${MARKER} [entra other/repo DEPLOY_SECRET] 2026-01-01T00:00:00.000Z run 1-1`,
      },
      {
        secretText: 'Woodpecker-Secret-2',
        displayName: `${MARKER} [woodpecker ${REPO} ${SECRET_NAME}] 2026-01-01T00:00:00.000Z run 2-1`,
      },
      {
        secretText: 'Legacy-Marker-Secret-3',
        displayName: `${MARKER} 2026-01-01T00:00:00.000Z run 3-1`,
      },
    ];
    w.entra!.addApp(APP_ID, {
      initialPasswords: [{ secretText: OLD_SECRET, displayName: 'made by a person' }, ...others],
    });
    const first = await w.run();
    expect(first.errors).toEqual([]);
    const second = await w.run();
    expect(second.errors).toEqual([]);
    const left = w.entra!.passwords(APP_ID);
    // Everything not made by this rotation stays; of this rotation's two, only the newest.
    expect(left.map((p) => p.secretText)).toEqual([
      OLD_SECRET,
      ...others.map((o) => o.secretText),
      w.currentSecret(),
    ]);
    expect(left.at(-1)!.displayName).toContain(`[entra ${REPO} ${SECRET_NAME}]`);
    expect(stored(w)).toBe(w.currentSecret());
    expectClean(
      w,
      first,
      others.map((o) => o.secretText),
    );
    expectClean(
      w,
      second,
      others.map((o) => o.secretText),
    );
  });
});

describe('defect 6: smaller ones', () => {
  it('Woodpecker: a lost PATCH answer is resolved by comparing expiry instants, not strings', async () => {
    const w = await start('woodpecker');
    w.woodpecker!.expiryStyle = 'offset';
    w.woodpecker!.fault('PATCH', /credentials\/\d+$/, { drop: true, afterEffect: true });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    const saved = w.woodpecker!.credential(WOODPECKER_CREDENTIAL)!.secret;
    expect(saved).not.toBe(OLD_SECRET);
    expect(w.entra!.secretWorks(APP_ID, saved)).toBe(true);
    expect(stored(w)).toBe(saved);
    expectClean(w, run);
  });

  it('Entra: a removePassword whose answer is lost is checked by listing, not repeated', async () => {
    const w = await start('entra');
    const earlier = {
      secretText: 'Earlier-Own-Secret-0123',
      displayName: `${MARKER} [entra ${REPO} ${SECRET_NAME}] 2026-01-01T00:00:00.000Z run 1-1`,
    };
    w.entra!.addApp(APP_ID, {
      initialPasswords: [{ secretText: OLD_SECRET, displayName: 'made by a person' }, earlier],
    });
    w.entra!.fault('POST', /removePassword$/, { drop: true, afterEffect: true });
    const run = await w.run();
    expect(run.errors).toEqual([]);
    expect(w.entra!.calls('POST', /removePassword$/)).toHaveLength(1);
    expect(w.entra!.passwords(APP_ID).map((p) => p.secretText)).toEqual([
      OLD_SECRET,
      w.currentSecret(),
    ]);
    expect(run.summary).toContain('1 earlier password');
    expectClean(w, run, [earlier.secretText]);
  });

  it.each(['entra', 'woodpecker'] as const)(
    '%s: a malformed endDateTime from Graph fails clearly and removes the new password',
    async (provider) => {
      const w = await start(provider);
      w.entra!.answerEndDateTime = () => 'next Tuesday';
      const run = await w.run();
      expect(run.code).toBe(1);
      expect(run.errors[0]).toContain('unreadable endDateTime');
      expect(run.errors[0]).not.toContain('Invalid time value');
      expect(w.entra!.passwords(APP_ID).map((p) => p.secretText)).toEqual([OLD_SECRET]);
      expect(w.github.calls('PUT', /.*/)).toHaveLength(0);
      if (w.woodpecker)
        expect(w.woodpecker.credential(WOODPECKER_CREDENTIAL)!.secret).toBe(OLD_SECRET);
      expectClean(w, run);
    },
  );

  it('request-timeout: 25d is refused, naming the input, before any request', async () => {
    const w = await start('vmware-csp');
    const run = await w.run({ 'request-timeout': '25d' });
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(/^Input 'request-timeout' is '25d'/);
    expect(w.csp!.requests).toHaveLength(0);
    expectClean(w, run);
  });
});
