import pg from 'pg';
import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { PexipStandIn } from '../stand-ins/pexip.js';
import { basicAuth, deployedEnvironment, SINK_PASSWORD, SINK_USER } from '../support/gateway.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../support/postgres.js';
import { spawnGateway, waitUntil, whenReady, type RunningGateway } from '../support/process.js';
import { PEXIP_PASSWORD, PEXIP_USER, pexipEnvironment } from '../support/providers.js';

/**
 * Three gateway processes on one PostgreSQL database and one Pexip stand-in
 * (docs/contract.md §6): claims, events, garbage collection and crashes across replicas.
 */
const POOL_TARGET = 6;
let database: TestDatabase;
let db: pg.Pool;
let entra: EntraStandIn;
let genesys: GenesysStandIn;
let pexip: PexipStandIn;
const replicas: { port: number; process: RunningGateway }[] = [];
let token: string;

const env = (): Record<string, string> => ({
  ...deployedEnvironment(entra, genesys),
  LOG_LEVEL: 'info',
  DATABASE_URL: database.url,
  DATABASE_POOL_SIZE: '5',
  ...pexipEnvironment(pexip),
  POOL_TARGET_SIZE: String(POOL_TARGET),
  POOL_MAINTENANCE_INTERVAL_SECONDS: '1',
  POOL_CLAIM_LEASE_SECONDS: '6',
  GC_INTERVAL_SECONDS: '10',
  GC_GRACE_SECONDS: '0',
  GC_LEASE_SECONDS: '3',
  AUTH_FAILURE_LIMIT: '100000',
});

async function startReplica(index: number): Promise<void> {
  const process = spawnGateway(env());
  // Recorded before it is ready, so that afterAll stops it even if it never gets there.
  replicas[index] = { port: 0, process };
  replicas[index].port = await whenReady(process, `replica ${index} ready`);
}

const url = (index: number, path: string) => `http://127.0.0.1:${replicas[index]!.port}${path}`;
const create = async (index: number) => {
  const res = await fetch(url(index, '/room/create?uuiData=0102'), { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as { name: string } };
};
const sendEvent = async (index: number, event: unknown) => {
  const res = await fetch(url(index, '/public/event_sink'), { method: 'POST', headers: { ...basicAuth(SINK_USER, SINK_PASSWORD), 'content-type': 'application/json' }, body: JSON.stringify(event) });
  return (await res.json()) as { accepted: number; duplicates: number };
};
const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0].n);

