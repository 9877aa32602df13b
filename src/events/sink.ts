import type { Logger } from 'pino';
import { BackgroundLoop } from '../background.js';
import { type Clock, iso } from '../clock.js';
import { type Queryable, type Store, StoreUnavailableError } from '../store/store.js';
import { KNOWN_EVENTS, MAX_REJECTIONS_DESCRIBED, type ReadEnvelope, type RejectedEvent, type Rejection, type SinkEvent } from './envelope.js';
import type { RejectedEvents } from './rejected.js';

/** `EVENT_DEDUP_RETENTION_HOURS`, in milliseconds. */
export interface EventSinkSettings {
  /** How long an envelope's (node, seq, time) is remembered, so that its redelivery counts as a duplicate. */
  dedupRetentionMs: number;
}

/**
 * Where a conference's end goes to have its room deleted later (the rooms
 * module's deletion queue), written in the sink's own transaction so that the
 * event and its effect commit together.
 */
export interface RoomDeletions {
  enqueue(tx: Queryable, roomName: string, endedAtMs: number): Promise<void>;
  /** True when a queued deletion was cancelled. */
  cancel(tx: Queryable, roomName: string, eventAtMs: number): Promise<boolean>;
}

export interface EventSinkOptions extends EventSinkSettings {
  store: Store;
  queue: RoomDeletions;
  /** Where the events that could not be processed are kept for operators. */
  rejectedEvents: RejectedEvents;
  clock: Clock;
  logger: Logger;
  /** How long a request may wait for its commit (queue included); then it gets 503, which Pexip retries. */
  commitDeadlineMs?: number;
  /** How often records older than the retention, and kept rejected events beyond their bound, are pruned. */
  pruneIntervalMs?: number;
}

/** What the sink did with one request's events. */
export interface SinkReceipt {
  accepted: number;
  duplicates: number;
  /** Events not processed (invalid, or the whole body when it is not a valid event or bulk envelope); `rejections` describes the first of them. */
  rejected: number;
  rejections?: Rejection[];
}

/**
 * An event whose time is known: its own, its bulk envelope's, or (neither had
 * one) the time it arrived, `arrivedAtMs`.
 */
type TimedEvent = SinkEvent & { time: number; arrivedAtMs: number };

interface Waiting {
  envelopes: readonly TimedEvent[];
  rejected: readonly RejectedEvent[];
  resolve: (receipt: SinkReceipt) => void;
  reject: (error: unknown) => void;
}

/** Envelopes one group commit takes at most. */
const MAX_GROUP_ENVELOPES = 5000;
/** With a commit deadline: a group commit still running after this is presumed stuck, and the next group starts beside it. */
const STUCK_COMMIT_MS = 1000;
const PRUNE_INTERVAL_MS = 10 * 60_000;

/**
 * Applies Pexip events (docs/contract.md §4). Each envelope is recorded by (node, seq,
 * time), so a redelivered event is processed once; its effect on the deletion
 * queue commits in the same transaction, before Pexip gets its 200.
 *
 * Group commit: requests that arrive while a transaction is committing wait
 * and are written together in the next one, so that throughput does not stop
 * at one commit per event; each is still answered only after its commit.
 */
export class EventSink {
  readonly countsByType = new Map<string, number>();
  /** Events not processed, by RejectionReason. */
  readonly rejectedByReason = new Map<string, number>();
  private waiting: Waiting[] = [];
  private flushing = false;
  private readonly pruning = new BackgroundLoop({
    step: async () => {
      await this.pruneSeen();
      await this.options.rejectedEvents.prune();
    },
    nextDelayMs: () => this.pruneIntervalMs,
    onError: (error) => this.options.logger.warn({ err: error }, 'pruning de-duplication records or kept rejected events failed; the next round retries'),
  });

  get unknownEvents(): number {
    return this.countsByType.get('unknown') ?? 0;
  }

  constructor(private readonly options: EventSinkOptions) {}

  /** Prunes de-duplication records older than the retention, now and then. */
  start(): void {
    void this.pruning.start(this.pruneIntervalMs);
  }

