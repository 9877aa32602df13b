import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { temporaryDirectory } from '../support/gateway.js';
import { REPO_ROOT, spawnGateway, waitUntil, whenListening, whenReady, type RunningGateway } from '../support/process.js';

const exec = promisify(execFile);
let dataDir: string;
let port: number;
let running: RunningGateway | undefined;

beforeEach(() => {
  dataDir = temporaryDirectory('local');
});
afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const env = () => ({ DATA_DIR: dataDir, LOG_LEVEL: 'info' });
/** For configuration checks that refuse to start: a port that is never bound. */
const SOME_PORT = '18089';
/** A gateway start (START_LIMIT_MS at most) and several `npm run` processes, each a build check and a Node start; no timing is asserted. */
const NPM_RUNS_MS = 90_000;

async function startLocal(extra: Record<string, string> = {}): Promise<RunningGateway> {
  running = spawnGateway({ ...env(), ...extra });
  await waitUntil(() => running!.stdout().includes('List:'), 'the local instructions');
  port = await whenReady(running);
  return running;
}

/** The printed line after `label:`, as a shell command. */
function printed(label: string): string {
  const line = running!.stdout().split('\n').find((l) => l.trimStart().startsWith(`${label}:`));
  if (line === undefined) throw new Error(`no "${label}:" line printed`);
  return line.slice(line.indexOf(':') + 1).trim();
}

async function shell(command: string): Promise<string> {
  const { stdout } = await exec('bash', ['-c', command], { cwd: REPO_ROOT, env: { ...process.env, ...env(), LOG_LEVEL: 'warn', METRICS_PORT: '0', MAXCONF_ENV: '', NODE_ENV: '' } });
  return stdout;
}

test('npm start without configuration: the printed lines work as pasted, in order, in one shell, each answer on a line of its own', async () => {
  await startLocal();
  const tokenLine = printed('A token');
  expect(tokenLine).toBe('TOKEN=$(npm run -s token)');
  expect(running!.stdout()).not.toContain('<name>');
  const pasted = ['A token', 'Create', 'Get', 'Agent', 'Event', 'Create', 'Event', 'Health', 'Ready'].map(printed).join('\n');
  const output = await shell(pasted);
  expect(output.endsWith('}\n')).toBe(true);
  const [created, fetched, agent, event, second, secondEvent, health, ready, ...rest] = output.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(rest).toEqual([]);
  expect(created!.tag).toBe('http://localhost/verification/MTIzNDU2LDc2NTQzMg');
  expect(fetched).toMatchObject({ name: created!.name, pin: expect.stringMatching(/^\d{6}$/) });
  expect(agent).toMatchObject({ name: created!.name, pin: fetched!.pin });
  expect(event).toEqual({ status: 'ok', accepted: 1, duplicates: 0, rejected: 0 });
  // The same printed line again, for a second room, is a new event (fresh seq and time), not a duplicate.
  expect(second!.name).not.toBe(created!.name);
  expect(secondEvent).toEqual({ status: 'ok', accepted: 1, duplicates: 0, rejected: 0 });
  expect(health).toMatchObject({ status: 'alive' });
  expect(ready).toEqual({ status: 'ready', checks: { store: 'ok', signing_keys: 'ok', serving: 'ok' } });
  const listed = await shell(`${tokenLine}; ${printed('List')}`);
  expect(listed).toMatch(/^HTTP\/1\.1 200/);
  expect(listed).toMatch(/X-Total-Count: \d+/i);
  expect(listed).toContain(String(created!.name));
  expect(listed.endsWith('\n')).toBe(true);
}, NPM_RUNS_MS);

test('a second gateway on the same port and data directory says the port is taken, in one line; on another port, that the data directory is in use', async () => {
  const first = await startLocal();
  const again = spawnGateway({ ...env(), PORT: String(port) });
  expect(await again.exited).toBe(1);
  expect(again.stderr()).toBe(`127.0.0.1:${port} is already in use (another gateway?): stop what holds it, or set PORT to a free port.\n`);
  const otherPort = spawnGateway(env());
  expect(await otherPort.exited).toBe(1);
  expect(otherPort.stderr()).toBe(`The data directory ${dataDir} is in use by process ${first.child.pid} (another gateway, npm run gc or npm run adopt): stop it, or set DATA_DIR to another directory.\n`);
  expect(otherPort.stdout()).not.toMatch(/"level":60|unhandledRejection/);
}, NPM_RUNS_MS);

