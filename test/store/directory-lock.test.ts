import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { lockDirectory } from '../../src/store/directory-lock.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
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

/** Locks in the jest process wait for lockers within this, under jest's own 20 s limit. */
const LIMIT_MS = 15_000;
/** A PATH without util-linux's flock(1): the PID-record guard, as macOS has it and as earlier releases locked. */
const WITHOUT_FLOCK = { PATH: '/nonexistent' };

const lockers: Locker[] = [];

/** Runs `open` in this process with WITHOUT_FLOCK's PATH (a lock looks flock(1) up when it is taken). */
function withoutFlock<T>(open: () => T): T {
  const saved = process.env.PATH;
  process.env.PATH = WITHOUT_FLOCK.PATH;
  try {
    return open();
  } finally {
    process.env.PATH = saved;
  }
}
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
  await waitUntil(() => lines(locker)[0] === 'ready', 'the locker to start', LIMIT_MS);
  locker.child.stdin?.write('go\n');
  await waitUntil(() => lines(locker).length > 1, 'the locker to answer', LIMIT_MS);
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

/** Six lockers told to go together: what each answered, and the one that holds. */
async function sixAtOnce(env: Record<string, string> = {}): Promise<{ answers: string[]; holder: Locker }> {
  const contenders = Array.from({ length: 6 }, () => startLocker(env));
  await waitUntil(() => contenders.every((locker) => lines(locker)[0] === 'ready'), 'the contenders to start', LIMIT_MS);
  const answers = await Promise.all(contenders.map(tryLock));
  expect(answers.filter((answer) => answer === 'held')).toHaveLength(1);
  // One that asks between the winner's lock and its PID record being written is told "another process".
  expect(answers.filter((answer) => /^refused: .* is in use by (process \d+|another process)$/.test(answer))).toHaveLength(5);
  return { answers, holder: contenders[answers.indexOf('held')] as Locker };
}

test('of six processes opening a directory at once, exactly one gets it; when the holder is killed, the lock is taken at once', async () => {
  const first = startLocker();
  expect(await tryLock(first)).toBe('held');
  await stop(first.child);

  const { holder } = await sixAtOnce();
  await stop(holder.child);
  expect(await tryLock(startLocker())).toBe('held');
});

test('a directory released by its holder is taken by the next, and a release twice is harmless', () => {
  const { release, guard } = lockDirectory(dir);
  expect(guard).toBe('flock');
  expect(() => lockDirectory(dir)).toThrow(`is in use by process ${process.pid}`);
  release();
  release();
  lockDirectory(dir).release();
});

test('a gateway of an earlier release, holding the directory by its PID record alone, is refused by the kernel lock, and refuses it', async () => {
  const earlier = startLocker(WITHOUT_FLOCK);
  expect(await tryLock(earlier)).toBe('held');
  expect(await tryLock(startLocker())).toBe(`refused: the data directory ${dir} is in use by process ${earlier.child.pid}`);
  await stop(earlier.child);

  const current = startLocker();
  expect(await tryLock(current)).toBe('held');
  expect(await tryLock(startLocker(WITHOUT_FLOCK))).toBe(`refused: the data directory ${dir} is in use by process ${current.child.pid}`);
});

describe('without flock(1), a PID record', () => {
  test('refuses while its holder lives and is taken over once it is dead', async () => {
    const holder = startLocker(WITHOUT_FLOCK);
    expect(await tryLock(holder)).toBe('held');
    expect(await tryLock(startLocker(WITHOUT_FLOCK))).toBe(`refused: the data directory ${dir} is in use by process ${holder.child.pid}`);
    await stop(holder.child);
    expect(await tryLock(startLocker(WITHOUT_FLOCK))).toBe('held');
  });

  test('is never read half written: of six processes opening a new directory at once, exactly one gets it', async () => {
    await sixAtOnce(WITHOUT_FLOCK);
  });

  test('is used by the embedded store with a warning that says what it does not guard', async () => {
    const warnings: unknown[][] = [];
    const store = await withoutFlock(() => openEmbeddedStore(dir, { warn: (...args: unknown[]) => void warnings.push(args) }));
    try {
      expect(warnings).toEqual([[{ dataDir: dir }, expect.stringContaining('util-linux flock(1) is not on PATH: the data directory is guarded by a PID record')]]);
    } finally {
      await store.close();
    }
  });

  test("left by an earlier process with this process's PID (a container's PID 1 after a crash) is taken over; this process's own is not", () => {
    fs.writeFileSync(`${dir}/gateway.lock`, `${process.pid} ${performance.timeOrigin - 60_000}`);
    const { release, guard } = withoutFlock(() => lockDirectory(dir));
    expect(guard).toBe('pid-record');
    expect(() => withoutFlock(() => lockDirectory(dir))).toThrow(`in use by process ${process.pid}`);
    release();
  });
});
