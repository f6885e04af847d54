// Faults as the emulators apply them: a drawn fault spec on a route becomes an emulator fault, with an
// error body in the vendor's own shape; which emulator and route a client request goes to; and the
// tally of faults drawn, applied and hit that scripts/fuzz.ts prints.
import { auth0Error } from './emulators/auth0.ts';
import { cspError } from './emulators/csp.ts';
import { graphError } from './emulators/entra.ts';
import { adminError, oauthError } from './emulators/keycloak.ts';
import { oktaError } from './emulators/okta.ts';
import { awsError } from './emulators/aws-iam.ts';
import { gcpError } from './emulators/gcp.ts';
import type { Emulator, Fault } from './emulators/server.ts';
import { type Outgoing, VirtualClock } from './search-process.ts';
import { woodpeckerError } from './emulators/woodpecker.ts';
import type { World } from './fixtures.ts';
import type { FaultSpec, Route, Variant } from './search-schedule.ts';

/**
 * A success answer with nothing behind it, in the vendor's own shape, so that the action reads it as
 * an empty answer rather than an unreadable one: an empty listing (Okta's `[]`, IAM's XML with no
 * member, Google's `{}`), WHMCS's bare success. GitHub's is a 204 without a body.
 */
function emptySuccess(route: Route): unknown {
  if (route.on === 'whmcs') return { result: 'success' };
  if (route.on === 'okta' && route.method === 'GET' && route.name.includes('list')) return [];
  if (route.on === 'aws') {
    const sts = route.path.source.includes('sts');
    const action = sts ? 'GetCallerIdentity' : (route.bodyIncludes ?? '').replace('Action=', '');
    const ns = sts
      ? 'https://sts.amazonaws.com/doc/2011-06-15/'
      : 'https://iam.amazonaws.com/doc/2010-05-08/';
    // Only the actions with an output have a result element (AWS's models: Update and Delete have none).
    const result =
      action === 'ListAccessKeys'
        ? `<${action}Result><AccessKeyMetadata/><IsTruncated>false</IsTruncated></${action}Result>`
        : action === 'CreateAccessKey' || sts
          ? `<${action}Result/>`
          : '';
    return `<${action}Response xmlns="${ns}">${result}<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></${action}Response>`;
  }
  return {};
}

export function faultFor(route: Route, spec: FaultSpec, clock: VirtualClock): Fault {
  const common = {
    times: spec.times,
    skip: spec.skip,
    ...(route.bodyIncludes ? { bodyIncludes: route.bodyIncludes } : {}),
  };
  const status = (s: number): Fault => ({ ...common, status: s, body: errorBody(route, s) });
  switch (spec.kind) {
    case 'hang':
      return { ...common, hang: true };
    case 'hang-after':
      return { ...common, hang: true, afterEffect: true };
    case 'lost':
      return { ...common, drop: true, afterEffect: true };
    case 'drop':
      return { ...common, drop: true };
    case '5xx':
      return status([500, 502, 503][spec.param % 3]!);
    case '5xx-after':
      return { ...status(502), afterEffect: true };
    case '3xx':
      // No Location: fetch hands GitHub's 3xx back as is, undici never follows.
      return { ...common, status: [302, 307][spec.param % 2]!, body: '' };
    case '401':
      return status(401);
    case '401-after':
      return { ...status(401), afterEffect: true };
    case '403':
      return route.on === 'github'
        ? {
            ...common,
            status: 403,
            headers: { 'retry-after': String(spec.param) },
            body: {
              message:
                'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
            },
          }
        : status(403);
    case '429':
      return { ...status(429), headers: { 'retry-after': String(spec.param) } };
    case 'slow':
      return { ...common, delayMs: 1 + (spec.param % 10) };
    case 'stall':
      return { ...common, onMatch: () => clock.advance(spec.param * 10_000) };
    case 'noop':
      if (route.on === 'github') return { ...common, status: 204 };
      return { ...common, status: 200, body: emptySuccess(route) };
  }
}

