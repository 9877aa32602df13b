import net from 'node:net';
import { EntraStandIn } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { PostgresRefusalStandIn, type Refusal } from '../stand-ins/postgres-refusal.js';
import { deployedEnvironment } from '../support/gateway.js';
import { spawnGateway, unusedPort, type RunningGateway } from '../support/process.js';
import { ADMIN_URL, describePostgres } from '../support/postgres.js';

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
    ...deployedEnvironment(entra, genesys),
    DATABASE_URL: `postgres://maxconf:${PASSWORD}@${hostPort}/maxconf`,
    DATABASE_CONNECT_TIMEOUT_MS: '500',
  });
  const code = await running.exited;
  return { code, stdout: running.stdout(), stderr: running.stderr() };
}

test.each([
  ['refusing connections', async () => `127.0.0.1:${await unusedPort()}`, 'ECONNREFUSED'],
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

test.each<[Refusal, (hostPort: string) => string]>([
  ['password', (hostPort) => `PostgreSQL at ${hostPort} (DATABASE_URL): password refused for user "maxconf" (28P01): correct the password in DATABASE_URL.`],
  ['hostssl-only', (hostPort) => `PostgreSQL at ${hostPort} (DATABASE_URL): the server requires TLS (28000): add ?sslmode=verify-full to DATABASE_URL.`],
])('a server refusing the login (%s, a stand-in): one line saying what is wrong and what to do, no password', async (refusal, expected) => {
  const server = await new PostgresRefusalStandIn(refusal).start();
  try {
    const { code, stdout, stderr } = await startWithDatabaseAt(server.hostPort);
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n').filter((line) => !line.startsWith('WARNING: ROOM_PROVIDER=embedded'));
    expect(lines).toEqual([expected(server.hostPort)]);
    expect(stdout + stderr).not.toContain(PASSWORD);
  } finally {
    await server.stop();
  }
}, 30_000);

describePostgres('PostgreSQL refuses the gateway (this machine’s server, trust authentication): one line saying what is wrong and what to do, exit status 1', () => {
  const server = new URL(ADMIN_URL);
  const at = (user: string, database: string) => `postgres://${user}@${server.host}/${database}`;

  async function startWith(databaseUrl: string): Promise<string> {
    running = spawnGateway({ ...deployedEnvironment(entra, genesys), DATABASE_URL: databaseUrl });
    expect(await running.exited).toBe(1);
    const lines = running.stderr().trim().split('\n').filter((line) => !line.startsWith('WARNING: ROOM_PROVIDER=embedded'));
    expect(lines).toHaveLength(1);
    expect(running.stderr()).not.toMatch(/StoreUnavailableError|\bat .*\.js:\d+|Check the address/);
    return lines[0]!;
  }

  test('a database that does not exist is named, with how to create it', async () => {
    expect(await startWith(at(server.username, 'maxconf_no_such_database'))).toBe(
      `PostgreSQL at ${server.host} (DATABASE_URL): database "maxconf_no_such_database" does not exist (3D000): create it (createdb maxconf_no_such_database) or correct the database name in DATABASE_URL.`,
    );
  }, 30_000);

  test('a role that does not exist is named, with what to do', async () => {
    expect(await startWith(at('maxconf_no_such_role', server.pathname.slice(1)))).toBe(
      `PostgreSQL at ${server.host} (DATABASE_URL): login refused (28000: role "maxconf_no_such_role" does not exist): create the role, allow it in pg_hba.conf, or correct the user in DATABASE_URL.`,
    );
  }, 30_000);

  test('TLS asked of a server without it', async () => {
    expect(await startWith(`${at(server.username, server.pathname.slice(1))}?sslmode=verify-full`)).toBe(
      `PostgreSQL at ${server.host} (DATABASE_URL): the server does not accept TLS: remove sslmode from DATABASE_URL, or turn TLS on in the server.`,
    );
  }, 30_000);
});
