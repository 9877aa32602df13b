import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { BackgroundLoop, SingleFlight } from '../background.js';
import { type Clock, iso } from '../clock.js';
import type { Queryable, Store } from '../store/store.js';
import type { Conference } from './conference.js';
import type { RoomLedger } from './ledger.js';
import { newRoom } from './new-room.js';
import { RoomAlreadyExists, type RoomProvider } from './providers/provider.js';
import type { RoomSettings } from './settings.js';

export interface PoolClaim {
  roomName: string;
  leaseToken: string;
  claimedAt: number;
  conference: Conference;
}

export interface PoolCounts {
  creating: number;
  ready: number;
  /** Ready rooms still inside the replication delay. */
  waiting: number;
  claimed: number;
}

export interface RoomPoolOptions {
  store: Store;
  provider: RoomProvider;
  ledger: RoomLedger;
  clock: Clock;
  logger: Logger;
  rooms: RoomSettings;
  /** How long a new room waits before it may be handed out (Pexip replication). */
  readyDelayMs: number;
  /** How often the background loop reconciles and refills; defaults to the setting (tests lengthen it). */
  maintenanceIntervalMs?: number;
  /** Counts a room created for a bulk job towards it, in the transaction that makes the room ready. */
  onBulkRoomReady?: (tx: Queryable, bulkJobId: string) => Promise<void>;
}

/** Names the advisory lock that makes "count, then reserve" atomic across replicas. */
const REFILL_LOCK = 4_711_0001;
/** Unknown creation outcomes one maintenance round reconciles at most (one Pexip lookup each). */
const RECONCILE_BATCH = 50;

/**
 * The pool of ready rooms (docs/contract.md §3). Every row carries a lease: a room whose
 * claimer or creator died returns to service when the lease expires, and a
 * claim only completes while its lease token still holds, so no room is
 * handed out twice and none is lost.
 */
export class RoomPool {
  private readonly refilling = new SingleFlight(() => this.fillToTarget());
  private readonly maintenance = new BackgroundLoop({
    step: () => this.maintain(),
    nextDelayMs: () => this.options.maintenanceIntervalMs ?? this.options.rooms.poolMaintenanceIntervalMs,
    onError: (error) => this.options.logger.warn({ err: error }, 'pool maintenance failed; will retry'),
  });
  private stopped = false;
  private readonly leaseMs: number;

  constructor(private readonly options: RoomPoolOptions) {
    this.leaseMs = options.rooms.claimLeaseMs;
  }

  /**
   * Takes a ready room under a lease; never one queued for deletion, nor one
   * the ledger has seen a conference in (someone had its name).
   */
  async claim(): Promise<PoolClaim | undefined> {
    const now = this.options.clock.now();
    const leaseToken = randomUUID();
    const { rows } = await this.options.store.query<{ room_name: string; conference: Conference }>(
      `UPDATE room_pool SET state = 'claimed', lease_token = $2, lease_until = $3
       WHERE room_name = (
         SELECT room_name FROM room_pool
         WHERE ((state = 'ready' AND ready_at <= $1) OR (state = 'claimed' AND lease_until <= $1))
           AND NOT EXISTS (SELECT 1 FROM deletion_queue WHERE deletion_queue.room_name = room_pool.room_name)
           AND NOT EXISTS (SELECT 1 FROM room_ledger WHERE room_ledger.room_name = room_pool.room_name AND room_ledger.state NOT IN ('creating', 'pooled'))
         ORDER BY ready_at LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING room_name, conference`,
      [iso(now), leaseToken, iso(now + this.leaseMs)],
    );
    const row = rows[0];
    return row && { roomName: row.room_name, leaseToken, claimedAt: now, conference: row.conference };
  }

  /** Whether the claim is young enough to act on without racing a lease expiry. */
  isFresh(claim: PoolClaim): boolean {
    return this.options.clock.now() < this.freshUntil(claim);
  }

  /** Until when the claim may be acted on: half its lease, so that a request sent by then has ended long before another claimer can take the room. */
  freshUntil(claim: PoolClaim): number {
    return claim.claimedAt + this.leaseMs / 2;
  }

  /**
   * Takes the room out of the pool, handed out to `caller`. False, and
   * nothing changed, when the lease was lost (the room is someone else's) or
   * the ledger has moved the room on meanwhile (a conference started or ended in it).
   */
  async complete(claim: PoolClaim, caller: string): Promise<boolean> {
    try {
      return await this.options.store.transaction(async (tx) => {
        const { rowCount } = await tx.query('DELETE FROM room_pool WHERE room_name = $1 AND lease_token = $2', [claim.roomName, claim.leaseToken]);
        if (rowCount === 0) return false;
        if (!(await this.options.ledger.handedOut(claim.roomName, caller, ['pooled'], tx))) throw new NotHandedOut();
        return true;
      });
    } catch (error) {
      if (error instanceof NotHandedOut) return false;
      throw error;
    }
  }

