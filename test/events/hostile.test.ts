import { createLogger } from '../../src/logger.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { basicAuth, SINK_PASSWORD, SINK_USER, startTestGateway, type TestGateway } from '../support/gateway.js';
import { logLines, waitForRequestLines } from '../support/log-lines.js';

/** Values that the store or `Date` cannot hold (issue 12 item 2): rejected by validation and kept storable, never a 500. */
let gw: TestGateway;
const { lines, stream: capture } = logLines();

beforeAll(async () => {
  gw = await startTestGateway({ logger: createLogger('info', capture) });
});
afterAll(async () => {
  await gw.close();
});

let seq = 1000;
const event = (overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}) => {
  seq += 1;
  return { node: '10.44.99.2', seq, version: 2, time: gw.clock.now() / 1000, event: 'conference_ended', ...overrides, data: { name: `Room${seq}`, ...data } };
};
const postText = (text: string) =>
  gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).set('Content-Type', 'application/json').send(text);
/** JSON.stringify keeps lone surrogates as `\ud800` escapes, as a hostile client would send them. */
const post = (body: unknown) => postText(JSON.stringify(body));
const queued = async (name: string) => (await gw.store.query('SELECT 1 FROM deletion_queue WHERE room_name = $1', [name])).rows.length === 1;
/** The rejected event kept last (text the store cannot hold is kept with U+FFFD in its place). */
const lastKept = async () => (await gw.store.query<{ reason: string; node: string | null }>('SELECT reason, node FROM event_rejected ORDER BY id DESC LIMIT 1')).rows[0];

const HOSTILE: [string, (e: ReturnType<typeof event>) => unknown, string][] = [
  ['node with NUL', (e) => ({ ...e, node: '10.0.0.1\u0000x' }), 'node'],
  ['node with a lone surrogate', (e) => ({ ...e, node: 'x\ud800y' }), 'node'],
  ['event with NUL', (e) => ({ ...e, event: 'conference_ended\u0000' }), 'event'],
  ['data.name with NUL', (e) => ({ ...e, data: { name: 'Room\u0000' } }), 'data.name'],
  ['data.name with a lone surrogate', (e) => ({ ...e, data: { name: 'x\udc00' } }), 'data.name'],
  ['data.conference with NUL', (e) => ({ ...e, event: 'participant_connected', data: { conference: '\u0000' } }), 'data.conference'],
  ['time 1e13', (e) => ({ ...e, time: 1e13 }), 'time'],
  ['time 1e300', (e) => ({ ...e, time: 1e300 }), 'time'],
  ['time negative', (e) => ({ ...e, time: -1 }), 'time'],
  ['seq 1e300', (e) => ({ ...e, seq: 1e300 }), 'seq'],
  ['data.end_time 1e306', (e) => ({ ...e, data: { ...e.data, end_time: 1e306 } }), 'data.end_time'],
  ['data.end_time -9e12', (e) => ({ ...e, data: { ...e.data, end_time: -9e12 } }), 'data.end_time'],
  ['data.end_time -2.5e11', (e) => ({ ...e, data: { ...e.data, end_time: -2.5e11 } }), 'data.end_time'],
  // A field the sink reads, of another type, would be passed over: the room would never be queued or its deletion cancelled.
  ['data.name a number', (e) => ({ ...e, data: { name: 42 } }), 'data.name'],
  ['data.conference an object', (e) => ({ ...e, event: 'participant_connected', data: { conference: { name: 'Room' } } }), 'data.conference'],
  ['data.end_time text', (e) => ({ ...e, data: { ...e.data, end_time: '1747220597' } }), 'data.end_time'],
  ['data.name empty', (e) => ({ ...e, data: { name: '' } }), 'data.name'],
  ['data.name longer than a Pexip room name (251 characters)', (e) => ({ ...e, data: { name: 'r'.repeat(251) } }), 'data.name'],
];

test('a room name of 250 characters beyond the Basic Multilingual Plane (500 UTF-16 units) is queued', async () => {
  const e = event({}, { name: '\u{1F600}'.repeat(250) });
  const res = await post(e);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ accepted: 1, rejected: 0 });
  expect(await queued(e.data.name)).toBe(true);
});

