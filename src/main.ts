import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError, type GatewayConfig, LOCAL_DEFAULTS, loadConfig } from './config.js';
import { createGateway, type Gateway, type ResolvedConfig } from './gateway.js';
import { type LocalGenesys, startLocalGenesys } from './local/genesys-stand-in.js';
import { type LocalIdentityProvider, loadOrCreateLocalSigningKey, startLocalIdentityProvider } from './local/identity-provider.js';
import { createLogger } from './logger.js';
import { openStore } from './store/select.js';
import { systemClock } from './clock.js';
import type { Store } from './store/store.js';

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  const local = await startLocalStandIns(config);
  const resolved = {
    ...config,
    entra: { ...config.entra, jwksUri: local.identity?.jwksUri ?? config.entra.jwksUri },
    genesys: { ...config.genesys, apiBaseUrl: local.genesys?.apiBaseUrl ?? config.genesys.apiBaseUrl },
  } as ResolvedConfig;

  const store = await openStore(config, logger);

  const gateway = createGateway(resolved, { store, logger, clock: systemClock, fetch: globalThis.fetch });
  const server = await listen(gateway, config);
  logger.info({ host: config.http.host, port: config.http.port, profile: config.profile }, 'gateway listening');
  void gateway.start().catch((error: unknown) => logger.error({ err: error }, 'background start failed'));
  if (config.profile === 'local') printLocalInstructions(config, local.genesys?.agentToken);
  stopOnSignals(server, gateway, store, local, logger);
}

function readConfig(): GatewayConfig {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee .env.example for every variable.\n`);
      process.exit(1);
    }
    throw error;
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
    genesys: config.genesys.apiBaseUrl === undefined ? await startLocalGenesys() : undefined,
  };
}

function listen(gateway: Gateway, config: GatewayConfig): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = gateway.app.listen(config.http.port, config.http.host, () => resolve(server));
    server.once('error', reject);
  });
}

function printLocalInstructions(config: GatewayConfig, agentToken: string | undefined): void {
  const base = `http://${config.http.host}:${config.http.port}`;
  const sinkUser = config.eventSink.username === LOCAL_DEFAULTS.sinkUsername && config.eventSink.passwords[0] === LOCAL_DEFAULTS.sinkPassword ? `${LOCAL_DEFAULTS.sinkUsername}:${LOCAL_DEFAULTS.sinkPassword}` : '<EVENT_SINK_USERNAME>:<EVENT_SINK_PASSWORD>';
  const agent = agentToken ?? '<a Genesys token>';
  const ended = `{"node":"10.0.0.1","seq":1,"version":2,"time":${Math.floor(Date.now() / 1000)},"event":"conference_ended","data":{"name":"<name>"}}`;
  process.stdout.write(`
MaxConf gateway (local profile) at ${base}
  API docs:   ${base}/docs
  A token:    TOKEN=$(npm run -s token)
  Create:     curl -s -X POST -H "Authorization: Bearer $TOKEN" "${base}/room/create?uuiData=3132333435362c373635343332"
  Get:        curl -s -H "Authorization: Bearer $TOKEN" ${base}/room/<name>
  List:       curl -si -H "Authorization: Bearer $TOKEN" "${base}/rooms?limit=10"
  Agent:      curl -s -H "x-auth-token: ${agent}" ${base}/public/room/<name>
  Event:      curl -s -u '${sinkUser}' -H "Content-Type: application/json" -d '${ended}' ${base}/public/event_sink
  Health:     curl -s ${base}/public/health
  Ready:      curl -s ${base}/public/ready
  (<name> is the "name" of the create response.)

`);
}

function stopOnSignals(server: Server, gateway: Gateway, store: Store, local: LocalStandIns, logger: Logger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    server.close();
    void (async () => {
      await gateway.stop();
      await store.close();
      await local.identity?.close();
      await local.genesys?.close();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

await main();