  /** Takes back a handed-out room whose answer never reached its caller: nobody has its name or PINs, so it can serve another session. */
  async takeBack(conference: Conference): Promise<void> {
    await this.options.store.transaction(async (tx) => {
      if (await this.options.ledger.returned(conference.name, tx)) await this.insertReady(tx, conference);
    });
  }

  /** Puts a claimed room back, ready at once. */
  async release(claim: PoolClaim): Promise<void> {
    await this.options.store.query(
      `UPDATE room_pool SET state = 'ready', lease_token = NULL, lease_until = NULL WHERE room_name = $1 AND lease_token = $2`,
      [claim.roomName, claim.leaseToken],
    );
  }

  /** Forgets rooms that no longer exist upstream or were deleted through the API. */
  async forget(roomNames: readonly string[], tx: Queryable = this.options.store): Promise<void> {
    if (roomNames.length > 0) await tx.query('DELETE FROM room_pool WHERE room_name = ANY($1::text[])', [roomNames]);
  }

  async counts(): Promise<PoolCounts> {
    const now = iso(this.options.clock.now());
    const { rows } = await this.options.store.query<PoolCounts>(
      `SELECT count(*) FILTER (WHERE state = 'creating')::int AS creating,
              count(*) FILTER (WHERE state = 'ready' AND ready_at <= $1)::int AS ready,
              count(*) FILTER (WHERE state = 'ready' AND ready_at > $1)::int AS waiting,
              count(*) FILTER (WHERE state = 'claimed')::int AS claimed
       FROM room_pool`,
      [now],
    );
    return rows[0] as PoolCounts;
  }

  /** Creates rooms until the pool holds its target; one refill at a time per process. */
  refill(): Promise<number> {
    return this.stopped ? Promise.resolve(0) : this.refilling.run();
  }

  /**
   * Creates one room into the pool. With `bulkJobId` the room is extra (a
   * bulk job asked for it) and counts towards that job when it is ready.
   */
  async provision(bulkJobId?: string): Promise<Conference | undefined> {
    const room = newRoom(this.options.rooms, '');
    const reserved = await this.options.store.transaction((tx) => this.reserve(tx, room.name, bulkJobId));
    if (!reserved) return undefined;
    let conference: Conference;
    try {
      conference = await this.options.provider.create(room);
    } catch (error) {
      const existing = error instanceof RoomAlreadyExists ? await this.options.provider.findByName(room.name) : undefined;
      if (existing === undefined) {
        // Pexip may have made the room all the same (an answer lost): the ledger keeps it until reconciled.
        await this.options.store.query('DELETE FROM room_pool WHERE room_name = $1', [room.name]);
        await this.options.ledger.outcomeUnknown(room.name);
        throw error;
      }
      conference = existing;
    }
    const ready = await this.options.store.transaction((tx) => this.markReady(tx, room.name, conference, bulkJobId));
    // Reconciliation judged the room never created while Pexip was still answering (the create outlived its lease).
    if (!ready && (await this.options.ledger.stateOf(room.name)) === undefined) await this.restore(conference);
    return conference;
  }

  /**
   * Settles rows whose holder died: a claim whose lease expired is ready
   * again; a room being created becomes ready if it exists upstream and is
   * dropped if it never got created. Then every other creation whose outcome
   * is unknown (an inline creation cut off, a create whose answer was lost)
   * is looked up on Pexip: the room joins the pool if it exists. Last, pooled
   * rooms an earlier release handed out are recorded as handed out.
   */
  async reconcile(): Promise<void> {
    const now = iso(this.options.clock.now());
    await this.options.store.query(`UPDATE room_pool SET state = 'ready', lease_token = NULL, lease_until = NULL WHERE state = 'claimed' AND lease_until <= $1`, [now]);
    const { rows } = await this.options.store.query<{ room_name: string; bulk_job_id: string | null }>(
      `SELECT room_name, bulk_job_id FROM room_pool WHERE state = 'creating' AND lease_until <= $1`,
      [now],
    );
    for (const row of rows) {
      await this.settle(row.room_name, (conference) => this.options.store.transaction((tx) => this.markReady(tx, row.room_name, conference, row.bulk_job_id ?? undefined)));
    }
    for (const { roomName } of await this.options.ledger.unknownOutcomes(RECONCILE_BATCH)) await this.settle(roomName, (conference) => this.restore(conference));
    await this.options.ledger.handedOutElsewhere();
  }

