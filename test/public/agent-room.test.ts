import http from 'node:http';
import request from 'supertest';
import { HeldAnswers } from '../../src/http/agent-limit.js';
import { createLogger } from '../../src/logger.js';
import { ALLOWED_DIVISION, ORGANIZATION } from '../stand-ins/genesys.js';
import { logLines } from '../support/log-lines.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { waitUntil } from '../support/process.js';
import { startTestGateway, useGatewayPerTest, WIDGET_ORIGIN, type TestGateway } from '../support/gateway.js';

const shared = useGatewayPerTest();
let gw: TestGateway;
const start = async (env: Record<string, string> = {}, options: Parameters<typeof shared.start>[1] = {}) => (gw = await shared.start(env, options));
async function aRoom(): Promise<string> {
  const res = await gw.http.post('/room/create?uuiData=0102').set(gw.bearer());
  return res.body.name as string;
}
async function storeQueries(): Promise<number> {
  const metric = await gw.gateway.metrics.registry.getSingleMetric('maxconf_store_operation_duration_seconds')!.get();
  return metric.values.find((v) => (v as { metricName?: string }).metricName === 'maxconf_store_operation_duration_seconds_count' && v.labels.operation === 'query' && v.labels.outcome === 'ok')?.value ?? 0;
}
const lookup = (name: string, token?: string) => {
  const req = gw.http.get(`/public/room/${name}`);
  return token === undefined ? req : req.set('x-auth-token', token);
};

