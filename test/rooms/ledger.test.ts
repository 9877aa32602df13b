import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { CLIENT_IDS } from '../../src/auth/entra-apps.js';
import { adoptRooms } from '../../src/rooms/adoption.js';
import { ROOM_NAME_PATTERN } from '../../src/rooms/credentials.js';
import { MIGRATIONS, migrate } from '../../src/store/schema.js';
import type { PexipStandIn } from '../stand-ins/pexip.js';
import { basicAuth, openTestStore, SINK_PASSWORD, SINK_USER, startTestGateway, useSharedStore, type TestGateway } from '../support/gateway.js';
import { TestClock } from '../support/clock.js';
import { logLines } from '../support/log-lines.js';
import { waitUntil } from '../support/process.js';
import { pexipProvider, type ProviderUnderTest } from '../support/providers.js';

/**
 * The room ledger (docs/contract.md §3, issue 32): every room the gateway creates is
 * accounted for until it is deleted, against the Pexip stand-in, whose
 * VMRs and calls show what reached Pexip.
 */
const GRACE_MS = 600_000;
const UNUSED_TTL_MS = 4 * 3_600_000;
const shared = useSharedStore();
let under: ProviderUnderTest;
let gw: TestGateway;
let pexip: PexipStandIn;

afterEach(async () => {
  await gw?.close();
  await under?.stop();
});

async function start(env: Record<string, string> = {}, logger?: pino.Logger): Promise<void> {
  under = await pexipProvider();
  pexip = under.pexip as PexipStandIn;
  gw = await startTestGateway({ store: shared.store, env: { POOL_TARGET_SIZE: '0', ...under.env, ...env }, logger });
}

interface LedgerRow {
  state: string;
  origin: string;
  handed_out_to: string | null;
}
async function ledgerRow(name: string): Promise<LedgerRow | undefined> {
  const { rows } = await shared.store.query<LedgerRow>('SELECT state, origin, handed_out_to FROM room_ledger WHERE room_name = $1', [name]);
  return rows[0];
}
const vmrNames = () => [...pexip.conferences.values()].map((c) => c.name).sort();
const create = async () => {
  const res = await gw.http.post('/room/create?uuiData=0102').set(gw.bearer());
  expect(res.status).toBe(200);
  return res.body.name as string;
};

let seq = 0;
async function event(event: string, name: string, data: Record<string, unknown> = {}, timeMs = gw.clock.now(), node = '10.0.0.1'): Promise<void> {
  seq += 1;
  const res = await gw.http
    .post('/public/event_sink')
    .set(basicAuth(SINK_USER, SINK_PASSWORD))
    .send({ node, seq, version: 2, time: timeMs / 1000, event, data: { name, ...data } });
  expect(res.status).toBe(200);
}

describe('the ledger follows a room from creation to deletion', () => {
  test('pooled, handed out to the calling application, started, ended, deleted', async () => {
    await start({ POOL_TARGET_SIZE: '1' });
    await gw.gateway.pool.refill();
    const [pooled] = vmrNames();
    expect(await ledgerRow(pooled!)).toEqual({ state: 'pooled', origin: 'pool', handed_out_to: null });
    const name = await create();
    expect(name).toBe(pooled);
    expect(await ledgerRow(name)).toEqual({ state: 'handed_out', origin: 'pool', handed_out_to: CLIENT_IDS.dev });
    await event('conference_started', name);
    expect((await ledgerRow(name))?.state).toBe('started');
    await event('conference_ended', name);
    expect((await ledgerRow(name))?.state).toBe('ended');
    gw.clock.advance(GRACE_MS);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 1, notOurs: 0 });
    expect((await ledgerRow(name))?.state).toBe('deleted');
    expect(vmrNames()).not.toContain(name);
  });

  test('an inline creation (pool empty) is recorded as inline, handed out', async () => {
    await start();
    const name = await create();
    expect(await ledgerRow(name)).toEqual({ state: 'handed_out', origin: 'inline', handed_out_to: CLIENT_IDS.dev });
  });
});