  /**
   * Looks a room of unknown outcome up and settles it: gone if Pexip never
   * made it or made it only in part (no automatic participant: it would never
   * dial the Genesys queue), else `keep`. A failed lookup is retried next round.
   */
  private async settle(roomName: string, keep: (conference: Conference) => Promise<unknown>): Promise<void> {
    try {
      const conference = await this.options.provider.findByName(roomName);
      if (conference === undefined) await this.neverCreated(roomName);
      else if (this.options.rooms.automaticParticipant !== undefined && conference.automatic_participants.length === 0) await this.discard(conference);
      else await keep(conference);
    } catch (error) {
      this.options.logger.warn({ room: roomName, err: error }, 'could not settle a room whose creation outcome is unknown; the next round retries');
    }
  }

  /** A room Pexip made only in part: deleted, and recorded so. */
  private async discard(conference: Conference): Promise<void> {
    await this.options.provider.delete(conference.id);
    await this.options.store.transaction(async (tx) => {
      await tx.query('DELETE FROM room_pool WHERE room_name = $1', [conference.name]);
      await this.options.ledger.deleted([conference.name], tx);
    });
  }

  start(): void {
    this.stopped = false;
    void this.maintenance.start(0);
  }

  /** Stops background work: the room being created is finished, no further one is started. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.maintenance.stop(), this.refilling.settled()]);
  }

  private async maintain(): Promise<void> {
    await this.reconcile();
    await this.refill();
  }

  private async fillToTarget(): Promise<number> {
    let created = 0;
    while (!this.stopped) {
      const conference = await this.provision();
      if (conference === undefined) return created;
      created += 1;
    }
    return created;
  }

  /** Reserves a pool slot for a room about to be created; refills stop at the target, bulk jobs add beyond it. */
  private async reserve(tx: Queryable, roomName: string, bulkJobId: string | undefined): Promise<boolean> {
    const now = this.options.clock.now();
    if (bulkJobId === undefined) {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [REFILL_LOCK]);
      const { rows } = await tx.query<{ size: number }>('SELECT count(*)::int AS size FROM room_pool');
      if ((rows[0]?.size ?? 0) >= this.options.rooms.poolTargetSize) return false;
    }
    await tx.query(
      `INSERT INTO room_pool (room_name, state, ready_at, lease_token, lease_until, bulk_job_id, created_at)
       VALUES ($1, 'creating', $2, $3, $4, $5, $2)`,
      [roomName, iso(now), randomUUID(), iso(now + this.leaseMs), bulkJobId ?? null],
    );
    await this.options.ledger.recordCreation(roomName, bulkJobId === undefined ? 'pool' : 'bulk', this.leaseMs, tx);
    return true;
  }

  private async markReady(tx: Queryable, roomName: string, conference: Conference, bulkJobId: string | undefined): Promise<boolean> {
    const readyAt = iso(this.options.clock.now() + this.options.readyDelayMs);
    const { rowCount } = await tx.query(
      `UPDATE room_pool SET state = 'ready', conference = $2::jsonb, ready_at = $3, lease_token = NULL, lease_until = NULL
       WHERE room_name = $1 AND state = 'creating'`,
      [roomName, JSON.stringify(conference), readyAt],
    );
    if (rowCount === 0) return false;
    await this.options.ledger.pooled(roomName, bulkJobId === undefined ? 'pool' : 'bulk', tx);
    if (bulkJobId !== undefined) await this.options.onBulkRoomReady?.(tx, bulkJobId);
    return true;
  }

  /** A room that exists on Pexip, but whose creator never saw it made, joins the pool, unless it has moved on meanwhile (its creator handed it out). */
  private async restore(conference: Conference): Promise<void> {
    await this.options.store.transaction(async (tx) => {
      if (await this.options.ledger.pooled(conference.name, 'pool', tx)) await this.insertReady(tx, conference);
    });
  }

  private async insertReady(tx: Queryable, conference: Conference): Promise<void> {
    const now = this.options.clock.now();
    await tx.query(
      `INSERT INTO room_pool (room_name, state, conference, ready_at, created_at) VALUES ($1, 'ready', $2::jsonb, $3, $4)
       ON CONFLICT (room_name) DO NOTHING`,
      [conference.name, JSON.stringify(conference), iso(now + this.options.readyDelayMs), iso(now)],
    );
  }

  private async neverCreated(roomName: string): Promise<void> {
    await this.options.store.transaction(async (tx) => {
      await tx.query('DELETE FROM room_pool WHERE room_name = $1', [roomName]);
      await this.options.ledger.neverCreated(roomName, tx);
    });
  }
}

/** Rolls back a completion the ledger refused. */
class NotHandedOut extends Error {}
