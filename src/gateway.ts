import type { Express } from 'express';
import type { Logger } from 'pino';
import { createEntraVerifier, type EntraPrincipal } from './auth/entra-verifier.js';
import { entraAuthentication } from './auth/entra-strategy.js';
import { SigningKeys } from './auth/signing-keys.js';
import { VerifiedTokenCache } from './auth/verified-token-cache.js';
import type { Clock } from './clock.js';
import type { GatewayConfig } from './config.js';
import { buildApp } from './http/app.js';
import { docsRoutes } from './http/docs.js';
import { probeRoutes } from './http/probes.js';
import { BulkJobs } from './rooms/bulk-jobs.js';
import { RoomPool } from './rooms/pool.js';
import { EmbeddedRoomProvider } from './rooms/providers/embedded.js';
import type { RoomProvider } from './rooms/providers/provider.js';
import { roomRoutes } from './rooms/routes.js';
import { RoomService } from './rooms/service.js';
import type { Store } from './store/store.js';

/** A configuration whose JWKS URI is known (the local profile fills it in at start-up). */
export type ResolvedConfig = GatewayConfig & { entra: GatewayConfig['entra'] & { jwksUri: string } };

export interface GatewayDependencies {
  store: Store;
  logger: Logger;
  clock: Clock;
  fetch: typeof globalThis.fetch;
  /** Defaults to the embedded provider on `store`. */
  provider?: RoomProvider;
  /** Background pool maintenance period; tests shorten it. */
  poolMaintenanceIntervalMs?: number;
}

export interface Gateway {
  app: Express;
  signingKeys: SigningKeys;
  tokenCache: VerifiedTokenCache<EntraPrincipal>;
  pool: RoomPool;
  rooms: RoomService;
  bulkJobs: BulkJobs;
  /** Loads signing keys, starts pool maintenance and resumes abandoned bulk jobs. */
  start(): Promise<void>;
  /** Stops background work; the caller closes the store. */
  stop(): Promise<void>;
}

/** The composition root: every module gets its collaborators from here. */
export function createGateway(config: ResolvedConfig, deps: GatewayDependencies): Gateway {
  const { store, logger, clock } = deps;
  const signingKeys = new SigningKeys({
    jwksUri: config.entra.jwksUri,
    fetch: deps.fetch,
    clock,
    logger: logger.child({ component: 'signing-keys' }),
    timeoutMs: config.entra.jwksTimeoutMs,
    cooldownMs: config.entra.jwksCooldownSeconds * 1000,
    refreshIntervalMs: config.entra.jwksRefreshIntervalSeconds * 1000,
  });
  const tokenCache = new VerifiedTokenCache<EntraPrincipal>(config.entra.tokenCacheSize, clock);
  const verifier = createEntraVerifier(config.entra, signingKeys, tokenCache, clock);
  const provider = deps.provider ?? new EmbeddedRoomProvider(store, clock);
  const pool = new RoomPool({
    store,
    provider,
    clock,
    logger: logger.child({ component: 'pool' }),
    rooms: config.rooms,
    readyDelayMs: 0,
    maintenanceIntervalMs: deps.poolMaintenanceIntervalMs,
  });
  const rooms = new RoomService({ provider, pool, rooms: config.rooms, logger: logger.child({ component: 'rooms' }) });
  const bulkJobs = new BulkJobs({ store, pool, clock, logger: logger.child({ component: 'bulk-jobs' }), leaseMs: config.rooms.claimLeaseSeconds * 1000 });

  const app = buildApp(
    [
      probeRoutes(clock, {
        store: async () => {
          await store.ping();
          return true;
        },
        signing_keys: () => signingKeys.loaded,
      }),
      docsRoutes(),
      roomRoutes({
        service: rooms,
        bulkJobs,
        authenticate: entraAuthentication(verifier, config.entra.requiredRole),
        bulkRole: config.entra.bulkRole,
        bodyLimitBytes: config.http.bodyLimitBytes,
      }),
    ],
    logger,
  );

  return {
    app,
    signingKeys,
    tokenCache,
    pool,
    rooms,
    bulkJobs,
    async start() {
      pool.start();
      await Promise.all([signingKeys.start(), bulkJobs.resumeAbandoned()]);
    },
    async stop() {
      signingKeys.stop();
      pool.stop();
      await bulkJobs.stop();
    },
  };
}