describe('nothing is left behind', () => {
  test('a room handed out and never used is deleted after ROOM_UNUSED_TTL_SECONDS; a room in use is kept', async () => {
    await start();
    const unused = await create();
    const used = await create();
    await event('participant_connected', used, { conference: used });
    pexip.activeConferences.add(used);
    gw.clock.advance(UNUSED_TTL_MS - 1);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ unusedQueued: 0 });
    gw.clock.advance(1);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ unusedQueued: 1, deleted: 0 });
    gw.clock.advance(GRACE_MS);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 1 });
    expect(vmrNames()).toEqual([used]);
    expect((await ledgerRow(unused))?.state).toBe('deleted');
    expect((await ledgerRow(used))?.state).toBe('started');
  });

  test('a citizen who joins after the unused deletion was queued cancels it', async () => {
    await start();
    const late = await create();
    gw.clock.advance(UNUSED_TTL_MS);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ unusedQueued: 1 });
    await event('conference_started', late);
    gw.clock.advance(GRACE_MS);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 0, unusedQueued: 0 });
    expect(vmrNames()).toEqual([late]);
  });

  test('a started room whose end never arrived is deleted once no conference runs in it; while one runs, it is kept and asked about again later', async () => {
    await start();
    const lost = await create();
    const running = await create();
    await event('conference_started', lost);
    await event('conference_started', running);
    pexip.activeConferences.add(running);
    gw.clock.advance(UNUSED_TTL_MS);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ unusedQueued: 0, lostEndsQueued: 1 });
    expect((await ledgerRow(lost))?.state).toBe('ended');
    expect(pexip.count('GET', /^\/api\/admin\/status\/v1\/conference\/\?/)).toBe(2);
    gw.clock.advance(GRACE_MS);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 1, lostEndsQueued: 0 });
    expect(vmrNames()).toEqual([running]);
    // One more: collection asks again just before it deletes.
    expect(pexip.count('GET', /^\/api\/admin\/status\/v1\/conference\/\?/)).toBe(3);
    pexip.activeConferences.delete(running);
    gw.clock.advance(UNUSED_TTL_MS);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ lostEndsQueued: 1 });
  });

  test('a started room is kept when Pexip cannot say whether a conference runs in it', async () => {
    await start();
    const name = await create();
    await event('conference_started', name);
    gw.clock.advance(UNUSED_TTL_MS);
    pexip.faults.push({ kind: 'status', status: 403 });
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ lostEndsQueued: 0, deleted: 0 });
    expect((await ledgerRow(name))?.state).toBe('started');
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ lostEndsQueued: 1 });
  });

  test('a create whose answer was lost after Pexip made the room: reconciliation puts the room in the pool, and it is handed out next', async () => {
    await start();
    pexip.faults.push({ kind: 'apply-then-fail', status: 500 });
    expect((await gw.http.post('/room/create?uuiData=0102').set(gw.bearer())).status).toBe(502);
    const [made] = vmrNames();
    expect((await ledgerRow(made!))?.state).toBe('creating');
    await gw.gateway.pool.reconcile();
    expect(await ledgerRow(made!)).toMatchObject({ state: 'pooled', origin: 'inline' });
    const posts = pexip.count('POST', /\/conference\/$/);
    expect(await create()).toBe(made);
    expect(pexip.count('POST', /\/conference\/$/)).toBe(posts);
  });

  test('a create Pexip never carried out leaves no record once reconciled', async () => {
    await start();
    pexip.faults.push({ kind: 'status', status: 500 });
    expect((await gw.http.post('/room/create?uuiData=0102').set(gw.bearer())).status).toBe(502);
    expect((await shared.store.query('SELECT 1 FROM room_ledger WHERE state = $1', ['creating'])).rows).toHaveLength(1);
    await gw.gateway.pool.reconcile();
    expect((await shared.store.query('SELECT 1 FROM room_ledger')).rows).toHaveLength(0);
    expect(vmrNames()).toEqual([]);
  });

  test('a room Pexip made without its automatic participant (answer lost before it was added) is deleted, not pooled', async () => {
    await start({ GENESYS_SIP_ADDRESS: 'sip:queue@genesys.example.gov' });
    pexip.faults.push({ kind: 'apply-then-fail', status: 500 });
    expect((await gw.http.post('/room/create?uuiData=0102').set(gw.bearer())).status).toBe(502);
    const [partial] = vmrNames();
    await gw.gateway.pool.reconcile();
    expect(vmrNames()).toEqual([]);
    expect((await ledgerRow(partial!))?.state).toBe('deleted');
  });

  test('a bulk job whose create answer was lost: the room it made joins the pool by reconciliation', async () => {
    await start();
    pexip.faults.push({ kind: 'apply-then-fail', status: 500 });
    const job = await gw.http.post('/rooms/bulk').set(gw.bearer()).send({ count: 1 });
    expect(job.status).toBe(202);
    await gw.gateway.bulkJobs.idle();
    expect((await gw.http.get(`/rooms/bulk/${job.body.job_id}`).set(gw.bearer())).body).toMatchObject({ status: 'completed', created: 0, failed: 1 });
    const [made] = vmrNames();
    expect((await ledgerRow(made!))?.state).toBe('creating');
    await gw.gateway.pool.reconcile();
    expect(await gw.gateway.pool.counts()).toMatchObject({ ready: 1 });
    expect(await ledgerRow(made!)).toMatchObject({ state: 'pooled', origin: 'bulk' });
    expect(pexip.count('POST', /\/conference\/$/)).toBe(1);
  });

  test('a caller that leaves while its room is being tagged: no further Pexip request, the log says so, and the room is pooled again when its claim lease ends', async () => {
    const log = logLines();
    // Only the caller leaving can end the hung PATCH in time: no timeout or deadline would within the test's.
    await start({ POOL_TARGET_SIZE: '1', LOG_LEVEL: 'info', PEXIP_TIMEOUT_MS: '120000', REQUEST_DEADLINE_MS: '600000' }, pino({ level: 'info' }, log.stream));
    await gw.gateway.pool.refill();
    const [pooled] = vmrNames();
    pexip.faults.push({ kind: 'hang' });
    const server = http.createServer(gw.gateway.app).listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as AddressInfo;
      const abandoned = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/room/create?uuiData=0102', headers: gw.bearer() });
      abandoned.on('error', () => undefined);
      abandoned.end();
      await waitUntil(() => pexip.count('PATCH', /\/conference\/\d+\/$/) === 1, 'the tag PATCH to reach Pexip');
      const sent = pexip.calls.length;
      abandoned.destroy();
      await waitUntil(() => log.lines.some((l) => l.includes('the caller left: Pexip request abandoned')), 'the abandoned request to be logged');
      await waitUntil(() => log.lines.some((l) => (JSON.parse(l) as { req?: { path?: string } }).req?.path === '/room/create'), 'the request line');
      expect(pexip.calls.length).toBe(sent);
    } finally {
      server.close();
    }
    // The PATCH may still land: the room stays claimed until its lease ends, then serves the next session.
    expect(await gw.gateway.pool.counts()).toMatchObject({ ready: 0, claimed: 1 });
    gw.clock.advance(61_000);
    await gw.gateway.pool.reconcile();
    expect(await ledgerRow(pooled!)).toMatchObject({ state: 'pooled', handed_out_to: null });
    expect(await create()).toBe(pooled);
  });
});