test('the local agent token is kept in the data directory: the same at every start', async () => {
  const agentToken = () => /x-auth-token: (local-agent-\S+)"/.exec(printed('Agent'))?.[1];
  await startLocal();
  const first = agentToken();
  expect(first).toBeDefined();
  running!.kill('SIGTERM');
  await running!.exited;
  await startLocal();
  expect(agentToken()).toBe(first);
}, NPM_RUNS_MS);

test('npm run token: --help prints the usage; an unknown option is refused with the usage, exit status 2', async () => {
  const help = await shell('npm run -s token -- --help');
  expect(help).toMatch(/^Usage: npm run -s token \[-- --v1\] \[-- --role=NAME \.\.\.\]/);
  await expect(shell('npm run -s token -- --v2')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^unknown option '--v2'\nUsage: /) });
});

test('the local token is verified through the loopback JWKS (a token signed by another key is refused)', async () => {
  await startLocal();
  const token = (await shell('npm run -s token')).trim();
  const ok = await fetch(`http://127.0.0.1:${port}/rooms`, { headers: { authorization: `Bearer ${token}` } });
  expect(ok.status).toBe(200);
  const [header, payload] = token.split('.');
  const forged = await fetch(`http://127.0.0.1:${port}/rooms`, { headers: { authorization: `Bearer ${header}.${payload}.${'A'.repeat(342)}` } });
  expect(forged.status).toBe(401);
}, NPM_RUNS_MS);

test('npm run gc deletes rooms whose conference ended long enough ago, says when the others become due and how many events were rejected, and refuses while the gateway holds the store', async () => {
  await startLocal();
  const token = (await shell('npm run -s token')).trim();
  const create = async () => (await (await fetch(`http://127.0.0.1:${port}/room/create?uuiData=0102`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).json()) as { name: string };
  const created = await create();
  const endedJustNow = await create();
  const end = (seq: number, name: string, time: number) =>
    fetch(`http://127.0.0.1:${port}/public/event_sink`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('pexip:local-sink-password').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ node: '10.0.0.1', seq, version: 2, time, event: 'conference_ended', data: { name } }),
    });
  const endedAt = Math.floor(Date.now() / 1000);
  expect((await end(1, created.name, endedAt - 3600)).status).toBe(200);
  expect((await end(2, endedJustNow.name, endedAt)).status).toBe(200);
  expect((await end(3, '', endedAt)).status).toBe(200);
  await expect(shell('npm run -s gc')).rejects.toMatchObject({ stderr: expect.stringMatching(/in use by process/) });
  running!.kill('SIGTERM');
  expect(await running!.exited).toBe(0);

  const [report, waiting, rejected, ledger] = (await shell('npm run -s gc')).trim().split('\n');
  expect(JSON.parse(report!)).toEqual({ unusedQueued: 0, lostEndsQueued: 0, deleted: 1, alreadyGone: 0, persistentKept: 0, notOurs: 0, inUseKept: 0, failed: 0 });
  expect(ledger).toMatch(/^Room ledger: \d+ creating, \d+ pooled, 0 handed out, 0 started, 1 ended, 1 deleted; 0 creations awaiting reconciliation with the provider\.$/);
  expect(waiting).toMatch(/^1 queued entry is not yet due \(GC_GRACE_SECONDS=600\); the next becomes due at (\S+) \(in \d+ s\)\.$/);
  expect(waiting).toContain(new Date((endedAt + 600) * 1000).toISOString());
  expect(rejected).toMatch(/^1 Pexip event could not be processed and is kept in the table event_rejected, without PINs \(the newest received at \S+Z\)\.$/);
  await startLocal();
  const gone = await fetch(`http://127.0.0.1:${port}/room/${created.name}`, { headers: { authorization: `Bearer ${token}` } });
  expect(gone.status).toBe(404);
}, NPM_RUNS_MS);

test('an event acknowledged just before kill -9 is not lost', async () => {
  await startLocal();
  const ended = { node: '10.0.0.9', seq: 77, version: 1, time: Date.now() / 1000, event: 'conference_ended', data: { name: 'CrashRoom' } };
  const res = await fetch(`http://127.0.0.1:${port}/public/event_sink`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('pexip:local-sink-password').toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify(ended),
  });
  expect(res.status).toBe(200);
  running!.kill('SIGKILL');
  await running!.exited;
  await startLocal();
  const again = await fetch(`http://127.0.0.1:${port}/public/event_sink`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('pexip:local-sink-password').toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify(ended),
  });
  expect(await again.json()).toEqual({ status: 'ok', accepted: 0, duplicates: 1, rejected: 0 });
});

