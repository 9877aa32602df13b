import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isTimeout, type UpstreamFetch } from './upstream.js';

export type Upstream = 'jwks' | 'genesys' | 'pexip';

/** What the gauges read when Prometheus scrapes. */
export interface MetricSources {
  poolCounts(): Promise<{ creating: number; ready: number; waiting: number; claimed: number }>;
  queueStats(): Promise<{ depth: number; oldestEndedAt: Date | null }>;
  ledgerCounts(): Promise<{ byState: Record<string, number>; oldestUnusedAt: Date | null; unknownOutcomes: number }>;
  tokenCache: { hits: number; misses: number };
  genesys: { cacheHits: number; calls: number; pausedLookups: number; pausedForSeconds(): number | undefined };
  /** Pexip events processed so far, by type. */
  eventCounts: ReadonlyMap<string, number>;
  /** Pexip events acknowledged without being processed, by reason. */
  rejectedEvents: ReadonlyMap<string, number>;
  rooms: { inlineCreations: number };
  /** The Entra signing keys held, and when they were last fetched (clock milliseconds). */
  signingKeys: { size: number; loadedAt: number | undefined };
  now(): number;
}

/**
 * The gateway's Prometheus metrics, in a registry of its own (no global
 * default registry, so that tests can build several gateways).
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Histogram<'method' | 'route' | 'status'>;
  private readonly authFailures: Counter<'strategy' | 'reason'>;
  private readonly upstream: Histogram<'upstream' | 'outcome'>;
  private readonly collected: Counter<'outcome'>;
  private readonly budgetTurns: Histogram<'priority' | 'outcome'>;
  private readonly storeOperations: Histogram<'operation' | 'outcome'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'maxconf_' });
    this.requests = new Histogram({ name: 'maxconf_http_request_duration_seconds', help: 'HTTP requests by route template and status', labelNames: ['method', 'route', 'status'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers });
    this.authFailures = new Counter({ name: 'maxconf_auth_failures_total', help: 'Failed authentications by strategy and reason', labelNames: ['strategy', 'reason'], registers });
    this.upstream = new Histogram({ name: 'maxconf_upstream_request_duration_seconds', help: 'Calls to Entra JWKS, Genesys and Pexip by outcome', labelNames: ['upstream', 'outcome'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
    this.collected = new Counter({ name: 'maxconf_garbage_collection_rooms_total', help: 'Rooms handled by garbage collection, by outcome', labelNames: ['outcome'], registers });
    this.budgetTurns = new Histogram({ name: 'maxconf_pexip_budget_wait_seconds', help: 'How long Pexip requests waited for room in the request budget, by priority (interactive, agent, background) and outcome (granted; refused: none freed up in time, the caller got 503)', labelNames: ['priority', 'outcome'], buckets: [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60], registers });
    this.storeOperations = new Histogram({ name: 'maxconf_store_operation_duration_seconds', help: 'Store statements and transactions by outcome (ok; unavailable: the database could not be reached or missed its deadline; error: any other failure)', labelNames: ['operation', 'outcome'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
  }

  /** Gauges and cache counters read from the live modules at scrape time. */
  watch(sources: MetricSources): void {
    const registers = [this.registry];
    new Gauge({
      name: 'maxconf_pool_rooms',
      help: 'Rooms in the pool by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await unlessStoreFails(sources.poolCounts());
        for (const [state, value] of Object.entries(counts ?? {})) this.set({ state }, value);
      },
    });
    // prom-client collects every metric of a scrape at once: both queue gauges share one query.
    let scrape: Promise<Awaited<ReturnType<MetricSources['queueStats']>> | undefined> | undefined;
    const queueStats = () => (scrape ??= unlessStoreFails(sources.queueStats()).finally(() => (scrape = undefined)));
    new Gauge({ name: 'maxconf_deletion_queue_depth', help: 'Rooms waiting on the deletion queue', registers, async collect() {
      const stats = await queueStats();
      if (stats !== undefined) this.set(stats.depth);
    } });
    new Gauge({ name: 'maxconf_deletion_queue_oldest_age_seconds', help: 'Age of the oldest deletion-queue entry', registers, async collect() {
      const stats = await queueStats();
      if (stats !== undefined) this.set(stats.oldestEndedAt === null ? 0 : Math.max(0, (sources.now() - new Date(stats.oldestEndedAt).getTime()) / 1000));
    } });
    this.watchLedger(sources);
    syncedCounter(this.registry, 'maxconf_verified_token_cache_requests_total', 'Verified-token cache lookups by result', 'result', () => [
      ['hit', sources.tokenCache.hits],
      ['miss', sources.tokenCache.misses],
    ]);
    syncedCounter(this.registry, 'maxconf_genesys_cache_requests_total', 'Genesys token checks by result (hit: served from the cache; miss: asked Genesys; paused: answered 503 without asking, while Genesys asked the gateway to wait)', 'result', () => [
      ['hit', sources.genesys.cacheHits],
      ['miss', sources.genesys.calls],
      ['paused', sources.genesys.pausedLookups],
    ]);
    new Gauge({ name: 'maxconf_genesys_pause_seconds', help: 'Seconds until Genesys lookups resume, after Genesys answered 429 or 503 with Retry-After; 0 when not paused', registers, collect() {
      this.set(sources.genesys.pausedForSeconds() ?? 0);
    } });
    syncedCounter(this.registry, 'maxconf_events_total', 'Pexip events processed, by type (unknown types as "unknown"; events that could not be processed as "rejected")', 'type', () => sources.eventCounts);
    syncedCounter(this.registry, 'maxconf_events_rejected_total', 'Pexip events acknowledged without being processed, and kept for operators, by reason (invalid_event, repeated_key, invalid_envelope)', 'reason', () => sources.rejectedEvents);
    new Gauge({ name: 'maxconf_signing_keys', help: 'Entra signing keys held (0: none loaded, no token can be checked)', registers, collect() {
      this.set(sources.signingKeys.size);
    } });
    new Gauge({ name: 'maxconf_signing_keys_last_success_timestamp_seconds', help: 'When the Entra key set was last fetched successfully, Unix seconds (0: never)', registers, collect() {
      this.set((sources.signingKeys.loadedAt ?? 0) / 1000);
    } });
    syncedCounter(this.registry, 'maxconf_room_inline_creations_total', 'Rooms created inline because the pool was empty', undefined, () => [['', sources.rooms.inlineCreations]]);
  }

  /** The room ledger: rooms by state, the oldest one handed out and never used, creations awaiting reconciliation. */
  private watchLedger(sources: MetricSources): void {
    const registers = [this.registry];
    let scrape: Promise<Awaited<ReturnType<MetricSources['ledgerCounts']>> | undefined> | undefined;
    const counts = () => (scrape ??= unlessStoreFails(sources.ledgerCounts()).finally(() => (scrape = undefined)));
    new Gauge({ name: 'maxconf_ledger_rooms', help: 'Rooms in the room ledger by state (deleted: kept 30 days as a record)', labelNames: ['state'], registers, async collect() {
      for (const [state, value] of Object.entries((await counts())?.byState ?? {})) this.set({ state }, value);
    } });
    new Gauge({ name: 'maxconf_ledger_unused_oldest_age_seconds', help: 'How long the oldest room handed out and never used has waited (deleted after ROOM_UNUSED_TTL_SECONDS)', registers, async collect() {
      const ledger = await counts();
      if (ledger !== undefined) this.set(ledger.oldestUnusedAt === null ? 0 : Math.max(0, (sources.now() - ledger.oldestUnusedAt.getTime()) / 1000));
    } });
    new Gauge({ name: 'maxconf_ledger_unknown_outcomes', help: 'Room creations whose outcome is unknown (answer lost, process killed), due for reconciliation with the provider', registers, async collect() {
      const ledger = await counts();
      if (ledger !== undefined) this.set(ledger.unknownOutcomes);
    } });
  }

  /** A finished request, by route template (never by raw path); `aborted` when the client left before a response was sent. */
  requestDone(method: string, route: string, status: number | undefined, seconds: number): void {
    this.requests.observe({ method, route, status: status === undefined ? 'aborted' : String(status) }, seconds);
  }

  authFailure(strategy: string, reason: string): void {
    this.authFailures.inc({ strategy, reason });
  }

  /** A Pexip request's turn in the request budget. */
  budgetTurn(priority: string, granted: boolean, waitedMs: number): void {
    this.budgetTurns.observe({ priority, outcome: granted ? 'granted' : 'refused' }, waitedMs / 1000);
  }

  storeOperation(operation: string, outcome: string, seconds: number): void {
    this.storeOperations.observe({ operation, outcome }, seconds);
  }

  garbageCollected(report: Record<string, number>): void {
    for (const [outcome, count] of Object.entries(report)) if (count > 0) this.collected.inc({ outcome }, count);
  }

  /** An upstream fetch that records each call's latency and outcome (status class, timeout or network error). */
  instrumentFetch(fetch: UpstreamFetch, upstream: Upstream): UpstreamFetch {
    return async (url, request) => {
      const end = this.upstream.startTimer({ upstream });
      try {
        const response = await fetch(url, request);
        end({ outcome: `${Math.floor(response.status / 100)}xx` });
        return response;
      } catch (error) {
        end({ outcome: isTimeout(error) ? 'timeout' : 'network_error' });
        throw error;
      }
    };
  }
}

/**
 * A store read for a gauge, or undefined when the store fails: the gauge keeps its last value
 * and the scrape still answers, so that a database outage shows in every other metric
 * (maxconf_store_operation_duration_seconds{outcome="unavailable"} among them) instead of
 * failing the scrape as a whole.
 */
function unlessStoreFails<T>(read: Promise<T>): Promise<T | undefined> {
  return read.catch(() => undefined);
}

/** A counter that follows a module's own monotonic counts (by label value; `''` when unlabelled), read at scrape time. */
function syncedCounter(registry: Registry, name: string, help: string, labelName: string | undefined, read: () => Iterable<readonly [string, number]>): void {
  const seen = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames: labelName === undefined ? [] : [labelName],
    registers: [registry],
    collect() {
      for (const [label, value] of read()) {
        const before = seen.get(label) ?? 0;
        if (value > before) {
          if (labelName === undefined) this.inc(value - before);
          else this.inc({ [labelName]: label }, value - before);
        }
        seen.set(label, value);
      }
    },
  });
}
