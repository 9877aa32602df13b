import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Queryable, QueryResult, Store } from './store.js';
import { StoreUnavailableError } from './store.js';

/**
 * The embedded store: PostgreSQL compiled to WASM (PGlite), file-backed under
 * the data directory, in this process. Only one process may open a directory.
 */
export async function openEmbeddedStore(dataDir: string | undefined): Promise<Store> {
  const release = dataDir === undefined ? () => undefined : lockDirectory(dataDir);
  try {
    const db = await PGlite.create(dataDir === undefined ? undefined : path.join(dataDir, 'pglite'));
    return new EmbeddedStore(db, release);
  } catch (error) {
    release();
    throw error;
  }
}

class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  private closed = false;

  constructor(private readonly db: PGlite, private readonly release: () => void) {}

  query<Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    return run(() => this.db.query<Row>(sql, params as unknown[] | undefined));
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    let workFailure: unknown;
    try {
      return await this.db.transaction((tx) =>
        work({ query: <Row>(sql: string, params?: readonly unknown[]) => run(() => tx.query<Row>(sql, params as unknown[] | undefined)) }).catch((error: unknown) => {
          workFailure = error;
          throw error;
        }),
      );
    } catch (error) {
      // What the work threw stands; anything else is the engine failing (closed, BEGIN or COMMIT impossible).
      throw error === workFailure || hasSqlState(error) ? error : new StoreUnavailableError(error);
    }
  }

  async ping(): Promise<void> {
    if (this.closed) throw new StoreUnavailableError(new Error('closed'));
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.db.close();
    } finally {
      this.release();
    }
  }
}

async function run<Row>(query: () => Promise<{ rows: Row[]; affectedRows?: number }>): Promise<QueryResult<Row>> {
  try {
    const result = await query();
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  } catch (error) {
    throw hasSqlState(error) ? error : new StoreUnavailableError(error);
  }
}

/** Errors PostgreSQL reports about a statement carry an SQLSTATE; anything else means the engine itself failed. */
function hasSqlState(error: unknown): boolean {
  return typeof (error as { code?: unknown } | null)?.code === 'string';
}

/** A lock file holding our PID; a lock left by a process that is gone is taken over. */
function lockDirectory(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, 'gateway.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(lockFile, 'utf8'));
      if (isAlive(holder)) throw new Error(`the data directory ${dataDir} is in use by process ${holder}`);
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`could not lock the data directory ${dataDir}`);
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
