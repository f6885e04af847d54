// mode: check. Changes nothing anywhere: signs in, finds the credential, reads every target's secret
// metadata (never a public key, never a write) and reports; fails when a secret is missing or the
// credential expires within fail-if-expires-within.
import { now, spokenUntil } from './clock.js';
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
  const expires = credential.expiresAt ? Date.parse(credential.expiresAt) : NaN;
  if (Number.isNaN(expires)) {
    d.info(`${s.provider.name} reports no expiry for this credential.`);
  } else {
    d.info(
      `The credential's current secret expires at ${credential.expiresAt} (${spokenUntil(expires)}).`,
    );
    if (s.failIfExpiresWithinMs !== undefined && expires - now() <= s.failIfExpiresWithinMs)
      problems.push(
        `The credential's current secret expires at ${credential.expiresAt} (${spokenUntil(expires)}), within fail-if-expires-within.`,
      );
  }
  const base = { mode: 'check' as const, rotated: false, credential, targets: results };
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
