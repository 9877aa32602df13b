import http, { type Server } from 'node:http';
import net from 'node:net';
import type { Logger } from 'pino';
import { ConfigError, type GatewayConfig, loadConfig, withDotEnv } from './config.js';
import { createGateway, type Gateway, type ResolvedConfig } from './gateway.js';
import { type LocalGenesys, startLocalGenesys } from './local/genesys-stand-in.js';
import { type LocalIdentityProvider, loadOrCreateLocalSigningKey, startLocalIdentityProvider } from './local/identity-provider.js';
import { printLocalInstructions } from './local/instructions.js';
import { createHttpServer } from './http/server.js';
import { createLogger, type StdoutDestination, stdoutDestination } from './logger.js';
import { DataDirectoryInUseError } from './store/directory-lock.js';
import { SchemaAheadError } from './store/schema.js';
import { openStore } from './store/open-store.js';
import { realSleep, systemClock } from './clock.js';
import { type Store, StoreUnavailableError } from './store/store.js';
import { activeTraceFields } from './tracing/tracing.js';
import type { RunningTracing } from './tracing/setup.js';

async function main(): Promise<void> {
  const config = readConfig();
  const destination = stdoutDestination();
  const tracing = await startTracing(config);
  const logger = createLogger(config.logLevel, destination, tracing && activeTraceFields);
  exitOnFatalError(logger, destination);
  warnLoudly(config.warnings, logger);
  const local = await startLocalStandIns(config);
  const resolved = {
    ...config,
    entra: { ...config.entra, jwksUri: local.identity?.jwksUri ?? config.entra.jwksUri },
    genesys: { ...config.genesys, apiBaseUrl: local.genesys?.apiBaseUrl ?? config.genesys.apiBaseUrl },
  } as ResolvedConfig;

  await exitIfPortsTaken(config);
  const store = await openStoreOrExit(config, logger);

  const gateway = createGateway(resolved, { store, logger, clock: systemClock, sleep: realSleep, fetch: globalThis.fetch, tracing });
  const server = await listen(gateway, config);
  const metricsServer = config.metrics ? await serveMetrics(gateway, config.metrics) : undefined;
  // The ports bound, not the ones asked for: PORT=0 (or METRICS_PORT=0) takes one the system chooses.
  const port = boundPort(server);
  logger.info({ host: config.http.host, port, metricsPort: metricsServer && boundPort(metricsServer), profile: config.profile, store: store.kind, tracing: tracing === undefined ? 'off' : 'on' }, 'gateway listening');
  void gateway.start().catch((error: unknown) => logger.error({ err: error }, 'background start failed'));
  if (config.profile === 'local') printLocalInstructions(config, `http://${config.http.host}:${port}`, local.genesys?.agentToken);
  stopOnSignals({ server, metricsServer, gateway, store, local, logger, destination, tracing, shutdownDrainMs: config.http.shutdownDrainMs, shutdownTimeoutMs: config.http.shutdownTimeoutMs });
}

/**
 * An error nothing caught (an unhandled rejection included: Node raises it
 * as one) is logged as fatal, the buffered lines are written out, and the
 * process exits 1 for the orchestrator to restart it.
 */
function exitOnFatalError(logger: Logger, destination: StdoutDestination): void {
  process.once('uncaughtException', (error, origin) => {
    logger.fatal({ err: error, origin }, 'fatal error; exiting');
    destination.flushSync();
    process.exit(1);
  });
}

/** The SDK is loaded only when an exporter is configured: off, nothing of it runs or is even imported. */
async function startTracing(config: GatewayConfig): Promise<RunningTracing | undefined> {
  if (config.tracing === undefined) return undefined;
  const { startTracing: start } = await import('./tracing/setup.js');
  return start(config.tracing);
}

