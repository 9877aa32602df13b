import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import request from 'supertest';
import { loadConfig } from '../../src/config.js';
import { createGateway, type Gateway, type ResolvedConfig } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { migrate, type Migration, MIGRATIONS } from '../../src/store/schema.js';
import type { Store } from '../../src/store/store.js';
import { openPostgresTestStore } from './postgres.js';
import { EntraStandIn, mintToken, type MintOptions } from '../stand-ins/entra.js';
import { ALLOWED_DIVISION, GenesysStandIn } from '../stand-ins/genesys.js';
import { TestClock } from './clock.js';

export interface TestGatewayOptions {
  env?: Record<string, string>;
  clock?: TestClock;
  store?: Store;
  entra?: EntraStandIn;
  genesys?: GenesysStandIn;
  /** Retries and the over-limit pause wait through this; by default they move the test clock instead of waiting (the delays are recorded in `sleeps`). */
  sleep?: (ms: number) => Promise<void>;
  /** Defaults to a silent logger. */
  logger?: Logger;
  /** Start background work (signing keys, pool maintenance); default true. */
  start?: boolean;
}

export interface TestGateway {
  gateway: Gateway;
  http: ReturnType<typeof request>;
  entra: EntraStandIn;
  genesys: GenesysStandIn;
  clock: TestClock;
  store: Store;
  config: ResolvedConfig;
  /** The delays retries asked for, in order. */
  sleeps: number[];
  /** A valid token for this gateway, with overrides. */
  token(options?: MintOptions): string;
  bearer(options?: MintOptions): { Authorization: string };
  close(): Promise<void>;
}

export const TAG_BASE_URL = 'https://idim.example.gov/verification';
export const SINK_USER = 'pexip';
/** Contains colons on purpose: passport-http used to truncate such passwords. */
export const SINK_PASSWORD = 'sink:pass:word-2026';
export const WIDGET_ORIGIN = 'https://widget.example.gov';