describe('a room is handed out once, and never one someone is in', () => {
  test('an inline create that outlives the claim lease is reconciled into the pool meanwhile: its creator hands it out from there, and nobody else gets it', async () => {
    // A request deadline longer than the claim lease (60 s), which the test clock passes while the create waits.
    await start({ REQUEST_DEADLINE_MS: '120000' });
    pexip.latencyFor = (method, path) => (method === 'GET' && /\/conference\/\d+\/$/.test(path) ? 1500 : undefined);
    const first = gw.http.post('/room/create?uuiData=0102').set(gw.bearer()).then((res) => res);
    await waitUntil(() => pexip.conferences.size === 1, 'the room to exist on Pexip');
    gw.clock.advance(61_000);
    await gw.gateway.pool.reconcile();
    const answer = await first;
    expect(answer.status).toBe(200);
    pexip.latencyFor = undefined;
    expect(await ledgerRow(answer.body.name as string)).toMatchObject({ state: 'handed_out' });
    expect(await gw.gateway.pool.counts()).toMatchObject({ ready: 0, claimed: 0 });
    expect(await create()).not.toBe(answer.body.name);
  });

  test.each([
    ['a conference started in it', ['conference_started']],
    ['its conference ended and started again', ['conference_ended', 'conference_started']],
  ])('a pooled room whose name someone dialled (%s) leaves the pool and is never handed out', async (_name, events) => {
    await start({ POOL_TARGET_SIZE: '1' });
    await gw.gateway.pool.refill();
    const [pooled] = vmrNames();
    for (const name of events) {
      await event(name, pooled!);
      gw.clock.advance(1000);
    }
    expect(await gw.gateway.pool.counts()).toMatchObject({ ready: 0 });
    expect(await create()).not.toBe(pooled);
    expect((await ledgerRow(pooled!))?.state).toBe('started');
  });

  test('a pooled room whose conference ends while its claim sends the tag is not handed out', async () => {
    await start({ POOL_TARGET_SIZE: '1' });
    await gw.gateway.pool.refill();
    const [pooled] = vmrNames();
    pexip.latencyFor = (method) => (method === 'PATCH' ? 300 : undefined);
    const answer = gw.http.post('/room/create?uuiData=0102').set(gw.bearer()).then((res) => res);
    await waitUntil(() => pexip.count('PATCH', /\/conference\/\d+\/$/) === 1, 'the tag PATCH under way');
    await event('conference_ended', pooled!);
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.body.name).not.toBe(pooled);
    expect((await ledgerRow(pooled!))?.state).toBe('ended');
  });
});

