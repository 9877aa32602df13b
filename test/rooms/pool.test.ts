import fs from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { BulkJobs, countBulkRoom } from '../../src/rooms/bulk-jobs.js';
import { RoomLedger } from '../../src/rooms/ledger.js';
import { RoomPool } from '../../src/rooms/pool.js';
import { EmbeddedRoomProvider } from '../../src/rooms/providers/embedded.js';
import type { Store } from '../../src/store/store.js';
import { TestClock } from '../support/clock.js';
import { openTestStore, temporaryDirectory, useSharedStore } from '../support/gateway.js';

const rooms = loadConfig({ ROOM_TAG_BASE_URL: 'https://idim.example.gov/v', POOL_TARGET_SIZE: '3', POOL_CLAIM_LEASE_SECONDS: '60' }).rooms;
const logger = createLogger('silent');
const CALLER = 'idim-app';
const shared = useSharedStore();
let clock: TestClock;
beforeEach(async () => {
  clock = new TestClock();
});

const poolOn = (s: Store, target = 3) =>
  new RoomPool({ store: s, provider: new EmbeddedRoomProvider(s, clock), ledger: new RoomLedger(s, clock), clock, logger, rooms: { ...rooms, poolTargetSize: target }, readyDelayMs: 0, onBulkRoomReady: countBulkRoom(clock) });

test('refill creates rooms up to the target and no further', async () => {
  const pool = poolOn(shared.store);
  expect(await pool.refill()).toBe(3);
  expect(await pool.refill()).toBe(0);
  expect(await pool.counts()).toEqual({ creating: 0, ready: 3, waiting: 0, claimed: 0 });
});

test('concurrent refills from two pools on one store never overshoot the target', async () => {
  const [a, b] = [poolOn(shared.store, 5), poolOn(shared.store, 5)];
  const running = a.refill();
  expect(a.refill()).toBe(running);
  const created = await Promise.all([running, b.refill()]);
  expect(created[0] + created[1]).toBe(5);
  expect((await a.counts()).ready).toBe(5);
});

test('a room claimed by a request that died is neither lost nor handed out twice', async () => {
  const pool = poolOn(shared.store, 1);
  await pool.refill();
  const dead = await pool.claim();
  expect(dead).toBeDefined();
  expect(await pool.claim()).toBeUndefined();
  clock.advance(59_999);
  expect(await pool.claim()).toBeUndefined();
  clock.advance(1);
  const rescued = await pool.claim();
  expect(rescued?.roomName).toBe(dead?.roomName);
  expect(await pool.complete(rescued!, CALLER)).toBe(true);
  expect(await pool.complete(dead!, CALLER)).toBe(false);
  expect(await pool.claim()).toBeUndefined();
});

test('reconciliation returns expired claims to ready, so the pool counts them', async () => {
  const pool = poolOn(shared.store, 1);
  await pool.refill();
  await pool.claim();
  clock.advance(60_000);
  expect(await pool.counts()).toMatchObject({ ready: 0, claimed: 1 });
  await pool.reconcile();
  expect(await pool.counts()).toMatchObject({ ready: 1, claimed: 0 });
});

test('a slow claimer whose lease lapsed cannot complete, and its claim is not fresh any more', async () => {
  const pool = poolOn(shared.store, 1);
  await pool.refill();
  const slow = (await pool.claim())!;
  expect(pool.isFresh(slow)).toBe(true);
  clock.advance(30_000);
  expect(pool.isFresh(slow)).toBe(false);
  clock.advance(30_000);
  const other = (await pool.claim())!;
  expect(await pool.complete(slow, CALLER)).toBe(false);
  expect(await pool.complete(other, CALLER)).toBe(true);
});

test('a released claim is ready again at once', async () => {
  const pool = poolOn(shared.store, 1);
  await pool.refill();
  const claim = (await pool.claim())!;
  await pool.release(claim);
  expect((await pool.claim())?.roomName).toBe(claim.roomName);
});

test('a creator that died before creating the room: the reservation is dropped once its lease expires', async () => {
  const pool = poolOn(shared.store, 1);
  await shared.store.query(
    `INSERT INTO room_pool (room_name, state, ready_at, lease_token, lease_until, created_at) VALUES ('never-created', 'creating', $1, gen_random_uuid(), $2, $1)`,
    [new Date(clock.now()).toISOString(), new Date(clock.now() + 60_000).toISOString()],
  );
  await pool.reconcile();
  expect((await pool.counts()).creating).toBe(1);
  clock.advance(60_000);
  await pool.reconcile();
  expect(await pool.counts()).toEqual({ creating: 0, ready: 0, waiting: 0, claimed: 0 });
});

test('a creator that died after creating the room: the room becomes ready, not leaked', async () => {
  const pool = poolOn(shared.store, 1);
  const provider = new EmbeddedRoomProvider(shared.store, clock);
  await provider.create({ name: 'created-then-crashed', pin: '1234', guestPin: '4321', tag: '', aliases: ['created-then-crashed'], automaticParticipant: undefined });
  await shared.store.query(
    `INSERT INTO room_pool (room_name, state, ready_at, lease_token, lease_until, created_at) VALUES ('created-then-crashed', 'creating', $1, gen_random_uuid(), $1, $1)`,
    [new Date(clock.now()).toISOString()],
  );
  await pool.reconcile();
  const claim = await pool.claim();
  expect(claim?.roomName).toBe('created-then-crashed');
  expect(claim?.conference.guest_pin).toBe('4321');
});

