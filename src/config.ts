import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { DEFAULT_BULK_ROLE, entraIssuers, MAXCONF_TENANT_ID, PROFILE_CLIENT_IDS } from './auth/entra-apps.js';
import type { EntraVerifierSettings } from './auth/entra-verifier.js';
import type { GenesysSettings } from './auth/genesys-agents.js';
import { GENESYS_REGIONS } from './auth/genesys-regions.js';
import type { EventSinkSettings } from './events/sink.js';
import type { HttpServerSettings } from './http/server.js';
import { AUTOMATIC_PARTICIPANT_CHOICES } from './rooms/automatic-participant.js';
import type { PexipAuthSettings } from './rooms/providers/pexip-auth.js';
import type { PexipSettings } from './rooms/providers/pexip-client.js';
import type { RoomProviderSettings } from './rooms/providers/select-provider.js';
import type { GarbageCollectionSettings } from './rooms/retirement/garbage-collection.js';
import type { RoomSettings } from './rooms/settings.js';
import type { StoreSettings } from './store/open-store.js';
import { SAMPLERS, type TracingConfig } from './tracing/tracing.js';

/** ENTRA_BULK_ROLE's value that turns the bulk role off. */
export const BULK_ROLE_OFF = 'none';

export const PROFILES = ['local', 'edge', 'test', 'prod'] as const;
export type Profile = (typeof PROFILES)[number];

/** The gateway's configuration: each module's settings, built from the environment by `loadConfig`. */
export type GatewayConfig = ReturnType<typeof buildConfig>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Pexip refers to a system location by its resource URI (pexip/terraform-provider-pexip testdata/resource_infinity_automatic_participant_full/resources.tf). */
const SYSTEM_LOCATION_URI = /^\/api\/admin\/configuration\/v1\/system_location\/\d+\/$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const optionalText = z.string().trim().min(1).optional();
const list = z
  .string()
  .transform((raw) => raw.split(',').map((item) => item.trim()).filter((item) => item.length > 0));
const guidList = list.pipe(z.array(z.string().regex(GUID, 'must be a GUID')).min(1, 'list at least one GUID'));
/** Digits only: a sign, a fraction, an exponent or a space (' 8081') is refused with the value as given. */
const integer = (min: number, max: number) =>
  z.string().transform((raw, ctx) => {
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (value >= min && value <= max) return value;
    ctx.addIssue({ code: 'custom', message: `must be a whole number between ${min} and ${max}, got '${raw}'` });
    return z.NEVER;
  });
/** One of fixed choices; the value given is echoed (no choice is a secret), spaces included (' prod' is refused as ' 8081' is). */
const oneOf = <const T extends readonly [string, ...string[]]>(choices: T) =>
  z.enum(choices, { error: (issue) => `must be one of ${choices.join(', ')}, got '${String(issue.input)}'` });
const secureUrl = z.string().url().refine(isSecureOrLoopback, 'must be an https:// URL (http:// only for loopback addresses)');
const flag = z.enum(['true', 'false'], 'must be true or false').transform((value) => value === 'true');
const sinkPassword = z.string().min(12, 'must be at least 12 characters').max(512);
const otlpUrl = z.string().url().refine((raw) => ['http:', 'https:'].includes(parseUrl(raw)?.protocol ?? ''), 'must be an http:// or https:// URL');
/** The JSON encoding is the only one the gateway's exporter speaks (OTLP/HTTP, port 4318 on a Collector). */
const otlpProtocol = z.enum(['http/json'], 'must be http/json (the gateway exports OTLP/HTTP with JSON; not grpc or http/protobuf)');
const pexipChoice = <const T extends readonly [string, ...string[]]>(choices: T) =>
  z.enum(choices, { error: `must be one of Pexip's choices: ${choices.join(', ')}` });

/**
 * Every environment variable the gateway reads. Defaults that depend on the
 * profile are applied after parsing, so a value left unset stays undefined here.
 */
