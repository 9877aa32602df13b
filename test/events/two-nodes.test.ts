import { basicAuth, SINK_PASSWORD, SINK_USER, useGatewayPerTest, type TestGateway } from '../support/gateway.js';

/**
 * Two conferencing nodes number their events independently: the same `seq`
 * and the same time from two nodes are two events (docs/contract.md §4; issue 36). Each
 * test checks the effect on the deletion queue, not only the records kept
 * for de-duplication: an event mistaken for another node's duplicate is lost.
 */
const shared = useGatewayPerTest();
let gw: TestGateway;
const sink = (body: unknown) => gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).send(body as object);
const queued = async () => (await gw.store.query<{ room_name: string }>('SELECT room_name FROM deletion_queue ORDER BY room_name')).rows.map((row) => row.room_name);
const single = (node: string, seq: number, time: number, event: string, name: string) => ({ node, seq, version: 2, time, event, data: { name } });
/** An eventsink_bulk envelope whose inner events (node, seq, event, room) take its time. */
const bulkOf = (seq: number, time: number, events: [node: string, seq: number, event: string, name: string][]) => ({
  node: '10.0.0.1',
  seq,
  version: 2,
  time,
  event: 'eventsink_bulk',
  data: events.map(([node, innerSeq, event, name]) => ({ node, seq: innerSeq, event, data: { name } })),
});

beforeEach(async () => {
  gw = await shared.start();
});

test('single events of two nodes with one seq and one time, arriving together, are both applied', async () => {
  const time = gw.clock.now() / 1000;
  const answers = await Promise.all([sink(single('10.0.0.1', 5, time, 'conference_ended', 'RoomA')), sink(single('10.0.0.2', 5, time, 'conference_ended', 'RoomB'))]);
  expect(answers.map((res) => [res.status, res.body.accepted])).toEqual([[200, 1], [200, 1]]);
  expect(await queued()).toEqual(['RoomA', 'RoomB']);
});

test('in one bulk envelope, inner events of two nodes with one seq taking the envelope time are both applied, and a redelivery is a duplicate', async () => {
  const bulk = bulkOf(40, gw.clock.now() / 1000, [
    ['10.0.0.1', 9, 'conference_ended', 'RoomC'],
    ['10.0.0.2', 9, 'conference_ended', 'RoomD'],
  ]);
  const first = await sink(bulk);
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ accepted: 2, duplicates: 0 });
  expect(await queued()).toEqual(['RoomC', 'RoomD']);
  const again = await sink(bulk);
  expect(again.body).toMatchObject({ accepted: 0, duplicates: 2 });
});

test("a start from one node cancels the deletion queued by another node's end with the same seq and time", async () => {
  const time = gw.clock.now() / 1000;
  await sink(single('10.0.0.1', 11, time, 'conference_ended', 'RoomE'));
  expect(await queued()).toEqual(['RoomE']);
  const bulk = bulkOf(12, time, [['10.0.0.2', 11, 'conference_started', 'RoomE']]);
  expect((await sink(bulk)).body).toMatchObject({ accepted: 1, duplicates: 0 });
  expect(await queued()).toEqual([]);
});

test("in one bulk envelope, a start from one node cancels the deletion another node's end with the same seq queued just before", async () => {
  const bulk = bulkOf(50, gw.clock.now() / 1000, [
    ['10.0.0.1', 13, 'conference_ended', 'RoomF'],
    ['10.0.0.2', 13, 'conference_started', 'RoomF'],
  ]);
  expect((await sink(bulk)).body).toMatchObject({ accepted: 2, duplicates: 0 });
  expect(await queued()).toEqual([]);
});