test('rooms can wait out a replication delay before they are claimable', async () => {
  const pool = new RoomPool({ store: shared.store, provider: new EmbeddedRoomProvider(shared.store, clock), ledger: new RoomLedger(shared.store, clock), clock, logger, rooms: { ...rooms, poolTargetSize: 1 }, readyDelayMs: 90_000 });
  await pool.refill();
  expect(await pool.counts()).toMatchObject({ ready: 0, waiting: 1 });
  expect(await pool.claim()).toBeUndefined();
  clock.advance(90_000);
  expect(await pool.claim()).toBeDefined();
});

test('the pool and its claims survive a restart of the file-backed store', async () => {
  const dir = temporaryDirectory('pool');
  try {
    const first = await openTestStore(dir);
    await poolOn(first, 2).refill();
    const claimed = (await poolOn(first, 2).claim())!;
    await first.close();

    const second = await openTestStore(dir);
    try {
      const pool = poolOn(second, 2);
      expect(await pool.counts()).toEqual({ creating: 0, ready: 1, waiting: 0, claimed: 1 });
      clock.advance(60_000);
      const names = [(await pool.claim())?.roomName, (await pool.claim())?.roomName].sort();
      expect(names).toContain(claimed.roomName);
      expect(new Set(names).size).toBe(2);
    } finally {
      await second.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a first start killed while it made the data directory leaves nothing that the next start trips over', async () => {
  const dir = temporaryDirectory('first-start');
  try {
    // What a kill -9 leaves: a partial copy beside the data directory, and no database in it.
    fs.mkdirSync(`${dir}/pglite.new/base`, { recursive: true });
    fs.mkdirSync(`${dir}/pglite/global`, { recursive: true });
    const store = await openTestStore(dir);
    try {
      await poolOn(store, 2).refill();
      expect(await poolOn(store, 2).counts()).toMatchObject({ ready: 2 });
      expect(fs.existsSync(`${dir}/pglite.new`)).toBe(false);
    } finally {
      await store.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a second process cannot open a data directory in use', async () => {
  const dir = temporaryDirectory('lock');
  const first = await openTestStore(dir);
  try {
    fs.writeFileSync(`${dir}/gateway.lock`, String(process.ppid));
    await expect(openTestStore(dir)).rejects.toThrow(/in use by process/);
  } finally {
    await first.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a lock left by an earlier process with this process's PID is taken over (a container's PID 1 after a crash); this process's own lock is not", async () => {
  const dir = temporaryDirectory('pid-reuse');
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${dir}/gateway.lock`, `${process.pid} ${performance.timeOrigin - 60_000}`);
    const store = await openTestStore(dir);
    try {
      await expect(openTestStore(dir)).rejects.toThrow(`in use by process ${process.pid}`);
    } finally {
      await store.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a bulk job abandoned by a dead worker is resumed after its lease and completes exactly', async () => {
  const pool = poolOn(shared.store, 0);
  const jobs = new BulkJobs({ store: shared.store, pool, clock, logger, leaseMs: 60_000, lookoutIntervalMs: 60_000 });
  await shared.store.query(
    `INSERT INTO bulk_job (id, requested, created, state, lease_token, lease_until, created_at, updated_at)
     VALUES ('3f1c2b7e-2d7a-4c55-9d8e-0b6f0f5f8a11', 4, 1, 'running', gen_random_uuid(), $1, $1, $1)`,
    [new Date(clock.now() + 60_000).toISOString()],
  );
  await jobs.resumeAbandoned();
  await jobs.idle();
  expect((await jobs.find('3f1c2b7e-2d7a-4c55-9d8e-0b6f0f5f8a11'))?.status).toBe('running');
  clock.advance(60_000);
  await jobs.resumeAbandoned();
  await jobs.idle();
  expect(await jobs.find('3f1c2b7e-2d7a-4c55-9d8e-0b6f0f5f8a11')).toMatchObject({ status: 'completed', created: 4, failed: 0 });
  expect((await pool.counts()).ready).toBe(3);
});

test('a bulk job whose provider keeps failing stops and reports failure', async () => {
  const failing = new EmbeddedRoomProvider(shared.store, clock);
  failing.create = () => Promise.reject(new Error('provider down'));
  const pool = new RoomPool({ store: shared.store, provider: failing, ledger: new RoomLedger(shared.store, clock), clock, logger, rooms: { ...rooms, poolTargetSize: 0 }, readyDelayMs: 0 });
  const jobs = new BulkJobs({ store: shared.store, pool, clock, logger, leaseMs: 60_000, lookoutIntervalMs: 60_000, maxConsecutiveFailures: 3 });
  const job = await jobs.submit(10);
  await jobs.idle();
  expect(await jobs.find(job.job_id)).toMatchObject({ status: 'failed', created: 0, failed: 3 });
  expect(await pool.counts()).toEqual({ creating: 0, ready: 0, waiting: 0, claimed: 0 });
});
