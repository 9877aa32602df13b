import { LRUCache } from 'lru-cache';
import type { Clock } from './clock.js';

/**
 * Where an entry was removed. lru-cache (11.5) empties itself by filling every
 * one of its `max`-long arrays when its last entry is deleted: 180–370 µs at
 * 50,000–100,000 entries against under 1 µs for any other delete (measured),
 * paid on every request of a lone caller whose entry came and went. So entries
 * are never deleted: a removed one is overwritten with this marker, an expired
 * one stays (noDeleteOnStaleGet), and both make way for new entries as the
 * least recently used.
 */
export const REMOVED = Symbol('removed');

/** lru-cache's options for a cache of at most `max` entries that never deletes one (see REMOVED). */
export function neverEmptiedOptions(max: number): { max: number; noDeleteOnStaleGet: true } {
  return { max, noDeleteOnStaleGet: true };
}

/**
 * A bounded LRU cache whose entries expire by the injected clock, so that a
 * test moving its clock moves expiry too. A size of 0 turns it off.
 */
export class TtlCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>> {
  private readonly entries: LRUCache<K, V | typeof REMOVED> | undefined;

  constructor(maxEntries: number, clock: Clock) {
    // ttlResolution 0: read the clock on every check rather than lru-cache's reading of up to 1 ms ago.
    this.entries = maxEntries > 0 ? new LRUCache<K, V | typeof REMOVED>({ ...neverEmptiedOptions(maxEntries), perf: clock, ttlResolution: 0 }) : undefined;
  }

  get(key: K): V | undefined {
    const value = this.entries?.get(key);
    return value === REMOVED ? undefined : value;
  }

  /**
   * Keeps `value` until `ttlMs` have passed: gone once its age reaches `ttlMs`.
   * lru-cache keeps an entry while its age is at most its ttl, hence the
   * millisecond less.
   */
  set(key: K, value: V, ttlMs: number): void {
    if (ttlMs > 1) this.entries?.set(key, value, { ttl: Math.ceil(ttlMs) - 1 });
    else this.delete(key);
  }

  delete(key: K): void {
    if (this.entries?.has(key)) this.entries.set(key, REMOVED);
  }

  /** Entries held, removed and expired ones included until they make way. */
  get size(): number {
    return this.entries?.size ?? 0;
  }
}
