import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * A port nothing listens on now: for a connection that must be refused, a metrics listener (METRICS_PORT=0
 * turns metrics off), or a server that cannot say which port it bound (the bench's baselines, a release from
 * before the gateway logged it). A test's gateway never gets its port this way (another process can take it
 * between this probe and the start): it binds PORT=0 and says which port it got (`ports()`).
 */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * How long a gateway may take from its spawn to ready before a test gives up. Measured on this 2-core machine
 * (2026-12-07) over 89 starts in a full `npm test` and a rerun of the process and PostgreSQL tests, each beside
 * other test runs (load average up to 8): median 2.1 s, slowest 5.5 s. Four times the slowest.
 */
export const START_LIMIT_MS = 20_000;

export interface BoundPorts {
  port: number;
  metricsPort?: number;
}

export interface RunningGateway {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** The ports the gateway bound, from its `gateway listening` line (LOG_LEVEL info or lower), once it has written it. */
  ports: () => BoundPorts | undefined;
  /** Signals the whole process group the gateway leads, so that nothing it started outlives the test. */
  kill: (signal: NodeJS.Signals) => void;
}

/**
 * Starts the built gateway (`node dist/main.js`, or another entry point) with exactly the environment given
 * (plus PATH and HOME), as the leader of a process group of its own. Unless the environment names them, the
 * gateway binds ports the system chooses (PORT=0, METRICS_PORT=0).
 */
export function spawnGateway(env: Record<string, string>, entry = 'dist/main.js', cwd = REPO_ROOT): RunningGateway {
  const child = spawn(process.execPath, [path.resolve(REPO_ROOT, entry)], {
    cwd,
    // No load balancer watches a test's gateway: no drain on SIGTERM unless the test sets one.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', METRICS_PORT: '0', SHUTDOWN_DRAIN_SECONDS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };
  return { child, stdout: () => out, stderr: () => err, exited, ports: () => portsIn(out), kill };
}

/** The ports named by a gateway's `gateway listening` line in its stdout, once it is there. */
export function portsIn(stdout: string): BoundPorts | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.includes('"gateway listening"')) continue;
    const entry = JSON.parse(line) as { msg?: string; port?: number; metricsPort?: number };
    if (entry.msg === 'gateway listening' && typeof entry.port === 'number') return { port: entry.port, metricsPort: entry.metricsPort };
  }
  return undefined;
}

/** The ports the gateway bound, once it listens; an error with its stderr if it exits first. */
export async function whenListening(running: RunningGateway, limitMs = START_LIMIT_MS): Promise<BoundPorts> {
  await waitUntil(() => running.ports() !== undefined || failIfExited(running), 'the gateway to listen', limitMs);
  return running.ports()!;
}

/** The gateway's port, once `/public/ready` answers 200; an error with its stderr if it exits first. */
export async function whenReady(running: RunningGateway, what = 'the gateway ready', limitMs = START_LIMIT_MS): Promise<number> {
  const ready = async () => {
    const port = running.ports()?.port;
    return port !== undefined && (await fetch(`http://127.0.0.1:${port}/public/ready`).catch(() => undefined))?.status === 200;
  };
  await waitUntil(async () => (await ready()) || failIfExited(running), what, limitMs);
  return running.ports()!.port;
}

/** False while the process runs; throws, with the end of its stderr, once it has exited. */
function failIfExited(running: RunningGateway): false {
  if (running.child.exitCode === null && running.child.signalCode === null) return false;
  throw new Error(`the gateway exited (${running.child.exitCode ?? running.child.signalCode}):\n${running.stderr().slice(-2000)}`);
}

export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
