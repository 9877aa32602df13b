import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { PexipStandIn } from '../stand-ins/pexip.js';
import { basicAuth, SINK_PASSWORD, SINK_USER, startTestGateway, type TestGateway, useSharedStore } from '../support/gateway.js';
import { logLines } from '../support/log-lines.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { waitUntil } from '../support/process.js';
import { pexipProvider, type ProviderUnderTest } from '../support/providers.js';

/**
 * One deadline per incoming request (REQUEST_DEADLINE_MS) covers its Pexip
 * calls, their retries and their waits, and its Pexip work stops when the
 * caller leaves. Waits move the TestClock (test/support/gateway.ts), so what
 * is asserted is what reached Pexip and what the caller got, never how long
 * it took.
 */
const shared = useSharedStore();
let under: ProviderUnderTest;
let gw: TestGateway;
let pexip: PexipStandIn;

afterEach(async () => {
  await gw?.close();
  await under?.stop();
});

async function start(env: Record<string, string> = {}, options: Parameters<typeof startTestGateway>[0] = {}): Promise<void> {
  under = await pexipProvider();
  pexip = under.pexip as PexipStandIn;
  gw = await startTestGateway({ store: shared.store, ...options, env: { POOL_TARGET_SIZE: '0', ...under.env, ...env } });
}
const lookups = (name: string) => pexip.count('GET', new RegExp(`[?&]name=${name}(&|$)`));

describe('Retry-After and the request deadline', () => {
  test('a create whose pooled room is tagged while Pexip says 429 Retry-After 60: 503 with that Retry-After at once, after one PATCH, no wait begun', async () => {
    await start({ POOL_TARGET_SIZE: '1' });
    await gw.gateway.pool.refill();
    pexip.faults.push({ kind: 'status', status: 429, retryAfter: '60' });
    const res = await gw.http.post('/room/create?uuiData=0102').set(gw.bearer());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('60');
    expectToMatchSpec(res);
    expect(pexip.count('PATCH', /\/conference\/\d+\/$/)).toBe(1);
    expect(gw.sleeps).toEqual([]);
  });

  test('an inline create (pool empty) answered 429 Retry-After 60: 503 with that Retry-After, the create neither waited for nor sent again', async () => {
    await start();
    pexip.faults.push({ kind: 'status', status: 429, retryAfter: '60' });
    const res = await gw.http.post('/room/create?uuiData=0102').set(gw.bearer());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('60');
    expect(pexip.count('POST', /\/conference\/$/)).toBe(1);
    expect(gw.sleeps).toEqual([]);
  });

  test("an agent's lookup has the same deadline: 429 Retry-After 60 → 503 with that Retry-After after one Pexip request", async () => {
    await start({ ROOM_CACHE_TTL_SECONDS: '0' });
    const created = await gw.http.post('/room/create?uuiData=0102').set(gw.bearer());
    expect(created.status).toBe(200);
    pexip.faults.push({ kind: 'status', status: 429, retryAfter: '60' });
    const res = await gw.http.get(`/public/room/${created.body.name as string}`).set('x-auth-token', gw.genesys.agent('agent-token-deadline'));
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('60');
    expect(lookups(created.body.name as string)).toBe(1);
    expect(gw.sleeps).toEqual([]);
  });

  test('a Retry-After within the deadline is waited and the request succeeds; the same one past a shorter REQUEST_DEADLINE_MS is not', async () => {
    await start();
    await gw.gateway.provider.create({ name: 'Busy', pin: '1234', guestPin: '4321', tag: '', aliases: ['Busy'], automaticParticipant: undefined });
    pexip.faults.push({ kind: 'status', status: 429, retryAfter: '7' });
    expect((await gw.http.get('/room/Busy').set(gw.bearer())).status).toBe(200);
    expect(gw.sleeps).toEqual([7000]);
    expect(pexip.calls.at(-1)?.headers['user-agent']).toBe('maxconf-gateway');

    await gw.close();
    await under.stop();
    await start({ REQUEST_DEADLINE_MS: '5000' });
    pexip.faults.push({ kind: 'status', status: 429, retryAfter: '7' });
    const res = await gw.http.get('/room/Busy').set(gw.bearer());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(lookups('Busy')).toBe(1);
    expect(gw.sleeps).toEqual([]);
  });

  test('the deadline covers every retry: no attempt begins past it, however many retries PEXIP_MAX_RETRIES allows', async () => {
    await start({ REQUEST_DEADLINE_MS: '10000', PEXIP_MAX_RETRIES: '10' });
    pexip.faults.push(...Array.from({ length: 10 }, () => ({ kind: 'status' as const, status: 503, retryAfter: '4' })));
    const res = await gw.http.get('/room/Flaky').set(gw.bearer());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('4');
    // Attempts at 0, 4 and 8 s; the next would begin at 12 s, past the deadline.
    expect(lookups('Flaky')).toBe(3);
    expect(gw.sleeps).toEqual([4000, 4000]);
  });

  test('the deadline holds in real time too: a Pexip request that hangs is abandoned at the deadline, not at PEXIP_TIMEOUT_MS, and not sent again', async () => {
    await start({ REQUEST_DEADLINE_MS: '1000', PEXIP_TIMEOUT_MS: '120000' });
    pexip.faults.push({ kind: 'hang' });
    const res = await gw.http.get('/room/Stuck').set(gw.bearer());
    expect(res.status).toBe(503);
    expect(res.body.detail).toBe('Pexip did not answer in time; retry shortly.');
    expect(lookups('Stuck')).toBe(1);
  });
});