describe('a room in use is never deleted', () => {
  test.each([
    ['its start came late, timed before the unused deadline', async (name: string) => {
      gw.clock.advance(UNUSED_TTL_MS);
      expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ unusedQueued: 1 });
      // Redelivered after a sink outage: the citizen joined an hour after the hand-out.
      await event('conference_started', name, {}, gw.clock.now() - UNUSED_TTL_MS + 3_600_000);
    }],
    ['its rejoin came from a node whose clock is behind', async (name: string) => {
      await event('conference_started', name);
      await event('conference_ended', name);
      gw.clock.advance(60_000);
      await event('conference_started', name, {}, gw.clock.now() - 180_000, '10.0.0.2');
    }],
  ])('a room queued for deletion in which Pexip shows a conference is kept (%s)', async (_name, arrange) => {
    await start();
    const name = await create();
    await arrange(name);
    pexip.activeConferences.add(name);
    gw.clock.advance(UNUSED_TTL_MS + GRACE_MS);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 0, inUseKept: 1 });
    expect(vmrNames()).toEqual([name]);
    expect((await ledgerRow(name))?.state).toBe('started');
  });

  test('an end an earlier release parked in the far future is due from when it was queued', async () => {
    await start();
    const name = await create();
    await shared.store.query('INSERT INTO deletion_queue (room_name, ended_at, enqueued_at) VALUES ($1, $2, $3)', [name, '9999-12-31T00:00:00Z', new Date(gw.clock.now()).toISOString()]);
    gw.clock.advance(GRACE_MS);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 1 });
  });
});

describe('a room queued for deletion is never handed out', () => {
  test('a pooled room whose conference ended is passed over by the claim, and collection deletes only it', async () => {
    await start({ POOL_TARGET_SIZE: '1' });
    await gw.gateway.pool.refill();
    const [pooled] = vmrNames();
    await event('conference_ended', pooled!);
    const handedOut = await create();
    expect(handedOut).not.toBe(pooled);
    gw.clock.advance(GRACE_MS);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 1 });
    expect(vmrNames()).not.toContain(pooled);
    expect(vmrNames()).toContain(handedOut);
    expect((await gw.http.get(`/room/${handedOut}`).set(gw.bearer())).status).toBe(200);
  });
});

describe('a VMR the ledger does not know is never deleted', () => {
  test('a room made by hand, named by an event, stays; so does a persistent room', async () => {
    await start();
    pexip.addVmrs(['ops-boardroom-7', 'vkiosk_lobby']);
    await event('conference_ended', 'ops-boardroom-7');
    await event('conference_ended', 'vkiosk_lobby');
    gw.clock.advance(UNUSED_TTL_MS + GRACE_MS);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 0, notOurs: 1, persistentKept: 1 });
    expect(vmrNames()).toEqual(['ops-boardroom-7', 'vkiosk_lobby']);
    expect(await ledgerRow('ops-boardroom-7')).toBeUndefined();
  });
});

