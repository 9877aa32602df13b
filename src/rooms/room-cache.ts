import type { Clock } from '../clock.js';
import { TtlCache } from '../ttl-cache.js';
import type { Conference } from './conference.js';

/**
 * Rooms read recently, and rooms the ledger recently held in a session, so
 * that the agent's and IDIM's reads cost no store or Pexip round trip. Every
 * change this gateway makes forgets the room at once; a change made elsewhere
 * (another replica, Pexip's own admin) shows within the TTL. A TTL of 0 turns
 * it off.
 */
export class RoomReadCache {
  private readonly entries: TtlCache<string, Conference>;
  private readonly sessions: TtlCache<string, true>;

  constructor(private readonly ttlMs: number, maxEntries: number, clock: Clock) {
    this.entries = new TtlCache(ttlMs > 0 ? maxEntries : 0, clock);
    this.sessions = new TtlCache(ttlMs > 0 ? maxEntries : 0, clock);
  }

  /** Whether the ledger held the room in a session within the TTL (and this gateway has not changed it since). */
  inSession(name: string): boolean {
    return this.sessions.get(name) === true;
  }

  markInSession(name: string): void {
    this.sessions.set(name, true, this.ttlMs);
  }

  get(name: string): Conference | undefined {
    return this.entries.get(name);
  }

  set(conference: Conference): void {
    this.entries.set(conference.name, conference, this.ttlMs);
  }

  forget(names: readonly string[]): void {
    for (const name of names) {
      this.entries.delete(name);
      this.sessions.delete(name);
    }
  }
}
