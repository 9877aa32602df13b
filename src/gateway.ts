import type { Express } from 'express';
import passport from 'passport';
import type { Logger } from 'pino';
import { createEntraVerifier, type EntraPrincipal } from './auth/entra-verifier.js';
import { AgentRequestLimiter } from './auth/agent-requests.js';
import { EntraStrategy } from './auth/entra-strategy.js';
import { EventSinkStrategy } from './auth/event-sink-strategy.js';
import { FailureLimiter } from './auth/failure-limiter.js';
import { GenesysAgents } from './auth/genesys-agents.js';
import { GenesysAgentStrategy } from './auth/genesys-strategy.js';
import { SigningKeys } from './auth/signing-keys.js';
import type { StrategyName } from './auth/strategy.js';
import { VerifiedTokenCache } from './auth/verified-token-cache.js';
import type { Clock } from './clock.js';
import type { GatewayConfig } from './config.js';
import { eventRoutes } from './http/routes/events.js';
import { RejectedEvents } from './events/rejected.js';
import { EventSink } from './events/sink.js';
import { buildApp } from './http/app.js';
import { limitAgentRequests } from './http/agent-limit.js';
import { authenticated } from './http/authenticate.js';
import { cors } from './http/cors.js';
import type { RequestDeadline } from './http/deadline.js';
import { deadlineIn } from './deadline.js';
import { docsRoutes } from './http/docs.js';
import { probeRoutes } from './http/probes.js';
import { RoomActivity } from './rooms/activity.js';
import { BulkJobs, countBulkRoom } from './rooms/bulk-jobs.js';
import { RoomLedger } from './rooms/ledger.js';
import { RoomPool } from './rooms/pool.js';
import type { RoomProvider } from './rooms/providers/provider.js';
import { selectRoomProvider } from './rooms/providers/select-provider.js';
import { publicRoomRoutes } from './http/routes/public-rooms.js';
import { roomRoutes } from './http/routes/rooms.js';
import { RoomReadCache } from './rooms/room-cache.js';
import { DeletionQueue } from './rooms/retirement/deletion-queue.js';
import { GarbageCollector } from './rooms/retirement/garbage-collection.js';
import { RoomRetirement } from './rooms/retirement/retirement.js';
import { RoomService } from './rooms/service.js';
import type { Store } from './store/store.js';
import { measuredStore } from './store/measured.js';
import { GatewayMetrics, type Upstream } from './metrics.js';
import { tracedFetch } from './tracing/fetch.js';
import { outboundFetch, type UpstreamFetch } from './upstream.js';
import { tracedStore } from './tracing/store.js';
import type { Tracing } from './tracing/tracing.js';

/** A configuration whose upstream URLs are known (the local profile fills them in at start-up). */
export type ResolvedConfig = GatewayConfig & {
  entra: GatewayConfig['entra'] & { jwksUri: string };
  genesys: GatewayConfig['genesys'] & { apiBaseUrl: string };
};

export interface ServiceDependencies {
  store: Store;
  logger: Logger;
  clock: Clock;
  /** Outbound HTTP to Entra, Genesys and Pexip (Node's global fetch in production). */
  fetch: UpstreamFetch;
  /** How retries and the over-limit pause wait: realSleep in production, the test clock in tests. */
  sleep: (ms: number) => Promise<void>;
  /** Background pool maintenance period; tests lengthen it. */
  poolMaintenanceIntervalMs?: number;
  /** Defaults to a registry of this gateway's own. */
  metrics?: GatewayMetrics;
  /** Spans and W3C trace context; undefined (off) unless an exporter is configured. */
  tracing?: Tracing;
}

/** The room and event domain, without HTTP: what the server and `npm run gc` share. */
export interface Services {
  provider: RoomProvider;
  ledger: RoomLedger;
  pool: RoomPool;
  roomCache: RoomReadCache;
  rooms: RoomService;
  bulkJobs: BulkJobs;
  deletionQueue: DeletionQueue;
  sink: EventSink;
  rejectedEvents: RejectedEvents;
  garbageCollector: GarbageCollector;
}

