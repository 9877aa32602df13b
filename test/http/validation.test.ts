import { basicAuth, SINK_PASSWORD, SINK_USER, startTestGateway, type TestGateway } from '../support/gateway.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { expectOurProblem } from '../support/problems.js';

let gw: TestGateway;
let room: string;
beforeAll(async () => {
  gw = await startTestGateway({ env: { ENTRA_BULK_ROLE: 'Rooms.Bulk' } });
  gw.genesys.agent('validation-agent');
  const res = await gw.http.post('/room/create?uuiData=3132').set(auth());
  expect(res.status).toBe(200);
  room = res.body.name;
}, 60_000);
afterAll(async () => {
  await gw.close();
});

const auth = () => gw.bearer({ claims: { roles: ['Rooms.Bulk'] } });
type Body = string | object | undefined;
/** A JSON body as written (a string is sent as is, to carry what JSON.stringify cannot produce). */
const send = (method: 'post' | 'patch', path: string, body: Body) => {
  const req = gw.http[method](path).set(auth());
  return body === undefined ? req : req.set('Content-Type', 'application/json').send(body as object);
};
const fieldsOf = (res: { body: { errors?: { field: string }[] } }) => (res.body.errors ?? []).map((e) => e.field);

describe('every invalid room request is a 4xx in our words, naming the field', () => {
  const patchCases: [string, Body, number, string][] = [
    ['pin of the wrong type', { pin: 1234 }, 400, 'pin'],
    ['pin too short', { pin: '12' }, 400, 'pin'],
    ['pin with NUL', { pin: '1234\u0000' }, 400, 'pin'],
    ['guest_pin equal to pin', { pin: '1234', guest_pin: '1234' }, 400, 'guest_pin'],
    ['tag with NUL', { tag: 'x\u0000y' }, 400, 'tag'],
    ['tag with an unpaired high surrogate', { tag: 'x\ud800y' }, 400, 'tag'],
    ['tag too long', { tag: 'a'.repeat(251) }, 400, 'tag'],
    ['tag as a list', { tag: ['a'] }, 400, 'tag'],
    ['description with an unpaired low surrogate', { description: '\udc00x' }, 400, 'description'],
    ['description null', { description: null }, 400, 'description'],
    ['participant_limit negative', { participant_limit: -1 }, 400, 'participant_limit'],
    ['participant_limit fractional', { participant_limit: 1.5 }, 400, 'participant_limit'],
    ['participant_limit beyond any store', { participant_limit: 1e300 }, 400, 'participant_limit'],
    ['participant_limit as text', { participant_limit: '3' }, 400, 'participant_limit'],
    ['allow_guests as text', { allow_guests: 'yes' }, 400, 'allow_guests'],
    ['no field', {}, 400, '(whole)'],
    ['a list', [], 400, '(whole)'],
    ['a string', '"x"', 400, '(whole)'],
    ['an unknown field', { tag: 'x', owner: 'me' }, 422, 'owner'],
    ['a repeated key', '{"tag":"a","tag":"b"}', 422, 'tag'],
  ];
  test.each(patchCases)('PATCH /room/{name}: %s', async (_case, body, status, field) => {
    const res = await send('patch', `/room/${room}`, body);
    expectOurProblem(res, status);
    expect(fieldsOf(res)).toContain(field);
    expectToMatchSpec(res);
  });

  const createCases: [string, string, Body, number, string][] = [
    ['uuiData with NUL in the query', '?uuiData=31%00', undefined, 400, 'uuiData'],
    ['uuiData not hex', '?uuiData=zz', undefined, 400, 'uuiData'],
    ['uuiData given twice', '?uuiData=31&uuiData=32', undefined, 400, 'uuiData'],
    ['uuiData of the wrong type in the body', '', { uuiData: 5 }, 400, 'uuiData'],
    ['uuiData with an unpaired surrogate in the body', '', { uuiData: '31\ud800' }, 400, 'uuiData'],
    ['a list as the body', '', [], 400, '(whole)'],
    ['an unknown body field', '', { uuiData: '3132', room: 'mine' }, 422, 'room'],
    ['a repeated key', '', '{"uuiData":"31","uuiData":"32"}', 422, 'uuiData'],
  ];
  test.each(createCases)('POST /room/create: %s', async (_case, query, body, status, field) => {
    const res = await send('post', `/room/create${query}`, body);
    expectOurProblem(res, status);
    expect(fieldsOf(res)).toContain(field);
    expectToMatchSpec(res);
  });

  test('a missing and an empty uuiData get the same message, in the query and in the body', async () => {
    const answers = await Promise.all([send('post', '/room/create', undefined), send('post', '/room/create?uuiData=', undefined), send('post', '/room/create', { uuiData: '' })]);
    for (const res of answers) expectOurProblem(res, 400);
    const messages = answers.map((res) => res.body.errors[0].message);
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toMatch(/^uuiData is required: the hex-encoded user-to-user data/);
  });

  test('a JSON body without uuiData and no query: the problem says both places uuiData may be given', async () => {
    const res = await send('post', '/room/create', {});
    expectOurProblem(res, 400);
    expect(res.body.errors).toEqual([{ in: 'query', field: 'uuiData', message: expect.stringContaining('give it in the URL (?uuiData=<hex>) or as the JSON body {"uuiData": "<hex>"}') }]);
    expect(res.body.detail).toContain('?uuiData=<hex>');
  });

  const bulkCases: [string, Body, number, string][] = [
    ['no count', {}, 400, 'count'],
    ['count 0', { count: 0 }, 400, 'count'],
    ['count 501', { count: 501 }, 400, 'count'],
    ['count fractional', { count: 1.5 }, 400, 'count'],
    ['count beyond any store', { count: 1e300 }, 400, 'count'],
    ['count as text', { count: '3' }, 400, 'count'],
    ['a list', [], 400, '(whole)'],
    ['an unknown field', { count: 1, priority: 'high' }, 422, 'priority'],
    ['a repeated key', '{"count":1,"count":2}', 422, 'count'],
  ];
  test.each(bulkCases)('POST /rooms/bulk: %s', async (_case, body, status, field) => {
    const res = await send('post', '/rooms/bulk', body);
    expectOurProblem(res, status);
    expect(fieldsOf(res)).toContain(field);
    expectToMatchSpec(res);
  });

  const queryAndPathCases: [string, 'get' | 'delete', () => string, string][] = [
    ['a room name with NUL', 'get', () => '/room/ab%00cd', 'room_name'],
    ['a room name too long', 'get', () => `/room/${'a'.repeat(101)}`, 'room_name'],
    ['constrained_attributes not a boolean', 'get', () => `/room/${room}?constrained_attributes=maybe`, 'constrained_attributes'],
    ['constrained_attributes with NUL', 'get', () => `/room/${room}?constrained_attributes=true%00`, 'constrained_attributes'],
    ['deleting a room name with NUL', 'delete', () => '/room/%00', 'room_name'],
    ['limit 0', 'get', () => '/rooms?limit=0', 'limit'],
    ['limit 501', 'get', () => '/rooms?limit=501', 'limit'],
    ['limit beyond any store', 'get', () => '/rooms?limit=1e300', 'limit'],
    ['offset negative', 'get', () => '/rooms?offset=-1', 'offset'],
    ['limit given twice', 'get', () => '/rooms?limit=1&limit=2', 'limit'],
    ['name_prefix with NUL', 'get', () => '/rooms?name_prefix=ab%00', 'name_prefix'],
    ['name_prefix with an encoded surrogate', 'get', () => '/rooms?name_prefix=ab%ED%A0%80', 'name_prefix'],
    ['deleting without name_prefix', 'delete', () => '/rooms', 'name_prefix'],
    ['deleting with NUL in name_prefix', 'delete', () => '/rooms?name_prefix=%00', 'name_prefix'],
    ['a bulk job id that is no UUID', 'get', () => '/rooms/bulk/42', 'job_id'],
    ['a bulk job id with NUL', 'get', () => '/rooms/bulk/3f1c2b7e-2d7a-4c55-9d8e-0b6f0f5f8a1%00', 'job_id'],
  ];
  test.each(queryAndPathCases)('%s', async (_case, method, path, field) => {
    const res = await gw.http[method](path()).set(auth());
    expectOurProblem(res, 400);
    expect(fieldsOf(res)).toContain(field);
    expectToMatchSpec(res);
  });

  test.each([['ab%00cd'], ['x'.repeat(101)], ['a%20b']])('GET /public/room/%s → 400 naming room_name', async (name) => {
    const res = await gw.http.get(`/public/room/${name}`).set('x-auth-token', 'validation-agent');
    expectOurProblem(res, 400);
    expect(fieldsOf(res)).toEqual(['room_name']);
    expectToMatchSpec(res);
  });
});