  async stop(): Promise<void> {
    await this.pruning.stop();
  }

  accept({ events, rejected }: ReadEnvelope): Promise<SinkReceipt> {
    const arrivedAtMs = this.options.clock.now();
    const envelopes = events.map((event) => ({ ...event, time: event.time ?? arrivedAtMs / 1000, arrivedAtMs }));
    return new Promise((resolve, reject) => {
      const timer = this.options.commitDeadlineMs === undefined ? undefined : setTimeout(() => this.giveUp(request), this.options.commitDeadlineMs);
      const settled = () => clearTimeout(timer);
      const request: Waiting = {
        envelopes,
        rejected,
        resolve: (receipt) => (settled(), resolve(receipt)),
        reject: (error) => (settled(), reject(error)),
      };
      this.waiting.push(request);
      if (this.flushing) return;
      this.flushing = true;
      // After the requests that arrived in this turn of the event loop have queued too: the embedded
      // engine runs a whole transaction without yielding, so starting now would commit one request per group.
      setImmediate(() => void this.flush());
    });
  }

  /**
   * A request still queued leaves the queue; one whose group is committing is
   * answered now and its group's late outcome ignored (a redelivery is a duplicate).
   */
  private giveUp(request: Waiting): void {
    const queued = this.waiting.indexOf(request);
    if (queued >= 0) this.waiting.splice(queued, 1);
    request.reject(new StoreUnavailableError(new Error(`no commit within ${this.options.commitDeadlineMs} ms`)));
  }

  private async flush(): Promise<void> {
    try {
      while (this.waiting.length > 0) await this.stuckOrDone(this.commitGroup(this.takeGroup()));
    } finally {
      this.flushing = false;
    }
  }