describePostgres('three replicas on one PostgreSQL database', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    db = new pg.Pool({ connectionString: database.url, max: 2 });
    entra = await new EntraStandIn().start();
    genesys = await new GenesysStandIn().start();
    pexip = await new PexipStandIn({ basic: { username: PEXIP_USER, password: PEXIP_PASSWORD } }).start();
    token = mintToken(entra, { now: Date.now() });
    await Promise.all([0, 1, 2].map((i) => startReplica(i)));
  }, 60_000);

  afterAll(async () => {
    for (const replica of replicas) {
      if (replica.process.child.exitCode === null) {
        replica.process.kill('SIGKILL');
        await replica.process.exited;
      }
    }
    await db?.end();
    await Promise.all([entra?.stop(), genesys?.stop(), pexip?.stop()]);
    await database?.drop();
  });

  test('concurrent creates spread over three replicas never hand out a room twice, and the pool refills without overshoot', async () => {
    await waitUntil(async () => (await count("SELECT count(*) AS n FROM room_pool WHERE state = 'ready'")) === POOL_TARGET, 'the initial pool');
    let peak = 0;
    const watcher = setInterval(() => void count('SELECT count(*) AS n FROM room_pool').then((n) => (peak = Math.max(peak, n))), 20);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => create(i % 3)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const names = results.map((r) => r.body.name);
    expect(new Set(names).size).toBe(30);
    await waitUntil(async () => (await count("SELECT count(*) AS n FROM room_pool WHERE state = 'ready'")) === POOL_TARGET, 'the refilled pool');
    clearInterval(watcher);
    expect(peak).toBeLessThanOrEqual(POOL_TARGET);
    expect(pexip.conferences.size).toBe(30 + POOL_TARGET);
  });

  test('the same Pexip events sent to all three replicas make one deletion entry', async () => {
    const event = { node: '10.0.0.7', seq: 4242, version: 2, time: Date.now() / 1000 + 3600, event: 'conference_ended', data: { name: 'SharedEvent' } };
    const receipts = await Promise.all([0, 1, 2].map((i) => sendEvent(i, event)));
    expect(receipts.map((r) => r.accepted).sort()).toEqual([0, 0, 1]);
    expect(await count("SELECT count(*) AS n FROM deletion_queue WHERE room_name = 'SharedEvent'")).toBe(1);
    expect(await count("SELECT count(*) AS n FROM event_seen WHERE node = '10.0.0.7' AND seq = 4242")).toBe(1);
    await db.query("DELETE FROM deletion_queue WHERE room_name = 'SharedEvent'");
  });

  test('garbage collection on all three replicas at once (plus npm run gc) deletes each room exactly once', async () => {
    const rooms = await Promise.all(Array.from({ length: 24 }, (_, i) => create(i % 3)));
    let seq = 10_000;
    for (const room of rooms) await sendEvent(seq % 3, { node: '10.0.0.8', seq: seq++, version: 2, time: Date.now() / 1000, event: 'conference_ended', data: { name: room.body.name } });
    const oneShots = [0, 1, 2].map(() => spawnGateway(env(), 'dist/gc-command.js'));
    await Promise.all(oneShots.map((p) => p.exited));
    await waitUntil(async () => (await count('SELECT count(*) AS n FROM deletion_queue')) === 0, 'the deletion queue to drain', 40_000);
    for (const room of rooms) expect([...pexip.conferences.values()].some((c) => c.name === room.body.name)).toBe(false);
    expect([...pexip.deletions.values()].every((n) => n === 1)).toBe(true);
    expect(pexip.deletions.size).toBe(24);
  }, 60_000);

  test('kill -9 in the middle of a garbage-collection batch: nothing lost, nothing deleted twice', async () => {
    const rooms = await Promise.all(Array.from({ length: 10 }, (_, i) => create(i % 3)));
    const deletionsBefore = pexip.deletions.size;
    pexip.latencyFor = (method) => (method === 'DELETE' ? 400 : undefined);
    let seq = 20_000;
    for (const room of rooms) await sendEvent(0, { node: '10.0.0.9', seq: seq++, version: 2, time: Date.now() / 1000, event: 'conference_ended', data: { name: room.body.name } });
    const victim = spawnGateway({ ...env(), GC_BATCH_SIZE: '10' }, 'dist/gc-command.js');
    await waitUntil(() => pexip.count('DELETE', /./) > 0 && pexip.deletions.size > deletionsBefore, 'the batch to start');
    victim.kill('SIGKILL');
    await victim.exited;
    expect(await count('SELECT count(*) AS n FROM deletion_queue')).toBeGreaterThan(0);
    await waitUntil(async () => (await count('SELECT count(*) AS n FROM deletion_queue')) === 0, 'the leased entries to be retried', 40_000);
    pexip.latencyFor = undefined;
    for (const room of rooms) expect([...pexip.conferences.values()].some((c) => c.name === room.body.name)).toBe(false);
    expect([...pexip.deletions.values()].every((n) => n === 1)).toBe(true);
  }, 60_000);

  test('kill -9 of a replica in the middle of a create: the claimed room returns to the pool, none is lost or handed out twice', async () => {
    const handedOut = new Set<string>();
    pexip.latencyFor = (method) => (method === 'PATCH' || method === 'POST' ? 800 : undefined);
    const doomed = create(0).catch(() => undefined);
    await waitUntil(async () => (await count("SELECT count(*) AS n FROM room_pool WHERE state = 'claimed'")) > 0, 'a claim on replica 0');
    replicas[0]!.process.kill('SIGKILL');
    await replicas[0]!.process.exited;
    await doomed;
    pexip.latencyFor = undefined;
    await startReplica(0);
    for (let i = 0; i < 12; i += 1) {
      const res = await create(1 + (i % 2));
      expect(res.status).toBe(200);
      expect(handedOut.has(res.body.name)).toBe(false);
      handedOut.add(res.body.name);
    }
    await waitUntil(async () => (await count("SELECT count(*) AS n FROM room_pool WHERE state = 'ready'")) === POOL_TARGET, 'the pool to settle', 40_000);
    expect(await count("SELECT count(*) AS n FROM room_pool WHERE state <> 'ready'")).toBe(0);
    const pooled = new Set((await db.query<{ room_name: string }>('SELECT room_name FROM room_pool')).rows.map((r) => r.room_name));
    for (const name of pooled) expect([...pexip.conferences.values()].some((c) => c.name === name)).toBe(true);
    for (const name of handedOut) expect(pooled.has(name)).toBe(false);
  }, 60_000);
});