describe('what validation accepts is stored as sent', () => {
  test('text with emoji, a line separator and 250 characters is stored exactly; text with NUL leaves the room as it was', async () => {
    const changes = { tag: `😀\u2028${'t'.repeat(247)}`, description: 'Sitzung für 🎥 \ud83d\ude00', participant_limit: 1_000_000, allow_guests: false };
    expect((await send('patch', `/room/${room}`, changes)).status).toBe(202);
    expect((await send('patch', `/room/${room}`, { tag: 'poison\u0000', description: 'poison' })).status).toBe(400);
    const stored = await gw.http.get(`/room/${room}?constrained_attributes=false`).set(auth());
    expect(stored.body).toMatchObject(changes);
  });
});

describe('JSON bodies', () => {
  test('a repeated key in a nested object of an event is named (the sink acknowledges it with 200: test/events/rejected.test.ts)', async () => {
    const event = '{"node":"10.0.0.1","seq":1,"version":2,"time":1,"event":"conference_ended","data":{"name":"a","name":"b"}}';
    const res = await gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).set('Content-Type', 'application/json').send(event);
    expect(res.status).toBe(200);
    expect((res.body as { rejections: { errors: { field: string }[] }[] }).rejections[0]?.errors.map((e) => e.field)).toEqual(['data.name']);
    expectToMatchSpec(res);
  });

  test('a repeated key is named by its path: object keys and array positions', async () => {
    const bulk = '{"event":"eventsink_bulk","data":[{"node":"a","seq":1,"event":"x","data":{}},{"node":"b","seq":[1,{"k":1}],"event":"x","data":{"list":[0,{"k":1,"k":2}]}}]}';
    const res = await gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).set('Content-Type', 'application/json').send(bulk);
    // Inside a bulk envelope's event the repeat refuses that event alone (test/events/hostile.test.ts), and is named there.
    expect(res.status).toBe(200);
    expect((res.body as { rejections: { errors: { field: string }[] }[] }).rejections[0]?.errors.map((e) => e.field)).toEqual(['data.1.data.list.1.k', 'data.1.seq']);
  });

  test('the same key in different objects, or escaped differently in one, is told apart correctly', async () => {
    const ok = await send('patch', `/room/${room}`, '{"tag":"a","description":"{\\"tag\\":1,\\"tag\\":2}"}');
    expect(ok.status).toBe(202);
    const res = await send('patch', `/room/${room}`, '{"tag":"a","\\u0074ag":"b"}');
    expectOurProblem(res, 422);
    expect(fieldsOf(res)).toEqual(['tag']);
  });

  test('a charset other than UTF-8 is refused with 415', async () => {
    const res = await gw.http.patch(`/room/${room}`).set(auth()).set('Content-Type', 'application/json; charset=utf-16le').send(Buffer.from('{"tag":"x"}', 'utf16le'));
    expectOurProblem(res, 415);
  });
});
