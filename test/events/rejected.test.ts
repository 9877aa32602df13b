import { EventSink } from '../../src/events/sink.js';
import { createLogger } from '../../src/logger.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { basicAuth, resetStore, SINK_PASSWORD, SINK_USER, startTestGateway, type TestGateway } from '../support/gateway.js';
import { logLines, waitForRequestLines } from '../support/log-lines.js';

/**
 * Issue 32, finding 8: Pexip resends an event it got no 2xx for before the
 * later events of its node, so every authenticated body that is JSON is
 * acknowledged; what cannot be processed is kept (bounded, without PINs),
 * counted and logged.
 */
let gw: TestGateway;
const { lines, stream } = logLines();

beforeAll(async () => {
  gw = await startTestGateway({ logger: createLogger('info', stream), env: { EVENT_SINK_BODY_LIMIT_BYTES: String(64 * 1024) } });
});
afterAll(async () => {
  await gw.close();
});
beforeEach(async () => {
  await resetStore(gw.store);
  lines.length = 0;
});

const NODE = '10.44.99.7';
let seq = 0;
const event = (data: Record<string, unknown>, overrides: Record<string, unknown> = {}) => {
  seq += 1;
  return { node: NODE, seq, version: 2, time: gw.clock.now() / 1000, event: 'conference_ended', data, ...overrides };
};
/** The bytes as they are (superagent would write a Buffer out as JSON). */
const post = (body: string | Buffer, type = 'application/json') =>
  gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).set('Content-Type', type).serialize((bytes: string | Buffer) => bytes as string).send(body);
const sink = (body: unknown) => post(JSON.stringify(body));

