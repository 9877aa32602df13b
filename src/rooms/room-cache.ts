import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { Conference } from './conference.js';

/**
 * Rooms read recently, so that the agent's and IDIM's reads cost no store or
 * Pexip round trip. Every change this gateway makes forgets the room at once;
 * a change made elsewhere (another replica, Pexip's own admin) shows within
 * the TTL. A TTL of 0 turns it off.
 */
export class RoomReadCache {
  private readonly entries: LRUCache<string, { conference: Conference; expiresAt: number }> | undefined;

  constructor(private readonly ttlMs: number, maxEntries: number, private readonly clock: Clock) {
    this.entries = ttlMs > 0 ? new LRUCache({ max: maxEntries }) : undefined;
  }

  get(name: string): Conference | undefined {
    const entry = this.entries?.get(name);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.clock.now()) return entry.conference;
    this.entries?.delete(name);
    return undefined;
  }

  set(conference: Conference): void {
    this.entries?.set(conference.name, { conference, expiresAt: this.clock.now() + this.ttlMs });
  }

  forget(names: readonly string[]): void {
    for (const name of names) this.entries?.delete(name);
  }
}