describe('agents cannot spend the Pexip budget IDIM needs', () => {
  test('a name the ledger does not know is a 404 without a Pexip request; IDIM creates go on', async () => {
    await start({ PEXIP_REQUESTS_PER_MINUTE: '20' });
    const agent = gw.genesys.agent('guessing-agent');
    for (let i = 0; i < 200; i += 1) {
      const res = await gw.http.get(`/public/room/guess${i}`).set('x-auth-token', agent);
      expect(res.status).toBe(404);
    }
    expect(pexip.calls).toHaveLength(0);
    await create();
  });

  test('a pooled room, never handed out, is a 404 to agents', async () => {
    await start({ POOL_TARGET_SIZE: '1' });
    await gw.gateway.pool.refill();
    const [pooled] = vmrNames();
    const calls = pexip.calls.length;
    expect((await gw.http.get(`/public/room/${pooled}`).set('x-auth-token', gw.genesys.agent('peeking-agent'))).status).toBe(404);
    expect(pexip.calls).toHaveLength(calls);
  });

  test('lookups of persistent rooms spend at most the agents\u2019 share of a window; IDIM still creates rooms', async () => {
    await start({ PEXIP_REQUESTS_PER_MINUTE: '20', ROOM_CACHE_TTL_SECONDS: '0' });
    pexip.addVmrs(['vkiosk_a', 'vkiosk_b', 'vkiosk_c']);
    const agent = gw.genesys.agent('kiosk-agent');
    const statuses: number[] = [];
    for (const name of ['vkiosk_a', 'vkiosk_b', 'vkiosk_c']) statuses.push((await gw.http.get(`/public/room/${name}`).set('x-auth-token', agent)).status);
    expect(statuses).toEqual([200, 200, 503]);
    expect(pexip.count('GET', /name=vkiosk_/)).toBe(2);
    await create();
    await create();
  });

  test('a room handed out to a session is found by the agent', async () => {
    await start();
    const name = await create();
    const res = await gw.http.get(`/public/room/${name}`).set('x-auth-token', gw.genesys.agent('host-agent'));
    expect(res.status).toBe(200);
    expect(res.body.name).toBe(name);
  });
});

