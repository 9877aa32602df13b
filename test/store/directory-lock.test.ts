import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { lockDirectory } from '../../src/store/directory-lock.js';
import { temporaryDirectory } from '../support/gateway.js';
import { REPO_ROOT, waitUntil } from '../support/process.js';

/**
 * Processes that lock a data directory as the gateway does (the built
 * src/store/directory-lock.ts), each in a process group of its own: it says
 * `ready`, on a `go` line it tries and says `held` or `refused: …`, and a
 * holder keeps the lock until it is killed.
 */
interface Locker {
  child: ChildProcess;
  output: () => string;
}

const LOCKER = `
process.stdout.write('ready\\n');
import { lockDirectory } from ${JSON.stringify(pathToFileURL(path.join(REPO_ROOT, 'dist/store/directory-lock.js')).href)};
process.stdin.once('data', () => {
  try {
    lockDirectory(process.env.LOCK_DIR);
    process.stdout.write('held\\n');
  } catch (error) {
    process.stdout.write('refused: ' + error.message + '\\n');
    process.exit(3);
  }
});
`;

const lockers: Locker[] = [];
let dir: string;

beforeEach(() => {
  dir = temporaryDirectory('directory-lock');
});
afterEach(async () => {
  for (const { child } of lockers.splice(0)) await stop(child);
  fs.rmSync(dir, { recursive: true, force: true });
});

function startLocker(env: Record<string, string> = {}): Locker {
  const child = spawn(process.execPath, ['--input-type=module', '-e', LOCKER], {
    env: { PATH: process.env.PATH ?? '', LOCK_DIR: dir, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const locker = { child, output: () => out };
  lockers.push(locker);
  return locker;
}

const lines = (locker: Locker) => locker.output().split('\n').slice(0, -1);

async function tryLock(locker: Locker): Promise<string> {
  await waitUntil(() => lines(locker)[0] === 'ready', 'the locker to start');
  locker.child.stdin?.write('go\n');
  await waitUntil(() => lines(locker).length > 1, 'the locker to answer');
  return lines(locker)[1] as string;
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-(child.pid as number), signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
  await exited;
}

test('a directory held by a live process is refused whatever PID its record names (in another container the holder may be PID 1, or our own PID)', async () => {
  const holder = startLocker();
  expect(await tryLock(holder)).toBe('held');
  for (const record of [`${process.pid} ${performance.timeOrigin - 60_000}`, '999999999 0', '']) {
    fs.writeFileSync(path.join(dir, 'gateway.lock'), record);
    expect(() => lockDirectory(dir)).toThrow(/is in use by (process|another process)/);
  }
});

test('of six processes opening a directory at once, exactly one gets it; when the holder is killed, the lock is taken at once', async () => {
  const first = startLocker();
  expect(await tryLock(first)).toBe('held');
  await stop(first.child);

  const contenders = Array.from({ length: 6 }, () => startLocker());
  await waitUntil(() => contenders.every((locker) => lines(locker)[0] === 'ready'), 'the contenders to start');
  const answers = await Promise.all(contenders.map(tryLock));
  expect(answers.filter((answer) => answer === 'held')).toHaveLength(1);
  // One that asks between the winner's lock and its PID record being written is told "another process".
  expect(answers.filter((answer) => /^refused: .* is in use by (process \d+|another process)$/.test(answer))).toHaveLength(5);

  const holder = contenders[answers.indexOf('held')] as Locker;
  await stop(holder.child);
  expect(await tryLock(startLocker())).toBe('held');
});

test('a directory released by its holder is taken by the next, and a release twice is harmless', () => {
  const release = lockDirectory(dir);
  expect(() => lockDirectory(dir)).toThrow(`is in use by process ${process.pid}`);
  release();
  release();
  lockDirectory(dir)();
});

test('without flock(1) a PID record guards the directory: a live holder refuses, a dead one is taken over', async () => {
  const noFlock = { PATH: '/nonexistent' };
  const holder = startLocker(noFlock);
  expect(await tryLock(holder)).toBe('held');
  expect(await tryLock(startLocker(noFlock))).toMatch(`refused: the data directory ${dir} is in use by process ${holder.child.pid}`);
  await stop(holder.child);
  expect(await tryLock(startLocker(noFlock))).toBe('held');
});
