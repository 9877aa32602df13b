import http from 'node:http';
import pg from 'pg';
import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { ServiceProxy } from '../stand-ins/service-proxy.js';
import { basicAuth, deployedEnvironment, SINK_PASSWORD, SINK_USER } from '../support/gateway.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../support/postgres.js';
import { spawnGateway, waitUntil, whenListening, type RunningGateway } from '../support/process.js';

/**
 * A rolling deploy (issue 35, item 3): three replicas on one PostgreSQL
 * database behind a proxy that, like a Kubernetes Service, sends only to
 * replicas whose readiness passed, replaced one at a time with SIGTERM under
 * steady traffic, once with the endpoint removed first (the preStop's way) and
 * once without (an eviction, a missing preStop). Nothing may fail.
 */
const PROBE_INTERVAL_MS = 250;
const DRAIN_SECONDS = 2;
/** A request without an answer by then counts as failed (a connection closed under it can leave it waiting). */
const REQUEST_TIMEOUT_MS = 10_000;

let database: TestDatabase;
let db: pg.Pool;
let entra: EntraStandIn;
let genesys: GenesysStandIn;
let proxy: ServiceProxy;
let traffic: ReturnType<typeof steadyTraffic> | undefined;
const started: RunningGateway[] = [];

interface Outcome {
  what: string;
  status: number | 'network';
  ms: number;
}

async function startReplica(): Promise<{ port: number; process: RunningGateway }> {
  const process = spawnGateway({
    ...deployedEnvironment(entra, genesys),
    LOG_LEVEL: 'info',
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: '4',
    POOL_TARGET_SIZE: '5',
    POOL_MAINTENANCE_INTERVAL_SECONDS: '1',
    SHUTDOWN_DRAIN_SECONDS: String(DRAIN_SECONDS),
    SHUTDOWN_TIMEOUT_SECONDS: '5',
    AGENT_REQUESTS_PER_MINUTE: '100000',
    AUTH_FAILURE_LIMIT: '100000',
  });
  started.push(process);
  const { port } = await whenListening(process);
  proxy.add(port);
  await waitUntil(() => proxy.isReady(port), `replica :${port} ready behind the proxy`);
  return { port, process };
}

