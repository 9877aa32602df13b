import fc from 'fast-check';
import { basicAuth, SINK_PASSWORD, SINK_USER, startTestGateway, WIDGET_ORIGIN, type TestGateway } from '../support/gateway.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { expectOurProblem } from '../support/problems.js';

let gw: TestGateway;
let validToken: string;
/** A room the room-route property changes, and so writes to the store. */
let fuzzRoom: string;
beforeAll(async () => {
  gw = await startTestGateway({ env: { ENTRA_BULK_ROLE: 'Rooms.Bulk', POOL_TARGET_SIZE: '1', AUTH_FAILURE_LIMIT: '100000' } });
  validToken = gw.token({ claims: { roles: ['Rooms.Bulk'] } });
  gw.genesys.agent('fuzz-agent-token');
  gw.genesys.behave('fuzz-agent-outage', { kind: 'status', status: 503 });
  const created = await gw.http.post('/room/create?uuiData=3132').set('Authorization', `Bearer ${validToken}`);
  expect(created.status).toBe(200);
  fuzzRoom = created.body.name;
}, 60_000);
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
      if (res.status >= 400 && m !== 'HEAD') expectOurProblem(res);
    }),
    { numRuns: 1500 },
  );
});

/** Text the store cannot hold (NUL, unpaired surrogates) or that sits at a limit, mixed with ordinary text (issue 12 item 2). */
const hostileText = fc.oneof(
  fc.constantFrom('\u0000', 'x\u0000y', '\ud800', 'x\ud800y', '\udc00x', 'x\udfff', '\ud83d\ude00', '\u2028', '\ufeff', '\uffff', '', ' ', 'a'.repeat(251), 't'.repeat(250)),
  fc.constantFrom('1234', '12345678#', 'true', '0', '3132', '1e300', '-1', '3f1c2b7e-2d7a-4c55-9d8e-0b6f0f5f8a11', 'x'.repeat(101)),
  fc.string({ unit: fc.constantFrom('a', '1', '#', '_', '-', '\u0000', '\ud800', '\udc00', '\ud83d', '\ude00', 'é', '€', ' ', '"', '\\'), maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
/** Numbers beyond what PostgreSQL's integers or `Date` hold, fractions and signed zero, beside ordinary ones. */
const hostileNumber = fc.oneof(
  fc.constantFrom(1e300, -1e300, 1e13, -9e12, -2.5e11, 1e306, 2 ** 53, -(2 ** 53), 2 ** 31, -(2 ** 31) - 1, Number.MAX_VALUE, Number.MIN_VALUE, -0, 0.5, 0, 1, 3, 500, 501, 1_000_000, 1_000_001),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const hostileValue = fc.oneof(
  { weight: 4, arbitrary: hostileText },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.oneof(fc.boolean(), fc.constant(null), fc.array(hostileText, { maxLength: 2 }), fc.dictionary(hostileText, hostileText, { maxKeys: 2 })) },
);
/** A field's value, mostly of the type the field has. */
const valueFor = (kind: 'text' | 'number' | 'boolean') =>
  fc.oneof({ weight: 3, arbitrary: kind === 'text' ? hostileText : kind === 'number' ? hostileNumber : fc.boolean() }, { weight: 1, arbitrary: hostileValue });

/** Text as a URL carries it: percent-encoded UTF-8, an unpaired surrogate as its (WTF-8) bytes. */
function percentEncode(text: string): string {
  return Array.from(text, (char) => {
    const code = char.codePointAt(0) as number;
    if (code < 0xd800 || code > 0xdfff) return encodeURIComponent(char);
    return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join('');
  }).join('');
}
const roomSegment = hostileText.filter((text) => text.length > 0).map(percentEncode);
const queryOf = (fields: Record<string, fc.Arbitrary<string>>) =>
  fc.record(Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, fc.array(value, { maxLength: 2 })]))).map((pairs) =>
    Object.entries(pairs)
      .flatMap(([name, values]) => values.map((value) => `${name}=${percentEncode(value)}`))
      .join('&'),
  );
