import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { basicAuth, openTestStore, SINK_PASSWORD, SINK_USER, startTestGateway, temporaryDirectory } from '../support/gateway.js';
import { spawnGateway, unusedPort, whenReady } from '../support/process.js';
import { pexipProvider } from '../support/providers.js';

/** The value of one series in the Prometheus text, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('metrics cover requests by route template, auth failures, upstream calls, caches, pool, deletion queue, events and garbage collection', async () => {
  const gw = await startTestGateway({ env: { POOL_TARGET_SIZE: '2' } });
  try {
    await gw.gateway.pool.refill();
    const token = gw.token();
    const created = await gw.http.post('/room/create?uuiData=01').set('Authorization', `Bearer ${token}`);
    await gw.http.get(`/room/${created.body.name}`).set('Authorization', `Bearer ${token}`);
    await gw.http.get('/rooms').set('Authorization', 'Bearer not.a.token');
    await gw.http.get(`/public/room/${created.body.name}`).set('x-auth-token', gw.genesys.agent('metrics-agent'));
    await gw.http.get(`/public/room/${created.body.name}`).set('x-auth-token', 'metrics-agent');
    await gw.http.get('/public/room/x').set('x-auth-token', 'rejected-by-genesys');
    await gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).send({ node: 'n', seq: 1, version: 2, time: gw.clock.now() / 1000, event: 'conference_ended', data: { name: 'gone' } });
    await gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).send({ node: 'n', seq: 2, version: 2, time: gw.clock.now() / 1000, event: 'brand_new_event', data: {} });
    await gw.http.get('/nowhere/12345');
    gw.clock.advance(600_000);
    await gw.gateway.garbageCollector.runOnce();

    const text = await gw.gateway.metrics.registry.metrics();
    expect(text).toMatch(/maxconf_http_request_duration_seconds_count\{method="GET",route="\/room\/:room_name",status="200"\} 1/);
    expect(text).toMatch(/maxconf_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).not.toContain('/nowhere/12345');
    expect(text).toMatch(/maxconf_auth_failures_total\{strategy="entra",reason="malformed_token"\} 1/);
    expect(text).toMatch(/maxconf_auth_failures_total\{strategy="genesys",reason="rejected"\} 1/);
    expect(text).toMatch(/maxconf_upstream_request_duration_seconds_count\{upstream="jwks",outcome="2xx"\} \d+/);
    expect(text).toMatch(/maxconf_upstream_request_duration_seconds_count\{upstream="genesys",outcome="2xx"\} 1/);
    expect(text).toMatch(/maxconf_verified_token_cache_requests_total\{result="hit"\} 1/);
    expect(text).toMatch(/maxconf_genesys_cache_requests_total\{result="hit"\} 1/);
    expect(text).toMatch(/maxconf_pool_rooms\{state="ready"\} \d/);
    expect(text).toMatch(/maxconf_deletion_queue_depth 0/);
    expect(text).toMatch(/maxconf_deletion_queue_oldest_age_seconds 0/);
    expect(text).toMatch(/maxconf_events_total\{type="conference_ended"\} 1/);
    expect(text).toMatch(/maxconf_events_total\{type="unknown"\} 1/);
    expect(text).toMatch(/maxconf_garbage_collection_rooms_total\{outcome="notOurs"\} 1/);
    expect(text).toMatch(/maxconf_ledger_rooms\{state="handed_out"\} 1/);
    expect(text).toMatch(/maxconf_ledger_rooms\{state="pooled"\} \d/);
    expect(text).toMatch(/maxconf_ledger_unused_oldest_age_seconds 600/);
    expect(text).toMatch(/maxconf_ledger_unknown_outcomes 0/);
    expect(text).toMatch(/maxconf_process_resident_memory_bytes \d+/);
  } finally {
    await gw.close();
  }
});

test('the deletion queue age is reported while an entry waits', async () => {
  const gw = await startTestGateway();
  try {
    await gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).send({ node: 'n', seq: 9, version: 2, time: gw.clock.now() / 1000, event: 'conference_ended', data: { name: 'waiting' } });
    gw.clock.advance(120_000);
    const text = await gw.gateway.metrics.registry.metrics();
    expect(text).toMatch(/maxconf_deletion_queue_depth 1/);
    expect(text).toMatch(/maxconf_deletion_queue_oldest_age_seconds 120/);
  } finally {
    await gw.close();
  }
});

test('metrics are served on their own port, never through the public listener', async () => {
  const entra = await new EntraStandIn().start();
  const dataDir = temporaryDirectory('metrics');
  // METRICS_PORT=0 turns metrics off, so this one port is probed rather than chosen by the system.
  const metricsPort = await unusedPort();
  const running = spawnGateway({ DATA_DIR: dataDir, METRICS_PORT: String(metricsPort), ENTRA_JWKS_URI: entra.jwksUri });
  try {
    const port = await whenReady(running);
    expect(running.ports()).toEqual({ port, metricsPort });
    await fetch(`http://127.0.0.1:${port}/rooms`, { headers: { authorization: `Bearer ${mintToken(entra)}` } });
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metrics.text()).toMatch(/maxconf_http_request_duration_seconds_count\{method="GET",route="\/rooms",status="200"\} 1/);
    const publicMetrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(publicMetrics.status).toBe(404);
  } finally {
    running.kill('SIGKILL');
    await running.exited;
    await entra.stop();
  }
});

test('the signing keys held and the time of their last successful fetch are reported, and move when a fetch succeeds', async () => {
  const gw = await startTestGateway();
  try {
    const metrics = () => gw.gateway.metrics.registry.metrics();
    expect(sample(await metrics(), 'maxconf_signing_keys')).toBe(gw.entra.published.length);
    const firstLoad = sample(await metrics(), 'maxconf_signing_keys_last_success_timestamp_seconds');
    expect(firstLoad).toBe(gw.clock.now() / 1000);

    gw.clock.advance(3_600_000);
    gw.entra.behaviour = 'fail-503';
    const stale = gw.entra.rotate({ retireOld: false });
    await gw.http.get('/rooms').set(gw.bearer({ key: stale }));
    expect(sample(await metrics(), 'maxconf_signing_keys_last_success_timestamp_seconds')).toBe(firstLoad);

    gw.clock.advance(600_000);
    gw.entra.behaviour = 'serve';
    expect((await gw.http.get('/rooms').set(gw.bearer({ key: stale }))).status).toBe(200);
    expect(sample(await metrics(), 'maxconf_signing_keys')).toBe(gw.entra.published.length);
    expect(sample(await metrics(), 'maxconf_signing_keys_last_success_timestamp_seconds')).toBe(gw.clock.now() / 1000);
  } finally {
    await gw.close();
  }
}, 60_000);

test("each Pexip request's turn in the request budget is counted by priority and outcome, refusals included", async () => {
  const pexip = await pexipProvider({ PEXIP_REQUESTS_PER_MINUTE: '1' });
  const gw = await startTestGateway({ env: { ...pexip.env, POOL_TARGET_SIZE: '0' } });
  try {
    const turns = async (outcome: string) => sample(await gw.gateway.metrics.registry.metrics(), `maxconf_pexip_budget_wait_seconds_count{priority="interactive",outcome="${outcome}"}`);
    expect(await turns('granted')).toBeUndefined();
    expect((await gw.http.delete('/room/gone').set(gw.bearer())).status).toBe(404);
    expect(await turns('granted')).toBe(1);
    expect(await turns('refused')).toBeUndefined();
    expect((await gw.http.delete('/room/gone').set(gw.bearer())).status).toBe(503);
    expect(await turns('granted')).toBe(1);
    expect(await turns('refused')).toBe(1);
  } finally {
    await gw.close();
    await pexip.stop();
  }
}, 60_000);

test('store statements and transactions are timed by outcome', async () => {
  const gw = await startTestGateway();
  try {
    const count = async (operation: string) => sample(await gw.gateway.metrics.registry.metrics(), `maxconf_store_operation_duration_seconds_count{operation="${operation}",outcome="ok"}`) ?? 0;
    const [queries, transactions] = [await count('query'), await count('transaction')];
    expect((await gw.http.post('/room/create?uuiData=01').set(gw.bearer())).status).toBe(200);
    expect(await count('query')).toBeGreaterThan(queries);
    expect(await count('transaction')).toBeGreaterThan(transactions);
  } finally {
    await gw.close();
  }
}, 60_000);

test('a scrape while the store fails still answers: the store-backed gauges keep their last values and the failures are counted as unavailable', async () => {
  const store = await openTestStore();
  const gw = await startTestGateway({ store });
  try {
    await gw.gateway.pool.refill();
    const before = await gw.gateway.metrics.registry.metrics();
    const ready = sample(before, 'maxconf_pool_rooms{state="ready"}');
    expect(ready).toBeGreaterThan(0);
    await store.close();
    const during = await gw.gateway.metrics.registry.metrics();
    expect(sample(during, 'maxconf_pool_rooms{state="ready"}')).toBe(ready);
    expect(sample(during, 'maxconf_deletion_queue_depth')).toBe(0);
    // The store reads of one scrape are counted in the next (prom-client renders the histogram while the gauges read).
    const next = await gw.gateway.metrics.registry.metrics();
    expect(sample(next, 'maxconf_store_operation_duration_seconds_count{operation="query",outcome="unavailable"}')).toBeGreaterThan(0);
  } finally {
    await gw.close();
  }
}, 60_000);
