import { type Clock, iso } from '../clock.js';
import type { Queryable, Store } from '../store/store.js';

/** Where a room is in its life; `deleted` rows stay a while as a record, then are pruned. */
export type LedgerState = 'creating' | 'pooled' | 'handed_out' | 'started' | 'ended' | 'deleted';
/** Who asked for the room: pool refill, a bulk job, an inline creation (pool empty), or the upgrade's adoption. */
export type LedgerOrigin = 'pool' | 'bulk' | 'inline' | 'adopted';

export const LEDGER_STATES: readonly LedgerState[] = ['creating', 'pooled', 'handed_out', 'started', 'ended', 'deleted'];

/** States in which a room has been given to a verification session: an agent may look it up. */
const SESSION_STATES: readonly LedgerState[] = ['handed_out', 'started', 'ended'];

export interface LedgerCounts {
  byState: Record<LedgerState, number>;
  /** Hand-out time of the oldest room handed out and never used, if any. */
  oldestUnusedAt: Date | null;
  /** Creations whose outcome is unknown and due for reconciliation with Pexip. */
  unknownOutcomes: number;
}

/**
 * The room ledger (docs/contract.md §3): every room this gateway creates is recorded
 * before Pexip is asked for it, and followed until it is deleted. What the
 * ledger does not know the gateway did not create, and never deletes.
 *
 * Methods that take a `Queryable` run in their caller's transaction, so that
 * a room's state moves with the pool, queue or event that moves it.
 */
export class RoomLedger {
  constructor(private readonly store: Store, private readonly clock: Clock) {}

  /** Before the create request: for `answerWithinMs` the creator may still be waiting for Pexip's answer. */
  async recordCreation(roomName: string, origin: LedgerOrigin, answerWithinMs: number, tx: Queryable = this.store): Promise<void> {
    const now = iso(this.clock.now());
    const outcomeDueAt = this.clock.now() + answerWithinMs;
    await tx.query(
      `INSERT INTO room_ledger (room_name, state, origin, recorded_at, outcome_due_at, updated_at) VALUES ($1, 'creating', $2, $3, $4, $3)`,
      [roomName, origin, now, iso(outcomeDueAt)],
    );
  }

  /** The create request failed in a way that leaves its outcome unknown: reconcile with Pexip at the next chance. */
  async outcomeUnknown(roomName: string): Promise<void> {
    await this.store.query(`UPDATE room_ledger SET outcome_due_at = $2, updated_at = $2 WHERE room_name = $1 AND state = 'creating'`, [roomName, iso(this.clock.now())]);
  }

  /** Pexip never created the room: there is nothing to account for. */
  async neverCreated(roomName: string, tx: Queryable = this.store): Promise<void> {
    await tx.query(`DELETE FROM room_ledger WHERE room_name = $1 AND state = 'creating'`, [roomName]);
  }

  /** The room exists and waits in the pool (also a room reconciled after its creator died); false when it had moved on. */
  async pooled(roomName: string, origin: LedgerOrigin, tx: Queryable = this.store): Promise<boolean> {
    const now = iso(this.clock.now());
    const { rowCount } = await tx.query(
      `INSERT INTO room_ledger (room_name, state, origin, recorded_at, created_at, updated_at) VALUES ($1, 'pooled', $2, $3, $3, $3)
       ON CONFLICT (room_name) DO UPDATE SET state = 'pooled', created_at = coalesce(room_ledger.created_at, EXCLUDED.created_at),
         outcome_due_at = NULL, handed_out_at = NULL, handed_out_to = NULL, updated_at = EXCLUDED.updated_at
       WHERE room_ledger.state IN ('creating', 'pooled')`,
      [roomName, origin, now],
    );
    return rowCount === 1;
  }

  /** A handed-out room goes back to the pool, its answer never delivered; false when it had moved on. */
  async returned(roomName: string, tx: Queryable = this.store): Promise<boolean> {
    const { rowCount } = await tx.query(
      `UPDATE room_ledger SET state = 'pooled', handed_out_at = NULL, handed_out_to = NULL, updated_at = $2 WHERE room_name = $1 AND state = 'handed_out'`,
      [roomName, iso(this.clock.now())],
    );
    return rowCount === 1;
  }

