import pino, { type DestinationStream, type Logger } from 'pino';

/** Paths that may hold secrets; pino replaces their values wherever they appear. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-auth-token"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-auth-token"]',
  '*.pin',
  '*.guest_pin',
  '*.password',
  'pin',
  'guest_pin',
  'password',
  'token',
  '*.token',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'maxconf-gateway' } }, destination);
}
