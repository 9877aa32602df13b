import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { PexipStandIn } from '../stand-ins/pexip.js';
import { deployedEnvironment, TAG_BASE_URL } from '../support/gateway.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../support/postgres.js';
import { spawnGateway, waitUntil, whenReady, type RunningGateway } from '../support/process.js';
import { PEXIP_PASSWORD, PEXIP_USER, pexipEnvironment } from '../support/providers.js';

/**
 * Claims and refills raced from three gateway processes at once (issue 36):
 * every create of a burst is sent before any is answered, so claims meet on
 * the pool's rows from many connections of several processes, the pool runs
 * dry (inline creations) and all three refill it together. Each request is
 * its own verification session, so the tag its room must carry on the Pexip
 * stand-in is known (docs/contract.md §3 "The tag").
 */
const POOL_TARGET = 30;
const REPLICAS = 3;
const CREATES_PER_BURST = 45;
const BURSTS = 3;
/**
 * The stand-in answers the read-back that ends each VMR creation on the next
 * tick of this clock, so that the three replicas' refills step together and
 * their reservations of the next pool slot meet.
 */
const TICK_MS = 50;

let database: TestDatabase;
let db: pg.Pool;
let entra: EntraStandIn;
let genesys: GenesysStandIn;
let pexip: PexipStandIn;
let token: string;
const replicas: { port: number; process: RunningGateway }[] = [];

interface Session {
  uuiData: string;
  tag: string;
}

interface Answer {
  session: Session;
  status: number;
  room: { id: number; name: string; tag: string };
}

function newSession(): Session {
  const bytes = randomBytes(12);
  return { uuiData: bytes.toString('hex'), tag: `${TAG_BASE_URL}/${bytes.toString('base64url')}` };
}

async function startReplica(index: number): Promise<void> {
  const process = spawnGateway({
    ...deployedEnvironment(entra, genesys),
    LOG_LEVEL: 'info',
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: '10',
    ...pexipEnvironment(pexip),
    POOL_TARGET_SIZE: String(POOL_TARGET),
    POOL_MAINTENANCE_INTERVAL_SECONDS: '1',
    AUTH_FAILURE_LIMIT: '100000',
  });
  // Recorded before it is ready, so that afterAll stops it even if it never gets there.
  replicas[index] = { port: 0, process };
  replicas[index].port = await whenReady(process, `replica ${index} ready`);
}

async function create(replica: number, session: Session): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${replicas[replica]!.port}/room/create?uuiData=${session.uuiData}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  return { session, status: res.status, room: (await res.json()) as Answer['room'] };
}

