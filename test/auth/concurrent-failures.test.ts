import type { Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { createHttpServer } from '../../src/http/server.js';
import { newIssuerKey } from '../stand-ins/entra.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { useGatewayPerTest, type TestGateway } from '../support/gateway.js';
import { waitUntil } from '../support/process.js';

/**
 * Issue 32 finding 6: the failure limiter admitted an attempt before its
 * asynchronous check and counted it only after, so attempts arriving together
 * were all checked (300 junk Genesys tokens made 300 Genesys calls). An
 * attempt now counts from its admission until it succeeds or meets an outage
 * of ours.
 */
const LIMIT = 20;
const gateways = useGatewayPerTest({ AUTH_FAILURE_LIMIT: String(LIMIT) });
let gw: TestGateway;
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** No room is named Room1: an agent the gateway accepts gets 404. */
const lookup = (token: string) => gw.http.get('/public/room/Room1').set('x-auth-token', token);

interface Answer {
  status: number;
  retryAfter: string | undefined;
}

/**
 * GETs `path` once per header, each on a connection of its own, all written at
 * once after the gateway has accepted every connection: they reach it
 * together, as a flood does (supertest's requests, and connections the server
 * has yet to accept, arrive one by one).
 */
async function atOnce(path: string, headers: string[]): Promise<Answer[]> {
  const listening = createHttpServer(gw.gateway.app, gw.config.http);
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  let accepted = 0;
  const allAccepted = new Promise<void>((resolve) => listening.on('connection', () => ++accepted === headers.length && resolve()));
  const { port } = listening.address() as AddressInfo;
  const sockets = headers.map(() => net.connect(port, '127.0.0.1'));
  const answers = sockets.map((socket) => new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk)).on('error', reject).on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  }));
  await allAccepted;
  sockets.forEach((socket, i) => socket.write(`GET ${path} HTTP/1.1\r\nHost: gateway\r\n${headers[i]}\r\nConnection: close\r\n\r\n`));
  return (await Promise.all(answers)).map((text) => ({ status: Number(text.split(' ')[1]), retryAfter: /\r\nretry-after: *(\d+)/i.exec(text)?.[1] }));
}

function statuses(answers: Answer[]): Record<number, number> {
  return answers.reduce<Record<number, number>>((counts, { status }) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {});
}

test(`300 junk x-auth-tokens at once from one address make ${LIMIT} Genesys calls (401); the rest get 429 with Retry-After`, async () => {
  gw = await gateways.start();
  const answers = await atOnce('/public/room/Room1', Array.from({ length: 300 }, (_, i) => `x-auth-token: junk-token-${i}`));
  expect(statuses(answers)).toEqual({ 401: LIMIT, 429: 300 - LIMIT });
  expect(gw.genesys.calls).toBe(LIMIT);
  expect(answers.filter((a) => a.status === 429).every((a) => Number(a.retryAfter) >= 1)).toBe(true);
  // Once those checks have failed, the client waits for its window to end.
  const limited = await lookup('junk-token-after');
  expect(limited.headers['retry-after']).toBe('60');
  expectToMatchSpec(limited);
});

test(`300 bearer tokens with bad signatures at once from one address: ${LIMIT} verified (401); the rest get 429 with Retry-After`, async () => {
  gw = await gateways.start();
  const forger = { ...newIssuerKey(), kid: gw.entra.signingKey.kid };
  const answers = await atOnce('/rooms', Array.from({ length: 300 }, () => `Authorization: Bearer ${gw.token({ key: forger })}`));
  expect(statuses(answers)).toEqual({ 401: LIMIT, 429: 300 - LIMIT });
  expect(answers.filter((a) => a.status === 429).every((a) => Number(a.retryAfter) >= 1)).toBe(true);
  const limited = await gw.http.get('/rooms').set(gw.bearer());
  expect(limited.status).toBe(429);
  expectToMatchSpec(limited);
});

