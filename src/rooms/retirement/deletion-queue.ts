import { randomUUID } from 'node:crypto';
import { type Clock, iso } from '../../clock.js';
import type { Queryable, Store } from '../../store/store.js';

export interface DueEntry {
  roomName: string;
  leaseToken: string;
  attempts: number;
}

/**
 * Rooms waiting to be deleted after their conference ended (docs/contract.md §4). One
 * entry per room; garbage collection takes entries under a lease, so two runs
 * never process one entry and an entry held by a run that died is retried.
 * An entry is timed by the earlier of its end and its queueing: an end ahead
 * of its arrival (a node's clock, or an earlier release that did not hold
 * event times to their arrival) counts from when it was queued.
 */
export class DeletionQueue {
  constructor(private readonly store: Store, private readonly clock: Clock) {}

  /** Several per-node ends of one conference make one entry, timed by the latest end. */
  async enqueue(tx: Queryable, roomName: string, endedAtMs: number): Promise<void> {
    await tx.query(
      `INSERT INTO deletion_queue (room_name, ended_at, enqueued_at) VALUES ($1, $2, $3)
       ON CONFLICT (room_name) DO UPDATE SET ended_at = GREATEST(deletion_queue.ended_at, EXCLUDED.ended_at)`,
      [roomName, iso(endedAtMs), iso(this.clock.now())],
    );
  }

  /** Someone came back: cancels the deletion, unless the event predates the end that queued it. */
  async cancel(tx: Queryable, roomName: string, eventAtMs: number): Promise<boolean> {
    const { rowCount } = await tx.query('DELETE FROM deletion_queue WHERE room_name = $1 AND LEAST(ended_at, enqueued_at) <= $2', [roomName, iso(eventAtMs)]);
    return rowCount > 0;
  }

  /** Drops entries of rooms deleted through the API. */
  async forget(roomNames: readonly string[], tx: Queryable = this.store): Promise<void> {
    if (roomNames.length > 0) await tx.query('DELETE FROM deletion_queue WHERE room_name = ANY($1::text[])', [roomNames]);
  }

  /** Takes up to `limit` entries that ended at least `graceMs` ago and are not held by another run. */
  async claimDue(graceMs: number, limit: number, leaseMs: number): Promise<DueEntry[]> {
    const now = this.clock.now();
    const leaseToken = randomUUID();
    const { rows } = await this.store.query<{ room_name: string; attempts: number }>(
      `UPDATE deletion_queue SET lease_token = $1, lease_until = $2, attempts = attempts + 1
       WHERE room_name IN (
         SELECT room_name FROM deletion_queue
         WHERE LEAST(ended_at, enqueued_at) <= $3 AND (lease_until IS NULL OR lease_until <= $4)
         ORDER BY LEAST(ended_at, enqueued_at) LIMIT $5 FOR UPDATE SKIP LOCKED)
       RETURNING room_name, attempts`,
      [leaseToken, iso(now + leaseMs), iso(now - graceMs), iso(now), limit],
    );
    return rows.map((row) => ({ roomName: row.room_name, leaseToken, attempts: row.attempts }));
  }

  /** Removes a processed entry, if this run still holds it. */
  async complete(entry: DueEntry): Promise<void> {
    await this.store.query('DELETE FROM deletion_queue WHERE room_name = $1 AND lease_token = $2', [entry.roomName, entry.leaseToken]);
  }

  /** Keeps the entry for a later run, recording why this one failed. */
  async retryLater(entry: DueEntry, reason: string): Promise<void> {
    await this.store.query(
      'UPDATE deletion_queue SET lease_token = NULL, lease_until = NULL, last_error = $3 WHERE room_name = $1 AND lease_token = $2',
      [entry.roomName, entry.leaseToken, reason.slice(0, 500)],
    );
  }

  /** Entries still in their grace period, and when the first of them becomes due. */
  async notYetDue(graceMs: number): Promise<{ count: number; nextDueAt: number | undefined }> {
    const { rows } = await this.store.query<{ n: number; first: Date | null }>(
      'SELECT count(*)::int AS n, min(LEAST(ended_at, enqueued_at)) AS first FROM deletion_queue WHERE LEAST(ended_at, enqueued_at) > $1',
      [iso(this.clock.now() - graceMs)],
    );
    const first = rows[0]?.first;
    return { count: rows[0]?.n ?? 0, nextDueAt: first ? new Date(first).getTime() + graceMs : undefined };
  }

  async stats(): Promise<{ depth: number; oldestEndedAt: Date | null }> {
    const { rows } = await this.store.query<{ depth: number; oldest: Date | null }>('SELECT count(*)::int AS depth, min(LEAST(ended_at, enqueued_at)) AS oldest FROM deletion_queue');
    return { depth: rows[0]?.depth ?? 0, oldestEndedAt: rows[0]?.oldest ?? null };
  }
}