describe('rooms created before the ledger existed', () => {
  test('the migration adopts the pool and queued deletions of gateway-named rooms, not rooms named otherwise', async () => {
    const store = await openTestStore(undefined, MIGRATIONS.filter((m) => m.version < 4));
    try {
      await store.query(`INSERT INTO room_pool (room_name, state, ready_at, created_at) VALUES ('AAAAAAAAAAAAAAAAAAAAAA', 'ready', now(), now())`);
      await store.query(`INSERT INTO deletion_queue (room_name, ended_at, enqueued_at) VALUES ('BBBBBBBBBBBBBBBBBBBBBQ', now(), now()), ('ops-boardroom-7', now(), now())`);
      await migrate(store);
      const { rows } = await store.query<{ room_name: string; state: string }>('SELECT room_name, state FROM room_ledger ORDER BY room_name');
      expect(rows).toEqual([
        { room_name: 'AAAAAAAAAAAAAAAAAAAAAA', state: 'pooled' },
        { room_name: 'BBBBBBBBBBBBBBBBBBBBBQ', state: 'ended' },
      ]);
    } finally {
      await store.close();
    }
  });

  test('a pooled room an earlier release (without the ledger) handed out during a rolling deploy is recorded as handed out by the next reconciliation', async () => {
    await start({ POOL_TARGET_SIZE: '1' });
    await gw.gateway.pool.refill();
    const [pooled] = vmrNames();
    // What the earlier release's claim does: it takes the room out of the pool and knows nothing of the ledger.
    await shared.store.query('DELETE FROM room_pool WHERE room_name = $1', [pooled]);
    await gw.gateway.pool.reconcile();
    expect(await ledgerRow(pooled!)).toEqual({ state: 'handed_out', origin: 'pool', handed_out_to: null });
    expect((await gw.http.get(`/public/room/${pooled}`).set('x-auth-token', gw.genesys.agent('rolling-agent'))).status).toBe(200);
  });

  test("npm run adopt's step records the gateway's rooms on Pexip once, never a VMR named otherwise; adopted rooms then age out unused", async () => {
    await start({ POOL_TARGET_SIZE: '1' });
    await gw.gateway.pool.refill();
    const [pooled] = vmrNames();
    await shared.store.query('DELETE FROM room_ledger');
    // A hand-made room can have a name of the gateway's shape: its tag (none of a session's) tells it apart.
    pexip.addVmrs(['CCCCCCCCCCCCCCCCCCCCCg', 'ops-boardroom-7', 'vkiosk_lobby', 'reception-desk-kiosk-Q']);
    const handMade = [...pexip.conferences.values()].find((c) => c.name === 'reception-desk-kiosk-Q')!;
    handMade.tag = 'front desk';
    const adopt = (dryRun: boolean) =>
      adoptRooms({ provider: gw.gateway.provider, ledger: gw.gateway.ledger, persistentPrefixes: gw.config.rooms.persistentPrefixes, tagBaseUrl: gw.config.rooms.tagBaseUrl, names: ROOM_NAME_PATTERN, dryRun });
    const wouldAdopt = await adopt(true);
    expect(wouldAdopt).toMatchObject({ seen: 5, adopted: 2, alreadyKnown: 0, notOurs: 3 });
    expect(wouldAdopt.rooms.sort()).toEqual(['CCCCCCCCCCCCCCCCCCCCCg', pooled].sort());
    expect(await ledgerRow('CCCCCCCCCCCCCCCCCCCCCg')).toBeUndefined();
    expect(await adopt(false)).toMatchObject({ seen: 5, adopted: 2, alreadyKnown: 0, notOurs: 3 });
    expect(await adopt(false)).toMatchObject({ seen: 5, adopted: 0, alreadyKnown: 2, notOurs: 3 });
    expect(await ledgerRow(pooled!)).toMatchObject({ state: 'pooled', origin: 'adopted' });
    expect(await ledgerRow('CCCCCCCCCCCCCCCCCCCCCg')).toMatchObject({ state: 'handed_out', origin: 'adopted' });
    gw.clock.advance(UNUSED_TTL_MS);
    await gw.gateway.garbageCollector.runOnce();
    gw.clock.advance(GRACE_MS);
    expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 1 });
    expect(vmrNames()).toEqual([pooled, 'ops-boardroom-7', 'reception-desk-kiosk-Q', 'vkiosk_lobby'].sort());
  });
});

describe('a claim whose tag outlives its lease', () => {
  test("the tag on Pexip is the tag of the session that got the room, even when the first claimer's PATCH was held past its lease", async () => {
    under = await pexipProvider();
    pexip = under.pexip as PexipStandIn;
    let duringRetryWait: (() => Promise<void>) | undefined;
    const waits: number[] = [];
    const clock = new TestClock();
    gw = await startTestGateway({
      store: shared.store,
      clock,
      env: { ...under.env, POOL_TARGET_SIZE: '1', POOL_CLAIM_LEASE_SECONDS: '60' },
      // A retry's wait, during which a second IDIM request arrives.
      sleep: async (ms) => {
        waits.push(ms);
        clock.advance(ms);
        const meanwhile = duringRetryWait;
        duringRetryWait = undefined;
        await meanwhile?.();
      },
    });
    await gw.gateway.pool.refill();
    const [room] = vmrNames();
    gw.gateway.pool.stop();
    let second: { status: number; body: { name: string; tag: string } } | undefined;
    const secondCreate = async () => {
      const res = await gw.http.post('/room/create?uuiData=0a0b').set(gw.bearer());
      second = { status: res.status, body: res.body as { name: string; tag: string } };
    };
    duringRetryWait = secondCreate;
    pexip.faults.push({ kind: 'status', status: 429, retryAfter: '60' });
    await gw.http.post('/room/create?uuiData=0102').set(gw.bearer());
    if (second === undefined) {
      clock.advance(60_000);
      await secondCreate();
    }
    expect(second?.status).toBe(200);
    const stored = [...pexip.conferences.values()].find((c) => c.name === second!.body.name)!;
    expect(stored.tag).toBe(second!.body.tag);
    // Pexip's Retry-After reached past the claim's deadline: the first claimer gave up at once instead of waiting.
    expect(waits).toEqual([]);
    if (second!.body.name === room) expect((await ledgerRow(room!))?.state).toBe('handed_out');
  });
});
