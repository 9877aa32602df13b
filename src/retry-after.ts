import type { Clock } from './clock.js';

/**
 * An upstream's `Retry-After` (RFC 9110 §10.2.3: delay-seconds, or an
 * HTTP-date, whose three forms all start with a day name) as milliseconds from
 * now, between 0 and `maxMs`; undefined when absent or unreadable.
 */
export function parseRetryAfter(header: string | null, clock: Clock, maxMs: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : /^[A-Za-z]{3}/.test(value) ? Date.parse(value) - clock.now() : Number.NaN;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), maxMs) : undefined;
}
