import type { Deadline } from '../../deadline.js';
import type { Store } from '../../store/store.js';
import type { RoomLedger } from '../ledger.js';
import type { RoomPool } from '../pool.js';
import type { RoomProvider } from '../providers/provider.js';
import type { RoomReadCache } from '../room-cache.js';
import type { DeletionQueue } from './deletion-queue.js';

export interface RoomRetirementOptions {
  store: Store;
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
 * as deleted in the ledger, in one transaction.
 */
export class RoomRetirement {
  constructor(private readonly options: RoomRetirementOptions) {}

  /** "gone" when the VMR no longer existed upstream; it is forgotten all the same. */
  async retire(room: { id: number; name: string }, deadline?: Deadline): Promise<'deleted' | 'gone'> {
    const outcome = await this.options.provider.delete(room.id, deadline);
    await this.forget(room.name);
    return outcome;
  }

  async retireByName(name: string): Promise<'deleted' | 'gone'> {
    const room = await this.options.provider.findByName(name);
    if (room !== undefined) return this.retire(room);
    await this.forget(name);
    return 'gone';
  }

  /** A VMR that is gone upstream (deleted here, or found missing). */
  async forget(name: string): Promise<void> {
    const { store, cache, pool, queue, ledger } = this.options;
    cache.forget([name]);
    await store.transaction(async (tx) => {
      await pool.forget([name], tx);
      await queue.forget([name], tx);
      await ledger.deleted([name], tx);
    });
  }
}