test('a bad configuration lists every bad variable and exits non-zero before listening', async () => {
  running = spawnGateway({ ENTRA_TENANT_ID: 'nope', JWKS_COOLDOWN_SECONDS: '1', MAXCONF_ENV: 'staging' });
  const code = await running.exited;
  expect(code).not.toBe(0);
  expect(running.stderr()).toMatch(/ENTRA_TENANT_ID: must be a GUID/);
  expect(running.stderr()).toMatch(/JWKS_COOLDOWN_SECONDS:/);
  expect(running.stderr()).toMatch(/MAXCONF_ENV:/);
  expect(running.ports()).toBeUndefined();
});

test('a configuration with a type error still lists the missing required variables', async () => {
  running = spawnGateway({ PORT: 'eighty', MAXCONF_ENV: 'prod' });
  expect(await running.exited).toBe(1);
  for (const variable of ['PORT', 'ROOM_TAG_BASE_URL', 'GENESYS_ALLOWED_DIVISIONS', 'EVENT_SINK_USERNAME', 'EVENT_SINK_PASSWORD']) {
    expect(running.stderr()).toMatch(new RegExp(`^  - ${variable}: `, 'm'));
  }
});

test('configuration checks at start-up: PORT equal to METRICS_PORT and PORT=abc are refused in our words; an unknown NODE_ENV and a misspelt variable are warned about', async () => {
  running = spawnGateway({ ...env(), PORT: SOME_PORT, METRICS_PORT: SOME_PORT, MAXCONF_ENV: 'prd' });
  expect(await running.exited).toBe(1);
  expect(running.stderr()).toContain(`  - METRICS_PORT: must differ from PORT (both ${SOME_PORT})`);
  expect(running.stderr()).toContain("  - MAXCONF_ENV: must be one of local, edge, test, prod, got 'prd'");
  expect(running.ports()).toBeUndefined();
  running = spawnGateway({ ...env(), PORT: 'abc' });
  expect(await running.exited).toBe(1);
  expect(running.stderr()).toContain("  - PORT: must be a whole number between 0 and 65535, got 'abc'");
  expect(running.stderr()).not.toMatch(/NaN|expected number/);

  await startLocal({ NODE_ENV: 'staging', ENTRA_TENANTID: 'x' });
  expect(running!.stderr()).toContain("WARNING: NODE_ENV='staging' is none of production, development, test");
  expect(running!.stderr()).toContain('WARNING: ENTRA_TENANTID is not a variable the gateway reads (did you mean ENTRA_TENANT_ID?); see .env.example');
}, NPM_RUNS_MS);

test('a taken port ends the gateway with one line naming PORT', async () => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  port = (holder.address() as net.AddressInfo).port;
  try {
    running = spawnGateway({ ...env(), PORT: String(port) });
    expect(await running.exited).toBe(1);
    expect(running.stderr()).toBe(`127.0.0.1:${port} is already in use (another gateway?): stop what holds it, or set PORT to a free port.\n`);
  } finally {
    await new Promise((resolve) => holder.close(resolve));
  }
}, 60_000);

test('.env in the working directory is loaded, and real environment variables win over it', async () => {
  fs.writeFileSync(path.join(dataDir, '.env'), `# a newcomer's .env\nLOG_LEVEL=warn\n`);
  running = spawnGateway({ DATA_DIR: dataDir }, 'dist/main.js', dataDir);
  await waitUntil(() => running!.stdout().includes('List:'), 'the local instructions');
  expect(running.stdout()).not.toContain('"level":30');
  running.kill('SIGTERM');
  await running.exited;

  running = spawnGateway({ DATA_DIR: dataDir, LOG_LEVEL: 'info' }, 'dist/main.js', dataDir);
  port = (await whenListening(running)).port;
  await waitUntil(() => running!.stdout().includes('List:'), 'the local instructions');
  expect(running.stdout()).toContain(`at http://127.0.0.1:${port}`);
}, 60_000);

