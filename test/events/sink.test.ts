import { secretsEqual } from '../../src/auth/secrets.js';
import { iso } from '../../src/clock.js';
import { EventSink } from '../../src/events/sink.js';
import { createLogger } from '../../src/logger.js';
import { migrate, MIGRATIONS } from '../../src/store/schema.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { basicAuth, openTestStore, SINK_PASSWORD, SINK_USER, startTestGateway, useGatewayPerTest, type TestGateway } from '../support/gateway.js';

const shared = useGatewayPerTest();
let gw: TestGateway;
const start = async (env: Record<string, string> = {}) => (gw = await shared.start(env));
const sink = (body: unknown, auth = basicAuth(SINK_USER, SINK_PASSWORD)) => gw.http.post('/public/event_sink').set(auth).send(body as object);

let seq = 0;
function envelope(event: string, data: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  seq += 1;
  return { node: '10.44.99.2', seq, version: 2, time: gw.clock.now() / 1000, event, data, ...overrides };
}
const remembered = async () => (await shared.store.query<{ n: number }>('SELECT count(*)::int AS n FROM event_seen')).rows[0]?.n ?? 0;
const queued = async () =>
  (await shared.store.query<{ room_name: string; ended_at: Date }>('SELECT room_name, ended_at FROM deletion_queue ORDER BY room_name')).rows;

describe('Basic authentication', () => {
  test('the configured credentials (a password containing ":") → 200', async () => {
    await start();
    const res = await sink(envelope('eventsink_started', {}));
    expect(res.status).toBe(200);
    expectToMatchSpec(res);
  });

  test.each([
    ['no Authorization header', {}],
    ['wrong password', basicAuth(SINK_USER, 'wrong-password-123')],
    ['wrong user', basicAuth('someone', SINK_PASSWORD)],
    ['the password cut at its second colon (the passport-http bug)', basicAuth(SINK_USER, SINK_PASSWORD.split(':').slice(0, 2).join(':'))],
    ['only the piece after the first colon', basicAuth(SINK_USER, 'pass')],
    ['scheme without credentials', { Authorization: 'Basic' }],
    ['bad base64', { Authorization: 'Basic !!!notbase64' }],
    ['no colon', { Authorization: `Basic ${Buffer.from('pexip').toString('base64')}` }],
    ['empty user', basicAuth('', SINK_PASSWORD)],
    ['empty password', basicAuth(SINK_USER, '')],
    ['a Bearer token', { Authorization: 'Bearer abc' }],
  ])('%s → 401 with the Basic challenge', async (_name, auth) => {
    await start();
    const res = await sink(envelope('eventsink_started', {}), auth as { Authorization: string });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Basic realm="maxconf-event-sink", charset="UTF-8"');
    expectToMatchSpec(res);
  });

  test('during a rotation both the current and the next password work', async () => {
    await start({ EVENT_SINK_PASSWORD_NEXT: 'next:rotation-password' });
    expect((await sink(envelope('eventsink_started', {}))).status).toBe(200);
    expect((await sink(envelope('eventsink_started', {}), basicAuth(SINK_USER, 'next:rotation-password'))).status).toBe(200);
    expect((await sink(envelope('eventsink_started', {}), basicAuth(SINK_USER, 'older-password-x'))).status).toBe(401);
  });

  test('repeated failures from one client → 429 with Retry-After, even with the right password, until the window ends', async () => {
    await start({ AUTH_FAILURE_LIMIT: '5', AUTH_FAILURE_WINDOW_SECONDS: '30' });
    for (let i = 0; i < 5; i += 1) expect((await sink({}, basicAuth(SINK_USER, `guess-${i}-password`))).status).toBe(401);
    const limited = await sink(envelope('eventsink_started', {}));
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('30');
    expectToMatchSpec(limited);
    gw.clock.advance(30_000);
    expect((await sink(envelope('eventsink_started', {}))).status).toBe(200);
  });

  test('secrets are compared by value whatever their lengths', () => {
    expect(secretsEqual('same:value', 'same:value')).toBe(true);
    expect(secretsEqual('same:value', 'same:valuе')).toBe(false);
    expect(secretsEqual('short', 'a much longer secret value')).toBe(false);
  });
});

