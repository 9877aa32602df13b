import { createHash, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';

interface Entry<Principal> {
  principal: Principal;
  kid: string;
  key: KeyObject;
  expiresAt: number;
}

/**
 * Tokens already verified, so that a token seen before costs no RSA
 * verification. Keyed by a SHA-256 of the token (never the token), bounded in
 * size, valid until the token's `exp` at most and only while the key that
 * signed it is still in the tenant's key set.
 */
export class VerifiedTokenCache<Principal> {
  private readonly entries: LRUCache<string, Entry<Principal>> | undefined;
  hits = 0;
  misses = 0;

  constructor(maxEntries: number, private readonly clock: Clock) {
    this.entries = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : undefined;
  }

  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  get(cacheKey: string, currentKey: (kid: string) => KeyObject | undefined): Principal | undefined {
    const entry = this.entries?.get(cacheKey);
    if (entry === undefined) {
      this.misses += 1;
      return undefined;
    }
    if (entry.expiresAt <= this.clock.now() || currentKey(entry.kid) !== entry.key) {
      this.entries?.delete(cacheKey);
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    return entry.principal;
  }

  set(cacheKey: string, entry: Entry<Principal>): void {
    if (entry.expiresAt > this.clock.now()) this.entries?.set(cacheKey, entry);
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}
