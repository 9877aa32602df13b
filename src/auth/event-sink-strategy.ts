import { CredentialsRefused } from './failures.js';
import { secretsEqual } from './secrets.js';
import { CallerStrategy, type CredentialSource, credentialHeader, type SinkCaller } from './strategy.js';

export interface SinkCredentials {
  username: string;
  /** The current password and, during a rotation, the next one. */
  passwords: readonly string[];
}

const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/**
 * Pexip's event sink, by HTTP Basic credentials. Not passport-http's
 * BasicStrategy: it splits the decoded credentials at every ":" and keeps the
 * second piece as the password (basic.js, passport-http 0.3.0; upstream issue
 * jaredhanson/passport-http#20, open since 2014), so a password containing ":"
 * never matches and one followed by ":anything" does (README, "Design card").
 * Here the user-id ends at the first colon (RFC 7617 §2) and both parts are
 * compared in constant time.
 */
export class EventSinkStrategy extends CallerStrategy {
  override readonly name = 'event-sink';

  constructor(private readonly credentials: SinkCredentials) {
    super();
  }

  protected async callerOf(source: CredentialSource): Promise<SinkCaller> {
    const parsed = parseBasic(credentialHeader(source, 'authorization'));
    if (parsed === undefined) throw new CredentialsRefused(this.name, 'Send the event sink credentials with HTTP Basic authentication.');
    if (!this.matches(parsed.username, parsed.password)) throw new CredentialsRefused(this.name, 'The event sink credentials are wrong.');
    return { kind: 'event-sink', id: parsed.username };
  }

  private matches(username: string, password: string): boolean {
    const userOk = secretsEqual(username, this.credentials.username);
    let passwordOk = false;
    for (const candidate of this.credentials.passwords) passwordOk = secretsEqual(password, candidate) || passwordOk;
    return userOk && passwordOk;
  }
}

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const encoded = header === undefined ? undefined : BASIC.exec(header)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
