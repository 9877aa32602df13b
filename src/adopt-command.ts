import { parseArgs } from 'node:util';
import { realSleep, systemClock } from './clock.js';
import { ConfigError, loadConfig, withDotEnv } from './config.js';
import { createServices } from './gateway.js';
import { createLogger } from './logger.js';
import { adoptRooms } from './rooms/adoption.js';
import { ROOM_NAME_PATTERN } from './rooms/credentials.js';
import { openStore } from './store/open-store.js';

const USAGE = `Usage: npm run adopt -- [--dry-run] [--names REGEX]
Records in the room ledger every room on the provider that the gateway created before the ledger existed.
  --dry-run      count what would be adopted, change nothing
  --names REGEX  the names to take for the gateway's own (default ${ROOM_NAME_PATTERN.source}, the names it gives)`;

/**
 * `npm run adopt`: the upgrade step of the room ledger (README, "Upgrading").
 * Idempotent; with PostgreSQL it runs beside the replicas, with the embedded
 * store the gateway must be stopped (one process per data directory).
 */
async function adoptCommand(args: string[]): Promise<void> {
  const { values } = usage(() => parseArgs({ args, options: { 'dry-run': { type: 'boolean', default: false }, names: { type: 'string' }, help: { type: 'boolean', default: false } } }));
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const names = values.names === undefined ? ROOM_NAME_PATTERN : usage(() => new RegExp(values.names as string));
  const config = loadConfig(withDotEnv(process.env));
  const logger = createLogger(config.logLevel);
  const store = await openStore(config.store, logger);
  try {
    const { provider, ledger } = createServices(config, { store, logger, clock: systemClock, sleep: realSleep, fetch: globalThis.fetch });
    const report = await adoptRooms({ provider, ledger, persistentPrefixes: config.rooms.persistentPrefixes, tagBaseUrl: config.rooms.tagBaseUrl, names, dryRun: values['dry-run'] });
    process.stdout.write(`${JSON.stringify({ ...report, dryRun: values['dry-run'] })}\n`);
  } finally {
    await store.close();
  }
}

class UsageError extends Error {}

/** An argument the command cannot take: said with the usage. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
}

try {
  await adoptCommand(process.argv.slice(2));
} catch (error) {
  const known = error instanceof ConfigError || error instanceof UsageError;
  process.stderr.write(`${known ? (error as Error).message : `adoption failed: ${(error as Error).message}`}\n`);
  process.exit(1);
}