/** A body with some of the fields and perhaps one the route does not know. */
const bodyOf = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.tuple(fc.record(fields, { requiredKeys: [] }), fc.option(fc.tuple(hostileText, hostileValue), { freq: 4 })).map(([known, extra]) => (extra === null ? known : { ...known, [extra[0]]: extra[1] }));

interface RoomRequest {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  query?: string;
  body?: unknown;
  agent?: boolean;
}

const uuiDataQuery = queryOf({ uuiData: hostileText });
const roomChanges = bodyOf({
  pin: valueFor('text'),
  guest_pin: valueFor('text'),
  tag: valueFor('text'),
  description: valueFor('text'),
  participant_limit: valueFor('number'),
  allow_guests: valueFor('boolean'),
});
/** Every room route with hostile values in each of its fields: path, query and body (DELETE only with names and prefixes that cannot reach fuzzRoom). */
const roomRequest: fc.Arbitrary<RoomRequest> = fc.oneof(
  fc.record({ method: fc.constant('post' as const), path: fc.constant('/room/create'), query: uuiDataQuery, body: fc.option(bodyOf({ uuiData: valueFor('text') })) }),
  fc.record({ method: fc.constant('get' as const), path: fc.constant('/room/create'), query: uuiDataQuery }),
  fc.record({ method: fc.constant('get' as const), path: fc.oneof(roomSegment, fc.constant('')).map((s) => `/room/${s || fuzzRoom}`), query: queryOf({ constrained_attributes: hostileText }) }),
  fc.record({ method: fc.constant('patch' as const), path: fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 1, arbitrary: roomSegment }).map((s) => `/room/${s || fuzzRoom}`), body: roomChanges }),
  fc.record({ method: fc.constant('delete' as const), path: roomSegment.filter((s) => s !== fuzzRoom).map((s) => `/room/${s}`) }),
  fc.record({ method: fc.constant('get' as const), path: fc.constant('/rooms'), query: queryOf({ constrained_attributes: hostileText, name_prefix: hostileText, limit: hostileText, offset: hostileText }) }),
  fc.record({ method: fc.constant('delete' as const), path: fc.constant('/rooms'), query: queryOf({ name_prefix: hostileText.filter((prefix) => prefix === '' || !fuzzRoom.startsWith(prefix)) }) }),
  fc.record({ method: fc.constant('post' as const), path: fc.constant('/rooms/bulk'), body: bodyOf({ count: valueFor('number').filter((n) => !(Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 500)) }) }),
  fc.record({ method: fc.constant('get' as const), path: roomSegment.map((s) => `/rooms/bulk/${s}`) }),
  fc.record({ method: fc.constant('get' as const), path: fc.oneof(roomSegment, fc.constant('')).map((s) => `/public/room/${s || fuzzRoom}`), agent: fc.constant(true) }),
);

async function sendRoomRequest({ method, path, query, body, agent }: RoomRequest) {
  let req = gw.http[method](query ? `${path}?${query}` : path);
  req = agent ? req.set('x-auth-token', 'fuzz-agent-token') : req.set('Authorization', `Bearer ${validToken}`);
  return body === undefined || body === null ? req : req.send(body as object);
}

test('every value in every field of every room route is stored as sent or refused with a 4xx in our words (no 5xx)', async () => {
  await fc.assert(
    fc.asyncProperty(roomRequest, async (request) => {
      const res = await sendRoomRequest(request);
      if (res.status >= 500) throw new Error(`${request.method.toUpperCase()} ${request.path}?${request.query ?? ''} → ${res.status}: ${(res.text ?? '').slice(0, 300)}`);
      if (res.status >= 400) expectOurProblem(res);
      expectToMatchSpec(res);
      if (request.method === 'patch' && res.status === 202) {
        const stored = await gw.http.get(`/room/${fuzzRoom}?constrained_attributes=false`).set('Authorization', `Bearer ${validToken}`);
        expect(stored.body).toMatchObject(JSON.parse(JSON.stringify(request.body)));
      }
    }),
    { numRuns: 400 },
  );
}, 300_000);
