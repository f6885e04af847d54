// mode: check. Changes nothing anywhere: signs in, finds the credential, reads every target's secret
// metadata (never a public key, never a write) and reports; fails when a secret is missing or the
// credential expires within fail-if-expires-within.
import { now, spokenUntil } from './clock.js';
import { decisive, held } from './due.js';
import type { Settings } from './inputs/index.js';
import { withTargets } from './expand.js';
import type { Destination } from './destination.js';
import type { PipelineDeps, Report, TargetResult } from './report.js';

type CheckDeps = Pick<PipelineDeps, 'provider' | 'policy' | 'info'> & {
  readonly destination: Pick<Destination, 'updatedAt' | 'listRepositories'>;
};

export async function runCheck(s: Settings, d: CheckDeps): Promise<Report> {
  return withTargets(s, d, (expanded) => check(expanded, d));
}

async function check(s: Settings, d: CheckDeps): Promise<Report> {
  const { targets, secretName, clientIdSecretName } = s.github;
  const names = clientIdSecretName ? [secretName, clientIdSecretName] : [secretName];
  // Nothing here changes anything: the short retry budget of a preflight is the right one.
  d.policy.startPreflight();
  d.info(`Check: authenticating to ${s.provider.name} and reading ${targets.length} target(s).`);
  const reads = targets.flatMap((t) =>
    names.map(async (secret): Promise<TargetResult> => {
      try {
        const updated = await d.destination.updatedAt(t, secret);
        return updated
          ? { target: t.line, secret, status: 'present', updatedAt: updated.toISOString() }
          : { target: t.line, secret, status: 'missing' };
      } catch (err) {
        return { target: t.line, secret, status: 'failed', error: (err as Error).message };
      }
    }),
  );
  const [{ credential }, results] = await Promise.all([d.provider.preflight(), Promise.all(reads)]);
  d.info(`Found ${credential.description}.`);
  for (const r of results)
    d.info(
      `${r.secret} in ${r.target}: ${r.status === 'present' ? `updated ${r.updatedAt}` : r.status === 'missing' ? 'MISSING' : r.error}`,
    );

  const problems: string[] = [];
  const missing = results.filter((r) => r.status === 'missing');
  if (missing.length)
    problems.push(
      `${missing.length} target secret(s) missing: ${missing.map((r) => `${r.secret} in ${r.target}`).join(', ')}.`,
    );
  const unreadable = results.filter((r) => r.status === 'failed');
  if (unreadable.length) problems.push(`${unreadable.length} target secret(s) could not be read.`);
  const reported = credential.expiresAt ? Date.parse(credential.expiresAt) : NaN;
  // Where the provider lists the secrets this rotation made, the expiry that matters is that of the
  // one the targets hold (as rotate-if-expires-within decides), not that of the newest: an orphan of
  // a killed run lives longer than what the targets hold.
  const issued = credential.issued?.secrets.length ? credential.issued : undefined;
  const readable = results.filter((r) => r.status !== 'failed');
  const expiry =
    issued && readable.length
      ? held(
          issued,
          decisive(
            readable.map((r) => ({
              where: `secret ${r.secret} in ${r.target}`,
              updated: r.updatedAt ? new Date(r.updatedAt) : undefined,
            })),
          ),
          Number.isNaN(reported) ? Infinity : reported,
        )
      : undefined;
  let rule: string | undefined;
  let expires = reported;
  if (expiry && 'rotateBecause' in expiry) {
    rule = `Expiry: ${expiry.rotateBecause.replace(/; rotating\.$/, '.')}`;
    if (!missing.length) problems.push(`The targets hold no ${issued!.noun} this rotation made.`);
    expires = NaN;
  } else if (expiry) {
    rule = `Expiry: ${expiry.when}.${expiry.note}`;
    expires = expiry.at;
  }
  if (rule) d.info(rule);
  if (Number.isNaN(expires)) {
    if (!expiry) d.info(`${s.provider.name} reports no expiry for this credential.`);
  } else {
    const at = new Date(expires).toISOString();
    d.info(`The secret the targets hold expires at ${at} (${spokenUntil(expires)}).`);
    if (s.failIfExpiresWithinMs !== undefined && expires - now() <= s.failIfExpiresWithinMs)
      problems.push(
        `The secret the targets hold expires at ${at} (${spokenUntil(expires)}), within fail-if-expires-within.`,
      );
  }
  const shown = Number.isNaN(expires)
    ? { ...credential, expiresAt: undefined }
    : { ...credential, expiresAt: new Date(expires).toISOString() };
  const base = {
    mode: 'check' as const,
    rotated: false,
    credential: shown,
    targets: results,
    ...(rule ? { rule } : {}),
  };
  if (problems.length === 0) return { ...base, outcome: 'checked' };
  return {
    ...base,
    outcome: 'failed',
    failure: `Check failed: ${problems.join(' ')}`,
    nextStep: missing.length
      ? 'Nothing was changed. Run the rotation (mode: rotate) to issue a new secret and store it everywhere, or restore the missing secret by hand.'
      : 'Nothing was changed. Run the rotation (mode: rotate) before the credential expires, or fix the access named in each target error.',
  };
}
