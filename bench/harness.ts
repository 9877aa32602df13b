import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { imageCommand } from '../test/support/image.js';
import { unusedPort as freePort } from '../test/support/process.js';

export { freePort };

export const ROOT = process.cwd();

let runtime: { node: string; version: string } | undefined;

/**
 * The Node.js every measured server runs on: the image's (Node.js 24, from
 * `.ci/node24`, the registry's official build), whatever Node.js runs the
 * bench itself; this machine's own only when it cannot be installed.
 */
export function measuredRuntime(): { node: string; version: string } {
  runtime ??= imageNode();
  return runtime;
}

function imageNode(): { node: string; version: string } {
  try {
    const node = path.join(execFileSync(path.join(ROOT, '.ci/node24'), { encoding: 'utf8' }).trim(), 'node');
    return { node, version: execFileSync(node, ['--version'], { encoding: 'utf8' }).trim() };
  } catch {
    return { node: process.execPath, version: `${process.version} (Node.js 24, which the image runs, could not be installed)` };
  }
}

export interface LoadSpec {
  url: string;
  method?: string;
  connections?: number;
  duration?: number;
  amount?: number;
  overallRate?: number;
  headers?: Record<string, string>;
  headerSets?: Record<string, string>[];
  /** Request paths used in turn in place of the URL's (e.g. a different room name per request). */
  paths?: string[];
  /** JSON text where "__SEQ__" and "__TIME__" are replaced per request. */
  bodyTemplate?: string;
  /** `amount` requests at `overallRate` per second, evenly spaced, each timed from when it was due (see load-worker.mjs). */
  paced?: boolean;
  /** A load run first in the same process, not measured (e.g. `{ headers, duration: 2 }`). */
  warmup?: { headers?: Record<string, string>; duration?: number; overallRate?: number };
}

export interface LoadResult {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  statuses: Record<string, number>;
  /** Closed loop: the requests of the warm-up before the measurement. */
  warmupTotal?: number;
  /** Paced: every request's latency (ms), sorted, for percentiles over several loads. */
  latencies?: number[];
}

/** A load (autocannon, or paced requests) from a process of its own. */
export function load(spec: LoadSpec): Promise<LoadResult> {
  const specFile = path.join(os.tmpdir(), `maxconf-load-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(specFile, JSON.stringify(spec));
  return new Promise<LoadResult>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bench/load-worker.mjs'), specFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load worker exited ${code}`))));
  }).finally(() => fs.rmSync(specFile, { force: true }));
}

export interface Started {
  child: ChildProcess;
  port: number;
  /** The gateway: from its spawn until `/public/ready` first answered 200. */
  readyMs?: number;
  stop(): Promise<void>;
}

/**
 * A baseline app that prints its port on stdout, on the image's Node.js with
 * Node's defaults (issue 33: the floor is measured without the gateway's
 * runtime settings, so that a setting's cost shows in the ratio); with
 * `profileDir`, a V8 CPU profile is written there at exit.
 */
export function startBaseline(file: string, env: Record<string, string>, profileDir?: string): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(measuredRuntime().node, [...cpuProfile(profileDir), path.join(ROOT, file)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout?.once('data', (chunk: Buffer) => {
      const port = Number(chunk.toString().trim());
      resolve({ child, port, stop: () => stopChild(child) });
    });
    child.once('exit', (code) => reject(new Error(`${file} exited ${code}`)));
  });
}

function cpuProfile(profileDir: string | undefined): string[] {
  return profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
}

/** The Node.js flags the container image's `CMD` gives before the entry point. */
export function deployedNodeFlags(): string[] {
  return imageCommand(dockerfile()).slice(1, -1);
}

function dockerfile(): string {
  return fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
}

/**
 * The built gateway (`dist/main.js`) as the container runs it (the image's
 * Node.js and its CMD's flags, or `nodeFlags` instead, a production-like log
 * level), logs discarded; with `profileDir`, a V8 CPU profile is written there
 * at exit.
 */
export async function startGateway(env: Record<string, string>, profileDir?: string, nodeFlags = deployedNodeFlags()): Promise<Started> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maxconf-bench-'));
  const child = spawn(measuredRuntime().node, [...cpuProfile(profileDir), ...nodeFlags, path.join(ROOT, 'dist/main.js')], {
    env: deployedEnvironment({ PORT: String(port), DATA_DIR: dataDir, ...env }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const started = performance.now();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/public/ready`).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the gateway did not become ready');
    await sleep(25);
  }
  return { child, port, readyMs: performance.now() - started, stop: async () => {
    await stopChild(child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  } };
}

/** A one-shot entry point (e.g. `dist/gc-command.js`, what `npm run gc` runs) as the container would run it: its stdout and wall time. */
export function runCommand(entry: string, env: Record<string, string>): Promise<{ stdout: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(measuredRuntime().node, [path.join(ROOT, entry)], { env: deployedEnvironment(env), stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve({ stdout, ms: performance.now() - started }) : reject(new Error(`${entry} exited ${code}`))));
  });
}

function deployedEnvironment(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', MAXCONF_ENV: 'edge', HOST: '127.0.0.1', METRICS_PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_DRAIN_SECONDS: '0', ...env };
}

async function stopChild(child: ChildProcess): Promise<void> {
  // Killed by a signal, a child has no exit code but a signal code.
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resident set size of a process, from /proc. */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}
