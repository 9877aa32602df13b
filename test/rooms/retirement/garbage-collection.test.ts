import { EventSink } from '../../../src/events/sink.js';
import { createLogger } from '../../../src/logger.js';
import type { Conference } from '../../../src/rooms/conference.js';
import { EmbeddedRoomProvider } from '../../../src/rooms/providers/embedded.js';
import type { RoomProvider } from '../../../src/rooms/providers/provider.js';
import { type GarbageCollectionOptions, GarbageCollector } from '../../../src/rooms/retirement/garbage-collection.js';
import { RoomRetirement } from '../../../src/rooms/retirement/retirement.js';
import { basicAuth, SINK_PASSWORD, SINK_USER, useGatewayPerTest, type TestGateway } from '../../support/gateway.js';

const GRACE_MS = 600_000;
const shared = useGatewayPerTest({ POOL_TARGET_SIZE: '0' });
let gw: TestGateway;
const start = async (env: Record<string, string> = {}) => (gw = await shared.start(env));

let seq = 0;
async function endConference(name: string, nowMs = gw.clock.now()): Promise<void> {
  seq += 1;
  const res = await gw.http
    .post('/public/event_sink')
    .set(basicAuth(SINK_USER, SINK_PASSWORD))
    .send({ node: '10.0.0.1', seq, version: 2, time: nowMs / 1000, event: 'conference_ended', data: { name } });
  expect(res.status).toBe(200);
}
async function room(name?: string): Promise<Conference> {
  if (name === undefined) {
    const res = await gw.http.post('/room/create?uuiData=0102').set(gw.bearer());
    return (await gw.gateway.provider.findByName(res.body.name as string)) as Conference;
  }
  return gw.gateway.provider.create({ name, pin: '1234', guestPin: '5678', tag: '', aliases: [name], automaticParticipant: undefined });
}
const exists = async (name: string) => (await gw.gateway.provider.findByName(name)) !== undefined;
const depth = async () => (await gw.gateway.deletionQueue.stats()).depth;

function collector({ provider = gw.gateway.provider, ...overrides }: Partial<GarbageCollectionOptions> & { provider?: RoomProvider } = {}): GarbageCollector {
  const { pool, ledger, deletionQueue: queue, roomCache: cache } = gw.gateway;
  return new GarbageCollector({
    queue,
    ledger,
    provider,
    clock: gw.clock,
    retirement: new RoomRetirement({ store: shared.store, provider, pool, ledger, cache, queue }),
    logger: createLogger('silent'),
    persistentPrefixes: ['test_', 'vkiosk_'],
    graceMs: GRACE_MS,
    batchSize: 50,
    intervalMs: 60_000,
    leaseMs: 5 * 60_000,
    unusedTtlMs: 4 * 3_600_000,
    ...overrides,
  });
}

test('a room is deleted once its conference ended at least the grace period ago, not before', async () => {
  await start();
  const { name } = await room();
  await endConference(name);
  gw.clock.advance(GRACE_MS - 1);
  expect(await gw.gateway.garbageCollector.runOnce()).toEqual({ unusedQueued: 0, lostEndsQueued: 0, deleted: 0, alreadyGone: 0, persistentKept: 0, notOurs: 0, inUseKept: 0, failed: 0 });
  expect(await exists(name)).toBe(true);
  gw.clock.advance(1);
  expect(await gw.gateway.garbageCollector.runOnce()).toEqual({ unusedQueued: 0, lostEndsQueued: 0, deleted: 1, alreadyGone: 0, persistentKept: 0, notOurs: 0, inUseKept: 0, failed: 0 });
  expect(await exists(name)).toBe(false);
  expect(await depth()).toBe(0);
  expect((await gw.http.get(`/room/${name}`).set(gw.bearer())).status).toBe(404);
});

test('the grace period is configurable', async () => {
  await start({ GC_GRACE_SECONDS: '60' });
  const { name } = await room();
  await endConference(name);
  gw.clock.advance(60_000);
  expect((await gw.gateway.garbageCollector.runOnce()).deleted).toBe(1);
});

test('persistent rooms are never deleted; their entry is dropped', async () => {
  await start();
  await room('test_kiosk');
  await room('vkiosk_lobby');
  await endConference('test_kiosk');
  await endConference('vkiosk_lobby');
  gw.clock.advance(GRACE_MS);
  expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 0, persistentKept: 2 });
  expect(await exists('test_kiosk')).toBe(true);
  expect(await exists('vkiosk_lobby')).toBe(true);
  expect(await depth()).toBe(0);
});

