import fs from 'node:fs';
import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { deployedEnvironment, temporaryDirectory } from '../support/gateway.js';
import { spawnGateway, START_LIMIT_MS, waitUntil, whenReady, type RunningGateway } from '../support/process.js';

/** The built gateway's stdout as an operator's log shipper reads it: lines while it runs, every line when it ends. */
let entra: EntraStandIn;
let genesys: GenesysStandIn;
let dataDir: string;
let port: number;
let running: RunningGateway | undefined;
/** A start (START_LIMIT_MS at most) and the test's own requests; no timing is asserted. */
const PROCESS_TEST_MS = 2 * START_LIMIT_MS;

beforeEach(async () => {
  entra = await new EntraStandIn().start();
  genesys = await new GenesysStandIn().start();
  dataDir = temporaryDirectory('logs');
}, PROCESS_TEST_MS);
afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
  await Promise.all([entra.stop(), genesys.stop()]);
  fs.rmSync(dataDir, { recursive: true, force: true });
}, PROCESS_TEST_MS);

const environment = (extra: Record<string, string> = {}) => ({ ...deployedEnvironment(entra, genesys), DATA_DIR: dataDir, LOG_LEVEL: 'info', POOL_TARGET_SIZE: '0', ...extra });

async function start(extra: Record<string, string> = {}): Promise<RunningGateway> {
  running = spawnGateway(environment(extra));
  port = await whenReady(running);
  return running;
}

const jsonLines = (text: string) => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
const lineOf = (gateway: RunningGateway, requestId: string) => jsonLines(gateway.stdout()).find((e) => e.req?.id === requestId);

test('a single request at idle: its line is on stdout while the gateway keeps running', async () => {
  const gateway = await start();
  const res = await fetch(`http://127.0.0.1:${port}/room/NoSuchRoom`, { headers: { authorization: `Bearer ${mintToken(entra)}`, 'x-request-id': 'arrives-while-running' } });
  expect(res.status).toBe(404);
  await waitUntil(() => lineOf(gateway, 'arrives-while-running') !== undefined, 'the request line on stdout', 10_000);
  expect(gateway.child.exitCode).toBeNull();
  expect(lineOf(gateway, 'arrives-while-running')).toMatchObject({ res: { statusCode: 404 }, route: '/room/:room_name', req: { remoteAddress: '127.0.0.1' } });
}, PROCESS_TEST_MS);

test('a refused token: the line says why (reason code), from which client address behind a trusted proxy, and never holds the token', async () => {
  const gateway = await start({ TRUST_PROXY_ADDRESSES: 'loopback' });
  const expired = mintToken(entra, { now: Date.now() - 3 * 3600_000 });
  const res = await fetch(`http://127.0.0.1:${port}/rooms`, { headers: { authorization: `Bearer ${expired}`, 'x-request-id': 'refused-token', 'x-forwarded-for': '203.0.113.7' } });
  expect(res.status).toBe(401);
  await waitUntil(() => lineOf(gateway, 'refused-token') !== undefined, 'the 401 line on stdout', 10_000);
  expect(lineOf(gateway, 'refused-token')).toMatchObject({
    res: { statusCode: 401 },
    req: { remoteAddress: '203.0.113.7' },
    authFailure: { strategy: 'entra', reason: 'token_expired' },
  });
  const output = gateway.stdout() + gateway.stderr();
  for (const part of expired.split('.')) expect(output).not.toContain(part);
}, PROCESS_TEST_MS);

test('a fatal error (HOST not an address of this machine, found only when listening): the fatal line and the lines before it are on stdout after the process exited 1', async () => {
  // 192.0.2.1 is TEST-NET-1 (RFC 5737), on no interface; a taken port is a start-up error before the store opens (test/process/local-profile.test.ts).
  running = spawnGateway({ ...environment(), HOST: '192.0.2.1' });
  expect(await running.exited).toBe(1);
  const lines = jsonLines(running.stdout());
  expect(lines.find((e) => e.msg === 'store migrated')).toBeDefined();
  expect(lines.find((e) => e.level === 60)).toMatchObject({ msg: 'fatal error; exiting', err: { code: 'EADDRNOTAVAIL' } });
}, PROCESS_TEST_MS);