interface Kept {
  node: string | null;
  reason: string;
  detail: string;
  event: unknown;
}
const kept = async () => (await gw.store.query<Kept>('SELECT node, reason, detail, event FROM event_rejected ORDER BY id')).rows;
const keptCount = async () => (await gw.store.query<{ n: number }>('SELECT count(*)::int AS n FROM event_rejected')).rows[0]?.n ?? 0;
const queued = async (name: string) => (await gw.store.query('SELECT 1 FROM deletion_queue WHERE room_name = $1', [name])).rows.length === 1;
const rejectedMetric = async (reason: string) => {
  const match = new RegExp(`^maxconf_events_rejected_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(await gw.gateway.metrics.registry.metrics());
  return Number(match?.[1] ?? 0);
};

test('a single event that cannot be processed gets 200 naming why, is kept without its PINs, counted and logged, and the next event of its node is processed', async () => {
  const before = await rejectedMetric('invalid_event');
  const bad = event({
    name: '',
    pin: '918273',
    guest_pin: '564738',
    Host_PIN: '102938',
    service: { pinless: 'yes', credentials: { password: 'hunter2-secret' }, tag: 'kept' },
    participants: [{ display_name: 'Zoë', pin: '847362' }],
  });
  const res = await sink(bad);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ status: 'ok', accepted: 0, duplicates: 0, rejected: 1, rejections: [{ errors: [{ in: 'body', field: 'data.name', message: 'must not be empty' }] }] });
  expectToMatchSpec(res);

  expect(await kept()).toEqual([
    {
      node: NODE,
      reason: 'invalid_event',
      detail: 'data.name: must not be empty',
      event: { ...bad, data: { name: '', service: { credentials: {}, tag: 'kept' }, participants: [{ display_name: 'Zoë' }] } },
    },
  ]);
  expect(await rejectedMetric('invalid_event')).toBe(before + 1);
  const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.rejected === 1);
  expect(warning).toMatchObject({ level: 40, rejections: [{ reason: 'invalid_event', fields: ['data.name'] }] });
  await waitForRequestLines(lines, [res]);
  for (const secret of ['918273', '564738', '102938', '847362', 'hunter2']) expect(lines.join('\n')).not.toContain(secret);

  const next = await sink(event({ name: 'NextRoom' }));
  expect(next.body).toEqual({ status: 'ok', accepted: 1, duplicates: 0, rejected: 0 });
  expect(await queued('NextRoom')).toBe(true);
});

test('a rejected event leaves no de-duplication record: the corrected event with the same node, seq and time is processed', async () => {
  const bad = event({ name: 42 });
  expect((await sink(bad)).body).toMatchObject({ accepted: 0, rejected: 1 });
  const corrected = { ...bad, data: { name: 'Corrected' } };
  expect((await sink(corrected)).body).toEqual({ status: 'ok', accepted: 1, duplicates: 0, rejected: 0 });
  expect(await queued('Corrected')).toBe(true);
});

test.each([
  ['invalid_event', () => JSON.stringify(event({ name: 'Seq' }, { seq: -1 }))],
  ['repeated_key', () => JSON.stringify(event({ name: 'Last' })).replace('"data":{', '"data":{"name":"First",')],
  ['invalid_envelope', () => JSON.stringify({ event: 'eventsink_bulk', node: NODE, version: 3, data: [event({ name: 'InBadEnvelope' })] })],
])('%s: acknowledged, counted by that reason and kept', async (reason, body) => {
  const before = await rejectedMetric(reason);
  const res = await post(body());
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ accepted: 0, rejected: 1 });
  expectToMatchSpec(res);
  expect(await rejectedMetric(reason)).toBe(before + 1);
  expect(await kept()).toEqual([expect.objectContaining({ node: NODE, reason })]);
  expect(await queued('Last')).toBe(false);
  expect(await queued('InBadEnvelope')).toBe(false);
});

test('inside a bulk envelope: each rejected event is kept with its node (else the envelope\'s), the first 100 of a request at most', async () => {
  const invalid = (i: number) => ({ node: `10.0.${i}.1`, seq: -1, event: 'participant_updated', data: {} });
  const res = await sink({ event: 'eventsink_bulk', node: '127.0.0.9', data: [{ seq: -1, event: 'x', data: {} }, ...Array.from({ length: 149 }, (_, i) => invalid(i)), event({ name: 'GoodInBulk' })] });
  expect(res.body).toMatchObject({ accepted: 1, rejected: 150 });
  const rows = await kept();
  expect(rows).toHaveLength(100);
  expect(rows.slice(0, 2).map((row) => row.node)).toEqual(['127.0.0.9', '10.0.0.1']);
  expect(rows[1]).toMatchObject({ reason: 'invalid_event', detail: 'data.1.seq: seq must not be negative' });
  expect(await queued('GoodInBulk')).toBe(true);
});

test.each([
  ['no body', 400, () => gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD))],
  ['not valid JSON', 400, () => post('{"node": "10.0.0.1", "seq": ')],
  ['not UTF-8', 400, () => post(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))],
  ['another content type', 415, () => post(JSON.stringify(event({ name: 'x' })), 'text/plain')],
  ['a content coding', 415, () => post(JSON.stringify(event({ name: 'x' }))).set('Content-Encoding', 'gzip')],
  ['larger than EVENT_SINK_BODY_LIMIT_BYTES', 413, () => post(JSON.stringify(event({ name: 'x', padding: 'p'.repeat(64 * 1024) })))],
  ['without credentials', 401, () => gw.http.post('/public/event_sink').set('Content-Type', 'application/json').send(JSON.stringify(event({ name: '' })))],
])('a body that is not JSON, or a caller who is not Pexip, keeps its 4xx: %s → %i, nothing kept', async (_name, status, send) => {
  const res = await send();
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expectToMatchSpec(res);
  expect(await keptCount()).toBe(0);
});

test('a kept copy is bounded and storable whatever the event holds', async () => {
  let deep: unknown = 'bottom';
  for (let i = 0; i < 1000; i += 1) deep = [deep];
  const wide = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i]));
  const res = await sink(event({ 'bad\u0000key': 1, ['__proto__']: { own: true }, name: 'x\u0000y', deep, wide, long: 'L'.repeat(30_000) }, { node: 'n\ud800' }));
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ rejected: 1 });
  const { rows } = await gw.store.query<{ node: string; text: string }>('SELECT node, event::text AS text FROM event_rejected');
  expect(rows).toHaveLength(1);
  const copy = rows[0]!;
  expect(copy.node).toBe('n\ufffd');
  expect(copy.text.length).toBeLessThan(16_384);
  expect(copy.text).toContain('"bad\ufffdkey": 1');
  expect(copy.text).toContain('"__proto__": {"own": true}');
  expect(copy.text).toContain('x\ufffdy');
  expect(copy.text).toContain('…');
  expect(copy.text).not.toContain('bottom');
});

test('the kept events are bounded: the sink\'s prune loop keeps the newest 1,000', async () => {
  for (let request = 0; request < 11; request += 1) {
    const data = Array.from({ length: 100 }, (_, i) => ({ node: `r${request}-${i}`, seq: -1, event: 'x', data: {} }));
    expect((await sink({ event: 'eventsink_bulk', data })).body).toMatchObject({ rejected: 100 });
  }
  expect(await keptCount()).toBe(1100);
  const pruning = new EventSink({ store: gw.store, queue: gw.gateway.deletionQueue, rejectedEvents: gw.gateway.rejectedEvents, clock: gw.clock, logger: createLogger('silent'), dedupRetentionMs: 3_600_000, pruneIntervalMs: 20 });
  pruning.start();
  try {
    for (let i = 0; i < 200 && (await keptCount()) > 1000; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    await pruning.stop();
  }
  const nodes = (await kept()).map((row) => row.node);
  expect(nodes).toHaveLength(1000);
  expect(nodes[0]).toBe('r1-0');
  expect(nodes.at(-1)).toBe('r10-99');
});