export interface Gateway extends Services {
  app: Express;
  metrics: GatewayMetrics;
  signingKeys: SigningKeys;
  tokenCache: VerifiedTokenCache<EntraPrincipal>;
  /** Loads signing keys, starts pool maintenance and garbage collection, resumes abandoned bulk jobs. */
  start(): Promise<void>;
  /** Readiness answers 503 from now on (the `serving` check), so that load balancers stop sending before the listener closes. */
  drain(): void;
  /** Stops background work after its current step; the caller closes the store. */
  stop(): Promise<void>;
}

/** The fetch an upstream's client gets: redirects not followed, measured, and traced when tracing is on. */
function upstreamFetch(deps: ServiceDependencies, metrics: GatewayMetrics, upstream: Upstream): UpstreamFetch {
  return tracedFetch(metrics.instrumentFetch(outboundFetch(deps.fetch), upstream), deps.tracing, upstream);
}

export function createServices(config: GatewayConfig, deps: ServiceDependencies): Services {
  const { logger, clock } = deps;
  const metrics = deps.metrics ?? new GatewayMetrics();
  const store = tracedStore(measuredStore(deps.store, (operation, outcome, seconds) => metrics.storeOperation(operation, outcome, seconds)), deps.tracing);
  const { provider, agentProvider, backgroundProvider, readyDelayMs } = selectRoomProvider(config.roomProvider, {
    store,
    clock,
    logger,
    fetch: upstreamFetch(deps, metrics, 'pexip'),
    sleep: deps.sleep,
    onBudgetTurn: (priority, granted, waitedMs) => metrics.budgetTurn(priority, granted, waitedMs),
  });
  const maintenanceIntervalMs = deps.poolMaintenanceIntervalMs ?? config.rooms.poolMaintenanceIntervalMs;
  const ledger = new RoomLedger(store, clock);
  const pool = new RoomPool({
    store,
    provider: backgroundProvider,
    ledger,
    clock,
    logger: logger.child({ component: 'pool' }),
    rooms: config.rooms,
    readyDelayMs,
    maintenanceIntervalMs,
    onBulkRoomReady: countBulkRoom(clock),
  });
  const deletionQueue = new DeletionQueue(store, clock);
  const cache = new RoomReadCache(config.rooms.readCacheTtlMs, 10_000, clock);
  const retirement = (roomProvider: RoomProvider) => new RoomRetirement({ store, provider: roomProvider, pool, ledger, cache, queue: deletionQueue });
  const rooms = new RoomService({ provider, agentProvider, pool, ledger, cache, retirement: retirement(provider), rooms: config.rooms, logger: logger.child({ component: 'rooms' }) });
  const bulkJobs = new BulkJobs({ store, pool, clock, logger: logger.child({ component: 'bulk-jobs' }), leaseMs: config.rooms.claimLeaseMs, lookoutIntervalMs: maintenanceIntervalMs });
  const database = config.store.database;
  const rejectedEvents = new RejectedEvents(store, clock);
  const sink = new EventSink({
    store,
    queue: new RoomActivity(ledger, deletionQueue, pool),
    rejectedEvents,
    clock,
    logger: logger.child({ component: 'event-sink' }),
    commitDeadlineMs: database && database.connectTimeoutMs + database.queryTimeoutMs,
    dedupRetentionMs: config.eventSink.dedupRetentionMs,
  });
  const garbageCollector = new GarbageCollector({
    ...config.garbageCollection,
    queue: deletionQueue,
    ledger,
    provider: backgroundProvider,
    clock,
    retirement: retirement(backgroundProvider),
    logger: logger.child({ component: 'garbage-collection' }),
    persistentPrefixes: config.rooms.persistentPrefixes,
    onReport: (report) => metrics.garbageCollected({ ...report }),
  });
  return { provider, ledger, pool, roomCache: cache, rooms, bulkJobs, deletionQueue, sink, rejectedEvents, garbageCollector };
}