describe('envelopes', () => {
  test.each([1, 2])('a single version-%i envelope → 200, acknowledged', async (version) => {
    await start();
    const res = await sink(envelope('participant_updated', { uuid: 'u', conference: 'room' }, { version }));
    expect(res.body).toEqual({ status: 'ok', accepted: 1, duplicates: 0, rejected: 0 });
  });

  test('an eventsink_bulk envelope → every inner event processed', async () => {
    await start();
    const res = await sink({
      event: 'eventsink_bulk', node: '127.0.0.1', seq: 0, version: 2, time: gw.clock.now() / 1000,
      data: [envelope('conference_ended', { name: 'RoomA' }), envelope('conference_ended', { name: 'RoomB' }), envelope('participant_disconnected', { conference: 'RoomA' })],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', accepted: 3, duplicates: 0, rejected: 0 });
    expect((await queued()).map((e) => e.room_name)).toEqual(['RoomA', 'RoomB']);
  });

  test('unknown event types and unknown data fields are accepted and counted', async () => {
    await start();
    const res = await sink(envelope('participant_teleported', { brand_new_field: { nested: true } }));
    expect(res.status).toBe(200);
    expect(gw.gateway.sink.unknownEvents).toBe(1);
    expect(gw.gateway.sink.countsByType.get('unknown')).toBe(1);
    await sink(envelope('conference_updated', { name: 'x', new_v3_field: 1 }));
    expect(gw.gateway.sink.countsByType.get('conference_updated')).toBe(1);
  });

  test('a bulk batch of 2,000 events fits the body limit', async () => {
    await start();
    const data = Array.from({ length: 2000 }, (_, i) => envelope('participant_updated', { uuid: `u-${i}`, conference: 'big', display_name: 'x'.repeat(100) }));
    const res = await sink({ event: 'eventsink_bulk', node: '127.0.0.1', seq: 0, version: 2, time: 1, data });
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(2000);
  });

  test.each([
    ['no node', { seq: 1, version: 2, time: 1, event: 'x', data: {} }, 'node'],
    ['seq as a string', { node: 'n', seq: '1', version: 2, time: 1, event: 'x', data: {} }, 'seq'],
    ['negative seq', { node: 'n', seq: -1, version: 2, time: 1, event: 'x', data: {} }, 'seq'],
    ['version 3', { node: 'n', seq: 1, version: 3, time: 1, event: 'x', data: {} }, 'version'],
    ['no event', { node: 'n', seq: 1, version: 2, time: 1, data: {} }, 'event'],
    ['data a string', { node: 'n', seq: 1, version: 2, time: 1, event: 'x', data: 'hello' }, 'data'],
    ['time missing', { node: 'n', seq: 1, version: 2, event: 'x', data: {} }, 'time'],
    ['bulk data not a list', { node: '127.0.0.1', seq: 0, version: 2, time: 1, event: 'eventsink_bulk', data: {} }, 'data'],
    ['bulk time not a number', { node: '127.0.0.1', seq: 0, version: 2, time: 'now', event: 'eventsink_bulk', data: [] }, 'time'],
    ['bulk version 3', { event: 'eventsink_bulk', version: 3, data: [] }, 'version'],
    ['an array', [], '(whole)'],
    ['null', null, '(whole)'],
  ])('%s → 200, the whole body rejected naming %s, and kept', async (_name, body, field) => {
    await start();
    const res = await gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).set('Content-Type', 'application/json').send(JSON.stringify(body));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', accepted: 0, duplicates: 0, rejected: 1 });
    expect(res.body.rejections).toHaveLength(1);
    expect(res.body.rejections[0].index).toBeUndefined();
    expect(res.body.rejections[0].errors.map((e: { field: string }) => e.field)).toContain(field);
    expectToMatchSpec(res);
    const kept = (await shared.store.query<{ event: unknown; reason: string }>('SELECT event, reason FROM event_rejected')).rows;
    expect(kept).toEqual([{ event: body, reason: (body as { event?: unknown } | null)?.event === 'eventsink_bulk' ? 'invalid_envelope' : 'invalid_event' }]);
    expect(await remembered()).toBe(0);
  });

  test('malformed JSON → 400, not 5xx', async () => {
    await start();
    const res = await gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).set('Content-Type', 'application/json').send('{"node": "10.0.0.1", "seq": ');
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/not valid JSON/);
  });

  test('no body → 400', async () => {
    await start();
    expect((await gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD))).status).toBe(400);
  });
});

