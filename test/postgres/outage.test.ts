import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { basicAuth, deployedEnvironment, SINK_PASSWORD, SINK_USER } from '../support/gateway.js';
import { admin, createTestDatabase, describePostgres, openPostgresTestStore, type TestDatabase } from '../support/postgres.js';
import { spawnGateway, waitUntil, whenReady, type RunningGateway } from '../support/process.js';
import { MIGRATIONS } from '../../src/store/schema.js';

describePostgres('PostgreSQL outage', () => {
  let database: TestDatabase;
  let entra: EntraStandIn;
  let genesys: GenesysStandIn;
  let gateway: RunningGateway;
  let port: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    entra = await new EntraStandIn().start();
    genesys = await new GenesysStandIn().start();
    gateway = spawnGateway({
      ...deployedEnvironment(entra, genesys),
      LOG_LEVEL: 'info',
      DATABASE_URL: database.url,
      DATABASE_CONNECT_TIMEOUT_MS: '500',
      POOL_TARGET_SIZE: '2',
      POOL_MAINTENANCE_INTERVAL_SECONDS: '1',
    });
    port = await whenReady(gateway);
  }, 60_000);

  afterAll(async () => {
    if (gateway?.child.exitCode === null) {
      gateway.kill('SIGKILL');
      await gateway.exited;
    }
    await admin((client) => client.query(`ALTER DATABASE ${new URL(database.url).pathname.slice(1)} WITH ALLOW_CONNECTIONS true`)).catch(() => undefined);
    await database?.drop();
    await Promise.all([entra?.stop(), genesys?.stop()]);
  });

  test('under load: 503 problem+json (never 500, no crash), readiness fails, and the gateway recovers by itself', async () => {
    const name = new URL(database.url).pathname.slice(1);
    const token = mintToken(entra, { now: Date.now() });
    let seq = 0;
    const statuses: number[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        const results = await Promise.all([
          fetch(`http://127.0.0.1:${port}/rooms`, { headers: { authorization: `Bearer ${token}` } }),
          fetch(`http://127.0.0.1:${port}/room/create?uuiData=01`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }),
          fetch(`http://127.0.0.1:${port}/public/event_sink`, {
            method: 'POST',
            headers: { ...basicAuth(SINK_USER, SINK_PASSWORD), 'content-type': 'application/json' },
            body: JSON.stringify({ node: 'n1', seq: seq++, version: 2, time: Date.now() / 1000, event: 'conference_ended', data: { name: `r${seq}` } }),
          }),
        ]);
        for (const res of results) {
          statuses.push(res.status);
          if (res.status === 503) expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
          await res.body?.cancel();
        }
      }
    })();

    await waitUntil(() => statuses.filter((s) => s === 200).length > 5, 'load before the outage');
    await admin(async (client) => {
      await client.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
      await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
    });
    const before = statuses.length;
    await waitUntil(() => {
      if (gateway.child.exitCode !== null) throw new Error(`the gateway died: ${gateway.stderr().slice(-2000)}`);
      return statuses.slice(before).filter((s) => s === 503).length >= 6;
    }, '503s during the outage');
    const ready = await fetch(`http://127.0.0.1:${port}/public/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not_ready', checks: { store: 'fail' } });
    expect((await fetch(`http://127.0.0.1:${port}/public/health`)).status).toBe(200);

    await admin((client) => client.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`));
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/public/ready`)).status === 200, 'recovery', 20_000);
    const after = statuses.length;
    await waitUntil(() => statuses.slice(after).filter((s) => s === 200).length >= 6, 'successful requests after recovery');
    running = false;
    await load;
    expect(statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]);
    expect(gateway.stderr()).not.toMatch(/Unhandled|uncaught/i);
    expect(gateway.child.exitCode).toBeNull();
  }, 60_000);
});

describePostgres('migrations', () => {
  test('several replicas starting at once migrate once, and migrating again changes nothing', async () => {
    const database = await createTestDatabase();
    try {
      const stores = await Promise.all([1, 2, 3, 4].map(() => openPostgresTestStore(database, 2)));
      const { rows } = await stores[0]!.query<{ version: number }>('SELECT version FROM schema_migration ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await database.drop();
    }
  });
});
