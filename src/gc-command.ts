import { realSleep, systemClock } from './clock.js';
import { ConfigError, loadConfig, withDotEnv } from './config.js';
import { createServices } from './gateway.js';
import type { LedgerCounts } from './rooms/ledger.js';
import { createLogger } from './logger.js';
import { openStore } from './store/open-store.js';

/**
 * `npm run gc`: one garbage-collection run (docs/contract.md §4), then exit, saying which
 * entries are not yet due and how many Pexip events were rejected. With
 * PostgreSQL it runs beside the replicas (the entries' leases keep runs
 * apart); with the embedded store the gateway must be stopped (one process
 * per data directory).
 */
async function garbageCollectOnce(): Promise<void> {
  const config = loadConfig(withDotEnv(process.env));
  const logger = createLogger(config.logLevel);
  const store = await openStore(config.store, logger);
  try {
    const { garbageCollector, deletionQueue, ledger, rejectedEvents } = createServices(config, { store, logger, clock: systemClock, sleep: realSleep, fetch: globalThis.fetch });
    process.stdout.write(`${JSON.stringify(await garbageCollector.runOnce())}\n`);
    const { graceMs } = config.garbageCollection;
    process.stdout.write(`${describeWaiting(await deletionQueue.notYetDue(graceMs), graceMs / 1000)}\n`);
    process.stdout.write(`${describeRejected(await rejectedEvents.summary())}\n`);
    process.stdout.write(`${describeLedger(await ledger.counts())}\n`);
  } finally {
    await store.close();
  }
}

/** Why a run may delete nothing: rooms are deleted only GC_GRACE_SECONDS after their conference ended. */
function describeWaiting({ count, nextDueAt }: { count: number; nextDueAt: number | undefined }, graceSeconds: number): string {
  if (nextDueAt === undefined) return 'No entries are waiting for their grace period.';
  const inSeconds = Math.max(0, Math.ceil((nextDueAt - systemClock.now()) / 1000));
  return `${count} queued ${count === 1 ? 'entry is' : 'entries are'} not yet due (GC_GRACE_SECONDS=${graceSeconds}); the next becomes due at ${new Date(nextDueAt).toISOString()} (in ${inSeconds} s).`;
}

/** The room ledger at a glance: how many rooms are in each state, and what needs an operator's eye. */
function describeLedger({ byState, oldestUnusedAt, unknownOutcomes }: LedgerCounts): string {
  const states = Object.entries(byState).map(([state, count]) => `${count} ${state.replace('_', ' ')}`).join(', ');
  const unused = oldestUnusedAt === null ? '' : `; the oldest room handed out and not used yet since ${oldestUnusedAt.toISOString()}`;
  return `Room ledger: ${states}; ${unknownOutcomes} creation${unknownOutcomes === 1 ? '' : 's'} awaiting reconciliation with the provider${unused}.`;
}

/** Events the sink could not process never reach the queue: a room they named is not deleted. */
function describeRejected({ count, newestAt }: { count: number; newestAt: Date | undefined }): string {
  if (newestAt === undefined) return 'No Pexip event was rejected.';
  const [noun, verb] = count === 1 ? ['event', 'is'] : ['events', 'are'];
  return `${count} Pexip ${noun} could not be processed and ${verb} kept in the table event_rejected, without PINs (the newest received at ${newestAt.toISOString()}).`;
}

try {
  await garbageCollectOnce();
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : `garbage collection failed: ${(error as Error).message}`}\n`);
  process.exit(1);
}
