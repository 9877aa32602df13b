import type { Logger } from 'pino';
import type { PostgresOptions } from './postgres.js';
import { migrate } from './schema.js';
import type { Store } from './store.js';

/** `DATA_DIR` and `DATABASE_*`. */
export interface StoreSettings {
  dataDir: string;
  database: (Omit<PostgresOptions, 'connectionString'> & { url: string }) | undefined;
}

/**
 * PostgreSQL when `DATABASE_URL` is set (several replicas), else the embedded store under `DATA_DIR`; migrated.
 * Only the chosen store's module is loaded: the other's client library would hold 1–3 MB of heap for nothing.
 */
export async function openStore({ database, dataDir }: StoreSettings, logger: Logger): Promise<Store> {
  const store = database
    ? await (await import('./postgres.js')).openPostgresStore({ connectionString: database.url, ...database }, logger.child({ component: 'postgres' }))
    : await (await import('./embedded.js')).openEmbeddedStore(dataDir);
  try {
    const applied = await migrate(store);
    if (applied.length > 0) logger.info({ migrations: applied, store: store.kind }, 'store migrated');
    return store;
  } catch (error) {
    await store.close();
    throw error;
  }
}
