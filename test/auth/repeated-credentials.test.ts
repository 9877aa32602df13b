import type { Response } from 'supertest';
import { expectToMatchSpec } from '../support/openapi.js';
import { basicAuth, SINK_PASSWORD, SINK_USER, useGatewayPerTest, type TestGateway } from '../support/gateway.js';

/**
 * Issue 12 item 5: Node keeps the first of two Authorization headers (and
 * joins repeated custom headers), so "valid, then garbage" used to pass.
 * Every credential header sent twice is refused with 400, whatever the order.
 * (superagent sends an array value as repeated header lines.)
 */
const gateways = useGatewayPerTest({ AUTH_FAILURE_LIMIT: '3' });
let gw: TestGateway;
beforeEach(async () => {
  gw = await gateways.start();
});

function expectRepeatedHeader(res: Response, header: RegExp): void {
  expect(res.status).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.detail).toMatch(header);
  expectToMatchSpec(res);
}

const event = { node: '10.0.0.1', seq: 1, version: 2, time: 1_700_000_000, event: 'conference_ended', data: { name: 'room-a' } };

test.each([
  ['valid, then garbage', (good: string) => [good, 'Bearer garbage']],
  ['garbage, then valid', (good: string) => ['Bearer garbage', good]],
  ['the same valid token twice', (good: string) => [good, good]],
])('Entra: two Authorization headers (%s) → 400 invalid_request', async (_name, headers) => {
  const res = await gw.http.get('/rooms').set({ Authorization: headers(gw.bearer().Authorization) });
  expectRepeatedHeader(res, /exactly one Authorization header/);
  expect(res.headers['www-authenticate']).toMatch(/error="invalid_request"/);
});

test('event sink: two Basic credentials (right, then wrong) → 400, and no event is recorded', async () => {
  const right = basicAuth(SINK_USER, SINK_PASSWORD).Authorization;
  const wrong = basicAuth(SINK_USER, 'not-the-password').Authorization;
  for (const headers of [[right, wrong], [wrong, right]]) {
    expectRepeatedHeader(await gw.http.post('/public/event_sink').set({ Authorization: headers }).send(event), /exactly one authorization header/);
  }
  expect(gw.gateway.sink.countsByType.size).toBe(0);
});

test('agent lookup: two x-auth-token headers → 400 before Genesys is asked', async () => {
  const token = gw.genesys.agent('agent-token-1');
  const res = await gw.http.get('/public/room/Room1').set({ 'x-auth-token': [token, 'other-token'] });
  expectRepeatedHeader(res, /exactly one x-auth-token header/);
  expect(gw.genesys.calls).toBe(0);
});

test('a repeated header is a malformed request, not a failed authentication: it never leads to 429', async () => {
  const twice = [gw.bearer().Authorization, 'Bearer garbage'];
  for (let i = 0; i < 5; i += 1) expect((await gw.http.get('/rooms').set({ Authorization: twice })).status).toBe(400);
  expect((await gw.http.get('/rooms').set(gw.bearer())).status).toBe(200);
});
