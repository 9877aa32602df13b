import type { Logger } from 'pino';
import type { RoomPool } from '../rooms/pool.js';
import type { RoomProvider } from '../rooms/providers/provider.js';
import type { DeletionQueue, DueEntry } from './deletion-queue.js';
import type { EventSink } from './sink.js';

export interface GarbageCollectionOptions {
  queue: DeletionQueue;
  provider: RoomProvider;
  pool: RoomPool;
  sink: EventSink;
  logger: Logger;
  persistentPrefixes: readonly string[];
  graceMs: number;
  batchSize: number;
  intervalMs: number;
  dedupRetentionMs: number;
  leaseMs: number;
  /** Batches one run processes at most, so that a run is bounded in time. */
  maxBatches?: number;
  onReport?: (report: GarbageCollectionReport) => void;
  /** A room this run deleted (or found gone), for caches to forget. */
  onRoomGone?: (roomName: string) => void;
}

export interface GarbageCollectionReport {
  deleted: number;
  alreadyGone: number;
  persistentKept: number;
  failed: number;
}

/**
 * Deletes rooms whose conference ended at least the grace period ago
 * (SPEC §4): through the room provider, in bounded batches, each entry under
 * a lease so that concurrent runs share the work and a crashed run's entries
 * are retried.
 */
export class GarbageCollector {
  private running: Promise<GarbageCollectionReport> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: GarbageCollectionOptions) {}

  /** One run; concurrent calls in this process share it. */
  runOnce(): Promise<GarbageCollectionReport> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  start(): void {
    const tick = () => {
      this.runOnce()
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'garbage collection failed; next run retries'))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.options.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.options.intervalMs).unref();
  }

  /** Stops scheduling; a run under way finishes its current entry. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private async run(): Promise<GarbageCollectionReport> {
    const { queue, batchSize, graceMs, maxBatches = 20 } = this.options;
    const report: GarbageCollectionReport = { deleted: 0, alreadyGone: 0, persistentKept: 0, failed: 0 };
    for (let batch = 0; batch < maxBatches; batch += 1) {
      const entries = await queue.claimDue(graceMs, batchSize, this.options.leaseMs);
      for (const entry of entries) await this.process(entry, report);
      if (entries.length < batchSize) break;
    }
    await this.options.sink.pruneSeen(this.options.dedupRetentionMs);
    this.options.onReport?.(report);
    if (report.deleted + report.alreadyGone + report.persistentKept + report.failed > 0) {
      this.options.logger.info(report, 'garbage collection run');
    }
    return report;
  }

  private async process(entry: DueEntry, report: GarbageCollectionReport): Promise<void> {
    const { queue, provider, pool, persistentPrefixes, logger } = this.options;
    if (persistentPrefixes.some((prefix) => entry.roomName.startsWith(prefix))) {
      report.persistentKept += 1;
      await queue.complete(entry);
      return;
    }
    try {
      const room = await provider.findByName(entry.roomName);
      const outcome = room === undefined ? 'gone' : await provider.delete(room.id);
      report[outcome === 'deleted' ? 'deleted' : 'alreadyGone'] += 1;
      this.options.onRoomGone?.(entry.roomName);
      await pool.forget([entry.roomName]);
      await queue.complete(entry);
    } catch (error) {
      report.failed += 1;
      logger.warn({ room: entry.roomName, attempts: entry.attempts, err: error }, 'room deletion failed; will retry');
      await queue.retryLater(entry, (error as Error).message);
    }
  }
}
