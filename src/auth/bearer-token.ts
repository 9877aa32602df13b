import { CredentialsMissing, InvalidRequest } from './bearer-errors.js';

export interface BearerTokenSources {
  /** Every Authorization header of the request: Node's `headers` keeps only the first. */
  authorization: readonly string[] | undefined;
  /** Whether the request also carries an `access_token` query or body parameter. */
  accessTokenParameter: boolean;
}

/** RFC 6750 §2.1 `b64token`, after a single space. */
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * Takes the token from the Authorization header, the only place this API
 * accepts it. A request without Bearer credentials gets the bare challenge.
 */
export function extractBearerToken({ authorization: headers = [], accessTokenParameter }: BearerTokenSources): string {
  if (headers.length > 1) throw new InvalidRequest('Send exactly one Authorization header.');
  const [authorization] = headers;
  if (accessTokenParameter) {
    throw new InvalidRequest('Send the access token in the Authorization header only, not as an access_token parameter.');
  }
  if (authorization === undefined || !/^bearer(\s|$)/i.test(authorization)) throw new CredentialsMissing();
  const match = BEARER.exec(authorization);
  if (match?.[1] === undefined) {
    throw new InvalidRequest('The Authorization header must be "Bearer" followed by one space and the token.');
  }
  return match[1];
}