test('checks under way fill the limit: one more at once gets 429 with Retry-After 1, and once they succeed the client goes on', async () => {
  gw = await gateways.start({ AUTH_FAILURE_LIMIT: '3' });
  const release = gw.genesys.hold();
  const checking = Promise.all([1, 2, 3].map((i) => lookup(gw.genesys.agent(`agent${i}-held`))));
  await waitUntil(() => gw.genesys.calls === 3, 'three Genesys calls under way');
  const excess = await lookup(gw.genesys.agent('agent4-held'));
  expect(excess.status).toBe(429);
  expect(excess.headers['retry-after']).toBe('1');
  expect(excess.body.detail).toBe('Too many authentications from this client are under way at once; retry after 1 second.');
  expectToMatchSpec(excess);
  release();
  expect((await checking).map((res) => res.status)).toEqual([404, 404, 404]);
  expect((await lookup('agent4-held')).status).toBe(404);
});

test('with checks under way filling the limit, a request repeating one of their credentials shares its check and is admitted', async () => {
  gw = await gateways.start({ AUTH_FAILURE_LIMIT: '3' });
  const release = gw.genesys.hold();
  const tokens = [1, 2, 3].map((i) => gw.genesys.agent(`agent${i}-sharing`));
  const checking = Promise.all(tokens.map((token) => lookup(token)));
  await waitUntil(() => gw.genesys.calls === 3, 'three Genesys calls under way');
  // then() sends it now (supertest sends on then), before the next request.
  const repeating = lookup(tokens[0]!).then((res) => res);
  expect((await lookup(gw.genesys.agent('agent4-sharing'))).status).toBe(429);
  release();
  expect((await repeating).status).toBe(404);
  expect((await checking).map((res) => res.status)).toEqual([404, 404, 404]);
  expect(gw.genesys.calls).toBe(3);
});

test('a success gives its count back: only the failures count towards the limit', async () => {
  gw = await gateways.start({ AUTH_FAILURE_LIMIT: '3' });
  const agent = gw.genesys.agent('agent-succeeding');
  for (let i = 0; i < 5; i += 1) expect((await lookup(agent)).status).toBe(404);
  for (let i = 0; i < 2; i += 1) expect((await lookup(`junk-token-${i}`)).status).toBe(401);
  expect((await lookup(agent)).status).toBe(404);
  expect((await lookup('junk-token-2')).status).toBe(401);
  const limited = await lookup(agent);
  expect(limited.status).toBe(429);
  expect(limited.headers['retry-after']).toBe('60');
});

test('a success leaving no failure closes the window: a later failure opens its own, and the Retry-After counts from there', async () => {
  gw = await gateways.start({ AUTH_FAILURE_LIMIT: '1' });
  expect((await lookup(gw.genesys.agent('agent-first'))).status).toBe(404);
  gw.clock.advance(30_000);
  expect((await lookup('junk-token-late')).status).toBe(401);
  const limited = await lookup('junk-token-later');
  expect(limited.status).toBe(429);
  expect(limited.headers['retry-after']).toBe('60');
});

test('an outage of ours is not held against the caller: Genesys failing gives each count back', async () => {
  gw = await gateways.start({ AUTH_FAILURE_LIMIT: '3' });
  gw.genesys.otherTokens = { kind: 'status', status: 500 };
  for (let i = 0; i < 10; i += 1) expect((await lookup(`token-${i}`)).status).toBe(503);
  expect((await lookup(gw.genesys.agent('agent-after-outage'))).status).toBe(404);
});

test(`a burst of ${LIMIT * 3} requests at once on one new valid token from one address is one check, not ${LIMIT * 3}: all succeed`, async () => {
  gw = await gateways.start();
  const token = gw.token();
  const answers = await atOnce('/rooms', Array.from({ length: LIMIT * 3 }, () => `Authorization: Bearer ${token}`));
  expect(statuses(answers)).toEqual({ 200: LIMIT * 3 });
});

test('requests repeating one bad credential at once share its check: the client is refused once its failures reach the limit', async () => {
  gw = await gateways.start({ AUTH_FAILURE_LIMIT: '3' });
  const answers = await atOnce('/public/room/Room1', Array.from({ length: 30 }, () => 'x-auth-token: one-junk-token'));
  expect(statuses(answers)).toEqual({ 401: 30 });
  expect(gw.genesys.calls).toBe(1);
  expect((await lookup(gw.genesys.agent('agent-after-junk'))).status).toBe(429);
});

