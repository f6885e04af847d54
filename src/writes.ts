// The writes of a run, per target: the secret, the client id secret, the client id variable; and
// how a report names each.
import type { Settings, Target } from './inputs/index.js';
import { hasVariables } from './inputs/targets.js';
import type { TargetResult } from './report.js';

/** One write: a secret, or the client id variable. */
export interface Write {
  readonly t: Target;
  readonly name: string;
  readonly variable: boolean;
}

/** Every write of a run, per target: the secret, the client id secret, the client id variable. */
export function writesOf(s: Settings): Write[] {
  const { targets, secretName, clientIdSecretName, clientIdVariableName } = s.github;
  return targets.flatMap((t) => [
    ...names(secretName, clientIdSecretName).map((name) => ({ t, name, variable: false })),
    ...(clientIdVariableName && hasVariables(t)
      ? [{ t, name: clientIdVariableName, variable: true }]
      : []),
  ]);
}

export function resultOf(w: Write): Pick<TargetResult, 'target' | 'secret' | 'variable'> {
  return w.variable ? { target: w.t.line, variable: w.name } : { target: w.t.line, secret: w.name };
}

export function names(secret: string, clientId: string | undefined): string[] {
  return clientId ? [secret, clientId] : [secret];
}

/** `45 s`, `12 min`, `1 h 5 min`: a duration as a person reads it. */
export function spoken(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}