test('an event the sink does not act on keeps any shape of those fields', async () => {
  const res = await post(event({ event: 'conference_updated' }, { name: { first: 'a' }, conference: 7, end_time: 'soon' }));
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ accepted: 1, rejected: 0 });
});

describe.each(HOSTILE)('%s', (_name, spoil, field) => {
  test('as a single event → 200 naming the field, the event kept', async () => {
    const bad = spoil(event()) as { node: string; data: { name?: string } };
    const res = await post(bad);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 0, rejected: 1 });
    expect(res.body.rejections[0].errors.map((e: { field: string }) => e.field)).toEqual([field]);
    expectToMatchSpec(res);
    expect(await lastKept()).toEqual({ reason: 'invalid_event', node: bad.node.replace(/[\0\p{Cs}]/gu, '\ufffd') });
  });

  test('inside a bulk envelope → the good events are stored and acknowledged, the bad one counted', async () => {
    const good = event();
    const alsoGood = event();
    const res = await post({ event: 'eventsink_bulk', node: '127.0.0.1', seq: 0, version: 2, time: gw.clock.now() / 1000, data: [good, spoil(event()), alsoGood] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 2, duplicates: 0, rejected: 1, rejections: [{ index: 1, errors: [{ field: `data.1.${field}` }] }] });
    expectToMatchSpec(res);
    expect(await queued(good.data.name)).toBe(true);
    expect(await queued(alsoGood.data.name)).toBe(true);
  });
});

test('rejected events are logged by position and field, never by value', async () => {
  lines.length = 0;
  const secret = 'Sensitive Citizen Name';
  const res = await post({ event: 'eventsink_bulk', data: [event({ node: `${secret}\u0000` }, { name: `${secret}\u0000`, end_time: 1e306, display_name: secret })] });
  expect(res.body).toMatchObject({ accepted: 0, rejected: 1 });
  const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.rejected === 1);
  expect(warning).toMatchObject({ rejections: [{ index: 0, fields: ['data.0.node', 'data.0.data.name', 'data.0.data.end_time'] }] });
  await waitForRequestLines(lines, [res]);
  expect(lines.join('\n')).not.toContain('Sensitive');
  expect(JSON.stringify(res.body)).not.toContain('Sensitive');
});

test("a bulk envelope's rejected event is described in the same words as the same event sent alone", async () => {
  const spoilt = { ...event(), node: undefined, seq: 'x', data: { name: 'n'.repeat(5) } };
  const alone = await post(spoilt);
  const bulk = await post({ event: 'eventsink_bulk', data: [spoilt] });
  const errorsOf = (res: typeof alone) => (res.body as { rejections: { errors: { field: string; message: string }[] }[] }).rejections[0]?.errors;
  const inBulk = errorsOf(bulk);
  expect(inBulk).toEqual(errorsOf(alone)?.map((e) => ({ ...e, field: `data.0.${e.field}` })));
  expect(inBulk?.map((e) => e.message)).toEqual(expect.arrayContaining(['is required']));
  expect(JSON.stringify(inBulk)).not.toMatch(/Invalid input|received/);
});

