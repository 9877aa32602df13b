import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The exit status flock(1) is told to give when another process holds the lock. */
const HELD_ELSEWHERE = 75;
/** Ends the record of a holder that has the kernel's lock; a record without it was written by a PID-record lock. */
const FLOCK_MARK = ' flock';

export interface DirectoryLock {
  release: () => void;
  /** `pid-record` where flock(1) is missing: weaker (one PID namespace; a stale takeover can race). */
  guard: 'flock' | 'pid-record';
}

/**
 * Only one process may open a data directory. The lock is the kernel's
 * (flock(2) on `gateway.lock`), taken by util-linux's flock(1) on a descriptor
 * this process keeps open: flock locks belong to the open file description, so
 * the lock stays ours after flock(1) exits, and the kernel drops it when this
 * process ends, however it ends. Unlike a PID record it holds across PID
 * namespaces on one host (two containers on one volume, each running the
 * gateway as PID 1) and two processes cannot both take over a lock left by a
 * crash. The file records the holder's PID (for the error message, and in the
 * PID-record format, so that a gateway of an earlier release refuses a live
 * holder too) and is never removed: a process waiting on the old file would
 * lock a file nobody else sees. Where flock(1) is missing (macOS), a PID
 * record guards the directory instead.
 */
export function lockDirectory(dataDir: string): DirectoryLock {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, 'gateway.lock');
  const flock = findOnPath('flock');
  if (flock === undefined) return { release: lockByPidRecord(dataDir, lockFile), guard: 'pid-record' };
  const fd = fs.openSync(lockFile, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  try {
    takeKernelLock(dataDir, flock, fd);
    const record = readRecord(fd);
    // A gateway of an earlier release holds a directory by its PID record alone.
    if (!record.endsWith(FLOCK_MARK) && heldByLiveRecord(record)) throw inUse(dataDir, pidOf(record));
    fs.ftruncateSync(fd);
    fs.writeSync(fd, `${lockOwner()}${FLOCK_MARK}`, 0);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  return { release: once(() => fs.closeSync(fd)), guard: 'flock' };
}

function takeKernelLock(dataDir: string, flock: string, fd: number): void {
  const result = spawnSync(flock, ['--nonblock', '--conflict-exit-code', String(HELD_ELSEWHERE), '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
  if (result.status === 0) return;
  if (result.status === HELD_ELSEWHERE) throw inUse(dataDir, pidOf(readRecord(fd)));
  const why = result.error?.message ?? `exited with ${result.status ?? result.signal}: ${result.stderr.toString().trim()}`;
  throw new Error(`could not lock the data directory ${dataDir}: util-linux flock(1) ${why}`);
}

/**
 * The fallback: a record of our PID and when this process started, put in
 * place whole (linked from a file of our own, so nobody reads it half
 * written); a record left by a process that is gone is removed and replaced.
 * The start time tells a record of ours from one left by an earlier process
 * with the same PID.
 */
function lockByPidRecord(dataDir: string, lockFile: string): () => void {
  const ours = `${lockFile}.${process.pid}`;
  fs.writeFileSync(ours, lockOwner());
  try {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        fs.linkSync(ours, lockFile);
        return once(() => fs.rmSync(lockFile, { force: true }));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const held = readFile(lockFile);
        if (heldByLiveRecord(held)) throw inUse(dataDir, pidOf(held));
        fs.rmSync(lockFile, { force: true });
      }
    }
  } finally {
    fs.rmSync(ours, { force: true });
  }
  throw new Error(`could not lock the data directory ${dataDir}`);
}

/** A PID record names a live process other than this one, or this process's own record. */
function heldByLiveRecord(record: string): boolean {
  const holder = pidOf(record);
  const earlierSelf = holder === process.pid && record.split(' ', 2).join(' ') !== lockOwner();
  return !earlierSelf && isAlive(holder);
}

function pidOf(record: string): number {
  return Number(record.split(' ', 1)[0]);
}

/** Another process (a gateway, `npm run gc` or `npm run adopt`) holds the data directory. */
export class DataDirectoryInUseError extends Error {
  constructor(readonly dataDir: string, readonly holder: number | undefined) {
    super(`the data directory ${dataDir} is in use by ${holder === undefined ? 'another process' : `process ${holder}`}`);
    this.name = 'DataDirectoryInUseError';
  }
}

function inUse(dataDir: string, holder: number): Error {
  return new DataDirectoryInUseError(dataDir, Number.isInteger(holder) && holder > 0 ? holder : undefined);
}

function readRecord(fd: number): string {
  const buffer = Buffer.alloc(128);
  return buffer.subarray(0, fs.readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
}

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

function lockOwner(): string {
  return `${process.pid} ${performance.timeOrigin}`;
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(path.isAbsolute)) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
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
