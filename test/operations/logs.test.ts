import { once } from 'node:events';
import http, { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import { createLogger } from '../../src/logger.js';
import { basicAuth, SINK_PASSWORD, SINK_USER, startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitUntil } from '../support/process.js';
import { logLines, waitForRequestLines } from '../support/log-lines.js';

let gw: TestGateway;
const { lines, stream: capture } = logLines();

beforeAll(async () => {
  gw = await startTestGateway({ logger: createLogger('debug', capture), env: { POOL_TARGET_SIZE: '1' } });
});
afterAll(async () => {
  await gw.close();
});

test('requests carrying a token, a PIN and a password leave none of them in the logs', async () => {
  const token = gw.token();
  const agentToken = gw.genesys.agent('genesys-secret-agent-token-123');
  const created = await gw.http.post('/room/create?uuiData=3132').set('Authorization', `Bearer ${token}`);
  const name = created.body.name as string;
  const full = await gw.http.get(`/room/${name}`).set('Authorization', `Bearer ${token}`);
  const pin = full.body.pin as string;
  const responses = [
    created,
    full,
    await gw.http.patch(`/room/${name}`).set('Authorization', `Bearer ${token}`).send({ pin: '97531246', guest_pin: '86420135' }),
    await gw.http.get(`/public/room/${name}`).set('x-auth-token', agentToken),
    await gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).send({ node: 'n', seq: 1, version: 2, time: 1, event: 'conference_started', data: { name } }),
    await gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, 'wrong-password-for-log-test')).send({}),
    await gw.http.get(`/rooms?access_token=${token}`),
  ];
  createLogger('info', capture).info({ request: { headers: { authorization: `Bearer ${token}` }, body: { nested: { pin, password: SINK_PASSWORD } } } }, 'a careless log line');
  createLogger('info', capture).info({ req: rawRequest({ authorization: `Bearer ${token}`, 'x-auth-token': agentToken }, `/public/room/${name}?pin=${pin}`) }, 'a raw request logged');
  await waitForRequestLines(lines, responses);

  const text = lines.join('\n');
  expect(lines.length).toBeGreaterThan(6);
  for (const secret of [token, token.split('.')[2] as string, agentToken, pin, '97531246', '86420135', SINK_PASSWORD, 'wrong-password-for-log-test', Buffer.from(`${SINK_USER}:${SINK_PASSWORD}`).toString('base64')]) {
    expect(text).not.toContain(secret);
  }
  expect(text).toContain('[redacted]');
  expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.msg === 'a raw request logged')?.req).toEqual({ method: 'GET', path: `/public/room/${name}` });
});

/** A request as Node's HTTP server makes it, with these headers. */
function rawRequest(headers: Record<string, string>, url: string): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  Object.assign(req, { method: 'GET', url, headers });
  return req;
}

test('each request line has the request id, method, route template, status, latency and the caller identity', async () => {
  lines.length = 0;
  const res = await gw.http.get('/room/NoSuchRoom').set(gw.bearer()).set('x-request-id', 'trace-abc-123');
  await waitForRequestLines(lines, [res, await gw.http.get('/public/room/NoSuchRoom').set('x-auth-token', gw.genesys.agent('agent-for-log-line'))]);
  expect(res.status).toBe(404);
  const entries = lines.map((l) => JSON.parse(l) as Record<string, any>).filter((e) => e.req !== undefined);
  const entra = entries.find((e) => e.req.id === 'trace-abc-123');
  expect(entra).toMatchObject({
    req: { id: 'trace-abc-123', method: 'GET', path: '/room/NoSuchRoom' },
    res: { statusCode: 404 },
    route: '/room/:room_name',
    caller: { kind: 'entra-app', id: 'd802c929-6984-48f9-81d1-ff8770c65bde' },
    responseTime: expect.any(Number),
    service: 'maxconf-gateway',
  });
  const agent = entries.find((e) => e.req.path === '/public/room/NoSuchRoom');
  expect(agent).toMatchObject({ route: '/public/room/:room_name', caller: { kind: 'genesys-agent', id: expect.stringMatching(/^user-/) } });
});

test('query strings are not logged (they may carry the citizen\'s data), and probes are not logged at info', async () => {
  lines.length = 0;
  const created = await gw.http.post('/room/create?uuiData=deadbeefcafe').set(gw.bearer());
  const probe = await gw.http.get('/public/health');
  expect([created.status, probe.status]).toEqual([200, 200]);
  // A request after the probe: once its line is written, the probe's would have been (lines are written in order of closing).
  await waitForRequestLines(lines, [created, await gw.http.get('/rooms').set(gw.bearer())]);
  expect(lines.join('\n')).not.toContain('deadbeefcafe');
  expect(lines.some((l) => l.includes('/public/health'))).toBe(false);
  expect(lines.some((l) => l.includes(probe.headers['x-request-id'] as string))).toBe(false);
});

test('a request whose client leaves before the response is logged and counted as aborted, with no status it never got', async () => {
  lines.length = 0;
  const agentToken = gw.genesys.behave('agent-token-genesys-never-answers', { kind: 'hang' });
  const callsBefore = gw.genesys.calls;
  const server = gw.gateway.app.listen(0, '127.0.0.1');
  try {
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const client = http.get({ port, host: '127.0.0.1', path: '/public/room/LeftEarly', headers: { 'x-auth-token': agentToken, 'x-request-id': 'client-left-early' } });
    client.on('error', () => undefined);
    await waitUntil(() => gw.genesys.calls > callsBefore, 'the gateway to ask Genesys about the agent');
    client.destroy();
    await waitUntil(() => lines.some((l) => l.includes('client-left-early')), 'the aborted request\'s log line');
  } finally {
    server.closeAllConnections();
    server.close();
  }

  const line = JSON.parse(lines.find((l) => l.includes('client-left-early')) as string) as Record<string, any>;
  expect(line).toMatchObject({ level: 40, msg: 'request aborted before the response was sent', route: '/public/room/:room_name' });
  expect(line.res).toEqual({});
  expect(await gw.gateway.metrics.registry.metrics()).toMatch(/maxconf_http_request_duration_seconds_count\{method="GET",route="\/public\/room\/:room_name",status="aborted"\} 1/);
});
