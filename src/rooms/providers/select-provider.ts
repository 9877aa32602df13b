import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { Store } from '../../store/store.js';
import type { UpstreamFetch } from '../../upstream.js';
import { EmbeddedRoomProvider } from './embedded.js';
import { PexipRoomProvider } from './pexip.js';
import { pexipAuth } from './pexip-auth.js';
import { PexipClient, type PexipSettings } from './pexip-client.js';
import type { RoomProvider } from './provider.js';
import { type BudgetLimits, type BudgetPriority, InProcessBudget, PostgresBudget, type RequestBudget } from './request-budget.js';

export interface ProviderDependencies {
  store: Store;
  clock: Clock;
  logger: Logger;
  fetch: UpstreamFetch;
  /** How retries wait; tests pass one that does not. */
  sleep: (ms: number) => Promise<void>;
  /** Told of every request's turn in the budget: granted or refused, after how long. */
  onBudgetTurn?: (priority: BudgetPriority, granted: boolean, waitedMs: number) => void;
}

export interface SelectedProvider {
  /** For calls IDIM waits for. */
  provider: RoomProvider;
  /** The same VMRs for agent lookups, within their share of the request budget. */
  agentProvider: RoomProvider;
  /** The same VMRs for pool refill, bulk jobs and garbage collection, which yield to callers in the request budget. */
  backgroundProvider: RoomProvider;
  /** How long a new room waits before the pool hands it out (Pexip replicates to its nodes in about 90 s). */
  readyDelayMs: number;
}

/** `ROOM_PROVIDER` and, for Pexip, its settings. */
export type RoomProviderSettings = { kind: 'embedded' } | ({ kind: 'pexip' } & PexipSettings);

/** `ROOM_PROVIDER`: the gateway's own store (local use, tests) or Pexip's Management API. */
export function selectRoomProvider(selected: RoomProviderSettings, deps: ProviderDependencies): SelectedProvider {
  if (selected.kind === 'embedded') {
    const provider = new EmbeddedRoomProvider(deps.store, deps.clock);
    return { provider, agentProvider: provider, backgroundProvider: provider, readyDelayMs: 0 };
  }
  const logger = deps.logger.child({ component: 'pexip' });
  const budget = requestBudget({ perWindow: selected.requestsPerMinute, windowMs: selected.budgetWindowMs }, deps);
  const client = new PexipClient(selected, pexipAuth(selected, deps.fetch, deps.clock), budget, deps.fetch, deps.sleep, logger, deps.clock);
  return {
    provider: new PexipRoomProvider(client, logger, 'interactive'),
    agentProvider: new PexipRoomProvider(client, logger, 'agent'),
    backgroundProvider: new PexipRoomProvider(client, logger, 'background'),
    readyDelayMs: selected.replicationDelayMs,
  };
}

/** Replicas on PostgreSQL share one budget in the database; the embedded store has one process and keeps it in memory. */
function requestBudget(limits: BudgetLimits, { store, clock, sleep, onBudgetTurn }: ProviderDependencies): RequestBudget {
  const budget = store.kind === 'postgres' ? new PostgresBudget(store, limits, clock, sleep) : new InProcessBudget(limits, clock, sleep);
  if (onBudgetTurn === undefined) return budget;
  return {
    async take(priority, maxWaitMs) {
      const startedAt = clock.now();
      const granted = await budget.take(priority, maxWaitMs);
      onBudgetTurn(priority, granted, clock.now() - startedAt);
      return granted;
    },
  };
}
