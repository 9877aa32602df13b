import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { basicAuth, deployedEnvironment, SINK_PASSWORD, SINK_USER } from '../support/gateway.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../support/postgres.js';
import { spawnGateway, unusedPort, waitUntil, whenReady, type RunningGateway } from '../support/process.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/** What the gateway is told; a request may wait for a connection plus one operation, no longer. */
const CONNECT_TIMEOUT_MS = 1000;
const QUERY_TIMEOUT_MS = 3000;
/**
 * How long the test lets a request run before calling it hung: far above the
 * deadline (a loaded machine is slow) and far below "for ever".
 */
const HUNG_MS = 20_000;
/** Secrets in the input and the configuration, none of which may reach the gateway's output. */
const PIN = '97531246';
const DATABASE_PASSWORD = 'database-password-never-logged';

describePostgres('PostgreSQL that stops answering (a stalled or refusing network path)', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let entra: EntraStandIn;
  let genesys: GenesysStandIn;
  let gateway: RunningGateway;
  let base: string;
  let metricsUrl: string;
  let token: string;
  let seq = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    const url = new URL(database.url);
    proxy = await new TcpProxy(url.hostname, Number(url.port || 5432)).start();
    url.host = `127.0.0.1:${proxy.port}`;
    // Trust authentication ignores it; the gateway still holds it.
    url.username = 'postgres';
    url.password = DATABASE_PASSWORD;
    entra = await new EntraStandIn().start();
    genesys = await new GenesysStandIn().start();
    // METRICS_PORT=0 turns metrics off, so this one port is probed rather than chosen by the system.
    const metricsPort = await unusedPort();
    gateway = spawnGateway({
      ...deployedEnvironment(entra, genesys),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'info',
      DATABASE_URL: url.toString(),
      METRICS_HOST: '127.0.0.1',
      DATABASE_POOL_SIZE: '4',
      DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DATABASE_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      DATABASE_STATEMENT_TIMEOUT_MS: '1000',
      POOL_TARGET_SIZE: '1',
      ROOM_CACHE_TTL_SECONDS: '0',
    });
    base = `http://127.0.0.1:${await whenReady(gateway)}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    token = mintToken(entra, { now: Date.now() });
  }, 60_000);

  afterAll(async () => {
    if (gateway?.child.exitCode === null) {
      gateway.child.kill('SIGKILL');
      await gateway.exited;
    }
    await proxy?.stop();
    await database?.drop();
    await Promise.all([entra?.stop(), genesys?.stop()]);
  });

  /** A request that must be answered; a hang fails the test instead of timing it out. */
  async function call(path: string, init: RequestInit = {}): Promise<{ status: number; type: string | null; retryAfter: string | null; body: string }> {
    const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(HUNG_MS) }).catch((error: Error) => {
      throw new Error(`${init.method ?? 'GET'} ${path} was not answered: ${error.message}`);
    });
    return { status: res.status, type: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), body: await res.text() };
  }

  const rooms = () => call('/rooms', { headers: { authorization: `Bearer ${token}` } });
  const room = (name: string) => call(`/room/${name}`, { headers: { authorization: `Bearer ${token}` } });
  const changePins = (name: string) =>
    call(`/room/${name}`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ pin: PIN, guest_pin: PIN.split('').reverse().join('') }) });
  const envelope = (name: string, node = 'n1') => JSON.stringify({ node, seq: ++seq, version: 2, time: Date.now() / 1000, event: 'conference_ended', data: { name } });
  const deliver = (body: string) => call('/public/event_sink', { method: 'POST', headers: { ...basicAuth(SINK_USER, SINK_PASSWORD), 'content-type': 'application/json' }, body });
  const event = (name: string) => deliver(envelope(name));

  function expectStoreUnavailable(answer: Awaited<ReturnType<typeof call>>): void {
    expect(answer.status).toBe(503);
    expect(answer.type).toMatch(/^application\/problem\+json/);
    expect(answer.retryAfter).toMatch(/^\d+$/);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 503, detail: expect.stringMatching(/store/) });
  }

  async function expectServing(name: string): Promise<void> {
    await waitUntil(async () => (await call('/public/ready')).status === 200, 'readiness after the fault', 30_000);
    expect((await rooms()).status).toBe(200);
    expect((await room(name)).status).toBe(200);
    expect((await event(name)).status).toBe(200);
  }

  async function aRoom(): Promise<string> {
    const created = await call('/room/create?uuiData=01', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(created.status).toBe(200);
    return (JSON.parse(created.body) as { name: string }).name;
  }

  test('stalled: requests on open connections and new ones get 503 problem+json, queued events are not held behind a stuck commit, readiness fails; the gateway recovers without a restart', async () => {
    const name = await aRoom();
    // Open several pooled connections, so that the stall catches connections already in use as well as new ones.
    await Promise.all([rooms(), room(name), event(name), rooms()]);

    proxy.set('stall');
    const first = Promise.all([rooms(), room(name), changePins(name), event(name), event(name), event(name)]);
    // Events arriving while the group commit of the first ones is stuck queue behind it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const later = Promise.all([event(name), event(name)]);
    for (const answer of [...(await first), ...(await later)]) expectStoreUnavailable(answer);

    const ready = await call('/public/ready');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'not_ready', checks: { store: 'fail' } });
    expect((await call('/public/health')).status).toBe(200);

    proxy.set('pass');
    await expectServing(name);
    expect(gateway.child.exitCode).toBeNull();
    expect(gateway.stderr()).not.toMatch(/Unhandled|uncaught/i);
  }, 120_000);

  /** Store operations that failed as unavailable so far, from the metrics listener (which must answer meanwhile). */
  async function unavailableOperations(): Promise<number> {
    const scrape = await fetch(metricsUrl, { signal: AbortSignal.timeout(HUNG_MS) });
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    return [...text.matchAll(/^maxconf_store_operation_duration_seconds_count\{[^}]*outcome="unavailable"[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
  }

  test('refused: 503 problem+json at once, readiness fails, the metrics still answer and count the outage; the gateway recovers without a restart', async () => {
    const name = await aRoom();
    const before = await unavailableOperations();
    proxy.set('refuse');
    for (const answer of await Promise.all([rooms(), room(name), changePins(name), event(name)])) expectStoreUnavailable(answer);
    expect((await call('/public/ready')).status).toBe(503);
    expect(await unavailableOperations()).toBeGreaterThan(before);

    proxy.set('pass');
    await expectServing(name);
    expect(gateway.child.exitCode).toBeNull();
  }, 120_000);

  test('a group commit stuck on one connection holds only its own events: a later event commits beside it on another connection', async () => {
    const name = await aRoom();
    const caught = proxy.stallOn('stuck-node-4242');
    let stuckAnswered = false;
    const stuckEvent = envelope(name, 'stuck-node-4242');
    const stuck = deliver(stuckEvent).finally(() => (stuckAnswered = true));
    await caught;

    const later = await event(name);
    expect(later.status).toBe(200);
    expect(stuckAnswered).toBe(false);
    expectStoreUnavailable(await stuck);
    // Pexip redelivers the event that got 503: it was not recorded then, it is now.
    const redelivered = await deliver(stuckEvent);
    expect(redelivered.status).toBe(200);
    expect(JSON.parse(redelivered.body)).toMatchObject({ accepted: 1, duplicates: 0 });
  }, 120_000);

  test('what the gateway printed while its store failed holds no PIN, token, password or database credential, and names the failures', async () => {
    // Its log is buffered: stopped, it has written everything.
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
    const output = gateway.stdout() + gateway.stderr();
    for (const secret of [PIN, token, SINK_PASSWORD, DATABASE_PASSWORD, basicAuth(SINK_USER, SINK_PASSWORD).Authorization.slice(6)]) expect(output).not.toContain(secret);
    expect(output).toContain('"type":"StoreUnavailableError"');
  });
});
