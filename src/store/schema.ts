import type { Queryable, Store } from './store.js';

export interface Migration {
  version: number;
  name: string;
  /**
   * `expand` (the default) only adds, so the release before it runs on the migrated database during a rolling
   * deploy; `contract` removes or restricts what an earlier release uses, and ships once no release using that can run.
   */
  kind?: 'expand' | 'contract';
  sql: string;
}

/**
 * The schema, shared by the embedded store and PostgreSQL. Append new
 * migrations; never edit one that has shipped; expand only while the previous
 * release may still run (test/store/migrations.test.ts holds that), contract
 * in a later release.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'rooms, pool and bulk jobs',
    sql: `
      CREATE TABLE embedded_conference (
        id bigserial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        document jsonb NOT NULL,
        created_at timestamptz NOT NULL
      );
      CREATE SEQUENCE embedded_conference_alias_id_seq;
      CREATE SEQUENCE embedded_automatic_participant_id_seq;

      CREATE TABLE room_pool (
        room_name text PRIMARY KEY,
        state text NOT NULL CHECK (state IN ('creating', 'ready', 'claimed')),
        conference jsonb,
        ready_at timestamptz NOT NULL,
        lease_token uuid,
        lease_until timestamptz,
        bulk_job_id uuid,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX room_pool_claimable ON room_pool (state, ready_at);

      CREATE TABLE bulk_job (
        id uuid PRIMARY KEY,
        requested integer NOT NULL CHECK (requested > 0),
        created integer NOT NULL DEFAULT 0,
        failed integer NOT NULL DEFAULT 0,
        state text NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
        lease_token uuid,
        lease_until timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'deletion queue and event de-duplication',
    sql: `
      CREATE TABLE deletion_queue (
        room_name text PRIMARY KEY,
        ended_at timestamptz NOT NULL,
        enqueued_at timestamptz NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        lease_token uuid,
        lease_until timestamptz,
        last_error text
      );
      CREATE INDEX deletion_queue_due ON deletion_queue (ended_at);

      CREATE TABLE event_seen (
        node text NOT NULL,
        seq bigint NOT NULL,
        event_time double precision NOT NULL,
        received_at timestamptz NOT NULL,
        PRIMARY KEY (node, seq, event_time)
      );
      CREATE INDEX event_seen_received ON event_seen (received_at);
    `,
  },
  {
    version: 3,
    name: 'Pexip request budget shared by replicas',
    sql: `
      CREATE TABLE pexip_request_slot (
        slot integer PRIMARY KEY,
        used_at timestamptz NOT NULL DEFAULT '1970-01-01T00:00:00Z'
      );
    `,
  },
  {
    version: 4,
    name: 'room ledger',
    // Adopts what the earlier release already held as ours: the pool's rooms, and queued
    // deletions of rooms named as this gateway names them (a VMR made by hand is never adopted).
    sql: `
      CREATE TABLE room_ledger (
        room_name text PRIMARY KEY,
        state text NOT NULL CHECK (state IN ('creating', 'pooled', 'handed_out', 'started', 'ended', 'deleted')),
        origin text NOT NULL CHECK (origin IN ('pool', 'bulk', 'inline', 'adopted')),
        recorded_at timestamptz NOT NULL,
        outcome_due_at timestamptz,
        created_at timestamptz,
        handed_out_at timestamptz,
        handed_out_to text,
        started_at timestamptz,
        ended_at timestamptz,
        deleted_at timestamptz,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX room_ledger_state ON room_ledger (state, handed_out_at);

      INSERT INTO room_ledger (room_name, state, origin, recorded_at, outcome_due_at, created_at, updated_at)
      SELECT room_name, CASE WHEN state = 'creating' THEN 'creating' ELSE 'pooled' END,
             CASE WHEN bulk_job_id IS NULL THEN 'pool' ELSE 'bulk' END,
             created_at, CASE WHEN state = 'creating' THEN lease_until END, CASE WHEN state = 'creating' THEN NULL ELSE created_at END, now()
      FROM room_pool;

      INSERT INTO room_ledger (room_name, state, origin, recorded_at, ended_at, updated_at)
      SELECT room_name, 'ended', 'adopted', enqueued_at, LEAST(ended_at, enqueued_at), now() FROM deletion_queue
      WHERE room_name ~ '^[A-Za-z0-9_-]{21}[AQgw]$'
      ON CONFLICT (room_name) DO UPDATE SET state = 'ended', ended_at = EXCLUDED.ended_at
    `,
  },
  {
    version: 5,
    name: 'rejected events kept; deletions an end_time ahead of its arrival parked in the future brought back to their queueing',
    sql: `
      CREATE TABLE event_rejected (
        id bigserial PRIMARY KEY,
        received_at timestamptz NOT NULL,
        node text,
        reason text NOT NULL,
        detail text NOT NULL,
        event jsonb NOT NULL
      );

      UPDATE deletion_queue SET ended_at = enqueued_at WHERE ended_at > enqueued_at;
    `,
  },
];

/** Arbitrary constant naming the migration lock, so that replicas starting together migrate once. */
const MIGRATION_LOCK = 4_711_2026;

/** The database holds a contract migration this release does not know: a later release removed what this one uses. */
export class SchemaAheadError extends Error {
  constructor(readonly migration: { version: number; name: string }) {
    super(`the database has contract migration ${migration.version} (${migration.name}), which this release does not know`);
    this.name = 'SchemaAheadError';
  }
}

export interface Migrated {
  /** Versions this start applied. */
  applied: number[];
  /** Expand migrations of a later release, already applied: this release runs beside that one (a rolling deploy). */
  ahead: number[];
}

/**
 * Applies the pending migrations under a lock. A database a later release has
 * migrated further is accepted while those migrations are all expand ones;
 * a contract migration this release does not know refuses the start.
 */
export async function migrate(store: Store, migrations: readonly Migration[] = MIGRATIONS): Promise<Migrated> {
  return store.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migration (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    // Releases before the kind was recorded insert only version and name: their migrations all expand.
    await tx.query(`ALTER TABLE schema_migration ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'expand'`);
    const rows = (await tx.query<{ version: number; name: string; kind: string }>('SELECT version, name, kind FROM schema_migration ORDER BY version')).rows;
    const known = new Set(migrations.map((m) => m.version));
    const unknown = rows.filter((r) => !known.has(r.version));
    const contract = unknown.find((r) => r.kind !== 'expand');
    if (contract !== undefined) throw new SchemaAheadError(contract);
    const applied = new Set(rows.map((r) => r.version));
    const pending = migrations.filter((m) => !applied.has(m.version));
    for (const migration of pending) await apply(tx, migration);
    return { applied: pending.map((m) => m.version), ahead: unknown.map((r) => r.version) };
  });
}

async function apply(tx: Queryable, migration: Migration): Promise<void> {
  for (const statement of splitStatements(migration.sql)) await tx.query(statement);
  await tx.query('INSERT INTO schema_migration (version, name, kind) VALUES ($1, $2, $3)', [migration.version, migration.name, migration.kind ?? 'expand']);
}

/** Our migrations contain no functions or quoted semicolons, so splitting on `;` is exact. */
export function splitStatements(sql: string): string[] {
  return sql.split(';').map((s) => s.trim()).filter((s) => s.length > 0);
}