export const environmentSchema = z.object({
  MAXCONF_ENV: oneOf(PROFILES).optional(),
  NODE_ENV: z.string().optional(),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  HOST: optionalText,
  PORT: integer(0, 65535).optional(),
  BODY_LIMIT_BYTES: integer(1024, 10 * 1024 * 1024).optional(),
  DATA_DIR: optionalText,
  ENTRA_TENANT_ID: z.string().regex(GUID, 'must be a GUID').optional(),
  ENTRA_CLIENT_IDS: guidList.optional(),
  ENTRA_AUDIENCES: list.pipe(z.array(z.string().refine(isAppIdUri, 'must be an App ID URI such as api://maxconf.example.gov or https://contoso.onmicrosoft.com/maxconf'))).optional(),
  ENTRA_ALLOWED_CALLERS: guidList.optional(),
  ENTRA_ISSUERS: list.pipe(z.array(secureUrl).min(1)).optional(),
  ENTRA_JWKS_URI: secureUrl.optional(),
  ENTRA_CLOCK_TOLERANCE_SECONDS: integer(0, 300).optional(),
  ENTRA_REQUIRED_ROLE: optionalText,
  ENTRA_BULK_ROLE: optionalText,
  JWKS_REFRESH_INTERVAL_SECONDS: integer(300, 7 * 24 * 3600).optional(),
  JWKS_COOLDOWN_SECONDS: integer(30, 3600).optional(),
  JWKS_TIMEOUT_MS: integer(100, 60_000).optional(),
  TOKEN_CACHE_SIZE: integer(0, 1_000_000).optional(),
  POOL_TARGET_SIZE: integer(0, 500).optional(),
  ROOM_CACHE_TTL_SECONDS: integer(0, 300).optional(),
  POOL_CLAIM_LEASE_SECONDS: integer(5, 3600).optional(),
  ROOM_PIN_LENGTH: integer(4, 20).optional(),
  ROOM_TAG_BASE_URL: secureUrl.optional(),
  ALIAS_DOMAIN: z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be a domain name').optional(),
  PERSISTENT_ROOM_PREFIXES: list.pipe(z.array(z.string().regex(/^[A-Za-z0-9_-]+$/, 'prefixes use A-Z a-z 0-9 _ -'))).optional(),
  GENESYS_SIP_ADDRESS: optionalText,
  AUTOMATIC_PARTICIPANT_ROLE: pexipChoice(AUTOMATIC_PARTICIPANT_CHOICES.role).optional(),
  AUTOMATIC_PARTICIPANT_CALL_TYPE: pexipChoice(AUTOMATIC_PARTICIPANT_CHOICES.callType).optional(),
  AUTOMATIC_PARTICIPANT_KEEP_ALIVE: pexipChoice(AUTOMATIC_PARTICIPANT_CHOICES.keepConferenceAlive).optional(),
  AUTOMATIC_PARTICIPANT_ROUTING: pexipChoice(AUTOMATIC_PARTICIPANT_CHOICES.routing).optional(),
  AUTOMATIC_PARTICIPANT_SYSTEM_LOCATION: z
    .string()
    .regex(SYSTEM_LOCATION_URI, 'must be the resource URI of a Pexip system location, e.g. /api/admin/configuration/v1/system_location/1/')
    .optional(),
  GENESYS_REGION: oneOf(GENESYS_REGIONS).optional(),
  GENESYS_API_BASE_URL: z.string().url().refine(isLoopback, 'only a loopback stand-in may replace the Genesys region (set GENESYS_REGION instead)').optional(),
  GENESYS_ALLOWED_DIVISIONS: list.pipe(z.array(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a division id')).min(1, 'list at least one division id')).optional(),
  GENESYS_ORGANIZATION_ID: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an organization id').optional(),
  GENESYS_CACHE_TTL_SECONDS: integer(0, 3600).optional(),
  GENESYS_REJECTION_CACHE_SECONDS: integer(0, 300).optional(),
  GENESYS_CACHE_SIZE: integer(0, 1_000_000).optional(),
  GENESYS_TIMEOUT_MS: integer(100, 30_000).optional(),
  AGENT_REQUESTS_PER_MINUTE: integer(1, 100_000).optional(),
  CORS_ALLOWED_ORIGINS: list.pipe(z.array(z.string().refine(isOrigin, 'must be an origin such as https://widget.example.gov (scheme, host, optional port; no path)'))).optional(),
  CORS_MAX_AGE_SECONDS: integer(0, 86_400).optional(),
  EVENT_SINK_USERNAME: z.string().min(1).max(128).refine((u) => !u.includes(':'), 'must not contain ":" (RFC 7617)').optional(),
  EVENT_SINK_PASSWORD: sinkPassword.optional(),
  EVENT_SINK_PASSWORD_NEXT: sinkPassword.optional(),
  EVENT_SINK_BODY_LIMIT_BYTES: integer(64 * 1024, 64 * 1024 * 1024).optional(),
  EVENT_DEDUP_RETENTION_HOURS: integer(1, 24 * 30).optional(),
  AUTH_FAILURE_LIMIT: integer(1, 100_000).optional(),
  AUTH_FAILURE_WINDOW_SECONDS: integer(1, 86_400).optional(),
  GC_INTERVAL_SECONDS: integer(10, 86_400).optional(),
  GC_GRACE_SECONDS: integer(0, 7 * 86_400).optional(),
  GC_BATCH_SIZE: integer(1, 1000).optional(),
  ROOM_UNUSED_TTL_SECONDS: integer(900, 7 * 86_400).optional(),
  TRUST_PROXY_ADDRESSES: list.pipe(z.array(z.string().refine(isProxyAddress, 'must be loopback, linklocal, uniquelocal, an IP address or a CIDR range such as 10.0.0.0/24'))).optional(),
  HTTP_HEADERS_TIMEOUT_MS: integer(1000, 120_000).optional(),
  HTTP_REQUEST_TIMEOUT_MS: integer(1000, 600_000).optional(),
  REQUEST_DEADLINE_MS: integer(1000, 600_000).optional(),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(1000, 600_000).optional(),
  SHUTDOWN_DRAIN_SECONDS: integer(0, 600).optional(),
  SHUTDOWN_TIMEOUT_SECONDS: integer(1, 600).optional(),
  DOCS_ENABLED: flag.optional(),
  METRICS_HOST: optionalText,
  METRICS_PORT: integer(0, 65535).optional(),
  ROOM_PROVIDER: oneOf(['embedded', 'pexip']).optional(),
  PEXIP_BASE_URL: secureUrl.optional(),
  PEXIP_AUTH: oneOf(['basic', 'oauth2']).optional(),
  PEXIP_USERNAME: optionalText,
  PEXIP_PASSWORD: z.string().min(1).optional(),
  PEXIP_OAUTH_CLIENT_ID: optionalText,
  PEXIP_OAUTH_PRIVATE_KEY: z.string().refine(isPrivateKeyPem, 'must be a PEM private key (BEGIN … PRIVATE KEY); newlines may be written as \\n').optional(),
  PEXIP_OAUTH_PRIVATE_KEY_FILE: optionalText,
  PEXIP_TIMEOUT_MS: integer(100, 120_000).optional(),
  PEXIP_MAX_RETRIES: integer(0, 10).optional(),
  PEXIP_REQUESTS_PER_MINUTE: integer(1, 1000).optional(),
  PEXIP_BUDGET_WINDOW_SECONDS: integer(1, 60).optional(),
  PEXIP_REPLICATION_DELAY_SECONDS: integer(0, 3600).optional(),
  DATABASE_URL: z.string().refine(isPostgresUrl, 'must be a postgres:// or postgresql:// URL').optional(),
  DATABASE_POOL_SIZE: integer(1, 200).optional(),
  DATABASE_STATEMENT_TIMEOUT_MS: integer(100, 600_000).optional(),
  DATABASE_CONNECT_TIMEOUT_MS: integer(100, 60_000).optional(),
  DATABASE_QUERY_TIMEOUT_MS: integer(100, 600_000).optional(),
  POOL_MAINTENANCE_INTERVAL_SECONDS: integer(1, 3600).optional(),
  GC_LEASE_SECONDS: integer(1, 3600).optional(),
  OTEL_SDK_DISABLED: flag.optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpUrl.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol.optional(),
  OTEL_SERVICE_NAME: optionalText,
  OTEL_TRACES_SAMPLER: oneOf(SAMPLERS).optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
});

/** Variables a deployment may still set that would now be ignored silently, and what replaces them. */
const RETIRED_VARIABLES: Record<string, string> = {
  TRUST_PROXY_HOPS:
    'counting hops believed X-Forwarded-For from anyone who could reach the gateway directly. List the proxies themselves in TRUST_PROXY_ADDRESSES (behind APIM: its outbound addresses or subnet).',
};

/** What the example configuration (deploy/kubernetes) puts where each deployment must supply its own value. */
const PLACEHOLDER_MARK = 'replace-with-';

/** What the local profile uses when nothing is configured (printed at start-up). */
export const LOCAL_DEFAULTS = {
  division: 'local-division',
  sinkUsername: 'pexip',
  sinkPassword: 'local-sink-password',
} as const;

export type Environment = Record<string, string | undefined>;

/** The environment over the variables of `.env` in the working directory, when there is one: real environment variables win. */
export function withDotEnv(env: Environment, file = path.resolve('.env')): Environment {
  return fs.existsSync(file) ? { ...parseEnv(fs.readFileSync(file, 'utf8')), ...env } : env;
}

/** Reads and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Environment): GatewayConfig {
  const relevant = Object.fromEntries(
    Object.keys(environmentSchema.shape).map((key) => [key, blankToUndefined(env[key])]),
  );
  const production = env.NODE_ENV === 'production';
  const retired = Object.entries(RETIRED_VARIABLES)
    .filter(([variable]) => blankToUndefined(env[variable]) !== undefined)
    .map(([variable, replacement]) => `${variable}: no longer read; ${replacement}`);
  const placeholders = Object.keys(environmentSchema.shape)
    .filter((variable) => env[variable]?.includes(PLACEHOLDER_MARK))
    .map((variable) => `${variable}: still the example's placeholder ('${env[variable]}'); set the real value`);
  const parsed = environmentSchema.safeParse(relevant);
  if (parsed.success && retired.length === 0 && placeholders.length === 0) return withWarnings(buildConfig(parsed.data, production), environmentWarnings(env));
  // Check the rest without the invalid variables, so that one run names every problem, missing ones included.
  const issues = parsed.success ? [] : parsed.error.issues;
  const invalid = new Set(issues.map((issue) => String(issue.path[0])));
  const rest = parsed.success ? parsed.data : environmentSchema.parse(Object.fromEntries(Object.entries(relevant).filter(([key]) => !invalid.has(key))));
  const others = problemsOf(() => buildConfig(rest, production)).filter((p) => !invalid.has(p.slice(0, p.indexOf(':'))));
  throw new ConfigError([...issues.map(describeIssue), ...others, ...retired, ...placeholders]);
}

function withWarnings(config: GatewayConfig, warnings: string[]): GatewayConfig {
  return { ...config, warnings: [...config.warnings, ...warnings] };
}

/** The values Node.js and libraries give a meaning to (the gateway's own profile is MAXCONF_ENV). */
const NODE_ENVIRONMENTS = ['production', 'development', 'test'];
/** Prefixes of the gateway's variables: one of them not read by the gateway is probably a misspelling. */
const OUR_PREFIXES = ['MAXCONF_', 'ENTRA_', 'JWKS_', 'PEXIP_', 'GENESYS_', 'EVENT_', 'DATABASE_', 'ROOM_', 'POOL_', 'GC_', 'HTTP_', 'AUTOMATIC_PARTICIPANT_', 'METRICS_', 'AUTH_FAILURE_'];

/** Settings that run but were probably meant otherwise: a NODE_ENV nothing knows, a variable of ours nothing reads. */
function environmentWarnings(env: Environment): string[] {
  const warnings: string[] = [];
  const nodeEnv = blankToUndefined(env.NODE_ENV);
  if (nodeEnv !== undefined && !NODE_ENVIRONMENTS.includes(nodeEnv)) {
    warnings.push(`NODE_ENV='${nodeEnv}' is none of ${NODE_ENVIRONMENTS.join(', ')}: set NODE_ENV=production in every deployed profile and choose the profile with MAXCONF_ENV`);
  }
  const known = Object.keys(environmentSchema.shape);
  for (const variable of Object.keys(env).sort()) {
    if (!OUR_PREFIXES.some((prefix) => variable.startsWith(prefix)) || known.includes(variable) || variable in RETIRED_VARIABLES) continue;
    const closest = closestName(variable, known);
    warnings.push(`${variable} is not a variable the gateway reads${closest === undefined ? '' : ` (did you mean ${closest}?)`}; see .env.example`);
  }
  return warnings;
}

/** The known name fewest single-character edits away, when it is close enough to be a misspelling. */
function closestName(name: string, known: string[]): string | undefined {
  const scored = known.map((candidate) => ({ candidate, distance: editDistance(name, candidate) })).sort((a, b) => a.distance - b.distance);
  const best = scored[0];
  return best !== undefined && best.distance <= Math.max(2, Math.floor(name.length / 4)) ? best.candidate : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function problemsOf(build: () => GatewayConfig): string[] {
  try {
    build();
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

type Env = z.infer<typeof environmentSchema>;

function buildConfig(env: Env, production: boolean) {
  const problems: string[] = [];
  if (env.MAXCONF_ENV === undefined && production) {
    problems.push('MAXCONF_ENV: required when NODE_ENV=production (one of edge, test, prod)');
  }
  if (env.MAXCONF_ENV === 'local' && production) {
    problems.push('MAXCONF_ENV: the local profile is refused when NODE_ENV=production');
  }
  const profile = env.MAXCONF_ENV ?? 'local';
  const local = profile === 'local';
  const tenantId = env.ENTRA_TENANT_ID ?? MAXCONF_TENANT_ID;
  const clientIds = env.ENTRA_CLIENT_IDS ?? PROFILE_CLIENT_IDS[profile];
  const jwksUri = env.ENTRA_JWKS_URI ?? (local ? undefined : `https://login.microsoftonline.com/${tenantId}/discovery/v2.0/keys`);
  const tagBaseUrl = env.ROOM_TAG_BASE_URL ?? (local ? 'http://localhost/verification' : undefined);
  if (tagBaseUrl === undefined) problems.push('ROOM_TAG_BASE_URL: required outside the local profile (the base of every room tag)');
  const divisions = env.GENESYS_ALLOWED_DIVISIONS ?? (local ? [LOCAL_DEFAULTS.division] : undefined);
  if (divisions === undefined) problems.push('GENESYS_ALLOWED_DIVISIONS: required outside the local profile (the Genesys divisions whose agents may look rooms up)');
  const sinkUsername = env.EVENT_SINK_USERNAME ?? (local ? LOCAL_DEFAULTS.sinkUsername : undefined);
  const sinkPassword = env.EVENT_SINK_PASSWORD ?? (local ? LOCAL_DEFAULTS.sinkPassword : undefined);
  if (sinkUsername === undefined) problems.push('EVENT_SINK_USERNAME: required outside the local profile (the user Pexip sends to the event sink)');
  if (sinkPassword === undefined) problems.push('EVENT_SINK_PASSWORD: required outside the local profile (the password Pexip sends to the event sink)');
  const [port, metricsPort] = [env.PORT ?? 8080, env.METRICS_PORT ?? 9464];
  if (port !== 0 && port === metricsPort) problems.push(`METRICS_PORT: must differ from PORT (both ${port}): metrics have a listener of their own (METRICS_PORT=0 turns it off)`);
  if (env.ROOM_PROVIDER === undefined && !local) problems.push('ROOM_PROVIDER: required outside the local profile (pexip: rooms on Pexip Infinity)');
  const roomProvider = env.ROOM_PROVIDER === 'pexip' ? pexipSettings(env, problems) : undefined;
  if (problems.length > 0) throw new ConfigError(problems);
  const warnings =
    env.ROOM_PROVIDER === 'embedded' && !local
      ? [`ROOM_PROVIDER=embedded in the ${profile} profile: rooms are kept only in the gateway's store and do not exist on any conferencing node; nobody can join them`]
      : [];

  const httpServer: HttpServerSettings = {
    headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS ?? 10_000,
    requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS ?? 30_000,
    keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS ?? 65_000,
  };
  const store: StoreSettings = {
    dataDir: path.resolve(env.DATA_DIR ?? './data'),
    database:
      env.DATABASE_URL === undefined
        ? undefined
        : {
            url: env.DATABASE_URL,
            poolSize: env.DATABASE_POOL_SIZE ?? 10,
            statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS ?? 5000,
            connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS ?? 3000,
            queryTimeoutMs: env.DATABASE_QUERY_TIMEOUT_MS ?? 8000,
          },
  };
  const verifier: EntraVerifierSettings = {
    tenantId,
    clientIds,
    extraAudiences: env.ENTRA_AUDIENCES ?? [],
    allowedCallers: env.ENTRA_ALLOWED_CALLERS ?? clientIds,
    issuers: env.ENTRA_ISSUERS ?? entraIssuers(tenantId),
    clockToleranceSeconds: env.ENTRA_CLOCK_TOLERANCE_SECONDS ?? 60,
    maxTokenBytes: 8192,
  };
  const rooms: RoomSettings = {
    readCacheTtlMs: seconds(env.ROOM_CACHE_TTL_SECONDS ?? 5),
    poolTargetSize: env.POOL_TARGET_SIZE ?? (local ? 3 : 10),
    poolMaintenanceIntervalMs: seconds(env.POOL_MAINTENANCE_INTERVAL_SECONDS ?? 30),
    claimLeaseMs: seconds(env.POOL_CLAIM_LEASE_SECONDS ?? 60),
    pinLength: env.ROOM_PIN_LENGTH ?? 6,
    tagBaseUrl: (tagBaseUrl as string).replace(/\/+$/, ''),
    aliasDomain: env.ALIAS_DOMAIN,
    persistentPrefixes: env.PERSISTENT_ROOM_PREFIXES ?? ['test_', 'vkiosk_'],
    automaticParticipant: env.GENESYS_SIP_ADDRESS
      ? {
          alias: env.GENESYS_SIP_ADDRESS,
          role: env.AUTOMATIC_PARTICIPANT_ROLE ?? 'guest',
          callType: env.AUTOMATIC_PARTICIPANT_CALL_TYPE ?? 'audio',
          keepConferenceAlive: env.AUTOMATIC_PARTICIPANT_KEEP_ALIVE ?? 'keep_conference_alive_never',
          routing: env.AUTOMATIC_PARTICIPANT_ROUTING ?? 'manual',
          systemLocation: env.AUTOMATIC_PARTICIPANT_SYSTEM_LOCATION,
        }
      : undefined,
  };
  const genesys: GenesysSettings = {
    apiBaseUrl: env.GENESYS_API_BASE_URL?.replace(/\/+$/, '') ?? (local && env.GENESYS_REGION === undefined ? undefined : `https://api.${env.GENESYS_REGION ?? 'cac1.pure.cloud'}`),
    allowedDivisions: divisions as string[],
    organizationId: env.GENESYS_ORGANIZATION_ID,
    cacheTtlMs: seconds(env.GENESYS_CACHE_TTL_SECONDS ?? 60),
    rejectionCacheMs: seconds(env.GENESYS_REJECTION_CACHE_SECONDS ?? 10),
    cacheSize: env.GENESYS_CACHE_SIZE ?? 10_000,
    timeoutMs: env.GENESYS_TIMEOUT_MS ?? 3000,
  };
  const sink: EventSinkSettings = { dedupRetentionMs: hours(env.EVENT_DEDUP_RETENTION_HOURS ?? 24) };
  const garbageCollection: GarbageCollectionSettings = {
    intervalMs: seconds(env.GC_INTERVAL_SECONDS ?? 600),
    leaseMs: seconds(env.GC_LEASE_SECONDS ?? 300),
    graceMs: seconds(env.GC_GRACE_SECONDS ?? 600),
    batchSize: env.GC_BATCH_SIZE ?? 50,
    unusedTtlMs: seconds(env.ROOM_UNUSED_TTL_SECONDS ?? 14_400),
  };
  const provider: RoomProviderSettings = roomProvider ?? { kind: 'embedded' };

  return {
    profile,
    production,
    logLevel: env.LOG_LEVEL ?? 'info',
    http: {
      ...httpServer,
      host: env.HOST ?? (local ? '127.0.0.1' : '0.0.0.0'),
      port,
      bodyLimitBytes: env.BODY_LIMIT_BYTES ?? 64 * 1024,
      /** Proxies whose X-Forwarded-For is believed, in Express's trust-proxy forms; empty believes none. */
      trustProxyAddresses: env.TRUST_PROXY_ADDRESSES ?? [],
      /** On SIGTERM: serving on, readiness 503, before the listener closes. */
      shutdownDrainMs: seconds(env.SHUTDOWN_DRAIN_SECONDS ?? (local ? 0 : 15)),
      shutdownTimeoutMs: seconds(env.SHUTDOWN_TIMEOUT_SECONDS ?? 25),
      /** How long a request's upstream work (every Pexip call, its retries and waits) may take in all. */
      requestDeadlineMs: env.REQUEST_DEADLINE_MS ?? 15_000,
      /** Swagger UI at /docs and the description at /openapi.yaml. */
      docsEnabled: env.DOCS_ENABLED ?? profile !== 'prod',
    },
    /** Prometheus metrics on a listener of their own; undefined when METRICS_PORT=0. */
    metrics: metricsPort === 0 ? undefined : { host: env.METRICS_HOST ?? (local ? '127.0.0.1' : '0.0.0.0'), port: metricsPort },
    store,
    entra: {
      ...verifier,
      /** Undefined only in the local profile, where the local identity provider supplies it. */
      jwksUri,
      requiredRole: env.ENTRA_REQUIRED_ROLE,
      /** Undefined: bulk operations need no role beyond authentication. */
      bulkRole: env.ENTRA_BULK_ROLE === BULK_ROLE_OFF ? undefined : (env.ENTRA_BULK_ROLE ?? (local ? undefined : DEFAULT_BULK_ROLE)),
      jwksRefreshIntervalMs: seconds(env.JWKS_REFRESH_INTERVAL_SECONDS ?? 3600),
      jwksCooldownMs: seconds(env.JWKS_COOLDOWN_SECONDS ?? 60),
      jwksTimeoutMs: env.JWKS_TIMEOUT_MS ?? 5000,
      tokenCacheSize: env.TOKEN_CACHE_SIZE ?? 10_000,
    },
    rooms,
    genesys,
    /** Access-Control-Max-Age is in seconds. */
    cors: { allowedOrigins: env.CORS_ALLOWED_ORIGINS ?? [], maxAgeSeconds: env.CORS_MAX_AGE_SECONDS ?? 600 },
    eventSink: {
      ...sink,
      username: sinkUsername as string,
      /** The current password, then the next one during a rotation. */
      passwords: [sinkPassword as string, ...(env.EVENT_SINK_PASSWORD_NEXT ? [env.EVENT_SINK_PASSWORD_NEXT] : [])],
      bodyLimitBytes: env.EVENT_SINK_BODY_LIMIT_BYTES ?? 8 * 1024 * 1024,
    },
    authFailures: { limit: env.AUTH_FAILURE_LIMIT ?? 20, windowMs: seconds(env.AUTH_FAILURE_WINDOW_SECONDS ?? 60) },
    /** Room lookups per agent (Genesys user) and minute, on each replica. */
    agentRequestsPerMinute: env.AGENT_REQUESTS_PER_MINUTE ?? 60,
    garbageCollection,
    /** Where VMRs live: the gateway's own store, or Pexip's Management API. */
    roomProvider: provider,
    /** OpenTelemetry traces; undefined (off) when no OTLP endpoint is set. */
    tracing: tracingConfig(env),
    /** Said loudly at start-up: the configuration runs, but probably not as intended. */
    warnings,
  };
}

/**
 * On when an OTLP endpoint is set, as the OpenTelemetry SDKs read it: the
 * traces endpoint as it is, else the general one with `/v1/traces` appended.
 */
function tracingConfig(env: Env): TracingConfig | undefined {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracesUrl = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`);
  if (tracesUrl === undefined || env.OTEL_SDK_DISABLED === true) return undefined;
  return {
    tracesUrl,
    serviceName: env.OTEL_SERVICE_NAME ?? 'maxconf-gateway',
    sampler: env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on',
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
  };
}

/** The environment speaks seconds and hours; every module takes milliseconds. */
function seconds(value: number): number {
  return value * 1000;
}

function hours(value: number): number {
  return value * 3_600_000;
}

/** The Pexip settings; each one missing for the chosen authentication is named. */
function pexipSettings(env: Env, problems: string[]): RoomProviderSettings | undefined {
  const need = (name: string, value: string | undefined, why: string) => {
    if (value === undefined) problems.push(`${name}: required with ROOM_PROVIDER=pexip${why}`);
    return value;
  };
  const baseUrl = need('PEXIP_BASE_URL', env.PEXIP_BASE_URL, ' (the Management Node, e.g. https://pexip-manager.example.gov)');
  const kind = env.PEXIP_AUTH ?? 'basic';
  let auth: PexipAuthSettings['auth'] | undefined;
  if (kind === 'basic') {
    const username = need('PEXIP_USERNAME', env.PEXIP_USERNAME, ' and PEXIP_AUTH=basic');
    const password = need('PEXIP_PASSWORD', env.PEXIP_PASSWORD, ' and PEXIP_AUTH=basic');
    if (username !== undefined && password !== undefined) auth = { kind, username, password };
  } else {
    const clientId = need('PEXIP_OAUTH_CLIENT_ID', env.PEXIP_OAUTH_CLIENT_ID, ' and PEXIP_AUTH=oauth2');
    const privateKeyPem = readPrivateKey(env, problems);
    if (clientId !== undefined && privateKeyPem !== undefined) auth = { kind, clientId, privateKeyPem };
  }
  if (baseUrl === undefined || auth === undefined) return undefined;
  const pexip: PexipSettings = {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    auth,
    timeoutMs: env.PEXIP_TIMEOUT_MS ?? 10_000,
    maxRetries: env.PEXIP_MAX_RETRIES ?? 3,
    requestsPerMinute: env.PEXIP_REQUESTS_PER_MINUTE ?? 900,
    budgetWindowMs: seconds(env.PEXIP_BUDGET_WINDOW_SECONDS ?? 60),
    replicationDelayMs: seconds(env.PEXIP_REPLICATION_DELAY_SECONDS ?? 90),
  };
  return { kind: 'pexip', ...pexip };
}

function readPrivateKey(env: Env, problems: string[]): string | undefined {
  if (env.PEXIP_OAUTH_PRIVATE_KEY !== undefined) return env.PEXIP_OAUTH_PRIVATE_KEY.replace(/\\n/g, '\n');
  if (env.PEXIP_OAUTH_PRIVATE_KEY_FILE === undefined) {
    problems.push('PEXIP_OAUTH_PRIVATE_KEY: required with ROOM_PROVIDER=pexip and PEXIP_AUTH=oauth2 (or PEXIP_OAUTH_PRIVATE_KEY_FILE)');
    return undefined;
  }
  try {
    const pem = fs.readFileSync(env.PEXIP_OAUTH_PRIVATE_KEY_FILE, 'utf8');
    if (isPrivateKeyPem(pem)) return pem;
    problems.push('PEXIP_OAUTH_PRIVATE_KEY_FILE: the file does not hold a PEM private key');
  } catch {
    problems.push('PEXIP_OAUTH_PRIVATE_KEY_FILE: the file cannot be read');
  }
  return undefined;
}

/** Names the variable (and, in a list, the entry) without echoing its value, which may be a secret. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const [variable = '(environment)', entry] = issue.path;
  const where = typeof entry === 'number' ? ` entry ${entry + 1}:` : '';
  return `${String(variable)}:${where} ${issue.message}`;
}

function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

function parseUrl(raw: string): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

function isPostgresUrl(raw: string): boolean {
  return ['postgres:', 'postgresql:'].includes(parseUrl(raw)?.protocol ?? '');
}

function isPrivateKeyPem(raw: string): boolean {
  return /-----BEGIN (EC |RSA )?PRIVATE KEY-----/.test(raw.replace(/\\n/g, '\n'));
}

function isLoopback(raw: string): boolean {
  return LOOPBACK_HOSTS.includes(parseUrl(raw)?.hostname ?? '');
}

/** Express's trust-proxy forms (proxy-addr): a named range, an address, address/prefix or IPv4 address/netmask. */
function isProxyAddress(raw: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(raw)) return true;
  const [address = '', range, ...rest] = raw.split('/');
  const family = net.isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (range === undefined) return true;
  if (/^\d{1,3}$/.test(range)) return Number(range) <= (family === 4 ? 32 : 128);
  return family === 4 && net.isIPv4(range);
}

/** An Entra App ID URI: api://…, https://… and other schemes with something after them (docs/entra.md "Token versions"). */
function isAppIdUri(raw: string): boolean {
  const url = parseUrl(raw);
  return url !== undefined && /^[a-z][a-z0-9+.-]*:\/\/./i.test(raw);
}

function isOrigin(raw: string): boolean {
  const url = parseUrl(raw);
  return (url?.protocol === 'https:' || url?.protocol === 'http:') && url.origin === raw;
}

function isSecureOrLoopback(raw: string): boolean {
  const url = parseUrl(raw);
  return url?.protocol === 'https:' || (url?.protocol === 'http:' && isLoopback(raw));
}
