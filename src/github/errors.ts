// What goes wrong when storing, said from the status alone: GitHub's bodies and headers are never echoed.
import { failureOf } from './client.js';
import { isOrg, kindOf, type Target, TARGET_KINDS } from '../inputs/targets.js';
import { DestinationError, type Landed } from '../destination.js';

export class StoreError extends DestinationError {
  override readonly name = 'StoreError';
  readonly status: number | undefined;

  constructor(message: string, landed: Landed, status?: number) {
    super(message, landed);
    this.status = status;
  }
}

export function status(err: unknown): number | undefined {
  return failureOf(err).status;
}

/** Says what went wrong from the status alone: GitHub's bodies and headers are never echoed. */
export function describe(err: unknown, t?: Target, item: 'secret' | 'variable' = 'secret'): string {
  const s = status(err);
  const answered = (err as { response?: unknown }).response !== undefined;
  if (!answered) {
    const cause = (err as Error).message;
    if (/larger than/.test(cause)) return `no usable answer from GitHub (${cause}; not repeated)`;
    if (/^the run was stopped/.test(cause)) return `not finished: ${cause}`;
    return `no usable answer from GitHub (${/timeout|aborted/i.test(cause) ? 'timed out' : 'connection failed'})`;
  }
  if (s !== undefined && s >= 300 && s < 400) return `HTTP ${s} (a redirect, not followed)`;
  switch (s) {
    case 401:
      return 'HTTP 401: the github-token is invalid or expired';
    case 403:
      if (item === 'variable')
        return `HTTP 403: the github-token lacks ${t && isOrg(t) ? 'organization ' : ''}"Variables: read and write"${t && isOrg(t) ? '' : ' on this repository'}`;
      return `HTTP 403: ${(t ? kindOf(t) : TARGET_KINDS.repo).forbidden}`;
    case 404:
      return `HTTP 404: ${(t ? kindOf(t) : TARGET_KINDS.repo).missing}`;
    case 422:
      return 'HTTP 422: GitHub rejected the request';
    default:
      return `HTTP ${s ?? 'error'}`;
  }
}