test('the local profile refuses to start with NODE_ENV=production', async () => {
  running = spawnGateway({ ...env(), NODE_ENV: 'production', MAXCONF_ENV: 'local' });
  expect(await running.exited).not.toBe(0);
  expect(running.stderr()).toMatch(/local profile is refused/);
  expect(running.ports()).toBeUndefined();
});

describe('a deployed profile and its room provider', () => {
  const deployed = () => ({
    ...env(),
    MAXCONF_ENV: 'prod',
    ENTRA_JWKS_URI: 'http://127.0.0.1:9/keys',
    ROOM_TAG_BASE_URL: 'https://idim.example.gov/verification',
    GENESYS_ALLOWED_DIVISIONS: 'division-1',
    EVENT_SINK_USERNAME: 'pexip',
    EVENT_SINK_PASSWORD: 'a-long-sink-password',
  });

  test('without ROOM_PROVIDER it refuses to start, naming the variable', async () => {
    running = spawnGateway(deployed());
    expect(await running.exited).not.toBe(0);
    expect(running.stderr()).toMatch(/ROOM_PROVIDER: required outside the local profile/);
    expect(running.ports()).toBeUndefined();
  });

  test('with ROOM_PROVIDER=embedded it starts, warning that its rooms exist on no conferencing node', async () => {
    running = spawnGateway({ ...deployed(), ROOM_PROVIDER: 'embedded' });
    await whenListening(running);
    expect(running.stderr()).toMatch(/^WARNING: ROOM_PROVIDER=embedded in the prod profile: .*do not exist on any conferencing node/m);
  });
});

test('kill -9 and restart: rooms and the pool survive, nothing is handed out twice', async () => {
  await startLocal();
  const token = (await shell('npm run -s token')).trim();
  const headers = { authorization: `Bearer ${token}` };
  const handedOut: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    const res = await fetch(`http://127.0.0.1:${port}/room/create?uuiData=0102`, { method: 'POST', headers });
    handedOut.push(((await res.json()) as { name: string }).name);
  }
  await waitUntil(async () => Number((await fetch(`http://127.0.0.1:${port}/rooms`, { headers })).headers.get('x-total-count')) >= 6, 'the pool refill');
  const before = (await (await fetch(`http://127.0.0.1:${port}/rooms?limit=500`, { headers })).json()) as { name: string }[];
  running!.kill('SIGKILL');
  await running!.exited;

  await startLocal();
  const after = (await (await fetch(`http://127.0.0.1:${port}/rooms?limit=500`, { headers })).json()) as { name: string }[];
  expect(after.map((r) => r.name)).toEqual(expect.arrayContaining(before.map((r) => r.name)));
  for (let i = 0; i < 3; i += 1) {
    const res = await fetch(`http://127.0.0.1:${port}/room/create?uuiData=0102`, { method: 'POST', headers });
    handedOut.push(((await res.json()) as { name: string }).name);
  }
  expect(new Set(handedOut).size).toBe(6);
});

test('npm run adopt counts with --dry-run, records rooms the ledger lacks once, and refuses an unknown flag with its usage', async () => {
  await startLocal();
  const token = (await shell('npm run -s token')).trim();
  const created = (await (await fetch(`http://127.0.0.1:${port}/room/create?uuiData=0102`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).json()) as { name: string };
  running!.kill('SIGTERM');
  expect(await running!.exited).toBe(0);
  // What a release before the ledger leaves: the room on the provider, not in the ledger.
  await shell(`node --input-type=module -e "
    const { openEmbeddedStore } = await import('./dist/store/embedded.js');
    const store = await openEmbeddedStore(process.env.DATA_DIR);
    await store.query('DELETE FROM room_ledger WHERE room_name = \\$1', ['${created.name}']);
    await store.close();"`);
  const report = (line: string) => JSON.parse(line) as { seen: number; adopted: number; alreadyKnown: number; dryRun: boolean };
  expect(report(await shell('npm run -s adopt -- --dry-run'))).toMatchObject({ adopted: 1, dryRun: true });
  expect(report(await shell('npm run -s adopt'))).toMatchObject({ adopted: 1, dryRun: false });
  expect(report(await shell('npm run -s adopt'))).toMatchObject({ adopted: 0 });
  await expect(shell('npm run -s adopt -- --everything')).rejects.toMatchObject({ stderr: expect.stringMatching(/Unknown option '--everything'[\s\S]*Usage: npm run adopt/) });
}, NPM_RUNS_MS);
