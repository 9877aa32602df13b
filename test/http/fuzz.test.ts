import fc from 'fast-check';
import { basicAuth, SINK_PASSWORD, SINK_USER, startTestGateway, WIDGET_ORIGIN, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;
let validToken: string;
beforeAll(async () => {
  gw = await startTestGateway({ env: { ENTRA_BULK_ROLE: 'Rooms.Bulk', POOL_TARGET_SIZE: '1', AUTH_FAILURE_LIMIT: '100000' } });
  validToken = gw.token({ claims: { roles: ['Rooms.Bulk'] } });
  gw.genesys.agent('fuzz-agent-token');
  gw.genesys.behave('fuzz-agent-outage', { kind: 'status', status: 503 });
});
afterAll(async () => {
  await gw.gateway.bulkJobs.idle();
  await gw.close();
});

const LATIN1 = ' !"#$%&\'()*+,-./0123456789:;<=>?@AZaz[\\]^_`{|}~é\u00ff';
/** Header values: what HTTP clients can send (Latin-1). */
const headerText = fc.string({ unit: fc.constantFrom(...LATIN1.split('')), maxLength: 40 });
const printable = fc.string({ unit: fc.constantFrom(...Array.from(`${LATIN1}€💥`)), maxLength: 40 });
const segment = fc.oneof(
  fc.constantFrom('create', 'abc', 'test_x', 'vkiosk_1', '', '..', '%2e%2e', '%00', '%E0%A4%A', 'a'.repeat(101), '3f1c2b7e-2d7a-4c55-9d8e-0b6f0f5f8a11'),
  printable.map((s) => encodeURIComponent(s)),
);
const path = fc.oneof(
  fc.tuple(fc.constantFrom('/room/', '/rooms/bulk/', '/public/', '/public/room/', '/docs/', '/'), segment).map(([p, s]) => p + s),
  fc.constantFrom('/room/create', '/rooms', '/rooms/bulk', '/public/health', '/public/ready', '/public/event_sink', '/openapi.yaml', '/docs', '/metrics'),
  fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
);
const queryValue = fc.oneof(fc.constantFrom('true', 'false', '0', '-1', '501', 'abcd', '3132', 'x'.repeat(600), ''), printable.map(encodeURIComponent));
const query = fc
  .array(fc.tuple(fc.constantFrom('uuiData', 'constrained_attributes', 'name_prefix', 'limit', 'offset', 'access_token', 'x', 'uuiData[]'), queryValue), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));
const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constant('valid'),
  fc.constant(basicAuth(SINK_USER, SINK_PASSWORD).Authorization),
  fc.tuple(headerText, headerText).map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`),
  headerText.map((s) => `Basic ${s}`),
  fc.constantFrom('Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', 'Bearer a.b.c', 'Bearer a.b.c.d.e', 'bearer x', 'Bearer eyJhbGciOiJub25lIn0.e30.'),
  headerText.map((s) => `Bearer ${s}`),
  fc.tuple(fc.base64String({ maxLength: 60 }), fc.base64String({ maxLength: 200 }), fc.base64String({ maxLength: 60 })).map((p) => `Bearer ${p.join('.').replace(/=/g, '')}`),
);
const agentToken = fc.oneof(fc.constant(undefined), fc.constantFrom('fuzz-agent-token', 'fuzz-agent-outage', 'unknown', ''), headerText);
const origin = fc.constantFrom(undefined, WIDGET_ORIGIN, 'https://evil.example.com', 'null');
const envelopeBody = fc
  .record({
    node: fc.oneof(fc.ipV4(), printable),
    seq: fc.oneof(fc.nat(), fc.integer(), fc.double()),
    version: fc.constantFrom(1, 2, 3, '2'),
    time: fc.oneof(fc.double({ min: 0, max: 2e9, noNaN: true }), fc.constant(-1)),
    event: fc.constantFrom('conference_ended', 'conference_started', 'participant_connected', 'eventsink_bulk', 'whatever', ''),
    data: fc.oneof(fc.dictionary(fc.constantFrom('name', 'conference', 'end_time', 'x'), fc.jsonValue({ maxDepth: 1 })), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 })),
  }, { requiredKeys: [] })
  .map((v) => JSON.stringify(v));
const contentType = fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/json; charset=utf-16', 'application/problem+json', 'multipart/form-data', '');
const body = fc.oneof(
  fc.constant(undefined),
  envelopeBody,
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom('{"count": 3}', '{"uuiData":"3132"}', '{"pin":"1234","guest_pin":"1234"}', '{"count":', '[]', 'null', '"x"', '{"__proto__":{"x":1}}'),
  printable,
);
const method = fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD');

test('no request, however malformed, gets a 5xx (only a Genesys outage may answer 503)', async () => {
  await fc.assert(
    fc.asyncProperty(method, path, query, authorization, contentType, body, headerText, agentToken, origin, async (m, p, q, auth, type, payload, requestId, agent, from) => {
      let req = gw.http[m.toLowerCase() as 'get'](p + q).set('x-request-id', requestId);
      if (agent !== undefined) req = req.set('x-auth-token', agent);
      if (from !== undefined) req = req.set('Origin', from);
      if (auth !== undefined) req = req.set('Authorization', auth === 'valid' ? `Bearer ${validToken}` : auth);
      if (type !== undefined) req = req.set('Content-Type', type);
      const res = await (payload === undefined || m === 'GET' || m === 'HEAD' ? req : req.send(payload));
      const genesysProblem = m === 'HEAD' || res.body?.type === 'urn:maxconf:problem:genesys-unavailable';
      const upstreamOutage = res.status === 503 && agent === 'fuzz-agent-outage' && genesysProblem;
      if (res.status >= 500 && !upstreamOutage) throw new Error(`${m} ${p}${q} → ${res.status}: ${(res.text ?? '').slice(0, 300)}`);
      expect(res.headers['x-request-id']).toBeDefined();
      if (res.status >= 400 && m !== 'HEAD') expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }),
    { numRuns: 1500 },
  );
});