describe('bulk envelopes as Pexip publishes them', () => {
  const bulk = (data: unknown[], wrapper: Record<string, unknown> = { version: 2, time: 1741679796.951206 }) => ({ event: 'eventsink_bulk', node: '127.0.0.1', seq: 0, ...wrapper, data });
  const seen = async () =>
    (await shared.store.query<{ node: string; seq: string; event_time: number }>('SELECT node, seq::text AS seq, event_time FROM event_seen ORDER BY seq')).rows;

  test('inner events without version or time take the envelope\'s', async () => {
    await start();
    const res = await sink(bulk([{ event: 'conference_ended', node: '10.44.34.14', seq: 2183, data: { name: 'NoTime' } }]));
    expect(res.body).toEqual({ status: 'ok', accepted: 1, duplicates: 0, rejected: 0 });
    expectToMatchSpec(res);
    expect(await seen()).toEqual([{ node: '10.44.34.14', seq: '2183', event_time: 1741679796.951206 }]);
    expect(new Date((await queued())[0]!.ended_at).getTime()).toBe(Math.round(1741679796.951206 * 1000));
  });

  test('an envelope without version or time, around inner events that have them', async () => {
    await start();
    const res = await sink(bulk([envelope('conference_ended', { name: 'InnerTimed' }, { time: 1741679792.93 })], {}));
    expect(res.body).toEqual({ status: 'ok', accepted: 1, duplicates: 0, rejected: 0 });
    expect((await seen())[0]?.event_time).toBe(1741679792.93);
  });

  test('de-duplication holds for inner events without a time of their own: a redelivered batch is processed once', async () => {
    await start();
    const batch = bulk([
      { event: 'conference_ended', node: '10.44.34.14', seq: 1, data: { name: 'Redelivered' } },
      { event: 'participant_updated', node: '10.44.34.14', seq: 2, data: {} },
      { event: 'participant_updated', node: '10.44.34.14', seq: 2, data: {} },
    ]);
    expect((await sink(batch)).body).toEqual({ status: 'ok', accepted: 2, duplicates: 1, rejected: 0 });
    expect((await sink(batch)).body).toEqual({ status: 'ok', accepted: 0, duplicates: 3, rejected: 0 });
    expect(gw.gateway.sink.countsByType.get('conference_ended')).toBe(1);
  });

  test('with no time anywhere, an inner event is processed at the time it arrived', async () => {
    await start();
    const res = await sink(bulk([{ event: 'conference_ended', node: '10.44.34.14', seq: 9, data: { name: 'Untimed' } }], {}));
    expect(res.body).toEqual({ status: 'ok', accepted: 1, duplicates: 0, rejected: 0 });
    // Within the millisecond: the time goes through seconds as a float.
    expect(Math.abs(new Date((await queued())[0]!.ended_at).getTime() - gw.clock.now())).toBeLessThanOrEqual(1);
  });

  test('null fields, unknown fields, unknown event types and non-ASCII names are accepted', async () => {
    await start();
    const name = 'Møterom Ærø – 日本語 👩‍💻';
    const res = await sink(
      bulk([
        envelope('conference_ended', { name, end_time: null, tag: null, brand_new: { nested: [1, null] } }, { unknown_top_level: true }),
        envelope('participant_connected', { conference: 'Elsewhere', connect_time: null, display_name: 'Zoë 🎥', vendor: null }),
        envelope('participant_teleported', { whatever: null }),
        envelope('conference_ended', { name: null, conference: 'ByConference' }),
      ]),
    );
    expect(res.body).toEqual({ status: 'ok', accepted: 4, duplicates: 0, rejected: 0 });
    expect((await queued()).map((e) => e.room_name).sort()).toEqual(['ByConference', name].sort());
    expect(gw.gateway.sink.unknownEvents).toBe(1);
  });

  test('one invalid inner event does not sink the rest: the valid ones are stored and the invalid one named', async () => {
    await start();
    const res = await sink(bulk([envelope('conference_ended', { name: 'Good' }), { node: 'n', seq: 'two', event: 'x', data: {} }, envelope('conference_ended', { name: 'AlsoGood' })]));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      accepted: 2,
      duplicates: 0,
      rejected: 1,
      rejections: [{ index: 1, errors: [{ in: 'body', field: 'data.1.seq', message: expect.any(String) }] }],
    });
    expectToMatchSpec(res);
    expect((await queued()).map((e) => e.room_name)).toEqual(['AlsoGood', 'Good']);
    expect(gw.gateway.sink.countsByType.get('rejected')).toBe(1);
  });

  test('a batch of only invalid events is answered 200, so that Pexip does not resend it for ever', async () => {
    await start();
    const res = await sink(bulk(Array.from({ length: 150 }, () => ({ node: 'n', seq: -1, event: 'x', data: {} }))));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 0, duplicates: 0, rejected: 150 });
    expect(res.body.rejections).toHaveLength(100);
    expectToMatchSpec(res);
  });
});

