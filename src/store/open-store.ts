import type { Logger } from 'pino';
import type { PostgresOptions } from './postgres.js';
import { migrate } from './schema.js';
import type { Store } from './store.js';

/** `DATA_DIR` and `DATABASE_*`. */
export interface StoreSettings {
  dataDir: string;
  database: (Omit<PostgresOptions, 'connectionString'> & { url: string }) | undefined;
}

/** PostgreSQL when `DATABASE_URL` is set (several replicas), else the embedded store under `DATA_DIR`; migrated. */
export async function openStore({ database, dataDir }: StoreSettings, logger: Logger): Promise<Store> {
  const store = await openChosenStore({ database, dataDir }, logger);
  try {
    const { applied, ahead } = await migrate(store);
    if (applied.length > 0) logger.info({ migrations: applied, store: store.kind }, 'store migrated');
    if (ahead.length > 0) logger.info({ migrations: ahead, store: store.kind }, 'the store has expand migrations of a later release: running beside it');
    return store;
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Only the chosen store's module is loaded: the other's client library would hold heap for nothing (`pg` 3.2 MB, PGlite's JavaScript 1.1 MB). */
async function openChosenStore({ database, dataDir }: StoreSettings, logger: Logger): Promise<Store> {
  if (database === undefined) {
    const { openEmbeddedStore } = await import('./embedded.js');
    return openEmbeddedStore(dataDir, logger);
  }
  const { openPostgresStore } = await import('./postgres.js');
  return openPostgresStore({ connectionString: database.url, ...database }, logger.child({ component: 'postgres' }));
}