/** Steady traffic through the proxy until `stop` is called: creates, reads, agent lookups, single and bulk events. */
function steadyTraffic(token: string, agent: string) {
  const outcomes: Outcome[] = [];
  const created: string[] = [];
  const acknowledged: { node: string; seq: number }[] = [];
  let running = true;
  let seq = 0;
  const send = async (what: string, path: string, init: RequestInit = {}): Promise<Response | undefined> => {
    const began = performance.now();
    try {
      const res = await fetch(`${proxy.baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      outcomes.push({ what, status: res.status, ms: performance.now() - began });
      return res;
    } catch {
      outcomes.push({ what, status: 'network', ms: performance.now() - began });
      return undefined;
    }
  };
  const sink = (body: unknown) => ({ method: 'POST', headers: { ...basicAuth(SINK_USER, SINK_PASSWORD), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const event = (node: string) => ({ node, seq: (seq += 1), version: 2, time: Date.now() / 1000, event: 'participant_updated', data: { conference: 'rolling' } });
  const operations = [
    async () => {
      const res = await send('create', '/room/create?uuiData=0102', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      if (res?.status === 200) created.push(((await res.json()) as { name: string }).name);
    },
    async () => created.length > 0 && void (await (await send('read', `/room/${created.at(-1)}`, { headers: { authorization: `Bearer ${token}` } }))?.arrayBuffer()),
    async () => created.length > 0 && void (await (await send('agent lookup', `/public/room/${created.at(-1)}`, { headers: { 'x-auth-token': agent } }))?.arrayBuffer()),
    async () => {
      const single = event('10.1.0.1');
      const res = await send('single event', '/public/event_sink', sink(single));
      if (res?.status === 200 && ((await res.json()) as { accepted: number }).accepted === 1) acknowledged.push(single);
    },
    async () => {
      const inner = [event('10.1.0.2'), event('10.1.0.3'), event('10.1.0.2')];
      const bulk = { node: '10.1.0.9', seq: (seq += 1), version: 2, time: Date.now() / 1000, event: 'eventsink_bulk', data: inner };
      const res = await send('bulk event', '/public/event_sink', sink(bulk));
      if (res?.status === 200 && ((await res.json()) as { accepted: number }).accepted === inner.length) acknowledged.push(...inner);
    },
  ];
  const worker = async (offset: number) => {
    for (let i = offset; running; i += 1) await operations[i % operations.length]!();
  };
  // A client that opens a connection per request (no keep-alive): where the Service places each new connection shows at once.
  const oneShots = async () => {
    while (running) {
      const began = performance.now();
      const status = await new Promise<number | 'network'>((resolve) => {
        http.get(`${proxy.baseUrl}/public/health`, { agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => res.resume().once('end', () => resolve(res.statusCode ?? 0))).once('error', () => resolve('network'));
      });
      outcomes.push({ what: 'health, a connection each', status, ms: performance.now() - began });
    }
  };
  const workers = [...[0, 1, 2, 3].map(worker), oneShots()];
  return {
    outcomes,
    created,
    acknowledged,
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}

/** Replaces each replica: a new one joins, then the old one leaves by SIGTERM, its endpoint removed first or not. */
async function replaceAll(replicas: { port: number; process: RunningGateway }[], removeEndpointFirst: boolean): Promise<void> {
  for (const [i, old] of replicas.entries()) {
    replicas[i] = await startReplica();
    if (removeEndpointFirst) proxy.remove(old.port);
    old.process.kill('SIGTERM');
    expect(await old.process.exited).toBe(0);
    proxy.remove(old.port);
  }
}

describePostgres('a rolling deploy of three replicas on one PostgreSQL database', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    db = new pg.Pool({ connectionString: database.url, max: 2 });
    entra = await new EntraStandIn().start();
    genesys = await new GenesysStandIn().start();
    proxy = await new ServiceProxy(PROBE_INTERVAL_MS).start();
  }, 30_000);

  afterAll(async () => {
    await traffic?.stop();
    for (const process of started) {
      if (process.child.exitCode === null && process.child.signalCode === null) {
        process.kill('SIGKILL');
        await process.exited;
      }
    }
    await proxy?.stop();
    await db?.end();
    await Promise.all([entra?.stop(), genesys?.stop()]);
    await database?.drop();
  });

  test('replicas replaced under traffic, with and without the endpoint removed first: no request fails, every acknowledged event and created room recorded once', async () => {
    const replicas = [await startReplica(), await startReplica(), await startReplica()];
    const load = steadyTraffic(mintToken(entra, { now: Date.now() }), genesys.agent('rolling-agent'));
    traffic = load;
    await waitUntil(() => load.outcomes.length > 50, 'traffic under way');

    await replaceAll(replicas, true);
    await replaceAll(replicas, false);
    await load.stop();

    const failed = load.outcomes.filter((o) => o.status === 'network' || o.status >= 400);
    expect({ failed: failed.slice(0, 10), proxyFailures: proxy.failures.slice(0, 10) }).toEqual({ failed: [], proxyFailures: [] });
    expect(new Set(load.outcomes.map((o) => o.what))).toEqual(new Set(['create', 'read', 'agent lookup', 'single event', 'bulk event', 'health, a connection each']));

    const rooms = await db.query<{ room_name: string; state: string }>('SELECT room_name, state FROM room_ledger WHERE room_name = ANY($1)', [load.created]);
    expect(new Set(load.created).size).toBe(load.created.length);
    expect(rooms.rows).toHaveLength(load.created.length);
    expect(rooms.rows.every((r) => r.state === 'handed_out')).toBe(true);
    const seen = await db.query<{ n: string }>('SELECT count(*) AS n FROM event_seen WHERE (node, seq) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))', [
      load.acknowledged.map((e) => e.node),
      load.acknowledged.map((e) => e.seq),
    ]);
    expect(Number(seen.rows[0]!.n)).toBe(load.acknowledged.length);
  }, 120_000);
});
