import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { GatewayConfig } from '../../config.js';
import type { Store } from '../../store/store.js';
import { EmbeddedRoomProvider } from './embedded.js';
import { PexipRoomProvider } from './pexip.js';
import { pexipAuth } from './pexip-auth.js';
import { PexipClient } from './pexip-client.js';
import type { RoomProvider } from './provider.js';
import { RequestBudget } from './request-budget.js';

export interface ProviderDependencies {
  store: Store;
  clock: Clock;
  logger: Logger;
  fetch: typeof globalThis.fetch;
  /** How retries wait; tests pass one that does not. */
  sleep: (ms: number) => Promise<void>;
}

export interface SelectedProvider {
  provider: RoomProvider;
  /** How long a new room waits before the pool hands it out (Pexip replicates to its nodes in about 90 s). */
  readyDelayMs: number;
}

/** `ROOM_PROVIDER`: the gateway's own store (local use, tests) or Pexip's Management API. */
export function selectRoomProvider(config: GatewayConfig, deps: ProviderDependencies): SelectedProvider {
  const selected = config.roomProvider;
  if (selected.kind === 'embedded') return { provider: new EmbeddedRoomProvider(deps.store, deps.clock), readyDelayMs: 0 };
  const logger = deps.logger.child({ component: 'pexip' });
  const client = new PexipClient(
    selected,
    pexipAuth(selected, deps.fetch, deps.clock),
    new RequestBudget(selected.requestsPerMinute, deps.clock, deps.sleep),
    deps.fetch,
    deps.sleep,
    logger,
    deps.clock,
  );
  return { provider: new PexipRoomProvider(client, logger), readyDelayMs: selected.replicationDelaySeconds * 1000 };
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
