import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { basicAuth, SINK_PASSWORD, SINK_USER, startTestGateway, temporaryDirectory } from '../support/gateway.js';
import { freePort, spawnGateway, waitUntil } from '../support/process.js';

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
  const [port, metricsPort] = [await freePort(), await freePort()];
  const dataDir = temporaryDirectory('metrics');
  const running = spawnGateway({ DATA_DIR: dataDir, PORT: String(port), METRICS_PORT: String(metricsPort), ENTRA_JWKS_URI: entra.jwksUri, LOG_LEVEL: 'warn' });
  try {
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/public/ready`).catch(() => undefined))?.status === 200, 'readiness');
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
