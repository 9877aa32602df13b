import pg from 'pg';
import type { Logger } from 'pino';
import type { Queryable, QueryResult, Store } from './store.js';
import { StoreUnavailableError } from './store.js';

export interface PostgresOptions {
  connectionString: string;
  poolSize: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /** Client-side deadline of one statement, and of one whole transaction once it has its connection. */
  queryTimeoutMs: number;
}

/**
 * TCP keep-alive probes start after this much silence, so that a connection
 * whose peer vanished is noticed by the kernel and not only at the next query.
 */
const KEEP_ALIVE_INITIAL_DELAY_MS = 10_000;

/** SQLSTATEs worth one more try of a whole transaction: deadlock and serialization failure. */
const RETRY_TRANSACTION = new Set(['40P01', '40001']);
const TRANSACTION_ATTEMPTS = 3;

/**
 * The PostgreSQL back end (`DATABASE_URL`), shared by several replicas. Same
 * schema and SQL as the embedded store; an unreachable or failing server
 * surfaces as StoreUnavailableError (503), and the pool reconnects by itself.
 *
 * The server's statement_timeout cannot help when the server never hears
 * from us (a stalled network path), so every operation also has a deadline
 * of our own: waiting for a connection (connectionTimeoutMillis), each
 * statement (query_timeout) and each whole transaction. A connection that
 * misses one is destroyed, never returned to the pool.
 */
export async function openPostgresStore(options: PostgresOptions, logger: Logger): Promise<Store> {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.queryTimeoutMs,
    // A transaction we gave up on through a stalled path would otherwise keep its locks on the server.
    idle_in_transaction_session_timeout: options.queryTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEP_ALIVE_INITIAL_DELAY_MS,
    idleTimeoutMillis: 30_000,
    application_name: 'maxconf-gateway',
  });
  // An idle client whose server went away emits 'error' on the pool; without a listener the process would crash.
  pool.on('error', (error) => logger.warn({ err: error }, 'PostgreSQL connection lost; it will be replaced'));
  return new PostgresStore(pool, options.queryTimeoutMs);
}

class PostgresStore implements Store {
  readonly kind = 'postgres' as const;

  constructor(
    private readonly pool: pg.Pool,
    private readonly transactionTimeoutMs: number,
  ) {}

  /** pg-pool destroys the client of a failed query (query_timeout included) instead of reusing it (brianc/node-postgres, packages/pg-pool/index.js, `query` and `_release`). */
  query<Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    return rowsOf<Row>(() => this.pool.query(sql, params as unknown[] | undefined));
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.once(work);
      } catch (error) {
        if (attempt >= TRANSACTION_ATTEMPTS || !RETRY_TRANSACTION.has(sqlState(error) ?? '')) throw error;
      }
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async once<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await guarded(() => this.pool.connect());
    let broken = false;
    // A checked-out client whose connection drops between two statements emits 'error'; unhandled, it would crash the process.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    let expired = false;
    // Ending a client with a statement in flight destroys its socket (packages/pg/lib/client.js, `end`): that statement, and any later one, fails at once.
    const deadline = setTimeout(() => {
      expired = true;
      void client.end().catch(() => undefined);
    }, this.transactionTimeoutMs);
    try {
      await guarded(() => client.query('BEGIN'));
      const result = await work({ query: <Row>(sql: string, params?: readonly unknown[]) => rowsOf<Row>(() => client.query(sql, params as unknown[] | undefined)) });
      await guarded(() => client.query('COMMIT'));
      return result;
    } catch (error) {
      broken ||= expired || error instanceof StoreUnavailableError;
      // A connection that stopped answering would hold ROLLBACK for another timeout; destroying it rolls back just as well.
      if (!broken) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
      }
      throw expired && !(error instanceof StoreUnavailableError) ? new StoreUnavailableError(error) : error;
    } finally {
      clearTimeout(deadline);
      client.off('error', onError);
      client.release(broken || expired);
    }
  }
}

async function rowsOf<Row>(query: () => Promise<pg.QueryResult>): Promise<QueryResult<Row>> {
  const { rows, rowCount } = await guarded(query);
  return { rows: rows as Row[], rowCount: rowCount ?? rows.length };
}

/** Runs a database operation, turning "the database is not there" into StoreUnavailableError. */
async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw isUnavailable(error) ? new StoreUnavailableError(error) : error;
  }
}

/**
 * Errors that mean "the database is not there right now", as opposed to a
 * statement PostgreSQL refused: no SQLSTATE (network, pool timeout), or
 * connection exceptions, resource shortage, operator intervention (shutdown,
 * query cancelled by the statement timeout), a database not accepting
 * connections, or a failed login.
 */
function isUnavailable(error: unknown): boolean {
  const state = sqlState(error);
  if (state === undefined) return true;
  return /^(08|53|57|28)/.test(state) || state === '55000' || state === '3D000';
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
