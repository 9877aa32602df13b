import fc from 'fast-check';
import { basicAuth, SINK_PASSWORD, SINK_USER, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Every field of single and bulk envelopes, good or hostile (NUL, unpaired surrogates, numbers
 * outside what `Date` or the store hold, wrong types, missing): always a 200 (issue 32: a refusal
 * would hold up the node's later events), every event acknowledged as valid is in the store, and
 * every rejected one is kept. `MAXCONF_TEST_STORE=postgres` runs it on PostgreSQL.
 */
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.close();
});

const hostileText = fc.oneof(
  fc.constantFrom('a\u0000b', '\u0000', '\ud800', 'x\udfffy', '\udc00\ud800', '', 'x'.repeat(300), 'Møte 日本語 👩‍💻'),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const hostileNumber = fc.oneof(
  fc.constantFrom(1e13, 1e300, 1e306, -9e12, -2.5e11, -1, -0, 5e-324, 0.1 + 0.2, 253_402_300_800, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2),
  fc.double(),
  fc.integer(),
);
const anyValue = fc.oneof(hostileText, hostileNumber, fc.constant(null), fc.boolean(), fc.jsonValue({ maxDepth: 1 }));
const either = <T>(good: fc.Arbitrary<T>) => fc.oneof({ arbitrary: good, weight: 3 }, { arbitrary: anyValue, weight: 1 });

const goodTime = fc.double({ min: 1_500_000_000, max: 2_000_000_000, noNaN: true });
const data = either(
  fc.record(
    {
      name: either(fc.constantFrom('meet.alice', 'Alice\'s VMR', 'Møterom 7', 'LKnPvbTcHfCAf2f4WbjnuA')),
      conference: either(fc.constantFrom('meet.alice', 'Zoë')),
      end_time: either(goodTime),
      connect_time: either(fc.constant(null)),
      uuid: anyValue,
    },
    { requiredKeys: [] },
  ),
);
const event = fc.record(
  {
    node: either(fc.constantFrom('10.44.34.14', '10.47.2.21', '2001:db8::1')),
    seq: either(fc.nat()),
    version: either(fc.constantFrom(1, 2)),
    time: either(goodTime),
    event: either(fc.constantFrom('conference_started', 'conference_ended', 'participant_connected', 'participant_updated', 'eventsink_started', 'something_new')),
    data,
  },
  { requiredKeys: [] },
);
const bulk = fc.record(
  {
    event: fc.constant('eventsink_bulk'),
    node: either(fc.constant('127.0.0.1')),
    seq: either(fc.constant(0)),
    version: either(fc.constantFrom(1, 2)),
    time: either(goodTime),
    data: fc.array(event, { maxLength: 6 }),
  },
  { requiredKeys: ['event', 'data'] },
);

type Sent = Record<string, unknown>;
interface Answer {
  accepted: number;
  duplicates: number;
  rejected: number;
  rejections?: { index?: number }[];
}

const wholeBodyRejected = (answer: Answer) => answer.rejections?.length === 1 && answer.rejections[0]?.index === undefined;
const keptCount = async () => (await gw.store.query<{ n: number }>('SELECT count(*)::int AS n FROM event_rejected')).rows[0]?.n ?? 0;

/** The events the answer acknowledged as valid, with the time the sink keys them by. */
function acknowledged(body: Sent, answer: Answer, arrivedAt: number): { node: string; seq: number; time: number }[] {
  if (wholeBodyRejected(answer)) return [];
  if (body.event !== 'eventsink_bulk') return [body as { node: string; seq: number; time: number }];
  const rejected = new Set((answer.rejections ?? []).map((r) => r.index));
  return (body.data as Sent[])
    .filter((_, i) => !rejected.has(i))
    .map((e) => ({ node: e.node as string, seq: e.seq as number, time: (e.time ?? body.time ?? arrivedAt) as number }));
}

test('every envelope, however hostile, gets a 200; every acknowledged event is stored and every rejected one kept', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(event, bulk), async (generated) => {
      const text = JSON.stringify(generated);
      const body = JSON.parse(text) as Sent;
      const keptBefore = await keptCount();
      const res = await gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).set('Content-Type', 'application/json').send(text);
      if (res.status !== 200) throw new Error(`${res.status} for ${text.slice(0, 300)}: ${res.text.slice(0, 300)}`);
      const answer = res.body as Answer;
      const count = body.event === 'eventsink_bulk' && !wholeBodyRejected(answer) ? (body.data as unknown[]).length : 1;
      expect(answer.accepted + answer.duplicates + answer.rejected).toBe(count);
      expect(answer.rejections?.length ?? 0).toBe(answer.rejected);
      expect(await keptCount()).toBe(keptBefore + answer.rejected);
      for (const e of acknowledged(body, answer, gw.clock.now() / 1000)) {
        const stored = await gw.store.query('SELECT 1 FROM event_seen WHERE node = $1 AND seq = $2 AND event_time = $3', [e.node, e.seq, e.time]);
        if (stored.rows.length !== 1) throw new Error(`acknowledged but not stored: ${JSON.stringify(e)} from ${text.slice(0, 300)}`);
      }
    }),
    { numRuns: 300 },
  );
});
