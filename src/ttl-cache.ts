import { LRUCache } from 'lru-cache';
import type { Clock } from './clock.js';

/**
 * A bounded LRU cache whose entries expire by the injected clock, so that a
 * test moving its clock moves expiry too. A size of 0 turns it off.
 */
export class TtlCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>> {
  private readonly entries: LRUCache<K, V> | undefined;

  constructor(maxEntries: number, clock: Clock) {
    // ttlResolution 0: read the clock on every check rather than lru-cache's reading of up to 1 ms ago.
    this.entries = maxEntries > 0 ? new LRUCache<K, V>({ max: maxEntries, perf: clock, ttlResolution: 0 }) : undefined;
  }

  get(key: K): V | undefined {
    return this.entries?.get(key);
  }

  /**
   * Keeps `value` until `ttlMs` have passed: gone once its age reaches `ttlMs`.
   * lru-cache keeps an entry while its age is at most its ttl, hence the
   * millisecond less.
   */
  set(key: K, value: V, ttlMs: number): void {
    if (ttlMs > 1) this.entries?.set(key, value, { ttl: Math.ceil(ttlMs) - 1 });
    else this.entries?.delete(key);
  }

  delete(key: K): void {
    this.entries?.delete(key);
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}
