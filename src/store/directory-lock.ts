import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The exit status flock(1) is told to give when another process holds the lock. */
const HELD_ELSEWHERE = 75;

/**
 * Only one process may open a data directory. The lock is the kernel's
 * (flock(2) on `gateway.lock`), taken by util-linux's flock(1) on a descriptor
 * this process keeps open: flock locks belong to the open file description, so
 * the lock stays ours after flock(1) exits, and the kernel drops it when this
 * process ends, however it ends. Unlike a PID record it holds across PID
 * namespaces (two containers on one volume, each running the gateway as PID 1)
 * and two processes cannot both take over a lock left by a crash.
 * The file records the holder's PID for the error message only, and is never
 * removed (a process waiting on the old file would lock a file nobody else sees).
 * Where flock(1) is missing (macOS), a PID record guards the directory instead.
 */
export function lockDirectory(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, 'gateway.lock');
  const fd = fs.openSync(lockFile, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  const flock = spawnSync('flock', ['--nonblock', '--conflict-exit-code', String(HELD_ELSEWHERE), '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
  if ((flock.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    fs.closeSync(fd);
    return lockByPidRecord(dataDir, lockFile);
  }
  if (flock.status !== 0) {
    const holder = Number(readRecord(fd).split(' ', 1)[0]);
    fs.closeSync(fd);
    if (flock.status === HELD_ELSEWHERE) throw inUse(dataDir, holder);
    throw new Error(`could not lock the data directory ${dataDir}: flock(1) ${flock.error?.message ?? `exited with ${flock.status ?? flock.signal}: ${flock.stderr.toString().trim()}`}`);
  }
  fs.ftruncateSync(fd);
  fs.writeSync(fd, lockOwner(), 0);
  return once(() => fs.closeSync(fd));
}

/**
 * The fallback: a file created exclusively, holding our PID and when this
 * process started; a lock left by a process that is gone is taken over. The
 * start time tells a lock of ours from one left by an earlier process with
 * the same PID.
 */
function lockByPidRecord(dataDir: string, lockFile: string): () => void {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      fs.writeFileSync(lockFile, lockOwner(), { flag: 'wx' });
      return once(() => fs.rmSync(lockFile, { force: true }));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = fs.readFileSync(lockFile, 'utf8');
      const holder = Number(held.split(' ', 1)[0]);
      const earlierSelf = holder === process.pid && held !== lockOwner();
      if (!earlierSelf && isAlive(holder)) throw inUse(dataDir, holder);
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`could not lock the data directory ${dataDir}`);
}

function inUse(dataDir: string, holder: number): Error {
  const who = Number.isInteger(holder) && holder > 0 ? `process ${holder}` : 'another process';
  return new Error(`the data directory ${dataDir} is in use by ${who}`);
}

function readRecord(fd: number): string {
  const buffer = Buffer.alloc(64);
  return buffer.subarray(0, fs.readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
}

function lockOwner(): string {
  return `${process.pid} ${performance.timeOrigin}`;
}

function once(release: () => void): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
  };
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
