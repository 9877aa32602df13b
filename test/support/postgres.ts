import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createLogger } from '../../src/logger.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { migrate, type Migration, MIGRATIONS } from '../../src/store/schema.js';
import type { Store } from '../../src/store/store.js';

/** Where the PostgreSQL suite creates its databases (this machine's server: trust auth, database `test`). */
export const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Set by test/global-setup.ts: whether this run has PostgreSQL. */
export const postgresAvailable = process.env.MAXCONF_TEST_POSTGRES === 'available';

/** `describe` when PostgreSQL is there; otherwise the suite is reported as not run (CI requires it: see global-setup). */
export const describePostgres = postgresAvailable ? describe : describe.skip;

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database per use, dropped afterwards (connections still open are terminated). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `maxconf_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))) };
}

export async function admin<T>(work: (client: pg.Client) => Promise<T>, url = ADMIN_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A migrated PostgreSQL store on a fresh database (with all migrations, or those given); closing it drops the database. */
export async function openPostgresTestStore(database?: TestDatabase, poolSize = 5, migrations: readonly Migration[] = MIGRATIONS): Promise<Store> {
  const db = database ?? (await createTestDatabase());
  const store = await openPostgresStore({ connectionString: db.url, poolSize, statementTimeoutMs: 5000, connectTimeoutMs: 2000, queryTimeoutMs: 8000 }, createLogger('silent'));
  await migrate(store, migrations);
  if (database !== undefined) return store;
  return {
    kind: store.kind,
    query: (sql, params) => store.query(sql, params),
    transaction: (work) => store.transaction(work),
    ping: () => store.ping(),
    async close() {
      await store.close();
      await db.drop();
    },
  };
}
