import type { Logger } from 'pino';
import { BackgroundLoop, SingleFlight } from '../../background.js';
import type { Clock } from '../../clock.js';
import type { RoomLedger } from '../ledger.js';
import type { RoomProvider } from '../providers/provider.js';
import { isPersistent } from '../persistent.js';
import type { DeletionQueue, DueEntry } from './deletion-queue.js';
import type { RoomRetirement } from './retirement.js';

/** `GC_*` and `ROOM_UNUSED_TTL_SECONDS`, in milliseconds. */
export interface GarbageCollectionSettings {
  intervalMs: number;
  /**
   * A handed-out room whose conference has not started by then is queued for
   * deletion; a started room whose end has not been seen by then is looked
   * up on the provider, and queued when no conference runs in it.
   */
  unusedTtlMs: number;
  /** How long a run may hold an entry before another run may take it (a run that died). */
  leaseMs: number;
  graceMs: number;
  batchSize: number;
}

export interface GarbageCollectionOptions extends GarbageCollectionSettings {
  queue: DeletionQueue;
  ledger: RoomLedger;
  /** Asked whether a conference still runs in a room whose end was never seen. */
  provider: RoomProvider;
  retirement: RoomRetirement;
  clock: Clock;
  logger: Logger;
  persistentPrefixes: readonly string[];
  /** Batches one run processes at most, so that a run is bounded in time. */
  maxBatches?: number;
  onReport?: (report: GarbageCollectionReport) => void;
}

export interface GarbageCollectionReport {
  /** Handed-out rooms never used within ROOM_UNUSED_TTL_SECONDS, queued by this run. */
  unusedQueued: number;
  /** Started rooms whose end never arrived and in which no conference runs any more, queued by this run. */
  lostEndsQueued: number;
  deleted: number;
  alreadyGone: number;
  persistentKept: number;
  /** Named by an event, but not a room this gateway created: never deleted. */
  notOurs: number;
  /** Queued, but Pexip shows a conference running in it: kept. */
  inUseKept: number;
  failed: number;
}

/** How long a deleted room stays in the ledger as a record. */
const DELETED_RECORD_RETENTION_MS = 30 * 86_400_000;

/**
 * Deletes rooms whose conference ended at least the grace period ago
 * (docs/contract.md §4): in bounded batches, each entry under a lease so that concurrent
 * runs share the work and a crashed run's entries are retried.
 */
export class GarbageCollector {
  private readonly run = new SingleFlight(() => this.collect());
  private readonly loop = new BackgroundLoop({
    step: () => this.runOnce(),
    nextDelayMs: () => this.options.intervalMs,
    onError: (error) => this.options.logger.warn({ err: error }, 'garbage collection failed; next run retries'),
  });

  constructor(private readonly options: GarbageCollectionOptions) {}

  /** One run; concurrent calls in this process share it. */
  runOnce(): Promise<GarbageCollectionReport> {
    return this.run.run();
  }

  start(): void {
    void this.loop.start(this.options.intervalMs);
  }

  /** Stops scheduling; a run under way finishes its current entry. */
  async stop(): Promise<void> {
    await this.loop.stop();
    await this.run.settled();
  }

  private async collect(): Promise<GarbageCollectionReport> {
    const { queue, ledger, clock, batchSize, graceMs, unusedTtlMs, maxBatches = 20 } = this.options;
    const now = clock.now();
    const report: GarbageCollectionReport = { unusedQueued: 0, lostEndsQueued: 0, deleted: 0, alreadyGone: 0, persistentKept: 0, notOurs: 0, inUseKept: 0, failed: 0 };
    report.unusedQueued = await ledger.queueUnused(now - unusedTtlMs, unusedTtlMs);
    for (const roomName of await ledger.startedWithoutEnd(now - unusedTtlMs, batchSize)) await this.checkLostEnd(roomName, report);
    await ledger.prune(now - DELETED_RECORD_RETENTION_MS);
    for (let batch = 0; batch < maxBatches; batch += 1) {
      const entries = await queue.claimDue(graceMs, batchSize, this.options.leaseMs);
      for (const entry of entries) await this.process(entry, report);
      if (entries.length < batchSize) break;
    }
    this.options.onReport?.(report);
    if (Object.values(report).some((count) => count > 0)) {
      this.options.logger.info(report, 'garbage collection run');
    }
    return report;
  }

  /** An end Pexip never delivered (its event queue overflowed, the sink was down): the provider says whether the room is still in use. */
  private async checkLostEnd(roomName: string, report: GarbageCollectionReport): Promise<void> {
    const { provider, ledger, logger } = this.options;
    try {
      if (await provider.inConference(roomName)) {
        await ledger.stillInConference(roomName);
        return;
      }
    } catch (error) {
      logger.warn({ room: roomName, err: error }, 'could not ask whether a conference still runs in a room whose end was never seen; the next run asks again');
      return;
    }
    await ledger.endLost(roomName);
    report.lostEndsQueued += 1;
    logger.info({ room: roomName }, 'no conference runs in a room whose end was never seen: queued for deletion');
  }

  /**
   * A conference runs in a room queued for deletion: its start never reached
   * the sink, or came with a clock that put it before the end. The entry goes;
   * the ledger records the room as started, and its end will queue it again.
   */
  private async stillInUse(entry: DueEntry, report: GarbageCollectionReport): Promise<void> {
    const { ledger, queue, clock, logger } = this.options;
    await ledger.inConferenceNow(entry.roomName, clock.now());
    await queue.complete(entry);
    report.inUseKept += 1;
    logger.info({ room: entry.roomName }, 'a room queued for deletion has a conference running in it: kept');
  }

  private async process(entry: DueEntry, report: GarbageCollectionReport): Promise<void> {
    const { queue, ledger, retirement, persistentPrefixes, logger } = this.options;
    if (isPersistent(entry.roomName, persistentPrefixes)) {
      report.persistentKept += 1;
      await queue.complete(entry);
      return;
    }
    if (!(await ledger.owns(entry.roomName))) {
      report.notOurs += 1;
      logger.info({ room: entry.roomName }, 'a queued room this gateway did not create is not deleted');
      await queue.complete(entry);
      return;
    }
    try {
      if (await this.options.provider.inConference(entry.roomName)) {
        await this.stillInUse(entry, report);
        return;
      }
      const outcome = await retirement.retireByName(entry.roomName);
      report[outcome === 'deleted' ? 'deleted' : 'alreadyGone'] += 1;
    } catch (error) {
      report.failed += 1;
      logger.warn({ room: entry.roomName, attempts: entry.attempts, err: error }, 'room deletion failed; will retry');
      await queue.retryLater(entry, (error as Error).message);
    }
  }
}