describe('duplicates and durability', () => {
  test('the same node, seq and time is processed once', async () => {
    await start();
    const event = envelope('conference_ended', { name: 'DupRoom' });
    expect((await sink(event)).body).toEqual({ status: 'ok', accepted: 1, duplicates: 0, rejected: 0 });
    expect((await sink(event)).body).toEqual({ status: 'ok', accepted: 0, duplicates: 1, rejected: 0 });
    expect(gw.gateway.sink.countsByType.get('conference_ended')).toBe(1);
  });

  test('within one bulk a repeated event counts once, and exact times and large seqs survive the round trip', async () => {
    await start();
    const awkward = [
      envelope('participant_updated', {}, { seq: Number.MAX_SAFE_INTEGER, time: 0.1 + 0.2 }),
      envelope('participant_updated', {}, { seq: 7, time: 1732294831.1234567 }),
      envelope('participant_updated', {}, { seq: 7, time: 1732294831.123457 }),
      envelope('participant_updated', {}, { seq: 8, time: 5e-324 }),
    ];
    const bulk = { event: 'eventsink_bulk', node: '127.0.0.1', seq: 0, version: 2, time: 1, data: [...awkward, awkward[1]] };
    expect((await sink(bulk)).body).toEqual({ status: 'ok', accepted: 4, duplicates: 1, rejected: 0 });
    expect((await sink(bulk)).body).toEqual({ status: 'ok', accepted: 0, duplicates: 5, rejected: 0 });
  });

  test('seq restarting at 1 after a sink restart is not mistaken for a duplicate', async () => {
    await start();
    await sink(envelope('conference_ended', { name: 'R1' }, { seq: 1, time: 1000 }));
    const res = await sink(envelope('conference_ended', { name: 'R2' }, { seq: 1, time: 2000 }));
    expect(res.body.accepted).toBe(1);
    expect((await queued()).map((e) => e.room_name)).toEqual(['R1', 'R2']);
  });

  test('concurrent requests are committed together, each counted once, each answered after its commit', async () => {
    await start();
    const events = Array.from({ length: 60 }, (_, i) => envelope('conference_ended', { name: `Group${i}` }));
    const repeated = events[0];
    const receipts = await Promise.all([...events, repeated].map((event) => sink(event)));
    expect(receipts.every((r) => r.status === 200)).toBe(true);
    expect(receipts.reduce((sum, r) => sum + (r.body.accepted as number), 0)).toBe(60);
    expect(receipts.reduce((sum, r) => sum + (r.body.duplicates as number), 0)).toBe(1);
    expect(await queued()).toHaveLength(60);
  });

  test('the effect is stored before the 200', async () => {
    await start();
    await sink(envelope('conference_ended', { name: 'Durable' }));
    expect((await queued()).map((e) => e.room_name)).toEqual(['Durable']);
  });

  test('de-duplication records older than the retention are pruned', async () => {
    await start({ EVENT_DEDUP_RETENTION_HOURS: '1' });
    await sink(envelope('conference_ended', { name: 'Old' }));
    gw.clock.advance(3_600_001);
    await gw.gateway.sink.pruneSeen();
    expect(await remembered()).toBe(0);
  });

  test('the sink prunes by itself every interval', async () => {
    await start();
    await sink(envelope('conference_ended', { name: 'Scheduled' }));
    gw.clock.advance(3_600_001);
    const pruning = new EventSink({ store: shared.store, queue: gw.gateway.deletionQueue, rejectedEvents: gw.gateway.rejectedEvents, clock: gw.clock, logger: createLogger('silent'), dedupRetentionMs: 3_600_000, pruneIntervalMs: 20 });
    pruning.start();
    try {
      for (let i = 0; i < 200 && (await remembered()) > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await remembered()).toBe(0);
    } finally {
      await pruning.stop();
    }
  });
});

