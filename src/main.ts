import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError, type GatewayConfig, loadConfig } from './config.js';
import { createGateway, type Gateway, type ResolvedConfig } from './gateway.js';
import { type LocalIdentityProvider, loadOrCreateLocalSigningKey, startLocalIdentityProvider } from './local/identity-provider.js';
import { createLogger } from './logger.js';
import { openEmbeddedStore } from './store/embedded.js';
import { migrate } from './store/schema.js';
import { systemClock } from './clock.js';
import type { Store } from './store/store.js';

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  const local = await startLocalStandIns(config);
  const resolved = { ...config, entra: { ...config.entra, jwksUri: local?.jwksUri ?? config.entra.jwksUri } } as ResolvedConfig;

  const store = await openEmbeddedStore(config.store.dataDir);
  const applied = await migrate(store);
  if (applied.length > 0) logger.info({ migrations: applied }, 'store migrated');

  const gateway = createGateway(resolved, { store, logger, clock: systemClock, fetch: globalThis.fetch });
  const server = await listen(gateway, config);
  logger.info({ host: config.http.host, port: config.http.port, profile: config.profile }, 'gateway listening');
  void gateway.start().catch((error: unknown) => logger.error({ err: error }, 'background start failed'));
  if (local) printLocalInstructions(config);
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

async function startLocalStandIns(config: GatewayConfig): Promise<LocalIdentityProvider | undefined> {
  if (config.profile !== 'local' || config.entra.jwksUri !== undefined) return undefined;
  return startLocalIdentityProvider(loadOrCreateLocalSigningKey(config.store.dataDir));
}

function listen(gateway: Gateway, config: GatewayConfig): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = gateway.app.listen(config.http.port, config.http.host, () => resolve(server));
    server.once('error', reject);
  });
}

function printLocalInstructions(config: GatewayConfig): void {
  const base = `http://${config.http.host}:${config.http.port}`;
  process.stdout.write(`
MaxConf gateway (local profile) at ${base}
  API docs:   ${base}/docs
  A token:    TOKEN=$(npm run -s token)
  Create:     curl -s -X POST -H "Authorization: Bearer $TOKEN" "${base}/room/create?uuiData=3132333435362c373635343332"
  Get:        curl -s -H "Authorization: Bearer $TOKEN" ${base}/room/<name from the create response>
  List:       curl -si -H "Authorization: Bearer $TOKEN" "${base}/rooms?limit=10"

`);
}

function stopOnSignals(server: Server, gateway: Gateway, store: Store, local: LocalIdentityProvider | undefined, logger: Logger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    server.close();
    void (async () => {
      await gateway.stop();
      await store.close();
      await local?.close();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

await main();
