import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { deployedEnvironment, temporaryDirectory } from '../support/gateway.js';
import { isListening, spawnGateway, waitUntil, whenReady, type RunningGateway } from '../support/process.js';

let entra: EntraStandIn;
let genesys: GenesysStandIn;
let running: RunningGateway | undefined;
let port: number;

beforeEach(async () => {
  entra = await new EntraStandIn().start();
  genesys = await new GenesysStandIn().start();
});
afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.kill('SIGKILL');
    await running.exited;
  }
  await Promise.all([entra.stop(), genesys.stop()]);
});

async function start(extra: Record<string, string> = {}): Promise<string> {
  running = spawnGateway({
    ...deployedEnvironment(entra, genesys),
    DATA_DIR: temporaryDirectory('shutdown'),
    LOG_LEVEL: 'info',
    GENESYS_TIMEOUT_MS: '10000',
    POOL_TARGET_SIZE: '1',
    ...extra,
  });
  port = await whenReady(running);
  const created = await fetch(`http://127.0.0.1:${port}/room/create?uuiData=01`, { method: 'POST', headers: { authorization: `Bearer ${mintToken(entra)}` } });
  return ((await created.json()) as { name: string }).name;
}

const lookUp = (name: string, token: string) => fetch(`http://127.0.0.1:${port}/public/room/${name}`, { headers: { 'x-auth-token': token } });

test('SIGTERM: requests in flight complete, new connections are refused, the process exits 0', async () => {
  const name = await start();
  genesys.latencyMs = 1500;
  const inFlight = Array.from({ length: 5 }, (_, i) => lookUp(name, genesys.agent(`shutdown-agent-${i}`)));
  await waitUntil(() => genesys.calls >= 5, 'the requests to reach Genesys');
  running!.kill('SIGTERM');
  await waitUntil(async () => !(await isListening(port)), 'the listener to close', 5000);
  const statuses = await Promise.all(inFlight.map(async (p) => (await p).status));
  expect(statuses).toEqual([200, 200, 200, 200, 200]);
  expect(await running!.exited).toBe(0);
  expect(running!.stdout() + running!.stderr()).toMatch(/"msg":"stopped"/);
});

test('requests still running at the shutdown bound are cut, and the process still exits 0', async () => {
  const name = await start({ SHUTDOWN_TIMEOUT_SECONDS: '1' });
  // Genesys answers after the test's own timeout: only the bound can end the process in time.
  genesys.latencyMs = 60_000;
  const slow = lookUp(name, genesys.agent('very-slow-agent')).then((r) => r.status, () => 'connection closed');
  await waitUntil(() => genesys.calls >= 1, 'the request to reach Genesys');
  running!.kill('SIGTERM');
  expect(await running!.exited).toBe(0);
  expect(await slow).toBe('connection closed');
  expect(running!.stdout()).toMatch(/requests still in flight at the shutdown bound/);
});
