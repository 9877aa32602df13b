import { systemClock } from './clock.js';
import { ConfigError, loadConfig } from './config.js';
import { createServices } from './gateway.js';
import { createLogger } from './logger.js';
import { openStore } from './store/select.js';

/**
 * `npm run gc`: one garbage-collection run (SPEC §4), then exit. With
 * PostgreSQL it runs beside the replicas (the entries' leases keep runs
 * apart); with the embedded store the gateway must be stopped (one process
 * per data directory).
 */
async function garbageCollectOnce(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const store = await openStore(config, logger);
  try {
    const { garbageCollector } = createServices(config, { store, logger, clock: systemClock, fetch: globalThis.fetch });
    process.stdout.write(`${JSON.stringify(await garbageCollector.runOnce())}\n`);
  } finally {
    await store.close();
  }
}

try {
  await garbageCollectOnce();
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : `garbage collection failed: ${(error as Error).message}`}\n`);
  process.exit(1);
}