describe('GET /public/room/{room_name}', () => {
  test('an agent in an allowed division gets the constrained room with the host PIN', async () => {
    await start();
    const name = await aRoom();
    const res = await lookup(name, gw.genesys.agent('agent-token-1'));
    expect(res.status).toBe(200);
    expectToMatchSpec(res);
    expect(res.body.name).toBe(name);
    expect(res.body.pin).toMatch(/^\d{6}$/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(gw.genesys.lastQuery).toBe('?expand=organization');
  });

  test('unknown room → 404', async () => {
    await start();
    const res = await lookup('NoSuchRoom', gw.genesys.agent('agent-token-2'));
    expect(res.status).toBe(404);
    expectToMatchSpec(res);
  });

  test('a room looked up again within ROOM_CACHE_TTL_SECONDS costs no store query; one this gateway deletes is 404 to the agent at once', async () => {
    await start();
    const name = await aRoom();
    const agent = gw.genesys.agent('agent-token-cached-room');
    expect((await lookup(name, agent)).status).toBe(200);
    const queriesBefore = await storeQueries();
    expect((await lookup(name, agent)).status).toBe(200);
    expect(await storeQueries()).toBe(queriesBefore);
    expect((await gw.http.delete(`/room/${name}`).set(gw.bearer())).status).toBe(204);
    expect((await lookup(name, agent)).status).toBe(404);
  });

  test('invalid room name → 400 before any upstream call', async () => {
    await start();
    const res = await lookup('bad.name', gw.genesys.agent('agent-token-3'));
    expect(res.status).toBe(400);
  });

  test.each([
    ['missing', undefined],
    ['empty', ''],
    ['with a space inside', 'abc def'],
  ])('%s token → 401 without calling Genesys', async (_name, token) => {
    await start();
    const res = await lookup('Room1', token);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('X-Auth-Token realm="genesys"');
    expectToMatchSpec(res);
    expect(gw.genesys.calls).toBe(0);
  });

  test('a token Genesys rejects (401) → 401', async () => {
    await start();
    const res = await lookup(await aRoom(), 'unknown-token');
    expect(res.status).toBe(401);
    expect(res.body.detail).not.toMatch(/Genesys internal detail|bad.credentials|ctx-123/);
  });

  test.each([
    ['another division', () => gw.genesys.agent('agent-other-div', 'division-other')],
    ['no division', () => gw.genesys.behave('agent-no-div', { kind: 'user', id: 'u-1', division: undefined, organization: ORGANIZATION })],
    ['Genesys answers 403', () => gw.genesys.behave('agent-genesys-403', { kind: 'status', status: 403 })],
  ])('%s → 403', async (_name, token) => {
    await start();
    const res = await lookup(await aRoom(), token());
    expect(res.status).toBe(403);
    expectToMatchSpec(res);
  });

  test('with an organization configured, an agent of another organization → 403, of ours → 200', async () => {
    await start({ GENESYS_ORGANIZATION_ID: ORGANIZATION });
    const name = await aRoom();
    expect((await lookup(name, gw.genesys.agent('agent-other-org', ALLOWED_DIVISION, 'org-other'))).status).toBe(403);
    expect((await lookup(name, gw.genesys.agent('agent-our-org'))).status).toBe(200);
  });

  test.each([
    ['429 with Retry-After', { kind: 'status', status: 429, retryAfter: '42' } as const, '42'],
    ['500', { kind: 'status', status: 500 } as const, undefined],
    ['502 with Retry-After', { kind: 'status', status: 502, retryAfter: '7' } as const, '7'],
    ['a 200 that is not JSON', { kind: 'garbage' } as const, undefined],
  ])('Genesys %s → 503, never 500 or 401, upstream body not passed through', async (_name, behaviour, retryAfter) => {
    await start();
    const res = await lookup(await aRoom(), gw.genesys.behave('agent-upstream-fault', behaviour));
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe(retryAfter);
    expect(res.text).not.toMatch(/Genesys internal detail|upstream.secret|ctx-123/);
    expectToMatchSpec(res);
  });

  test('Genesys hanging → 503 after the configured timeout', async () => {
    await start({ GENESYS_TIMEOUT_MS: '300' });
    const res = await lookup(await aRoom(), gw.genesys.behave('agent-hang', { kind: 'hang' }));
    expect(res.status).toBe(503);
  });

  test('Genesys unreachable → 503', async () => {
    await start();
    const name = await aRoom();
    await gw.genesys.stop();
    const res = await lookup(name, 'agent-any');
    expect(res.status).toBe(503);
    await gw.genesys.start();
  });
});

describe('caching and single flight', () => {
  test('N concurrent requests with one uncached token make one upstream call', async () => {
    await start();
    const name = await aRoom();
    gw.genesys.latencyMs = 100;
    const token = gw.genesys.agent('agent-concurrent');
    const results = await Promise.all(Array.from({ length: 50 }, () => lookup(name, token)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(gw.genesys.calls).toBe(1);
  });

  test('a positive result is cached for the TTL, then checked again', async () => {
    await start({ GENESYS_CACHE_TTL_SECONDS: '60' });
    const name = await aRoom();
    const token = gw.genesys.agent('agent-cached');
    await lookup(name, token);
    await lookup(name, token);
    expect(gw.genesys.calls).toBe(1);
    gw.clock.advance(60_000);
    await lookup(name, token);
    expect(gw.genesys.calls).toBe(2);
  });

  test('a Genesys 401 is cached briefly; an outage is not cached', async () => {
    await start({ GENESYS_REJECTION_CACHE_SECONDS: '10' });
    const name = await aRoom();
    await lookup(name, 'rejected-token');
    await lookup(name, 'rejected-token');
    expect(gw.genesys.calls).toBe(1);
    gw.clock.advance(10_000);
    await lookup(name, 'rejected-token');
    expect(gw.genesys.calls).toBe(2);
    const flaky = gw.genesys.behave('agent-flaky', { kind: 'status', status: 503 });
    expect((await lookup(name, flaky)).status).toBe(503);
    gw.genesys.agent(flaky);
    expect((await lookup(name, flaky)).status).toBe(200);
  });

  test('a token Genesys answers 403 for is cached like a 401', async () => {
    await start({ GENESYS_REJECTION_CACHE_SECONDS: '10' });
    const name = await aRoom();
    const token = gw.genesys.behave('agent-genesys-403', { kind: 'status', status: 403 });
    expect((await lookup(name, token)).status).toBe(403);
    expect((await lookup(name, token)).status).toBe(403);
    expect(gw.genesys.calls).toBe(1);
    gw.clock.advance(10_000);
    expect((await lookup(name, token)).status).toBe(403);
    expect(gw.genesys.calls).toBe(2);
  });

  test('repeated rejected tokens from one client → 429 with Retry-After', async () => {
    await start({ AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_SECONDS: '60', GENESYS_REJECTION_CACHE_SECONDS: '0' });
    const name = await aRoom();
    for (let i = 0; i < 3; i += 1) expect((await lookup(name, `bad-token-${i}`)).status).toBe(401);
    const limited = await lookup(name, gw.genesys.agent('good-token-after-flood'));
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
    expectToMatchSpec(limited);
    gw.clock.advance(60_000);
    expect((await lookup(name, 'good-token-after-flood')).status).toBe(200);
  });
});

describe('Genesys asking the gateway to wait (429 or 503 with Retry-After)', () => {
  test.each([429, 503])('a %i with Retry-After 30 pauses lookups: one call, then 503 with Retry-After at once for every uncached token; calls resume after 30 s', async (status) => {
    await start({ AUTH_FAILURE_LIMIT: '20' });
    const name = await aRoom();
    const known = gw.genesys.agent('agent-known-before');
    expect((await lookup(name, known)).status).toBe(200);
    gw.genesys.otherTokens = { kind: 'status', status, retryAfter: '30' };
    const first = await lookup(name, 'junk-0');
    expect([first.status, first.headers['retry-after']]).toEqual([503, '30']);
    const rest = await Promise.all(Array.from({ length: 99 }, (_, i) => lookup(name, `junk-${i + 1}`)));
    expect(rest.map((res) => [res.status, res.headers['retry-after']])).toEqual(Array.from({ length: 99 }, () => [503, '30']));
    expectToMatchSpec(rest[0] as Awaited<ReturnType<typeof lookup>>);
    expect(gw.genesys.calls).toBe(2);
    expect((await lookup(name, known)).status).toBe(200);
    const metrics = await gw.gateway.metrics.registry.metrics();
    expect(metrics).toMatch(/maxconf_genesys_pause_seconds 30\n/);
    expect(metrics).toMatch(/maxconf_genesys_cache_requests_total\{result="paused"\} 99\n/);

    gw.clock.advance(29_000);
    const late = await lookup(name, 'junk-late');
    expect([late.status, late.headers['retry-after']]).toEqual([503, '1']);
    expect(gw.genesys.calls).toBe(2);
    gw.genesys.otherTokens = { kind: 'status', status: 401 };
    gw.clock.advance(1_000);
    // 101 answers of ours, none held against the client: its 20 failures allowed are intact.
    expect((await lookup(name, 'junk-after')).status).toBe(401);
    expect(gw.genesys.calls).toBe(3);
  });

  test('a pause is logged once, when it starts, however many calls under way Genesys answers alike', async () => {
    const { lines, stream } = logLines();
    gw = await startTestGateway({ store: shared.store, logger: createLogger('warn', stream) });
    try {
      const name = await aRoom();
      gw.genesys.otherTokens = { kind: 'status', status: 429, retryAfter: '30' };
      const release = gw.genesys.hold();
      const underWay = Promise.all([0, 1, 2].map((i) => lookup(name, `junk-${i}`)));
      await waitUntil(() => gw.genesys.calls === 3, 'three Genesys calls under way');
      release();
      expect((await underWay).map((res) => res.status)).toEqual([503, 503, 503]);
      gw.clock.advance(30_000);
      expect((await lookup(name, 'junk-again')).status).toBe(503);
      const pauses = lines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'Genesys asked the gateway to wait: lookups paused');
      expect(pauses.map(({ status, pauseSeconds }) => ({ status, pauseSeconds }))).toEqual([{ status: 429, pauseSeconds: 30 }, { status: 429, pauseSeconds: 30 }]);
    } finally {
      await gw.close();
    }
  });

  test('a pause lasts 60 s at most, however long Genesys asks for', async () => {
    await start();
    const name = await aRoom();
    gw.genesys.otherTokens = { kind: 'status', status: 429, retryAfter: '3600' };
    const first = await lookup(name, 'junk-0');
    expect([first.status, first.headers['retry-after']]).toEqual([503, '60']);
    gw.clock.advance(60_000);
    gw.genesys.otherTokens = { kind: 'status', status: 401 };
    expect((await lookup(name, 'junk-1')).status).toBe(401);
    expect(gw.genesys.calls).toBe(2);
  });
});

describe('per-agent request limit (AGENT_REQUESTS_PER_MINUTE)', () => {
  test('an agent over its limit gets 429 with Retry-After until its minute ends; another agent is unaffected', async () => {
    await start({ AGENT_REQUESTS_PER_MINUTE: '3' });
    const name = await aRoom();
    const busy = gw.genesys.agent('busy-agent');
    const other = gw.genesys.agent('other-agent');
    for (let i = 0; i < 3; i += 1) expect((await lookup(name, busy)).status).toBe(200);
    const limited = await lookup(name, busy);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('59');
    expect(limited.body).toMatchObject({ type: 'urn:maxconf:problem:too-many-requests', detail: expect.stringMatching(/3 times this minute/) });
    expectToMatchSpec(limited);
    expect((await lookup(name, other)).status).toBe(200);
    // The 429's second of pause (below) moved the test clock: 58 s more is the minute's last second.
    gw.clock.advance(58_000);
    expect((await lookup(name, busy)).headers['retry-after']).toBe('1');
    expect((await lookup(name, busy)).status).toBe(200);
  });

  test("an agent over its limit gets each 429 when a second's pause ends, its Retry-After counted from then; another agent's lookup meanwhile is answered", async () => {
    const pauses: Array<{ ms: number; end: () => void }> = [];
    await start({ AGENT_REQUESTS_PER_MINUTE: '2' }, { sleep: (ms) => new Promise((end) => pauses.push({ ms, end })) });
    const name = await aRoom();
    const looping = gw.genesys.agent('looping-agent');
    for (let i = 0; i < 2; i += 1) expect((await lookup(name, looping)).status).toBe(200);
    expect(pauses).toEqual([]);
    const answered: number[] = [];
    const limited = lookup(name, looping).then((res) => (answered.push(res.status), res));
    await waitUntil(() => pauses.length === 1, 'the over-limit pause');
    expect((await lookup(name, gw.genesys.agent('another-agent'))).status).toBe(200);
    expect({ pauses: pauses.map((pause) => pause.ms), answered }).toEqual({ pauses: [1_000], answered: [] });
    pauses[0]!.end();
    const res = await limited;
    // The test clock stood still: the minute has 60 s left, less the pause the client has waited.
    expect([res.status, res.headers['retry-after']]).toEqual([429, '59']);
  });

  test('an agent holding 100 paused 429s gets the next at once, closing its connection, so that more connections or pipelined requests cannot make held answers grow', async () => {
    const pauses: Array<() => void> = [];
    await start({ AGENT_REQUESTS_PER_MINUTE: '1' }, { sleep: () => new Promise((end) => pauses.push(end)) });
    const name = await aRoom();
    const looping = gw.genesys.agent('flooding-agent');
    const server = http.createServer(gw.gateway.app).listen(0, '127.0.0.1');
    try {
      // Keep-alive asked for explicitly (superagent asks to close), so that only the gateway's choice closes.
      const get = () => request(server).get(`/public/room/${name}`).set('x-auth-token', looping).set('Connection', 'keep-alive');
      const within = await get();
      expect([within.status, within.headers.connection]).toEqual([200, 'keep-alive']);
      const heldBack = Array.from({ length: 100 }, () => get().then((res) => res.status));
      await waitUntil(() => pauses.length === 100, '100 paused answers');
      const over = await get();
      expect([over.status, over.headers.connection, over.headers['retry-after']]).toEqual([429, 'close', '60']);
      expect(pauses).toHaveLength(100);
      for (const end of pauses) end();
      expect(new Set(await Promise.all(heldBack))).toEqual(new Set([429]));
      // Places free up as the pauses end: the agent's next refusal is paused again.
      const again = get().then((res) => res.status);
      await waitUntil(() => pauses.length === 101, 'a paused answer once places are free');
      pauses[100]!();
      expect(await again).toBe(429);
    } finally {
      await new Promise((closed) => server.close(closed));
    }
  });

  test('held answers are bounded per agent and in all, and each place is given back', () => {
    const held = new HeldAnswers(2, 3);
    expect([held.take('a'), held.take('a'), held.take('a')]).toEqual([true, true, false]);
    expect([held.take('b'), held.take('c')]).toEqual([true, false]);
    held.release('a');
    expect([held.take('c'), held.take('a')]).toEqual([true, false]);
    held.release('b');
    held.release('c');
    expect([held.take('a'), held.take('b'), held.take('b')]).toEqual([true, true, false]);
  });

  test("the limit is the Genesys user's, whichever of its tokens it sends", async () => {
    await start({ AGENT_REQUESTS_PER_MINUTE: '2' });
    const name = await aRoom();
    const user = { kind: 'user', id: 'user-two-tokens', division: ALLOWED_DIVISION, organization: ORGANIZATION } as const;
    const [first, second] = [gw.genesys.behave('first-token', user), gw.genesys.behave('second-token', user)];
    expect((await lookup(name, first)).status).toBe(200);
    expect((await lookup(name, second)).status).toBe(200);
    expect((await lookup(name, first)).status).toBe(429);
  });
});

describe('CORS', () => {
  test('a preflight from the widget origin is answered without authentication and allows x-auth-token', async () => {
    await start();
    const res = await gw.http
      .options('/public/room/Room1')
      .set('Origin', WIDGET_ORIGIN)
      .set('Access-Control-Request-Method', 'GET')
      .set('Access-Control-Request-Headers', 'x-auth-token');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(WIDGET_ORIGIN);
    expect(res.headers['access-control-allow-headers']).toMatch(/x-auth-token/);
    expect(res.headers['access-control-allow-methods']).toBe('GET');
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(res.headers.vary).toMatch(/Origin/);
    expect(gw.genesys.calls).toBe(0);
  });

  test('the actual request from the widget origin carries the CORS headers', async () => {
    await start();
    const res = await lookup(await aRoom(), gw.genesys.agent('agent-cors')).set('Origin', WIDGET_ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(WIDGET_ORIGIN);
  });

  test('other origins get no CORS headers, on the preflight or the request', async () => {
    await start();
    const preflight = await gw.http.options('/public/room/Room1').set('Origin', 'https://evil.example.com').set('Access-Control-Request-Method', 'GET');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-headers']).toBeUndefined();
    const res = await lookup(await aRoom(), gw.genesys.agent('agent-evil')).set('Origin', 'https://evil.example.com');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('private routes carry no CORS headers at all', async () => {
    await start();
    const res = await gw.http.get('/rooms').set(gw.bearer()).set('Origin', WIDGET_ORIGIN);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