describe('a repeated key', () => {
  /** An event whose `data` names `name` twice, as text (JSON.stringify cannot write a repeat). */
  const repeating = (e: ReturnType<typeof event>) => JSON.stringify(e).replace('"data":{', '"data":{"name":"Decoy",');
  const bulk = (...items: string[]) => `{"event":"eventsink_bulk","version":2,"time":${gw.clock.now() / 1000},"data":[${items.join(',')}]}`;

  test('in one event of a bulk envelope → that event alone is refused, the others are stored', async () => {
    const good = event();
    const bad = event();
    const alsoGood = event();
    const res = await postText(bulk(JSON.stringify(good), repeating(bad), JSON.stringify(alsoGood)));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 2, duplicates: 0, rejected: 1, rejections: [{ index: 1, errors: [{ in: 'body', field: 'data.1.data.name', message: 'is given more than once in one object' }] }] });
    expectToMatchSpec(res);
    expect(await queued(good.data.name)).toBe(true);
    expect(await queued(alsoGood.data.name)).toBe(true);
    expect(await queued(bad.data.name)).toBe(false);
    expect(await queued('Decoy')).toBe(false);
  });

  test('an event that repeats keys and is invalid besides → one rejection naming both', async () => {
    const res = await postText(bulk(repeating({ ...event(), seq: -1 })));
    expect(res.body).toMatchObject({ accepted: 0, rejected: 1 });
    expect(res.body.rejections[0].errors.map((e: { field: string }) => e.field)).toEqual(['data.0.data.name', 'data.0.seq']);
  });

  test('many repeats inside one event still refuse that event only', async () => {
    const good = event();
    const nested = `"extra":[${Array.from({ length: 20_000 }, () => '{"a":1,"a":2}').join(',')}],`;
    const res = await postText(bulk(JSON.stringify(event()).replace('"data":{', `"data":{${nested}`), JSON.stringify(good)));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 1, rejected: 1, rejections: [{ index: 0, errors: [{ field: 'data.0.data.extra.0.a' }] }] });
    expect(await queued(good.data.name)).toBe(true);
  });

  test('in a single event → 200 naming the field, nothing queued, the event kept', async () => {
    const single = event();
    const res = await postText(repeating(single));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 0, rejected: 1, rejections: [{ errors: [{ in: 'body', field: 'data.name', message: 'is given more than once in one object' }] }] });
    expectToMatchSpec(res);
    expect(await queued(single.data.name)).toBe(false);
    expect(await queued('Decoy')).toBe(false);
    expect(await lastKept()).toMatchObject({ reason: 'repeated_key' });
  });

  test('a body of deep nesting and many repeats is answered, not held: the walk stays linear', async () => {
    const depth = 100_000;
    const deep = `${'['.repeat(depth)}{${'"a":0,'.repeat(depth)}"a":0}${']'.repeat(depth)}`;
    const single = event();
    const res = await postText(JSON.stringify(single).replace('"data":{', `"data":{"deep":${deep},`));
    expect(res.status).toBe(200);
    expect(res.body.rejections[0].errors[0].field).toMatch(/^data\.deep\.0\.0\./);
    expect(await lastKept()).toMatchObject({ reason: 'repeated_key' });
  }, 60_000);

  test('a body of many repeats under a long key is answered, not held: the walk stays linear', async () => {
    const repeats = `{${'"a":0,'.repeat(100_000)}"a":0}`;
    const single = event();
    const res = await postText(JSON.stringify(single).replace('{', `{"${'k'.repeat(1_000_000)}":${repeats},`));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rejected: 1 });
    expect(await lastKept()).toMatchObject({ reason: 'repeated_key' });
  }, 60_000);

  test('a bulk envelope with more events repeating keys than an envelope may hold → the whole envelope rejected, even when it repeats its own data after them', async () => {
    const good = event();
    const repeatingEvents = Array.from({ length: 10_001 }, () => '{"a":0,"a":0}').join(',');
    const res = await postText(`{"event":"eventsink_bulk","node":"10.9.9.9","data":[${repeatingEvents}],"data":[${JSON.stringify(good)}]}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 0, rejected: 1, rejections: [{ errors: [{ field: 'data.0.a' }] }] });
    expectToMatchSpec(res);
    expect(await queued(good.data.name)).toBe(false);
    expect(await lastKept()).toEqual({ reason: 'invalid_envelope', node: '10.9.9.9' });
  });

  test("in the bulk envelope's own fields → the whole envelope rejected, no event stored", async () => {
    const good = event();
    const res = await postText(bulk(JSON.stringify(good)).replace('"version":2,', '"version":2,"node":"10.8.8.8","version":1,'));
    expect(res.status).toBe(200);
    expect(res.body.rejections).toEqual([{ errors: [{ in: 'body', field: 'version', message: 'is given more than once in one object' }] }]);
    expectToMatchSpec(res);
    expect(await queued(good.data.name)).toBe(false);
    expect(await lastKept()).toEqual({ reason: 'invalid_envelope', node: '10.8.8.8' });
  });
});

test('a conference_ended that names no room is acknowledged and logged: nothing can be queued', async () => {
  lines.length = 0;
  const res = await post(event({}, { name: undefined }));
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ accepted: 1, rejected: 0 });
  const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => typeof l.msg === 'string' && l.msg.startsWith('conference_ended names no room'));
  expect(warning).toMatchObject({ level: expect.anything(), event: 'conference_ended' });
});