  /**
   * Given to a verification session of `caller` (the calling application),
   * from one of the states `from`; a pooled room an earlier release created is
   * recorded now. False when the room was not in such a state (someone is in
   * it, it ended, or reconciliation put it in the pool): not handed out.
   */
  async handedOut(roomName: string, caller: string, from: readonly ('creating' | 'pooled')[], tx: Queryable = this.store): Promise<boolean> {
    const now = iso(this.clock.now());
    const { rowCount } = await tx.query(
      `INSERT INTO room_ledger (room_name, state, origin, recorded_at, created_at, handed_out_at, handed_out_to, updated_at)
       VALUES ($1, 'handed_out', 'pool', $2, $2, $2, $3, $2)
       ON CONFLICT (room_name) DO UPDATE SET state = 'handed_out', created_at = coalesce(room_ledger.created_at, EXCLUDED.created_at),
         outcome_due_at = NULL, handed_out_at = EXCLUDED.handed_out_at, handed_out_to = EXCLUDED.handed_out_to, updated_at = EXCLUDED.updated_at
       WHERE room_ledger.state = ANY($4::text[])`,
      [roomName, now, caller, from],
    );
    return rowCount === 1;
  }

  /** A room created before the ledger existed: pooled if the pool holds it, else handed out as of now. */
  async adopt(roomName: string): Promise<void> {
    await this.store.query(
      `INSERT INTO room_ledger (room_name, state, origin, recorded_at, created_at, handed_out_at, updated_at)
       SELECT $1, CASE WHEN pooled THEN 'pooled' ELSE 'handed_out' END, 'adopted', $2, $2, CASE WHEN pooled THEN NULL ELSE $2::timestamptz END, $2
       FROM (SELECT EXISTS (SELECT 1 FROM room_pool WHERE room_name = $1) AS pooled) AS pool
       ON CONFLICT (room_name) DO NOTHING`,
      [roomName, iso(this.clock.now())],
    );
  }

  /** Someone is in the room (again, when after its end). False when the ledger does not know it, or the event predates the end. */
  async started(roomName: string, atMs: number, tx: Queryable = this.store): Promise<boolean> {
    const { rowCount } = await tx.query(
      `UPDATE room_ledger SET state = 'started', started_at = coalesce(started_at, $2), updated_at = $3
       WHERE room_name = $1 AND state <> 'deleted' AND state <> 'creating' AND (ended_at IS NULL OR ended_at <= $2)`,
      [roomName, iso(atMs), iso(this.clock.now())],
    );
    return rowCount === 1;
  }

  /** The conference ended. False when the ledger does not know the room: it is not ours to delete. */
  async ended(roomName: string, atMs: number, tx: Queryable = this.store): Promise<boolean> {
    const { rowCount } = await tx.query(
      `UPDATE room_ledger SET state = 'ended', ended_at = GREATEST(ended_at, $2), updated_at = $3
       WHERE room_name = $1 AND state <> 'deleted' AND state <> 'creating'`,
      [roomName, iso(atMs), iso(this.clock.now())],
    );
    return rowCount === 1;
  }

  async deleted(roomNames: readonly string[], tx: Queryable = this.store): Promise<void> {
    if (roomNames.length === 0) return;
    const now = iso(this.clock.now());
    await tx.query(`UPDATE room_ledger SET state = 'deleted', deleted_at = $2, outcome_due_at = NULL, updated_at = $2 WHERE room_name = ANY($1::text[]) AND state <> 'deleted'`, [
      roomNames,
      now,
    ]);
  }

  /** The room's state, or undefined when the ledger never recorded it. */
  async stateOf(roomName: string): Promise<LedgerState | undefined> {
    const { rows } = await this.store.query<{ state: LedgerState }>('SELECT state FROM room_ledger WHERE room_name = $1', [roomName]);
    return rows[0]?.state;
  }

  /** Whether the room was given to a verification session and not deleted since. */
  async inSession(roomName: string): Promise<boolean> {
    const state = await this.stateOf(roomName);
    return state !== undefined && SESSION_STATES.includes(state);
  }

  /** Whether the gateway created the room and has not deleted it: only such rooms may be deleted by collection. */
  async owns(roomName: string): Promise<boolean> {
    const state = await this.stateOf(roomName);
    return state !== undefined && state !== 'deleted';
  }

  /**
   * Rooms the ledger holds as pooled that the pool no longer has: a release
   * without the ledger, running beside this one during a rolling deploy,
   * handed them out. They are recorded as handed out now, to an unknown caller.
   */
  async handedOutElsewhere(): Promise<number> {
    const now = iso(this.clock.now());
    const { rowCount } = await this.store.query(
      `UPDATE room_ledger SET state = 'handed_out', handed_out_at = $1, updated_at = $1
       WHERE state = 'pooled' AND NOT EXISTS (SELECT 1 FROM room_pool WHERE room_pool.room_name = room_ledger.room_name)`,
      [now],
    );
    return rowCount;
  }