export function basicAuth(user: string, password: string): { Authorization: string } {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/** The real app, built by the real composition root, against stand-ins and an in-memory store. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const entra = options.entra ?? (await new EntraStandIn().start());
  const genesys = options.genesys ?? (await new GenesysStandIn().start());
  const clock = options.clock ?? new TestClock();
  const store = options.store ?? (await openTestStore());
  const config = loadConfig({
    MAXCONF_ENV: 'edge',
    ROOM_PROVIDER: 'embedded',
    ENTRA_JWKS_URI: entra.jwksUri,
    ROOM_TAG_BASE_URL: TAG_BASE_URL,
    POOL_TARGET_SIZE: '2',
    LOG_LEVEL: 'silent',
    GENESYS_API_BASE_URL: genesys.baseUrl,
    GENESYS_ALLOWED_DIVISIONS: ALLOWED_DIVISION,
    EVENT_SINK_USERNAME: SINK_USER,
    EVENT_SINK_PASSWORD: SINK_PASSWORD,
    CORS_ALLOWED_ORIGINS: WIDGET_ORIGIN,
    // Suites that send many bad credentials on purpose test validation, not the limiter (tested on its own).
    AUTH_FAILURE_LIMIT: '100000',
    // Suites that look rooms up many times as one agent test lookups, not the agent's limit (tested on its own); the clock stands still.
    AGENT_REQUESTS_PER_MINUTE: '100000',
    // Suites use bulk operations without the app role they need by default (tested on its own in test/auth/bulk-role.test.ts).
    ENTRA_BULK_ROLE: 'none',
    ...options.env,
  }) as ResolvedConfig;
  const sleeps: number[] = [];
  const gateway = createGateway(config, {
    store,
    clock,
    logger: options.logger ?? createLogger(config.logLevel),
    fetch: globalThis.fetch,
    sleep:
      options.sleep ??
      (async (ms) => {
        sleeps.push(ms);
        clock.advance(ms);
      }),
    poolMaintenanceIntervalMs: 3_600_000,
  });
  if (options.start !== false) {
    await gateway.start();
    // Under heavy CI load the first key fetch can fail; with the test clock frozen the cool-down would then hold for the whole test.
    if (!gateway.signingKeys.loaded && entra.behaviour === 'serve' && !(await gateway.signingKeys.refresh())) {
      throw new Error('the test gateway could not load the stand-in signing keys');
    }
  }
  const token = (mint: MintOptions = {}) => mintToken(entra, { now: clock.now(), ...mint });
  return {
    gateway,
    http: request(gateway.app),
    entra,
    genesys,
    clock,
    store,
    config,
    sleeps,
    token,
    bearer: (mint) => ({ Authorization: `Bearer ${token(mint)}` }),
    async close() {
      await gateway.stop();
      if (options.store === undefined) await store.close();
      if (options.entra === undefined) await entra.stop();
      if (options.genesys === undefined) await genesys.stop();
    },
  };
}

/**
 * A fresh store with the schema applied (or only `migrations`, to test a later one on data an
 * earlier release left): in-memory PGlite, or with MAXCONF_TEST_STORE=postgres
 * (`npm run test:postgres`) a fresh PostgreSQL database, so that the same suites prove the
 * same SQL on both back ends.
 */
export async function openTestStore(dataDir?: string, migrations: readonly Migration[] = MIGRATIONS): Promise<Store> {
  if (dataDir === undefined && process.env.MAXCONF_TEST_STORE === 'postgres') return openPostgresTestStore(undefined, undefined, migrations);
  const store = await openEmbeddedStore(dataDir);
  await migrate(store, migrations);
  return store;
}

/** Empties every table so that a test starts from nothing (one store per file keeps tests fast). */
export async function resetStore(store: Store): Promise<void> {
  await store.query('TRUNCATE embedded_conference, room_pool, room_ledger, bulk_job, deletion_queue, event_seen, event_rejected, pexip_request_slot RESTART IDENTITY');
  await store.query('ALTER SEQUENCE embedded_conference_alias_id_seq RESTART');
  await store.query('ALTER SEQUENCE embedded_automatic_participant_id_seq RESTART');
}

/**
 * One in-memory store for a whole test file, emptied before each test
 * (opening PGlite costs seconds; emptying it costs milliseconds).
 */
export function useSharedStore(): { readonly store: Store } {
  const holder: { store?: Store } = {};
  beforeAll(async () => {
    holder.store = await openTestStore();
  });
  afterAll(async () => {
    await holder.store?.close();
  });
  beforeEach(async () => {
    await resetStore(holder.store as Store);
  });
  return {
    get store() {
      return holder.store as Store;
    },
  };
}

/**
 * A shared store for the file (see useSharedStore) and a fresh gateway on it
 * per test, closed after each test.
 */
export function useGatewayPerTest(defaults: Record<string, string> = {}): { readonly store: Store; start(env?: Record<string, string>, options?: Omit<TestGatewayOptions, 'store' | 'env'>): Promise<TestGateway> } {
  const shared = useSharedStore();
  let current: TestGateway | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return {
    get store() {
      return shared.store;
    },
    async start(env = {}, options = {}) {
      current = await startTestGateway({ ...options, store: shared.store, env: { ...defaults, ...env } });
      return current;
    },
  };
}

/** The environment of a deployed profile (edge) whose upstreams are the given stand-ins, for spawned gateways. */
export function deployedEnvironment(entra: EntraStandIn, genesys: GenesysStandIn): Record<string, string> {
  return {
    MAXCONF_ENV: 'edge',
    ROOM_PROVIDER: 'embedded',
    HOST: '127.0.0.1',
    ENTRA_JWKS_URI: entra.jwksUri,
    ROOM_TAG_BASE_URL: TAG_BASE_URL,
    GENESYS_API_BASE_URL: genesys.baseUrl,
    GENESYS_ALLOWED_DIVISIONS: ALLOWED_DIVISION,
    EVENT_SINK_USERNAME: SINK_USER,
    EVENT_SINK_PASSWORD: SINK_PASSWORD,
  };
}

export function temporaryDirectory(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `maxconf-${prefix}-`));
}
