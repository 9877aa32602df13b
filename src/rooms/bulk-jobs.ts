import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { BackgroundLoop } from '../background.js';
import { type Clock, iso } from '../clock.js';
import type { Queryable, Store } from '../store/store.js';
import type { RoomPool } from './pool.js';

export interface BulkJob {
  job_id: string;
  count: number;
  created: number;
  failed: number;
  status: 'running' | 'completed' | 'failed';
  created_at: string;
  updated_at: string;
}

interface BulkJobRow {
  id: string;
  requested: number;
  created: number;
  failed: number;
  state: BulkJob['status'];
  created_at: Date;
  updated_at: Date;
}

export interface BulkJobsOptions {
  store: Store;
  pool: RoomPool;
  clock: Clock;
  logger: Logger;
  leaseMs: number;
  /** How often to look for jobs whose worker died. */
  lookoutIntervalMs: number;
  /** Consecutive failures after which a job gives up. */
  maxConsecutiveFailures?: number;
}

/**
 * `POST /rooms/bulk`: rooms created in the background and added to the pool.
 * Progress is stored after every room; a job whose worker died is taken over
 * when its lease expires.
 */
export class BulkJobs {
  /** The jobs this process works on, by id. */
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;
  private readonly lookout = new BackgroundLoop({
    step: () => this.resumeAbandoned(),
    nextDelayMs: () => this.options.lookoutIntervalMs,
    onError: (error) => this.options.logger.warn({ err: error }, 'looking for abandoned bulk jobs failed'),
  });

  constructor(private readonly options: BulkJobsOptions) {}

  async submit(count: number): Promise<BulkJob> {
    const id = randomUUID();
    const now = iso(this.options.clock.now());
    const { rows } = await this.options.store.query<BulkJobRow>(
      `INSERT INTO bulk_job (id, requested, state, created_at, updated_at) VALUES ($1, $2, 'running', $3, $3) RETURNING *`,
      [id, count, now],
    );
    this.work(id);
    return toJob(rows[0] as BulkJobRow);
  }

  async find(id: string): Promise<BulkJob | undefined> {
    const { rows } = await this.options.store.query<BulkJobRow>('SELECT * FROM bulk_job WHERE id = $1', [id]);
    return rows[0] && toJob(rows[0]);
  }

  /** Takes over running jobs whose worker is gone (a restart, or a replica that died). */
  async resumeAbandoned(): Promise<void> {
    const { rows } = await this.options.store.query<{ id: string }>(
      `SELECT id FROM bulk_job WHERE state = 'running' AND (lease_until IS NULL OR lease_until <= $1)`,
      [iso(this.options.clock.now())],
    );
    for (const row of rows) if (!this.running.has(row.id)) this.work(row.id);
  }

  /** Looks for abandoned jobs now and then every `lookoutIntervalMs`. */
  start(): void {
    this.stopped = false;
    void this.lookout.start();
  }

  /** Lets the rooms under way finish; stops before the next one. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.lookout.stop();
    await Promise.allSettled([...this.running.values()]);
  }

  /** Resolves when every job this process is working on has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private work(id: string): void {
    const run = this.runJob(id)
      .catch((error: unknown) => this.options.logger.error({ job: id, err: error }, 'bulk job worker failed; it is taken over when its lease expires'))
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
  }

  private async runJob(id: string): Promise<void> {
    const lease = randomUUID();
    let consecutiveFailures = 0;
    const limit = this.options.maxConsecutiveFailures ?? 5;
    while (!this.stopped) {
      const job = await this.holdLease(id, lease);
      if (job === undefined) return;
      if (job.created + job.failed >= job.requested) return this.finish(id, lease, 'completed');
      if (consecutiveFailures >= limit) return this.finish(id, lease, 'failed');
      try {
        await this.options.pool.provision(id);
        consecutiveFailures = 0;
      } catch (error) {
        consecutiveFailures += 1;
        await this.options.store.query('UPDATE bulk_job SET failed = failed + 1, updated_at = $2 WHERE id = $1', [id, iso(this.options.clock.now())]);
        this.options.logger.warn({ job: id, err: error }, 'bulk job could not create a room');
      }
    }
  }

  /** Takes or renews the job's lease; undefined when another worker holds it or the job is over. */
  private async holdLease(id: string, lease: string): Promise<BulkJobRow | undefined> {
    const now = this.options.clock.now();
    const { rows } = await this.options.store.query<BulkJobRow>(
      `UPDATE bulk_job SET lease_token = $2, lease_until = $3
       WHERE id = $1 AND state = 'running' AND (lease_token = $2 OR lease_until IS NULL OR lease_until <= $4)
       RETURNING *`,
      [id, lease, iso(now + this.options.leaseMs), iso(now)],
    );
    return rows[0];
  }

  private async finish(id: string, lease: string, state: 'completed' | 'failed'): Promise<void> {
    await this.options.store.query(
      `UPDATE bulk_job SET state = $3, lease_token = NULL, lease_until = NULL, updated_at = $4 WHERE id = $1 AND lease_token = $2`,
      [id, lease, state, iso(this.options.clock.now())],
    );
    this.options.logger.info({ job: id, state }, 'bulk job finished');
  }
}

/** Counts a room created for a job towards it, in the transaction that makes the room ready (the pool's `onBulkRoomReady`). */
export function countBulkRoom(clock: Clock): (tx: Queryable, jobId: string) => Promise<void> {
  return async (tx, jobId) => {
    await tx.query('UPDATE bulk_job SET created = created + 1, updated_at = $2 WHERE id = $1', [jobId, iso(clock.now())]);
  };
}

function toJob(row: BulkJobRow): BulkJob {
  return {
    job_id: row.id,
    count: row.requested,
    created: row.created,
    failed: row.failed,
    status: row.state,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}