test('a room that no longer exists drops its entry ("already gone" counts as done)', async () => {
  await start();
  const deletedByHand = await room();
  await gw.gateway.provider.delete(deletedByHand.id);
  await endConference(deletedByHand.name);
  gw.clock.advance(GRACE_MS);
  expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 0, alreadyGone: 1 });
  expect(await depth()).toBe(0);
});

test('a room deleted between lookup and delete counts as done, not as a failure', async () => {
  await start();
  const { name } = await room();
  await endConference(name);
  gw.clock.advance(GRACE_MS);
  /** Someone else deletes the room just before we do. */
  class RacedProvider extends EmbeddedRoomProvider {
    override async delete(id: number): Promise<'deleted' | 'gone'> {
      await super.delete(id);
      return super.delete(id);
    }
  }
  expect(await collector({ provider: new RacedProvider(shared.store, gw.clock) }).runOnce()).toMatchObject({ alreadyGone: 1, failed: 0 });
  expect(await depth()).toBe(0);
});

test('entries are processed in bounded batches', async () => {
  await start();
  for (let i = 0; i < 5; i += 1) await endConference(`Batch${i}`);
  gw.clock.advance(GRACE_MS);
  const gc = collector({ batchSize: 2, maxBatches: 2 });
  expect((await gc.runOnce()).notOurs).toBe(4);
  expect(await depth()).toBe(1);
  expect((await gc.runOnce()).notOurs).toBe(1);
});

test('a deletion that fails keeps its entry for a later run', async () => {
  await start();
  const { name } = await room();
  await endConference(name);
  gw.clock.advance(GRACE_MS);
  class FailingProvider extends EmbeddedRoomProvider {
    override delete(): Promise<'deleted' | 'gone'> {
      return Promise.reject(new Error('Pexip unavailable'));
    }
  }
  expect(await collector({ provider: new FailingProvider(shared.store, gw.clock) }).runOnce()).toMatchObject({ failed: 1 });
  expect(await depth()).toBe(1);
  const { rows } = await shared.store.query<{ attempts: number; last_error: string }>('SELECT attempts, last_error FROM deletion_queue');
  expect(rows[0]).toEqual({ attempts: 1, last_error: 'Pexip unavailable' });
  expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 1 });
  expect(await exists(name)).toBe(false);
});

test('a run that died mid-batch loses no entry: its entries are retried after their lease', async () => {
  await start();
  const rooms = [await room(), await room(), await room()];
  for (const r of rooms) await endConference(r.name);
  gw.clock.advance(GRACE_MS);
  const taken = await gw.gateway.deletionQueue.claimDue(GRACE_MS, 2, 5 * 60_000);
  expect(taken).toHaveLength(2);
  expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 1 });
  expect(await depth()).toBe(2);
  gw.clock.advance(5 * 60_000);
  expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 2 });
  for (const r of rooms) expect(await exists(r.name)).toBe(false);
});

test('two runs at once never process one entry twice', async () => {
  await start();
  const names: string[] = [];
  for (let i = 0; i < 30; i += 1) names.push((await room()).name);
  for (const name of names) await endConference(name);
  gw.clock.advance(GRACE_MS);
  const reports = await Promise.all([collector({ batchSize: 4 }).runOnce(), collector({ batchSize: 4 }).runOnce(), collector({ batchSize: 7 }).runOnce()]);
  expect(reports.reduce((sum, r) => sum + r.deleted, 0)).toBe(30);
  expect(reports.reduce((sum, r) => sum + r.alreadyGone + r.failed, 0)).toBe(0);
  expect(await depth()).toBe(0);
});

test('a deleted room also leaves the pool', async () => {
  await start({ POOL_TARGET_SIZE: '1' });
  await gw.gateway.pool.refill();
  const pooled = (await gw.http.get('/rooms').set(gw.bearer())).body[0].name as string;
  await endConference(pooled);
  gw.clock.advance(GRACE_MS);
  await gw.gateway.garbageCollector.runOnce();
  expect((await gw.gateway.pool.counts()).ready).toBe(0);
});

test('the collector runs by itself every interval', async () => {
  await start();
  await endConference('Scheduled');
  gw.clock.advance(GRACE_MS);
  const gc = collector({ intervalMs: 20 });
  gc.start();
  try {
    for (let i = 0; i < 200 && (await depth()) > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await depth()).toBe(0);
  } finally {
    await gc.stop();
  }
});
