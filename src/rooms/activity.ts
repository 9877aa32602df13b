import type { Queryable } from '../store/store.js';
import type { RoomLedger } from './ledger.js';
import type { RoomPool } from './pool.js';
import type { DeletionQueue } from './retirement/deletion-queue.js';

/**
 * What a conference's start and end do to its room (docs/contract.md §4), in the event
 * sink's transaction: the ledger follows the room, and the deletion queue
 * takes every ended room. Garbage collection then deletes only what the
 * ledger knows (a VMR made by hand is never ours); until then an end that
 * arrived before the room was adopted (an upgrade) is not lost. A pooled
 * room named by an event leaves the pool: someone has its name, so it is
 * never handed out.
 */
export class RoomActivity {
  constructor(private readonly ledger: RoomLedger, private readonly queue: DeletionQueue, private readonly pool: RoomPool) {}

  async enqueue(tx: Queryable, roomName: string, endedAtMs: number): Promise<void> {
    await this.pool.forget([roomName], tx);
    await this.ledger.ended(roomName, endedAtMs, tx);
    await this.queue.enqueue(tx, roomName, endedAtMs);
  }

  async cancel(tx: Queryable, roomName: string, eventAtMs: number): Promise<boolean> {
    await this.pool.forget([roomName], tx);
    await this.ledger.started(roomName, eventAtMs, tx);
    return this.queue.cancel(tx, roomName, eventAtMs);
  }
}
