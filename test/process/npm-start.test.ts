import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { temporaryDirectory } from '../support/gateway.js';
import { isListening, portsIn, REPO_ROOT, START_LIMIT_MS, waitUntil } from '../support/process.js';

/**
 * `npm start` as an operator runs it without a container after a production install
 * (`npm ci --omit=dev`): package.json, the built dist/ and openapi.yaml, no TypeScript.
 */
let appDir: string;
let dataDir: string;
let npm: { child: ChildProcess; output: () => string; exited: Promise<number | null> } | undefined;

beforeEach(async () => {
  appDir = temporaryDirectory('production-install');
  dataDir = temporaryDirectory('npm-start-data');
  for (const file of ['package.json', 'openapi.yaml']) fs.copyFileSync(path.join(REPO_ROOT, file), path.join(appDir, file));
});
afterEach(async () => {
  if (npm?.child.pid !== undefined) {
    try {
      process.kill(-npm.child.pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    await npm.exited;
  }
  npm = undefined;
  for (const dir of [appDir, dataDir]) fs.rmSync(dir, { recursive: true, force: true });
});

/** `npm start` as the leader of a process group of its own, so that whatever it starts can be found (and killed) as the group. */
function npmStart(): NonNullable<typeof npm> {
  const child = spawn('npm', ['start'], {
    cwd: appDir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm = { child, output: () => output, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  return npm;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

const withBuild = () => fs.symlinkSync(path.join(REPO_ROOT, 'dist'), path.join(appDir, 'dist'));

test('without TypeScript and without a build, npm start says what to do instead of "tsc: not found"', async () => {
  const started = npmStart();
  expect(await started.exited).not.toBe(0);
  expect(started.output()).toContain('npm start: dist/main.js is missing and TypeScript is not installed (a production install). Build with the development dependencies first: npm ci && npm run build && npm prune --omit=dev');
  expect(started.output()).not.toContain('tsc: not found');
}, 60_000);

test.each(['SIGTERM', 'SIGINT'] as const)('%s to npm’s own pid (after a production install, with a build) stops the gateway: node exits (and with it its hold on the data directory) and the port is free', async (signal) => {
  withBuild();
  const started = npmStart();
  await waitUntil(() => portsIn(started.output()) !== undefined, 'the gateway listening', START_LIMIT_MS);
  const { port } = portsIn(started.output())!;
  expect(await isListening(port)).toBe(true);
  const pgid = started.child.pid!;
  process.kill(pgid, signal);
  await started.exited;
  // npm's shell execs node, which gets the signal npm forwards: nothing of the group is left (node orphaned by its shell would be).
  await waitUntil(() => !groupAlive(pgid), 'every process npm started to exit', 30_000);
  expect(started.output()).toContain(`"signal":"${signal}"`);
  expect(started.output()).toContain('"msg":"stopped"');
  expect(await isListening(port)).toBe(false);
}, 90_000);