function errorBody(route: Route, status: number): unknown {
  switch (route.on) {
    case 'github':
      return { message: status === 401 ? 'Bad credentials' : 'Server Error' };
    case 'csp':
      return cspError(status);
    case 'whmcs':
      return status === 401
        ? { result: 'error', message: 'Authentication Failed' }
        : `<html><body>${status}</body></html>`;
    case 'entra':
      return graphError(
        status,
        status === 401 ? 'InvalidAuthenticationToken' : 'ServiceUnavailable',
        status === 401 ? 'Lifetime validation failed, the token is expired.' : 'Try again.',
      ).body;
    case 'woodpecker':
      return woodpeckerError(status);
    case 'auth0':
      return auth0Error(status);
    case 'keycloak':
      return route.path.test('/protocol/openid-connect/token')
        ? oauthError(status, status === 401 ? 'invalid_client' : 'server_error', 'Emulated').body
        : adminError(status).body;
    case 'okta':
      return oktaError(status);
    case 'aws':
      // AWS's own codes for what the search draws (it never answers 401 or 429 itself).
      return status >= 500
        ? awsError('ServiceFailure', 'Emulated', 'Receiver')
        : status === 429
          ? awsError('Throttling', 'Rate exceeded')
          : awsError(status === 403 ? 'AccessDenied' : 'InvalidClientTokenId', 'Emulated');
    case 'gcp':
      // OAuth endpoints (STS, the token endpoint) answer OAuth errors, the APIs Google's JSON errors.
      return route.path.test('/oauth2/token') || route.path.test('/sts/v1/token')
        ? {
            error: status >= 500 ? 'internal_failure' : 'access_denied',
            error_description: 'Emulated',
          }
        : gcpError(
            status,
            status >= 500
              ? 'UNAVAILABLE'
              : status === 429
                ? 'RESOURCE_EXHAUSTED'
                : status === 403
                  ? 'PERMISSION_DENIED'
                  : 'UNAUTHENTICATED',
            'Emulated',
          );
  }
}

/** How often faults of one route and kind were drawn, applied at least once, and hit a request. */
export interface FaultTally {
  drawn: number;
  applied: number;
  hits: number;
}
/** Every schedule run in this process adds to it (key: variant, route, kind, tab-separated); scripts/fuzz.ts prints it. */
export const faultStats = new Map<string, FaultTally>();

export function tally(variant: Variant, spec: FaultSpec, hits: number): void {
  const key = `${variant}\t${spec.route}\t${spec.kind}`;
  const t = faultStats.get(key) ?? { drawn: 0, applied: 0, hits: 0 };
  t.drawn += 1;
  if (hits > 0) t.applied += 1;
  t.hits += hits;
  faultStats.set(key, t);
}

/** The emulator a client request goes to, by port. */
function emulatorOn(world: World, port: number): Route['on'] | undefined {
  const ons: Route['on'][] = [
    'github',
    'csp',
    'whmcs',
    'entra',
    'woodpecker',
    'auth0',
    'keycloak',
    'okta',
    'aws',
    'gcp',
  ];
  return ons.find((on) => {
    const e = on === 'github' ? world.github : world[on];
    return e !== undefined && Number(new URL(e.url).port) === port;
  });
}

/** Whether a request the client sends is one of `route`'s. */
export function matches(world: World, route: Route, r: Outgoing): boolean {
  return (
    emulatorOn(world, r.port) === route.on &&
    route.method === r.method &&
    route.path.test(r.path) &&
    (route.bodyIncludes === undefined || r.body.includes(route.bodyIncludes))
  );
}

export function emulator(world: World, on: Route['on']): Emulator {
  const e = on === 'github' ? world.github : world[on];
  if (!e) throw new Error(`no ${on} emulator in this world`);
  return e;
}