describe('a caller who leaves', () => {
  test('while its request waits out a Retry-After: the wait ends and no further Pexip request is made', async () => {
    const log = logLines();
    // Retries wait for ever here: only the caller leaving can end the wait.
    await start({ LOG_LEVEL: 'info' }, { logger: pino({ level: 'info' }, log.stream), sleep: () => new Promise(() => undefined) });
    pexip.faults.push({ kind: 'status', status: 429, retryAfter: '5' });
    const server = http.createServer(gw.gateway.app).listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as AddressInfo;
      const leaving = http.request({ port, host: '127.0.0.1', path: '/room/Waiting', headers: gw.bearer() });
      leaving.on('error', () => undefined);
      leaving.end();
      await waitUntil(() => log.lines.some((l) => l.includes('Pexip request failed; retrying')), 'the retry to be scheduled');
      leaving.destroy();
      await waitUntil(() => log.lines.some((l) => l.includes('the caller left: Pexip request abandoned')), 'the abandoned request to be logged');
      expect(lookups('Waiting')).toBe(1);
    } finally {
      server.close();
    }
  });
});

describe('background work', () => {
  test('has a deadline of its own: garbage collection asking Pexip whether a room is in use gives up when the next Retry-After would pass 120 s', async () => {
    await start({ PEXIP_MAX_RETRIES: '10' });
    const created = await gw.http.post('/room/create?uuiData=0102').set(gw.bearer());
    const name = created.body.name as string;
    const ended = await gw.http
      .post('/public/event_sink')
      .set(basicAuth(SINK_USER, SINK_PASSWORD))
      .send({ node: '10.0.0.1', seq: 1, version: 2, time: gw.clock.now() / 1000, event: 'conference_ended', data: { name } });
    expect(ended.status).toBe(200);
    gw.clock.advance(gw.config.garbageCollection.graceMs);
    pexip.faults.push(...Array.from({ length: 10 }, () => ({ kind: 'status' as const, status: 429, retryAfter: '60' })));
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ failed: 1, deleted: 0 });
    // Asked at 0 and 60 s; the next attempt would begin at 120 s, at the deadline.
    expect(pexip.count('GET', /\/status\/v1\/conference\//)).toBe(2);
    expect(gw.sleeps).toEqual([60_000]);
  });
});
