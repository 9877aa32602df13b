import net from 'node:net';
import { EntraStandIn } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { deployedEnvironment } from '../support/gateway.js';
import { freePort, spawnGateway, type RunningGateway } from '../support/process.js';

const PASSWORD = 'db-secret-password-4711';
let entra: EntraStandIn;
let genesys: GenesysStandIn;
let silent: net.Server;
const held: net.Socket[] = [];
let running: RunningGateway | undefined;

beforeAll(async () => {
  entra = await new EntraStandIn().start();
  genesys = await new GenesysStandIn().start();
  // Accepts connections and never answers (no byte, no close).
  silent = net.createServer((socket) => void held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});
afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent?.close(resolve));
  await Promise.all([entra?.stop(), genesys?.stop()]);
});

async function startWithDatabaseAt(hostPort: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  running = spawnGateway({
    ...deployedEnvironment(entra, genesys, await freePort()),
    DATABASE_URL: `postgres://maxconf:${PASSWORD}@${hostPort}/maxconf`,
    DATABASE_CONNECT_TIMEOUT_MS: '500',
  });
  const code = await running.exited;
  return { code, stdout: running.stdout(), stderr: running.stderr() };
}

test.each([
  ['refusing connections', async () => `127.0.0.1:${await freePort()}`, 'ECONNREFUSED'],
  ['accepting and never answering', async () => `127.0.0.1:${(silent.address() as net.AddressInfo).port}`, 'Connection terminated due to connection timeout'],
])('a database %s: one line on stderr naming host:port (not the password), exit status 1', async (_what, address, reason) => {
  const hostPort = await address();
  const { code, stdout, stderr } = await startWithDatabaseAt(hostPort);
  expect(code).toBe(1);
  // The deployed test environment runs the embedded provider, whose loud start-up warning comes first by design.
  const lines = stderr.trim().split('\n').filter((line) => !line.startsWith('WARNING: ROOM_PROVIDER=embedded'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^Cannot reach PostgreSQL at ${hostPort} \\(DATABASE_URL\\): ${reason}\\. `));
  expect(stderr).not.toMatch(/StoreUnavailableError|\bat .*\.js:\d+/);
  expect(stdout + stderr).not.toContain(PASSWORD);
}, 30_000);
