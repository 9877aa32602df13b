import { createLogger } from '../../src/logger.js';
import { loadConfig } from '../../src/config.js';
import { RoomLedger } from '../../src/rooms/ledger.js';
import { RoomPool } from '../../src/rooms/pool.js';
import { EmbeddedRoomProvider } from '../../src/rooms/providers/embedded.js';
import type { Store } from '../../src/store/store.js';
import { TestClock } from '../support/clock.js';
import { describePostgres, openPostgresTestStore } from '../support/postgres.js';

/**
 * Claims raced on PostgreSQL from several connections at once (issue 36):
 * PGlite has one connection, so only here do two claims meet on one row.
 */
const ROOMS = 40;
const CLAIMERS = 8;

describePostgres('claims raced from several connections', () => {
  let store: Store;
  let pool: RoomPool;
  const clock = new TestClock();

  beforeAll(async () => {
    store = await openPostgresTestStore(undefined, CLAIMERS);
    const rooms = { ...loadConfig({ ROOM_TAG_BASE_URL: 'https://idim.example.gov/v', POOL_CLAIM_LEASE_SECONDS: '60' }).rooms, poolTargetSize: ROOMS };
    pool = new RoomPool({ store, provider: new EmbeddedRoomProvider(store, clock), ledger: new RoomLedger(store, clock), clock, logger: createLogger('silent'), rooms, readyDelayMs: 0 });
    expect(await pool.refill()).toBe(ROOMS);
  });

  afterAll(async () => {
    await store?.close();
  });

  async function claimEveryRoom(): Promise<string[]> {
    const taken: string[] = [];
    for (let round = 0; round < ROOMS / CLAIMERS; round += 1) {
      const claims = await Promise.all(Array.from({ length: CLAIMERS }, () => pool.claim()));
      taken.push(...claims.map((claim) => claim?.roomName ?? 'none'));
    }
    return taken;
  }

  test(`${CLAIMERS} claimers released together, round after round, never take one room twice`, async () => {
    const taken = await claimEveryRoom();
    expect(taken).not.toContain('none');
    expect(new Set(taken).size).toBe(ROOMS);
    expect(await pool.claim()).toBeUndefined();
  });

  test('once every lease has expired, claimers released together take each abandoned claim once', async () => {
    clock.advance(60_000);
    const taken = await claimEveryRoom();
    expect(taken).not.toContain('none');
    expect(new Set(taken).size).toBe(ROOMS);
  });
});
