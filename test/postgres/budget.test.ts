import { DEFAULT_BULK_ROLE } from '../../src/auth/entra-apps.js';
import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { PexipStandIn } from '../stand-ins/pexip.js';
import { deployedEnvironment } from '../support/gateway.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../support/postgres.js';
import { spawnGateway, waitUntil, whenReady, type RunningGateway } from '../support/process.js';
import { PEXIP_PASSWORD, PEXIP_USER, pexipEnvironment } from '../support/providers.js';

/**
 * Three gateway processes on one PostgreSQL database draw from one Pexip
 * request budget. The window is shortened to 5 s (PEXIP_BUDGET_WINDOW_SECONDS;
 * production keeps Pexip's 60 s) so that several windows pass in seconds.
 */
const BUDGET = 40;
const WINDOW_MS = 5000;
/**
 * The stated burst. The budget itself allows none (a slot serves one request
 * per window, stamped when it is taken), but the stand-in sees arrivals: a
 * request that took its slot late in a slow round trip and one that took it
 * early in a fast one can land in one window. Allowed: half a second of
 * budget in transit (on this shared machine), 4 requests here; in production
 * the 100 requests between PEXIP_REQUESTS_PER_MINUTE (900) and Pexip's 1,000 cover it.
 */
const TRANSIT_ALLOWANCE = Math.ceil((BUDGET * 500) / WINDOW_MS);
const ROOMS_PER_REPLICA = 25;

let database: TestDatabase;
let entra: EntraStandIn;
let genesys: GenesysStandIn;
let pexip: PexipStandIn;
const replicas: { port: number; process: RunningGateway }[] = [];

async function startReplica(index: number): Promise<void> {
  const process = spawnGateway({
    ...deployedEnvironment(entra, genesys),
    LOG_LEVEL: 'info',
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: '5',
    ...pexipEnvironment(pexip),
    PEXIP_REQUESTS_PER_MINUTE: String(BUDGET),
    PEXIP_BUDGET_WINDOW_SECONDS: String(WINDOW_MS / 1000),
    POOL_TARGET_SIZE: '0',
  });
  // Recorded before it is ready, so that afterAll stops it even if it never gets there.
  replicas[index] = { port: 0, process };
  replicas[index].port = await whenReady(process, `replica ${index} ready`);
}

const call = (index: number, path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${replicas[index]!.port}${path}`, { ...init, headers: { authorization: `Bearer ${mintToken(entra, { claims: { roles: [DEFAULT_BULK_ROLE] } })}`, 'content-type': 'application/json', ...init.headers } });

describePostgres('one Pexip request budget for three replicas', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    entra = await new EntraStandIn().start();
    genesys = await new GenesysStandIn().start();
    pexip = await new PexipStandIn({ basic: { username: PEXIP_USER, password: PEXIP_PASSWORD } }).start();
    await Promise.all([0, 1, 2].map((i) => startReplica(i)));
  }, 120_000);

  afterAll(async () => {
    for (const replica of replicas) {
      if (replica?.process.child.exitCode === null) {
        replica.process.child.kill('SIGKILL');
        await replica.process.exited;
      }
    }
    await Promise.all([entra?.stop(), genesys?.stop(), pexip?.stop()]);
    await database?.drop();
  });

  test('bulk jobs on every replica: no window holds more than the budget, the budget is used while work is pending, callers still get through', async () => {
    const jobs = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const res = await call(i, '/rooms/bulk', { method: 'POST', body: JSON.stringify({ count: ROOMS_PER_REPLICA }) });
        expect(res.status).toBe(202);
        return { replica: i, id: ((await res.json()) as { job_id: string }).job_id };
      }),
    );
    // A caller on each side of a window boundary, while background work has used its share of the budget.
    await waitUntil(() => pexip.calls.length >= BUDGET - BUDGET / 20, 'the budget to fill');
    const interactive = [(await call(0, '/room/NoSuchRoom')).status];
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    interactive.push((await call(1, '/room/NoSuchRoom')).status);

    const done = async () => (await Promise.all(jobs.map(async (job) => ((await (await call(job.replica, `/rooms/bulk/${job.id}`)).json()) as { status: string }).status))).every((s) => s === 'completed');
    await waitUntil(done, 'every bulk job to complete', 120_000);

    expect(interactive).toEqual([404, 404]);
    expect(pexip.conferences.size).toBe(3 * ROOMS_PER_REPLICA);
    const { busiest, fullWindows, inFullWindows } = pexip.windows(WINDOW_MS);
    const utilisation = inFullWindows / (fullWindows * BUDGET);
    expect(busiest).toBeLessThanOrEqual(BUDGET + TRANSIT_ALLOWANCE);
    expect(fullWindows).toBeGreaterThanOrEqual(3);
    expect(utilisation).toBeGreaterThanOrEqual(0.9);
  }, 180_000);
});
