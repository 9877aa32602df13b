import type { Request } from 'express';
import { BasicStrategy } from 'passport-http';
import type { Strategy } from 'passport-strategy';
import { HttpProblem } from '../http/problem.js';
import { repeatedHeader } from './repeated-header.js';
import { secretsEqual } from './secrets.js';

export interface SinkCredentials {
  username: string;
  /** The current password and, during a rotation, the next one. */
  passwords: readonly string[];
}

export interface SinkCaller {
  kind: 'event-sink';
  username: string;
}

export const SINK_REALM = 'maxconf-event-sink';
const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/**
 * passport-http's Basic strategy with its credential parsing fixed: it split
 * on every ":" and kept only the second piece, truncating passwords that
 * contain ":" (jwt-validation.md §5). Here the user-id ends at the first
 * colon (RFC 7617 §2) and both parts are compared in constant time.
 */
export class SinkBasicStrategy extends BasicStrategy {
  constructor(private readonly credentials: SinkCredentials) {
    super({ realm: SINK_REALM }, () => undefined);
    this.name = 'event-sink-basic';
  }

  override authenticate(req: Request): void {
    /** passport adds the actions to the strategy object it calls; passport-http's types leave them out. */
    const actions = this as unknown as Pick<Strategy, 'success' | 'fail'>;
    const repeated = repeatedHeader(req, 'authorization');
    if (repeated !== undefined) {
      actions.fail(repeated, 400);
      return;
    }
    const parsed = parseBasic(req.headers.authorization);
    if (parsed === undefined || !this.matches(parsed.username, parsed.password)) {
      actions.fail(basicChallenge(parsed === undefined ? 'Send the event sink credentials with HTTP Basic authentication.' : 'The event sink credentials are wrong.'), 401);
      return;
    }
    actions.success({ kind: 'event-sink', username: parsed.username } satisfies SinkCaller);
  }

  private matches(username: string, password: string): boolean {
    const userOk = secretsEqual(username, this.credentials.username);
    let passwordOk = false;
    for (const candidate of this.credentials.passwords) passwordOk = secretsEqual(password, candidate) || passwordOk;
    return userOk && passwordOk;
  }
}

export function basicChallenge(detail: string): HttpProblem {
  return new HttpProblem(401, 'unauthorized', 'Unauthorized', detail, { headers: { 'WWW-Authenticate': `Basic realm="${SINK_REALM}", charset="UTF-8"` } });
}

export function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const encoded = header === undefined ? undefined : BASIC.exec(header)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