test('a client refused for its failures is told so and how long to wait, down to the last second, and the refusal is counted as rate_limited', async () => {
  gw = await gateways.start({ AUTH_FAILURE_LIMIT: '1' });
  expect((await lookup('junk-token-first')).status).toBe(401);
  const limited = await lookup('junk-token-refused');
  expect([limited.status, limited.headers['retry-after']]).toEqual([429, '60']);
  expect(limited.body.detail).toBe('Too many failed authentications from this client; retry after 60 seconds.');
  expectToMatchSpec(limited);
  gw.clock.advance(59_000);
  const lastSecond = await lookup('junk-token-last-second');
  expect([lastSecond.status, lastSecond.headers['retry-after']]).toEqual([429, '1']);
  expect(lastSecond.body.detail).toBe('Too many failed authentications from this client; retry after 1 second.');
  expect(await gw.gateway.metrics.registry.metrics()).toMatch(/^maxconf_auth_failures_total\{strategy="genesys",reason="rate_limited"\} 2$/m);
});

test('a success whose window ended while it was checked leaves the window that replaced it, and the failures counted there, in place', async () => {
  gw = await gateways.start({ AUTH_FAILURE_LIMIT: '2' });
  const release = gw.genesys.hold();
  const slow = lookup(gw.genesys.agent('agent-slow')).then((res) => res);
  await waitUntil(() => gw.genesys.calls === 1, 'the agent lookup under way');
  gw.clock.advance(60_000);
  const failing = lookup('junk-token-next-window').then((res) => res);
  await waitUntil(() => gw.genesys.calls === 2, 'the junk lookup under way, in a new window');
  release();
  expect((await slow).status).toBe(404);
  expect((await failing).status).toBe(401);
  expect((await lookup('junk-token-second')).status).toBe(401);
  const limited = await lookup('junk-token-third');
  expect([limited.status, limited.headers['retry-after']]).toEqual([429, '60']);
});

test('once failures reach the limit, a request repeating a credential whose check is still under way is refused too', async () => {
  // The hanging lookup ends when the stand-in stops, at the end; a request admitted to share it would wait for this timeout and get 503.
  gw = await gateways.start({ AUTH_FAILURE_LIMIT: '2', GENESYS_TIMEOUT_MS: '15000' });
  const hangingToken = gw.genesys.behave('agent-hanging', { kind: 'hang' });
  const hanging = lookup(hangingToken).then((res) => res);
  await waitUntil(() => gw.genesys.calls === 1, 'the hanging lookup under way');
  const release = gw.genesys.hold();
  // Two requests on one junk token share its check (and its count) while it is held; each counts as a failure once it is refused.
  const repeated = [1, 2].map(() => lookup('junk-token-twice').then((res) => res));
  await waitUntil(() => gw.genesys.calls === 2, 'the junk lookup held');
  expect((await lookup('junk-token-other')).status).toBe(429);
  release();
  expect(await Promise.all(repeated.map(async (res) => (await res).status))).toEqual([401, 401]);
  const refused = await lookup(hangingToken);
  expect([refused.status, refused.headers['retry-after']]).toEqual([429, '60']);
  await gw.genesys.stop();
  expect((await hanging).status).toBe(503);
});

test('a request sharing a check under way that ends before it leaves the credential counted until the check ends', async () => {
  gw = await gateways.start({ AUTH_FAILURE_LIMIT: '2', GENESYS_TIMEOUT_MS: '15000' });
  const hangingToken = gw.genesys.behave('agent-hanging', { kind: 'hang' });
  const hanging = lookup(hangingToken).then((res) => res);
  await waitUntil(() => gw.genesys.calls === 1, 'the hanging lookup under way');
  // Genesys asks us to wait: lookups are answered 503 at once, without a call, for 30 s.
  expect((await lookup(gw.genesys.behave('token-pausing', { kind: 'status', status: 429, retryAfter: '30' }))).status).toBe(503);
  // So this request, sharing the hanging credential, ends (503) while the first one's check is still under way.
  expect((await lookup(hangingToken)).status).toBe(503);
  gw.clock.advance(30_000);
  const hangingToo = lookup(gw.genesys.behave('agent-hanging-too', { kind: 'hang' })).then((res) => res);
  await waitUntil(() => gw.genesys.calls === 3, 'the second hanging lookup under way');
  // Two credentials under check fill the limit of 2.
  const excess = await lookup(gw.genesys.agent('agent-excess'));
  expect([excess.status, excess.headers['retry-after']]).toEqual([429, '1']);
  await gw.genesys.stop();
  expect([(await hanging).status, (await hangingToo).status]).toEqual([503, 503]);
});