/** Waits for the pool to be back at (or beyond) its target with nothing in flight (every replica's refill has ended); its size then. */
async function settledPoolSize(what: string): Promise<number> {
  let size = 0;
  await waitUntil(async () => {
    const states = (await db.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM room_pool GROUP BY state')).rows;
    const creating = await db.query("SELECT 1 FROM room_ledger WHERE state = 'creating' LIMIT 1");
    size = states[0]?.n ?? 0;
    return creating.rowCount === 0 && states.every((s) => s.state === 'ready') && size >= POOL_TARGET;
  }, what);
  return size;
}

/** Every tag the gateway ever sent for a VMR, by VMR name: in its create (inline) or in a PATCH (a claimed pooled room). */
function tagsWritten(): Map<string, Set<string>> {
  const nameById = new Map([...pexip.conferences.values()].map((c) => [c.id, c.name]));
  const written = new Map<string, Set<string>>();
  for (const call of pexip.calls) {
    const patched = /\/conference\/(\d+)\/$/.exec(call.path);
    const isCreate = call.method === 'POST' && call.path.endsWith('/conference/');
    if (!isCreate && !(call.method === 'PATCH' && patched)) continue;
    const body = JSON.parse(call.body) as { name?: string; tag?: string };
    const name = isCreate ? body.name : nameById.get(Number(patched![1]));
    if (!body.tag || name === undefined) continue;
    written.set(name, (written.get(name) ?? new Set()).add(body.tag));
  }
  return written;
}

describePostgres('claims and refills raced from three gateway processes on one PostgreSQL database', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    db = new pg.Pool({ connectionString: database.url, max: 2 });
    entra = await new EntraStandIn().start();
    genesys = await new GenesysStandIn().start();
    pexip = await new PexipStandIn({ basic: { username: PEXIP_USER, password: PEXIP_PASSWORD } }).start();
    token = mintToken(entra, { now: Date.now() });
    pexip.latencyFor = (method, path) => (method === 'GET' && /\/conference\/\d+\/$/.test(path) ? TICK_MS - (Date.now() % TICK_MS) : undefined);
    await Promise.all(Array.from({ length: REPLICAS }, (_, i) => startReplica(i)));
  }, 60_000);

  afterAll(async () => {
    for (const replica of replicas) {
      if (replica?.process.child.exitCode === null) {
        replica.process.kill('SIGKILL');
        await replica.process.exited;
      }
    }
    await db?.end();
    await Promise.all([entra?.stop(), genesys?.stop(), pexip?.stop()]);
    await database?.drop();
  });

  test(`bursts of ${CREATES_PER_BURST} creates released together over ${REPLICAS} replicas: each room goes to one session and carries that session's tag, refills neither overshoot nor lose a VMR`, async () => {
    const answers: Answer[] = [];
    const poolSizes = [await settledPoolSize('the pool filled by three replicas at once')];
    for (let burst = 0; burst < BURSTS; burst += 1) {
      answers.push(...(await Promise.all(Array.from({ length: CREATES_PER_BURST }, (_, i) => create(i % REPLICAS, newSession())))));
      poolSizes.push(await settledPoolSize(`the pool refilled by three replicas at once after burst ${burst + 1}`));
    }

    expect(poolSizes).toEqual(Array(BURSTS + 1).fill(POOL_TARGET));
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const handedOut = new Map(answers.map((a) => [a.room.name, a.session.tag]));
    expect(handedOut.size).toBe(answers.length);

    const vmrs = new Map([...pexip.conferences.values()].map((c) => [c.name, c]));
    expect(vmrs.size).toBe(pexip.conferences.size);
    for (const { session, room } of answers) {
      expect(room.tag).toBe(session.tag);
      expect({ name: room.name, id: vmrs.get(room.name)?.id, tag: vmrs.get(room.name)?.tag }).toEqual({ name: room.name, id: room.id, tag: session.tag });
    }
    // No VMR ever received a second session's tag, and no session's tag went to a VMR other than the one it got.
    const written = tagsWritten();
    for (const [name, tags] of written) expect({ name, tags: [...tags] }).toEqual({ name, tags: [handedOut.get(name)] });
    expect(written.size).toBe(handedOut.size);

    const pooled = (await db.query<{ room_name: string }>('SELECT room_name FROM room_pool')).rows.map((r) => r.room_name);
    for (const name of pooled) expect({ name, tag: vmrs.get(name)?.tag }).toEqual({ name, tag: '' });
    const ledger = new Map((await db.query<{ room_name: string; state: string }>('SELECT room_name, state FROM room_ledger')).rows.map((r) => [r.room_name, r.state]));
    const expected = new Map([...[...handedOut.keys()].map((name) => [name, 'handed_out'] as const), ...pooled.map((name) => [name, 'pooled'] as const)]);
    expect(ledger).toEqual(expected);
    expect([...vmrs.keys()].sort()).toEqual([...expected.keys()].sort());
    // Each burst met a full pool: at least that many of its rooms were claimed, the rest created inline.
    const fromPool = await db.query("SELECT 1 FROM room_ledger WHERE state = 'handed_out' AND origin = 'pool'");
    expect(fromPool.rowCount).toBeGreaterThanOrEqual(BURSTS * POOL_TARGET);
  }, 60_000);
});