function readConfig(): GatewayConfig {
  try {
    return loadConfig(withDotEnv(process.env));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee .env.example for every variable.\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * A store that cannot be opened for a reason of configuration or of the
 * environment (another process holds the data directory, the database refuses
 * us or cannot be reached) ends the start-up with one line saying what is
 * wrong and what to do, exit status 1, no stack.
 */
async function openStoreOrExit(config: GatewayConfig, logger: Logger): Promise<Store> {
  try {
    return await openStore(config.store, logger);
  } catch (error) {
    const problem = storeProblem(config, error);
    if (problem === undefined) throw error;
    exitAtStartUp(problem);
  }
}

function storeProblem(config: GatewayConfig, error: unknown): string | undefined {
  if (error instanceof DataDirectoryInUseError) {
    const who = error.holder === undefined ? 'another process' : `process ${error.holder}`;
    return `The data directory ${error.dataDir} is in use by ${who} (another gateway, npm run gc or npm run adopt): stop it, or set DATA_DIR to another directory.`;
  }
  if (error instanceof SchemaAheadError) {
    const { version, name } = error.migration;
    return `The database has migration ${version} (${name}) of a later release, which removes or restricts what this release uses: deploy that release or a later one; this one can no longer run on it.`;
  }
  const database = config.store.database;
  if (database === undefined || !(error instanceof StoreUnavailableError)) return undefined;
  return postgresProblem(new URL(database.url), error.cause as { code?: unknown; message?: unknown } | undefined);
}

/** What PostgreSQL's refusal means for whoever set DATABASE_URL (SQLSTATEs: PostgreSQL's Appendix A, "Error Codes"). */
function postgresProblem(url: URL, cause: { code?: unknown; message?: unknown } | undefined): string {
  const where = `PostgreSQL at ${url.hostname}:${url.port || '5432'} (DATABASE_URL)`;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const message = String(cause?.message ?? 'no answer');
  const database = decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username);
  const user = decodeURIComponent(url.username) || 'the default user';
  if (code === '3D000') return `${where}: database "${database}" does not exist (3D000): create it (createdb ${database}) or correct the database name in DATABASE_URL.`;
  if (code === '28P01') return `${where}: password refused for user "${user}" (28P01): correct the password in DATABASE_URL.`;
  if (code === '28000' && /no encryption|SSL off/i.test(message)) return `${where}: the server requires TLS (28000): add ?sslmode=verify-full to DATABASE_URL.`;
  if (code === '28000') return `${where}: login refused (28000: ${message}): create the role, allow it in pg_hba.conf, or correct the user in DATABASE_URL.`;
  if (/does not support SSL/i.test(message)) return `${where}: the server does not accept TLS: remove sslmode from DATABASE_URL, or turn TLS on in the server.`;
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) return `${where} refused the connection (${code}: ${message}): see PostgreSQL's server log, and check DATABASE_URL.`;
  // A system code when there is one (ECONNREFUSED, ENOTFOUND); otherwise the driver's own fixed sentence (a timeout, a closed connection).
  return `Cannot reach ${where}: ${code ?? message}. Check the address and that the server accepts connections.`;
}

/**
 * A port another process holds is found before the store is opened, so that a
 * second `npm start` says so first (and whatever holds the data directory next).
 */
async function exitIfPortsTaken(config: GatewayConfig): Promise<void> {
  await probePort(config.http, 'PORT');
  if (config.metrics) await probePort(config.metrics, 'METRICS_PORT');
}

async function probePort({ host, port }: { host: string; port: number }, variable: 'PORT' | 'METRICS_PORT'): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  const code = await new Promise<string | undefined>((resolve) => {
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'EUNKNOWN'));
    probe.listen(port, host, () => resolve(undefined));
  });
  if (code === undefined) {
    await new Promise((resolve) => probe.close(resolve));
    return;
  }
  const problem = portProblem(code, host, port, variable);
  if (problem !== undefined) exitAtStartUp(problem);
}

function portProblem(code: string, host: string, port: number, variable: 'PORT' | 'METRICS_PORT'): string | undefined {
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return undefined;
  const why = code === 'EADDRINUSE' ? 'is already in use (another gateway?)' : 'is not allowed for this user';
  return `${host}:${port} ${why}: stop what holds it, or set ${variable} to a free port.`;
}

function exitAtStartUp(problem: string): never {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}

/** On stderr whatever the log level, and in the log. */
function warnLoudly(warnings: string[], logger: Logger): void {
  for (const warning of warnings) {
    process.stderr.write(`WARNING: ${warning}\n`);
    logger.warn(warning);
  }
}

interface LocalStandIns {
  identity?: LocalIdentityProvider;
  genesys?: LocalGenesys;
}

