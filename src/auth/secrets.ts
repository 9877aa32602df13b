import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time equality for secrets of any length (both sides are hashed to one length first). */
export function secretsEqual(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
