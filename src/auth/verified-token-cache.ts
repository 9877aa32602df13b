import { hash, type KeyObject } from 'node:crypto';
import type { Clock } from '../clock.js';
import { TtlCache } from '../ttl-cache.js';

interface Entry<Principal> {
  principal: Principal;
  kid: string;
  key: KeyObject;
}

/**
 * Tokens already verified, so that a token seen before costs no RSA
 * verification. Keyed by a SHA-256 of the token (never the token), bounded in
 * size, valid until the token's `exp` at most and only while the key that
 * signed it is still in the tenant's key set.
 */
export class VerifiedTokenCache<Principal> {
  private readonly entries: TtlCache<string, Entry<Principal>>;
  hits = 0;
  misses = 0;

  constructor(maxEntries: number, private readonly clock: Clock) {
    this.entries = new TtlCache(maxEntries, clock);
  }

  static keyOf(token: string): string {
    return hash('sha256', token, 'base64url');
  }

  get(cacheKey: string, currentKey: (kid: string) => KeyObject | undefined): Principal | undefined {
    const entry = this.entries.get(cacheKey);
    if (entry === undefined) {
      this.misses += 1;
      return undefined;
    }
    if (currentKey(entry.kid) !== entry.key) {
      this.entries.delete(cacheKey);
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    return entry.principal;
  }

  /** Kept until `expiresAt` (the token's `exp`, in milliseconds). */
  set(cacheKey: string, { expiresAt, ...entry }: Entry<Principal> & { expiresAt: number }): void {
    this.entries.set(cacheKey, entry, expiresAt - this.clock.now());
  }

  get size(): number {
    return this.entries.size;
  }
}
