import type { RoomLedger } from '../ledger.js';
import type { RoomPool } from '../pool.js';
import type { RoomProvider } from '../providers/provider.js';
import type { RoomReadCache } from '../room-cache.js';
import type { DeletionQueue } from './deletion-queue.js';

export interface RoomRetirementOptions {
  provider: RoomProvider;
  pool: RoomPool;
  ledger: RoomLedger;
  cache: RoomReadCache;
  queue: DeletionQueue;
}

/**
 * A room's end, whoever ends it (a deletion through the API, garbage
 * collection): the VMR is deleted upstream, then forgotten wherever this
 * gateway remembers it — read cache, pool, deletion queue — and recorded
 * as deleted in the ledger.
 */
export class RoomRetirement {
  constructor(private readonly options: RoomRetirementOptions) {}

  /** "gone" when the VMR no longer existed upstream; it is forgotten all the same. */
  async retire(room: { id: number; name: string }): Promise<'deleted' | 'gone'> {
    const outcome = await this.options.provider.delete(room.id);
    await this.forget(room.name);
    return outcome;
  }

  async retireByName(name: string): Promise<'deleted' | 'gone'> {
    const room = await this.options.provider.findByName(name);
    if (room !== undefined) return this.retire(room);
    await this.forget(name);
    return 'gone';
  }

  private async forget(name: string): Promise<void> {
    this.options.cache.forget([name]);
    await this.options.pool.forget([name]);
    await this.options.queue.forget([name]);
    await this.options.ledger.deleted([name]);
  }
}
