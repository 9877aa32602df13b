import pino, { type DestinationStream, type Logger } from 'pino';

/** Header paths pino redacts outright. */
export const REDACTED_PATHS = ['req.headers.authorization', 'req.headers["x-auth-token"]', 'req.headers.cookie', 'headers.authorization', 'headers["x-auth-token"]', 'headers.cookie'];

/** Field names whose values never reach a log line, at any depth. */
const SECRET_KEYS = /^(pin|guest_pin|guestpin|password|passwords|pass|secret|token|access_token|client_assertion|authorization|x-auth-token|cookie|set-cookie|database_url)$/i;
const MAX_DEPTH = 8;

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'maxconf-gateway' },
      formatters: { log: (object) => scrub(object, 0) as Record<string, unknown> },
    },
    destination,
  );
}

/**
 * Replaces the values of secret-named fields anywhere in a log object. Only
 * plain objects and arrays are walked: pino calls this before its serializers,
 * so raw requests, responses and errors are left to them (walking a socket on
 * every line once cost a quarter of the CPU).
 */
export function scrub(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  const clean: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) clean[key] = SECRET_KEYS.test(key) ? '[redacted]' : scrub(item, depth + 1);
  return clean;
}
