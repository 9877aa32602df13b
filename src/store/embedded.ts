import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'pino';
import { lockDirectory } from './directory-lock.js';
import type { Queryable, QueryResult, Store } from './store.js';
import { StoreUnavailableError } from './store.js';

/**
 * PostgreSQL settings of the embedded engine (bench/README.md, "Embedded store:
 * where the memory goes"). Shared memory is zeroed at start-up inside the WASM
 * linear memory, so all of it is resident: PGlite's default shared_buffers
 * (128 MB) is cut to 4 MB (our tables are small, and pages PostgreSQL evicts
 * stay in the OS page cache), and the per-connection structures to one, the
 * one session a single-user PGlite serves (default 100).
 * PGlite's own start parameters (single-user mode; fsync off, which its file
 * layer would not honour anyway: README.md, "embedded store") are kept.
 */
const ENGINE_SETTINGS = ['shared_buffers=4MB', 'max_connections=1'];

/**
 * A freshly initialised PostgreSQL data directory that `npm run build`
 * prepares once per PGlite version (dist/pglite-template-VERSION). A new data
 * directory is a copy of it: PGlite's initdb runs a second PostgreSQL and
 * initdb's own WASM in this process, which took seconds and left hundreds of
 * MB resident (bench/README.md).
 */
export function templateDir(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const manifest = path.join(entry.slice(0, entry.lastIndexOf(`${path.sep}dist${path.sep}`)), 'package.json');
  const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string };
  return fileURLToPath(new URL(`../../dist/pglite-template-${version}`, import.meta.url));
}

/**
 * The embedded store: PostgreSQL compiled to WASM (PGlite), file-backed under
 * the data directory, in this process. Only one process may open a directory.
 */
export async function openEmbeddedStore(dataDir: string | undefined, logger?: Pick<Logger, 'warn'>): Promise<Store> {
  const release = dataDir === undefined ? () => undefined : lock(dataDir, logger);
  try {
    const pgdata = dataDir === undefined ? undefined : await initialisedDataDir(path.join(dataDir, 'pglite'));
    const db = await PGlite.create(pgdata, { startParams: [...PGlite.defaultStartParams, ...ENGINE_SETTINGS.flatMap((setting) => ['-c', setting])] });
    return new EmbeddedStore(db, release);
  } catch (error) {
    release();
    throw error;
  }
}

function lock(dataDir: string, logger: Pick<Logger, 'warn'> | undefined): () => void {
  const { release, guard } = lockDirectory(dataDir);
  if (guard === 'pid-record') logger?.warn({ dataDir }, "util-linux flock(1) is not on PATH: the data directory is guarded by a PID record, which sees this PID namespace only; don't share it between containers");
  return release;
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

/**
 * `pgdata`, copied from the template if it holds no database yet (initdb here
 * only when the build prepared no template). Made beside it and renamed into
 * place once complete, so a crash meanwhile leaves no half-made database behind.
 */
async function initialisedDataDir(pgdata: string): Promise<string> {
  if (fs.existsSync(path.join(pgdata, 'PG_VERSION'))) return pgdata;
  const making = `${pgdata}.new`;
  fs.rmSync(making, { recursive: true, force: true });
  const template = templateDir();
  if (fs.existsSync(path.join(template, 'PG_VERSION'))) fs.cpSync(template, making, { recursive: true });
  else await initdb(making);
  fs.rmSync(pgdata, { recursive: true, force: true });
  fs.renameSync(making, pgdata);
  return pgdata;
}

/** `npm run build`: the template data directory, unless it exists (initdb in a process of its own, not the gateway's). */
export async function prepareEmbeddedTemplate(): Promise<void> {
  const template = templateDir();
  if (fs.existsSync(path.join(template, 'PG_VERSION'))) return;
  const making = `${template}.${process.pid}`;
  await initdb(making);
  try {
    fs.renameSync(making, template);
  } catch (error) {
    // Another build made it meanwhile.
    fs.rmSync(making, { recursive: true, force: true });
    if (!fs.existsSync(path.join(template, 'PG_VERSION'))) throw error;
  }
}

async function initdb(pgdata: string): Promise<void> {
  fs.rmSync(pgdata, { recursive: true, force: true });
  await (await PGlite.create(pgdata)).close();
}