  /** Creations whose creator gave up or died before knowing whether Pexip made the room. */
  async unknownOutcomes(limit: number): Promise<{ roomName: string; origin: LedgerOrigin }[]> {
    const { rows } = await this.store.query<{ room_name: string; origin: LedgerOrigin }>(
      `SELECT room_name, origin FROM room_ledger WHERE state = 'creating' AND outcome_due_at <= $1
       AND NOT EXISTS (SELECT 1 FROM room_pool WHERE room_pool.room_name = room_ledger.room_name)
       ORDER BY outcome_due_at LIMIT $2`,
      [iso(this.clock.now()), limit],
    );
    return rows.map((row) => ({ roomName: row.room_name, origin: row.origin }));
  }

  /**
   * Queues for deletion every room handed out before `handedOutBefore` whose
   * conference never started: its citizen never joined, or its answer never
   * reached the caller. Timed as if it ended then, so a late start still cancels it.
   */
  async queueUnused(handedOutBefore: number, unusedTtlMs: number): Promise<number> {
    const { rowCount } = await this.store.query(
      `INSERT INTO deletion_queue (room_name, ended_at, enqueued_at)
       SELECT room_name, handed_out_at + make_interval(secs => $2::float8 / 1000), $3 FROM room_ledger
       WHERE state = 'handed_out' AND handed_out_at <= $1
       ON CONFLICT (room_name) DO NOTHING`,
      [iso(handedOutBefore), unusedTtlMs, iso(this.clock.now())],
    );
    return rowCount;
  }

  /** Rooms whose conference started and whose end has not been seen since before `before`: an end may have been lost. */
  async startedWithoutEnd(before: number, limit: number): Promise<string[]> {
    const { rows } = await this.store.query<{ room_name: string }>(
      `SELECT room_name FROM room_ledger WHERE state = 'started' AND updated_at <= $1 ORDER BY updated_at LIMIT $2`,
      [iso(before), limit],
    );
    return rows.map((row) => row.room_name);
  }

  /** Pexip shows a conference running in a room the ledger held as ended or unused: it is started, as of now. */
  async inConferenceNow(roomName: string, atMs: number): Promise<void> {
    await this.store.query(
      `UPDATE room_ledger SET state = 'started', started_at = coalesce(started_at, $2), updated_at = $2 WHERE room_name = $1 AND state IN ('handed_out', 'started', 'ended')`,
      [roomName, iso(atMs)],
    );
  }

  /** Pexip says a conference still runs in the room: look again after another while. */
  async stillInConference(roomName: string): Promise<void> {
    await this.store.query(`UPDATE room_ledger SET updated_at = $2 WHERE room_name = $1 AND state = 'started'`, [roomName, iso(this.clock.now())]);
  }

  /** No conference runs in a started room whose end was never seen: it ended, now at the latest, and is queued for deletion. */
  async endLost(roomName: string): Promise<void> {
    const now = iso(this.clock.now());
    await this.store.transaction(async (tx) => {
      const { rowCount } = await tx.query(`UPDATE room_ledger SET state = 'ended', ended_at = $2, updated_at = $2 WHERE room_name = $1 AND state = 'started'`, [roomName, now]);
      if (rowCount === 1) {
        await tx.query(`INSERT INTO deletion_queue (room_name, ended_at, enqueued_at) VALUES ($1, $2, $2) ON CONFLICT (room_name) DO NOTHING`, [roomName, now]);
      }
    });
  }

  /** Forgets deleted rooms recorded before `before`. */
  async prune(before: number): Promise<number> {
    const { rowCount } = await this.store.query(`DELETE FROM room_ledger WHERE state = 'deleted' AND deleted_at < $1`, [iso(before)]);
    return rowCount;
  }

  async counts(): Promise<LedgerCounts> {
    const now = iso(this.clock.now());
    const { rows } = await this.store.query<{ state: LedgerState; n: number; oldest_unused: Date | null; unknown: number }>(
      `SELECT state, count(*)::int AS n,
              min(handed_out_at) FILTER (WHERE state = 'handed_out') AS oldest_unused,
              count(*) FILTER (WHERE state = 'creating' AND outcome_due_at <= $1)::int AS unknown
       FROM room_ledger GROUP BY state`,
      [now],
    );
    const byState = Object.fromEntries(LEDGER_STATES.map((state) => [state, 0])) as Record<LedgerState, number>;
    let oldestUnusedAt: Date | null = null;
    let unknownOutcomes = 0;
    for (const row of rows) {
      byState[row.state] = row.n;
      if (row.oldest_unused) oldestUnusedAt = new Date(row.oldest_unused);
      unknownOutcomes += row.unknown;
    }
    return { byState, oldestUnusedAt, unknownOutcomes };
  }
}
