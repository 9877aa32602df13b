import pg from 'pg';
import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { PexipStandIn } from '../stand-ins/pexip.js';
import { deployedEnvironment } from '../support/gateway.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../support/postgres.js';
import { spawnGateway, waitUntil, whenReady, type RunningGateway } from '../support/process.js';
import { PEXIP_PASSWORD, PEXIP_USER, pexipEnvironment } from '../support/providers.js';

/**
 * kill -9 at the two moments a room's creation can be cut (issue 32): after
 * the ledger write, while Pexip's answer is on its way; and after Pexip's
 * answer, before the room is handed out. The next process accounts for
 * every VMR on the Pexip stand-in and hands none out twice.
 */
describePostgres('a gateway killed while it creates rooms leaves every VMR accounted for', () => {
  let database: TestDatabase;
  let db: pg.Pool;
  let entra: EntraStandIn;
  let genesys: GenesysStandIn;
  let pexip: PexipStandIn;
  let gateway: RunningGateway | undefined;
  let port: number;
  let token: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = new pg.Pool({ connectionString: database.url, max: 2 });
    entra = await new EntraStandIn().start();
    genesys = await new GenesysStandIn().start();
    pexip = await new PexipStandIn({ basic: { username: PEXIP_USER, password: PEXIP_PASSWORD } }).start();
    token = mintToken(entra, { now: Date.now() });
  });

  afterAll(async () => {
    gateway?.kill('SIGKILL');
    await gateway?.exited;
    await db?.end();
    await Promise.all([entra?.stop(), genesys?.stop(), pexip?.stop()]);
    await database?.drop();
  });

  async function startGateway(): Promise<void> {
    gateway = spawnGateway({
      ...deployedEnvironment(entra, genesys),
      LOG_LEVEL: 'info',
      DATABASE_URL: database.url,
      ...pexipEnvironment(pexip),
      POOL_TARGET_SIZE: '0',
      POOL_CLAIM_LEASE_SECONDS: '5',
      POOL_MAINTENANCE_INTERVAL_SECONDS: '1',
      PEXIP_TIMEOUT_MS: '60000',
    });
    port = await whenReady(gateway);
  }
  const create = () => fetch(`http://127.0.0.1:${port}/room/create?uuiData=0102`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const ledger = async () => (await db.query<{ room_name: string; state: string }>('SELECT room_name, state FROM room_ledger ORDER BY room_name')).rows;

  test('killed after the ledger write (Pexip made the room, its answer on the way) and after the answer (before the hand-out)', async () => {
    await startGateway();
    pexip.faults.push({ kind: 'apply-then-hang' });
    void create().catch(() => undefined);
    await waitUntil(() => pexip.conferences.size === 1, 'the first room made on Pexip');
    const [first] = [...pexip.conferences.values()];
    pexip.latencyFor = (method, path) => (method === 'GET' && /\/conference\/\d+\/$/.test(path) && !path.endsWith(`/${first!.id}/`) ? 60_000 : undefined);
    void create().catch(() => undefined);
    await waitUntil(() => pexip.count('GET', /\/conference\/\d+\/$/) === 1, "the second room's read-back to reach Pexip");
    expect((await ledger()).map((r) => r.state)).toEqual(['creating', 'creating']);
    gateway!.kill('SIGKILL');
    await gateway!.exited;
    pexip.latencyFor = undefined;

    await startGateway();
    await waitUntil(async () => (await ledger()).every((r) => r.state === 'pooled'), 'both rooms reconciled into the pool', 20_000);
    const made = [...pexip.conferences.values()].map((c) => c.name).sort();
    expect((await ledger()).map((r) => r.room_name)).toEqual(made);

    const posts = pexip.count('POST', /\/conference\/$/);
    const handedOut = await Promise.all([create(), create()].map(async (res) => ((await (await res).json()) as { name: string }).name));
    expect(handedOut.sort()).toEqual(made);
    expect(pexip.count('POST', /\/conference\/$/)).toBe(posts);
    expect((await ledger()).map((r) => r.state)).toEqual(['handed_out', 'handed_out']);
  }, 90_000);
});