/** In the local profile, whatever upstream is not configured is replaced by a loopback stand-in. */
async function startLocalStandIns(config: GatewayConfig): Promise<LocalStandIns> {
  if (config.profile !== 'local') return {};
  return {
    identity: config.entra.jwksUri === undefined ? await startLocalIdentityProvider(loadOrCreateLocalSigningKey(config.store.dataDir)) : undefined,
    genesys: config.genesys.apiBaseUrl === undefined ? await startLocalGenesys(config.store.dataDir) : undefined,
  };
}

function listen(gateway: Gateway, config: GatewayConfig): Promise<Server> {
  const server = createHttpServer(gateway.app, config.http);
  return listenOrExit(server, config.http, 'PORT');
}

/**
 * A taken (or forbidden) port says so in one line on stderr naming the variable that moves it; the error
 * then ends the process as a fatal one (logged and flushed, exit 1).
 */
function listenOrExit(server: Server, { host, port }: { host: string; port: number }, variable: 'PORT' | 'METRICS_PORT'): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const problem = portProblem(error.code ?? '', host, port, variable);
      if (problem !== undefined) process.stderr.write(`${problem}\n`);
      reject(error);
    });
    server.listen(port, host, () => resolve(server));
  });
}

const boundPort = (server: Server): number => (server.address() as net.AddressInfo).port;

/** Prometheus metrics on their own listener, so that the public one (behind APIM) never serves them. */
function serveMetrics(gateway: Gateway, { host, port }: { host: string; port: number }): Promise<Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    gateway.metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': gateway.metrics.registry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  return listenOrExit(server, { host, port }, 'METRICS_PORT');
}

interface Running {
  server: Server;
  metricsServer: Server | undefined;
  gateway: Gateway;
  store: Store;
  local: LocalStandIns;
  logger: Logger;
  destination: StdoutDestination;
  tracing: RunningTracing | undefined;
  shutdownDrainMs: number;
  shutdownTimeoutMs: number;
}

/**
 * SIGTERM: drain (readiness 503 while serving on), then stop accepting, let
 * in-flight requests finish (up to the bound, then cut them), stop background
 * work after its current step, close the store, exit 0. SIGINT (Ctrl-C in a
 * terminal, where no load balancer is watching) skips the drain.
 */
function stopOnSignals(running: Running): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const exit = (code: number) => {
      running.destination.flushSync();
      process.exit(code);
    };
    void drain(running, signal === 'SIGTERM' ? running.shutdownDrainMs : 0).then(() => shutdown(running, signal)).then(
      () => exit(0),
      (error: unknown) => {
        running.logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * Readiness turns 503 at once while the listener keeps serving for `drainMs`,
 * long enough for a readiness probe to notice and the load balancer to stop
 * sending here; every response meanwhile closes its connection after it is
 * written, so a client's next request opens a connection elsewhere instead of
 * meeting one closed under it.
 */
async function drain({ server, gateway, logger }: Running, drainMs: number): Promise<void> {
  if (drainMs === 0) return;
  gateway.drain();
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => res.setHeader('connection', 'close'));
  logger.info({ drainMs }, 'draining: readiness answers 503; serving on until the load balancer has noticed');
  await new Promise((resolve) => setTimeout(resolve, drainMs));
}

async function shutdown({ server, metricsServer, gateway, store, local, logger, tracing, shutdownTimeoutMs }: Running, signal: string): Promise<void> {
  logger.info({ signal }, 'stopping: no new connections; finishing requests in flight');
  const drained = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections go idle as their last response is sent; close them as they do.
  const sweeper = setInterval(() => server.closeIdleConnections(), 100);
  server.closeIdleConnections();
  metricsServer?.close();
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), shutdownTimeoutMs);
  });
  if ((await Promise.race([drained, bound])) === 'timeout') {
    logger.warn({ shutdownTimeoutMs }, 'requests still in flight at the shutdown bound; closing their connections');
    server.closeAllConnections();
  }
  clearTimeout(timer);
  clearInterval(sweeper);
  await gateway.stop();
  await store.close();
  await Promise.all([local.identity?.close(), local.genesys?.close()]);
  // Spans still buffered are exported before the process exits (the exporter has its own connections).
  await tracing?.shutdown();
  logger.info('stopped');
}

await main();