  /** Resolves when the commit is done, or (with a commit deadline) once it has run for STUCK_COMMIT_MS: a stalled connection holds one group, not every later one. */
  private async stuckOrDone(commit: Promise<void>): Promise<void> {
    if (this.options.commitDeadlineMs === undefined) return commit;
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STUCK_COMMIT_MS);
    });
    await Promise.race([commit, stuck]);
    clearTimeout(timer);
  }

  private takeGroup(): Waiting[] {
    let envelopes = 0;
    let taken = 0;
    while (taken < this.waiting.length && (taken === 0 || envelopes + (this.waiting[taken] as Waiting).envelopes.length <= MAX_GROUP_ENVELOPES)) {
      envelopes += (this.waiting[taken] as Waiting).envelopes.length;
      taken += 1;
    }
    return this.waiting.splice(0, taken);
  }

  /** One transaction for the group; if it fails for a reason other than the store, each request is retried alone. */
  private async commitGroup(group: Waiting[]): Promise<void> {
    let applied: TimedEvent[][];
    try {
      applied = await this.options.store.transaction(async (tx) => {
        const fresh = await this.firstSightings(tx, group.flatMap((request) => request.envelopes));
        for (const envelope of fresh) await this.apply(tx, envelope);
        await this.options.rejectedEvents.keep(tx, group.flatMap((request) => request.rejected.slice(0, MAX_REJECTIONS_DESCRIBED)));
        return group.map((request) => request.envelopes.filter((envelope) => fresh.has(envelope)));
      });
    } catch (error) {
      if (group.length > 1 && !(error instanceof StoreUnavailableError)) {
        for (const request of group) await this.commitGroup([request]);
      } else {
        for (const request of group) request.reject(error);
      }
      return;
    }
    group.forEach((request, i) => request.resolve(this.receipt(request, applied[i] as TimedEvent[])));
  }

  private receipt({ envelopes, rejected }: Waiting, fresh: TimedEvent[]): SinkReceipt {
    this.count(fresh);
    const receipt = { accepted: fresh.length, duplicates: envelopes.length - fresh.length, rejected: rejected.length };
    if (rejected.length === 0) return receipt;
    const described = rejected.slice(0, MAX_REJECTIONS_DESCRIBED);
    increment(this.countsByType, 'rejected', rejected.length);
    for (const { reason } of rejected) increment(this.rejectedByReason, reason);
    // Positions, reasons and field names only: the values may be hostile, personal or secret (PINs).
    this.options.logger.warn(
      { rejected: rejected.length, rejections: described.map(({ index, reason, errors }) => ({ index, reason, fields: errors.map((e) => e.field) })) },
      'events that could not be processed were acknowledged, and kept for operators (event_rejected)',
    );
    return { ...receipt, rejections: described.map(({ index, errors }): Rejection => (index === undefined ? { errors } : { index, errors })) };
  }

  /** Forgets de-duplication records older than the retention. */
  async pruneSeen(): Promise<number> {
    const { store, clock, dedupRetentionMs } = this.options;
    const { rowCount } = await store.query('DELETE FROM event_seen WHERE received_at < $1', [iso(clock.now() - dedupRetentionMs)]);
    return rowCount;
  }

  private get pruneIntervalMs(): number {
    return this.options.pruneIntervalMs ?? PRUNE_INTERVAL_MS;
  }

  /**
   * Records every envelope's (node, seq, time) with one statement and returns
   * those seen for the first time, in arrival order; a key repeated within the
   * group counts for its first envelope only.
   */
  private async firstSightings(tx: Queryable, envelopes: readonly TimedEvent[]): Promise<Set<TimedEvent>> {
    if (envelopes.length === 0) return new Set();
    const { rows } = await tx.query<{ node: string; seq: string; event_time: number }>(
      `INSERT INTO event_seen (node, seq, event_time, received_at)
       SELECT node, seq, event_time, $4 FROM unnest($1::text[], $2::bigint[], $3::float8[]) AS seen (node, seq, event_time)
       ON CONFLICT DO NOTHING
       RETURNING node, seq::text AS seq, event_time`,
      [envelopes.map((e) => e.node), envelopes.map((e) => e.seq), envelopes.map((e) => e.time), iso(this.options.clock.now())],
    );
    const inserted = new Set(rows.map((row) => seenKey(row.node, row.seq, row.event_time)));
    return new Set(envelopes.filter((e) => inserted.delete(seenKey(e.node, String(e.seq), e.time))));
  }

  private async apply(tx: Queryable, envelope: TimedEvent): Promise<void> {
    const data = (Array.isArray(envelope.data) ? {} : envelope.data) as Record<string, unknown>;
    // A time counts as its arrival at the latest: a node whose clock is ahead must not park a deletion where it never becomes due (an end in 9999) and no start can cancel it.
    const asPast = (seconds: number) => Math.min(seconds * 1000, envelope.arrivedAtMs);
    const eventAtMs = asPast(envelope.time);
    switch (envelope.event) {
      case 'conference_ended': {
        const room = text(data.name) ?? text(data.conference);
        const endedAt = typeof data.end_time === 'number' && Number.isFinite(data.end_time) ? asPast(data.end_time) : eventAtMs;
        if (room) await this.options.queue.enqueue(tx, room, endedAt);
        else this.options.logger.warn({ event: envelope.event, node: envelope.node, seq: envelope.seq }, 'conference_ended names no room (data.name, data.conference): nothing queued for deletion');
        return;
      }
      case 'conference_started':
      case 'participant_connected': {
        const room = envelope.event === 'conference_started' ? (text(data.name) ?? text(data.conference)) : (text(data.conference) ?? text(data.name));
        if (room && (await this.options.queue.cancel(tx, room, eventAtMs))) this.options.logger.info({ room, event: envelope.event }, 'deletion cancelled: the room is in use again');
        return;
      }
      default:
        return;
    }
  }

  private count(envelopes: readonly TimedEvent[]): void {
    for (const { event } of envelopes) increment(this.countsByType, KNOWN_EVENTS.has(event) ? event : 'unknown');
  }
}

function increment(counts: Map<string, number>, key: string, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by);
}

function seenKey(node: string, seq: string, time: number): string {
  return JSON.stringify([node, seq, time]);
}

/** A room name; readEnvelope has held it to Pexip's length in the events that name a room. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