describe('the deletion queue', () => {
  test('conference_ended queues data.name, else data.conference', async () => {
    await start();
    await sink(envelope('conference_ended', { name: 'ByName', conference: 'Ignored' }));
    await sink(envelope('conference_ended', { conference: 'ByConference' }));
    expect((await queued()).map((e) => e.room_name)).toEqual(['ByConference', 'ByName']);
  });

  test('several per-node ends of one conference make one entry, timed by the last end', async () => {
    await start();
    const t = gw.clock.now() / 1000;
    await sink(envelope('conference_ended', { name: 'Multi', end_time: t - 9 }, { node: '10.0.0.1' }));
    await sink(envelope('conference_ended', { name: 'Multi', end_time: t - 4 }, { node: '10.0.0.2' }));
    await sink(envelope('conference_ended', { name: 'Multi', end_time: t - 7 }, { node: '10.0.0.3' }));
    const entries = await queued();
    expect(entries).toHaveLength(1);
    expect(new Date(entries[0]!.ended_at).getTime()).toBe(Math.round((t - 4) * 1000));
  });

  test.each([
    ['conference_started', { name: 'Back' }],
    ['participant_connected', { conference: 'Back', uuid: 'p1' }],
  ])('%s for a waiting room cancels its deletion', async (event, data) => {
    await start();
    await sink(envelope('conference_ended', { name: 'Back' }));
    gw.clock.advance(1000);
    await sink(envelope(event, data));
    expect(await queued()).toEqual([]);
  });

  test('an event older than the end that queued the room does not cancel it', async () => {
    await start();
    await sink(envelope('conference_ended', { name: 'Late' }));
    await sink(envelope('participant_connected', { conference: 'Late' }, { time: gw.clock.now() / 1000 - 60 }));
    expect((await queued()).map((e) => e.room_name)).toEqual(['Late']);
  });

  describe('a node whose clock is ahead', () => {
    /** 9999-12-31T23:59:59Z, the last time an event may carry. */
    const LAST_TIME = 253_402_300_799;
    const GRACE_MS = 600_000;
    const endedAt = async (name: string) => (await queued()).filter((e) => e.room_name === name).map((e) => new Date(e.ended_at).getTime());
    const createRoom = async () => (await gw.http.post('/room/create?uuiData=01').set(gw.bearer())).body.name as string;
    const roomExists = async (name: string) => (await gw.http.get(`/room/${name}`).set(gw.bearer())).status === 200;

    test('an end_time after the arrival queues the room at its arrival, and garbage collection deletes it a grace period later', async () => {
      await start();
      const name = await createRoom();
      const arrival = gw.clock.now();
      await sink(envelope('conference_ended', { name, end_time: LAST_TIME }));
      expect(await endedAt(name)).toEqual([arrival]);
      gw.clock.advance(GRACE_MS);
      expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 1, failed: 0 });
      expect(await roomExists(name)).toBe(false);
    });

    test('an event time after the arrival, without end_time, counts as the arrival too', async () => {
      await start();
      const arrival = gw.clock.now();
      await sink(envelope('conference_ended', { name: 'Ahead' }, { time: LAST_TIME }));
      await sink({ event: 'eventsink_bulk', time: LAST_TIME, data: [{ node: '10.0.0.5', seq: 1, event: 'conference_ended', data: { name: 'AheadInBulk' } }] });
      expect([...(await endedAt('Ahead')), ...(await endedAt('AheadInBulk'))]).toEqual([arrival, arrival]);
    });

    test('a start after such an end cancels it, and a real end after that queues the room again', async () => {
      await start();
      await sink(envelope('conference_ended', { name: 'Skewed', end_time: LAST_TIME }, { time: LAST_TIME }));
      gw.clock.advance(1000);
      await sink(envelope('conference_started', { name: 'Skewed' }));
      expect(await queued()).toEqual([]);
      gw.clock.advance(1000);
      await sink(envelope('conference_ended', { name: 'Skewed' }));
      expect(await endedAt('Skewed')).toEqual([gw.clock.now()]);
    });

    test('a later real end of a room so queued keeps it due from the first arrival', async () => {
      await start();
      const arrival = gw.clock.now();
      await sink(envelope('conference_ended', { name: 'TwoNodes', end_time: LAST_TIME }, { node: '10.0.0.1' }));
      gw.clock.advance(5000);
      await sink(envelope('conference_ended', { name: 'TwoNodes', end_time: arrival / 1000 + 2 }, { node: '10.0.0.2' }));
      expect(await endedAt('TwoNodes')).toEqual([arrival + 2000]);
    });

    test('migration 5 brings an entry an earlier release parked in the future back to when it was queued (migration 4 adopting the room), and garbage collection then deletes the room', async () => {
      // Named as the gateway names rooms (22 base64url characters), so that the ledger's migration adopts it.
      const PARKED = 'ParkedParkedParkedParw';
      const store = await openTestStore(undefined, MIGRATIONS.filter((migration) => migration.version < 4));
      const earlier = await startTestGateway({ store, start: false });
      try {
        const enqueuedAt = earlier.clock.now() - 3_600_000;
        await store.query('INSERT INTO deletion_queue (room_name, ended_at, enqueued_at) VALUES ($1, $2, $3), ($4, $5, $3)', [PARKED, iso(LAST_TIME * 1000), iso(enqueuedAt), 'EndedBefore', iso(enqueuedAt - 5000)]);
        await migrate(store);
        const rows = (await store.query<{ room_name: string; ended_at: Date }>('SELECT room_name, ended_at FROM deletion_queue ORDER BY room_name')).rows;
        expect(rows.map((row) => [row.room_name, new Date(row.ended_at).getTime()])).toEqual([['EndedBefore', enqueuedAt - 5000], [PARKED, enqueuedAt]]);
        await earlier.gateway.provider.create({ name: PARKED, pin: '1234', guestPin: '5678', tag: '', aliases: [PARKED], automaticParticipant: undefined });
        expect(await earlier.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 1, failed: 0 });
        expect(await earlier.gateway.provider.findByName(PARKED)).toBeUndefined();
      } finally {
        await earlier.close();
        await store.close();
      }
    });
  });

  test('deleting a room through the API drops its queue entry', async () => {
    await start();
    const name = (await gw.http.post('/room/create?uuiData=01').set(gw.bearer())).body.name as string;
    await sink(envelope('conference_ended', { name }));
    expect((await gw.http.delete(`/room/${name}`).set(gw.bearer())).status).toBe(204);
    expect(await queued()).toEqual([]);
  });
});
