import type { Logger } from 'pino';
import type { GatewayConfig } from '../config.js';
import { openEmbeddedStore } from './embedded.js';
import { openPostgresStore } from './postgres.js';
import { migrate } from './schema.js';
import type { Store } from './store.js';

/** PostgreSQL when `DATABASE_URL` is set (several replicas), else the embedded store under `DATA_DIR`; migrated. */
export async function openStore(config: GatewayConfig, logger: Logger): Promise<Store> {
  const { database, dataDir } = config.store;
  const store = database
    ? await openPostgresStore({ connectionString: database.url, ...database }, logger.child({ component: 'postgres' }))
    : await openEmbeddedStore(dataDir);
  try {
    const applied = await migrate(store);
    if (applied.length > 0) logger.info({ migrations: applied, store: store.kind }, 'store migrated');
    return store;
  } catch (error) {
    await store.close();
    throw error;
  }
}