/** The composition root: every module gets its collaborators from here. */
export function createGateway(config: ResolvedConfig, deps: ServiceDependencies): Gateway {
  const { store, logger, clock } = deps;
  const metrics = deps.metrics ?? new GatewayMetrics();
  const services = createServices(config, { ...deps, metrics });
  const failures = new FailureLimiter(config.authFailures.limit, config.authFailures.windowMs, clock);
  let draining = false;
  const signingKeys = new SigningKeys({
    jwksUri: config.entra.jwksUri,
    fetch: upstreamFetch(deps, metrics, 'jwks'),
    clock,
    logger: logger.child({ component: 'signing-keys' }),
    timeoutMs: config.entra.jwksTimeoutMs,
    cooldownMs: config.entra.jwksCooldownMs,
    refreshIntervalMs: config.entra.jwksRefreshIntervalMs,
    onRecovered: () => failures.forgive('entra'),
  });
  const tokenCache = new VerifiedTokenCache<EntraPrincipal>(config.entra.tokenCacheSize, clock);
  const verifier = createEntraVerifier(config.entra, signingKeys, tokenCache, clock);
  const genesysAgents = new GenesysAgents(config.genesys, upstreamFetch(deps, metrics, 'genesys'), clock, logger.child({ component: 'genesys' }));
  // An instance of the gateway's own (never passport's default one), without sessions: each request proves its caller.
  const authenticator = new passport.Passport();
  authenticator.use(new EntraStrategy(verifier, config.entra.requiredRole));
  authenticator.use(new GenesysAgentStrategy(genesysAgents));
  authenticator.use(new EventSinkStrategy({ username: config.eventSink.username, passwords: config.eventSink.passwords }));
  const guard = (strategy: StrategyName) => authenticated(authenticator, strategy, { failures, metrics });
  const deadline: RequestDeadline = (callerGone) => deadlineIn(clock, config.http.requestDeadlineMs, callerGone);
  metrics.watch({
    poolCounts: () => services.pool.counts(),
    queueStats: () => services.deletionQueue.stats(),
    ledgerCounts: () => services.ledger.counts(),
    tokenCache,
    genesys: genesysAgents,
    eventCounts: services.sink.countsByType,
    rejectedEvents: services.sink.rejectedByReason,
    rooms: services.rooms,
    signingKeys,
    now: () => clock.now(),
  });

  const app = buildApp(
    [
      roomRoutes({
        service: services.rooms,
        bulkJobs: services.bulkJobs,
        authenticate: guard('entra'),
        bulkRole: config.entra.bulkRole,
        bodyLimitBytes: config.http.bodyLimitBytes,
        deadline,
      }),
      publicRoomRoutes({
        service: services.rooms,
        cors: cors(config.cors.allowedOrigins, config.cors.maxAgeSeconds, ['x-auth-token', 'x-request-id']),
        authenticate: guard('genesys'),
        limitAgent: limitAgentRequests(new AgentRequestLimiter(config.agentRequestsPerMinute, clock), deps.sleep),
        deadline,
      }),
      eventRoutes({
        sink: services.sink,
        authenticate: guard('event-sink'),
        bodyLimitBytes: config.eventSink.bodyLimitBytes,
      }),
      probeRoutes(clock, {
        store: async () => {
          await store.ping();
          return true;
        },
        signing_keys: () => signingKeys.loaded,
        serving: () => !draining,
      }),
      ...(config.http.docsEnabled ? [docsRoutes()] : []),
    ],
    { logger, metrics, trustProxyAddresses: config.http.trustProxyAddresses, tracing: deps.tracing },
  );

  return {
    ...services,
    app,
    metrics,
    signingKeys,
    tokenCache,
    async start() {
      services.pool.start();
      services.garbageCollector.start();
      services.sink.start();
      services.bulkJobs.start();
      await signingKeys.start();
    },
    drain() {
      draining = true;
    },
    async stop() {
      signingKeys.stop();
      await Promise.all([services.pool.stop(), services.garbageCollector.stop(), services.sink.stop(), services.bulkJobs.stop()]);
    },
  };
}
