import { InvalidToken } from './bearer-errors.js';
import { parseStrictJson } from './strict-json.js';

export interface JwsHeader {
  alg: 'RS256';
  kid: string;
}

export interface InspectedToken {
  header: JwsHeader;
  claims: Record<string, unknown>;
}

const SEGMENT = /^[A-Za-z0-9_-]*$/;
/** Header parameters that would make us fetch or trust a key the token itself names (RFC 8725 §3.10). */
const KEY_CARRYING_HEADERS = ['jku', 'jwk', 'x5u', 'x5c'];
const MAX_KID_LENGTH = 256;

/**
 * Checks the shape of a compact JWS before any key lookup: three base64url
 * segments, a header this API accepts, and claims that are one JSON object
 * without repeated keys. The signature is checked later, against our keys.
 */
export function inspectCompactJws(token: string): InspectedToken {
  const segments = token.split('.');
  if (segments.length === 5) throw new InvalidToken('encrypted_token');
  if (segments.length !== 3 || !segments.every((s) => SEGMENT.test(s))) throw new InvalidToken('malformed_token');
  const [headerSegment, payloadSegment, signature] = segments as [string, string, string];
  if (signature.length === 0) throw new InvalidToken('bad_signature');
  const header = checkHeader(decodeObject(headerSegment));
  return { header, claims: decodeObject(payloadSegment) };
}

function checkHeader(header: Record<string, unknown>): JwsHeader {
  if (header.alg !== 'RS256') throw new InvalidToken('unsupported_algorithm');
  if (header.cty !== undefined) throw new InvalidToken('nested_token');
  if (header.typ !== undefined && (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT')) {
    throw new InvalidToken('unsupported_token_type');
  }
  if (header.crit !== undefined || header.b64 !== undefined || header.zip !== undefined || header.enc !== undefined) {
    throw new InvalidToken('malformed_token');
  }
  if (KEY_CARRYING_HEADERS.some((name) => header[name] !== undefined)) throw new InvalidToken('untrusted_header');
  const { kid } = header;
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) throw new InvalidToken('missing_key_id');
  return { alg: 'RS256', kid };
}

function decodeObject(segment: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseStrictJson(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(segment, 'base64url')));
  } catch {
    throw new InvalidToken('malformed_token');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidToken('malformed_token');
  return value as Record<string, unknown>;
}
