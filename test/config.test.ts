import fs from 'node:fs';
import { ConfigError, environmentSchema, loadConfig } from '../src/config.js';
import { CLIENT_IDS, MAXCONF_TENANT_ID } from '../src/auth/entra-apps.js';
import { readEnvExample, withConfigTable } from '../src/config-reference.js';

/** What every deployed profile must set. */
const DEPLOYED = {
  ROOM_TAG_BASE_URL: 'https://idim.example.gov/s',
  GENESYS_ALLOWED_DIVISIONS: 'div-1',
  EVENT_SINK_USERNAME: 'pexip',
  EVENT_SINK_PASSWORD: 'a-long-sink-password',
  ROOM_PROVIDER: 'pexip',
  PEXIP_BASE_URL: 'https://pexip.example.gov',
  PEXIP_USERNAME: 'api',
  PEXIP_PASSWORD: 'secret',
};

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('profiles', () => {
  test('no configuration at all runs the local profile', () => {
    const config = loadConfig({});
    expect(config.profile).toBe('local');
    expect(config.entra.tenantId).toBe(MAXCONF_TENANT_ID);
    expect(config.entra.clientIds).toEqual([CLIENT_IDS.dev]);
    expect(config.entra.jwksUri).toBeUndefined();
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.store.dataDir).toMatch(/\/data$/);
  });

  test.each([
    ['edge', [CLIENT_IDS.dev]],
    ['test', [CLIENT_IDS.dev, CLIENT_IDS.test]],
    ['prod', [CLIENT_IDS.prod]],
  ])('%s carries the client IDs of docs/entra.md and the tenant endpoints', (profile, clientIds) => {
    const config = loadConfig({ MAXCONF_ENV: profile, ...DEPLOYED });
    expect(config.entra.clientIds).toEqual(clientIds);
    expect(config.entra.allowedCallers).toEqual(clientIds);
    expect(config.entra.issuers).toEqual([`https://sts.windows.net/${MAXCONF_TENANT_ID}/`, `https://login.microsoftonline.com/${MAXCONF_TENANT_ID}/v2.0`]);
    expect(config.entra.jwksUri).toBe(`https://login.microsoftonline.com/${MAXCONF_TENANT_ID}/discovery/v2.0/keys`);
    expect(config.http.host).toBe('0.0.0.0');
  });

  test('every value can be overridden', () => {
    const tenant = '11111111-2222-3333-4444-555555555555';
    const config = loadConfig({
      MAXCONF_ENV: 'prod',
      NODE_ENV: 'production',
      ENTRA_TENANT_ID: tenant,
      ENTRA_CLIENT_IDS: `${CLIENT_IDS.test}, ${CLIENT_IDS.prod}`,
      ENTRA_ALLOWED_CALLERS: CLIENT_IDS.dev,
      ENTRA_ISSUERS: 'https://login.microsoftonline.us/x/v2.0',
      ENTRA_JWKS_URI: 'https://login.microsoftonline.us/x/discovery/v2.0/keys',
      ENTRA_CLOCK_TOLERANCE_SECONDS: '30',
      ENTRA_REQUIRED_ROLE: 'Rooms.Use',
      ENTRA_BULK_ROLE: 'Rooms.Bulk',
      JWKS_REFRESH_INTERVAL_SECONDS: '7200',
      JWKS_COOLDOWN_SECONDS: '120',
      JWKS_TIMEOUT_MS: '2500',
      TOKEN_CACHE_SIZE: '50',
      POOL_TARGET_SIZE: '25',
      POOL_CLAIM_LEASE_SECONDS: '30',
      ROOM_PIN_LENGTH: '8',
      ROOM_TAG_BASE_URL: 'https://idim.example.gov/session/',
      GENESYS_REGION: 'mypurecloud.ie',
      GENESYS_ALLOWED_DIVISIONS: 'div-a, div-b',
      GENESYS_ORGANIZATION_ID: 'org-1',
      GENESYS_CACHE_TTL_SECONDS: '30',
      GENESYS_REJECTION_CACHE_SECONDS: '5',
      GENESYS_CACHE_SIZE: '100',
      GENESYS_TIMEOUT_MS: '1500',
      CORS_ALLOWED_ORIGINS: 'https://widget.example.gov,http://localhost:5173',
      CORS_MAX_AGE_SECONDS: '300',
      EVENT_SINK_USERNAME: 'pexip-nodes',
      EVENT_SINK_PASSWORD: 'current:password:with:colons',
      EVENT_SINK_PASSWORD_NEXT: 'the-next-password-1',
      EVENT_SINK_BODY_LIMIT_BYTES: '1048576',
      EVENT_DEDUP_RETENTION_HOURS: '48',
      AUTH_FAILURE_LIMIT: '5',
      AUTH_FAILURE_WINDOW_SECONDS: '120',
      GC_INTERVAL_SECONDS: '300',
      GC_GRACE_SECONDS: '900',
      GC_BATCH_SIZE: '25',
      ALIAS_DOMAIN: 'video.example.gov',
      PERSISTENT_ROOM_PREFIXES: 'keep_,demo_',
      DATA_DIR: '/var/lib/maxconf',
      PORT: '9000',
      HOST: '127.0.0.1',
      BODY_LIMIT_BYTES: '4096',
      LOG_LEVEL: 'warn',
      GENESYS_SIP_ADDRESS: 'queue@genesys.example.gov',
      AUTOMATIC_PARTICIPANT_ROLE: 'chair',
      AUTOMATIC_PARTICIPANT_CALL_TYPE: 'video',
      AUTOMATIC_PARTICIPANT_KEEP_ALIVE: 'keep_conference_alive',
      AUTOMATIC_PARTICIPANT_ROUTING: 'routing_rule',
      AUTOMATIC_PARTICIPANT_SYSTEM_LOCATION: '/api/admin/configuration/v1/system_location/3/',
      ROOM_PROVIDER: 'embedded',
    });
    expect(config).toMatchObject({
      profile: 'prod',
      production: true,
      logLevel: 'warn',
      http: { host: '127.0.0.1', port: 9000, bodyLimitBytes: 4096 },
      store: { dataDir: '/var/lib/maxconf' },
      entra: {
        tenantId: tenant,
        clientIds: [CLIENT_IDS.test, CLIENT_IDS.prod],
        allowedCallers: [CLIENT_IDS.dev],
        issuers: ['https://login.microsoftonline.us/x/v2.0'],
        jwksUri: 'https://login.microsoftonline.us/x/discovery/v2.0/keys',
        clockToleranceSeconds: 30,
        requiredRole: 'Rooms.Use',
        bulkRole: 'Rooms.Bulk',
        jwksRefreshIntervalMs: 7_200_000,
        jwksCooldownMs: 120_000,
        jwksTimeoutMs: 2500,
        tokenCacheSize: 50,
      },
      rooms: {
        poolTargetSize: 25,
        claimLeaseMs: 30_000,
        pinLength: 8,
        tagBaseUrl: 'https://idim.example.gov/session',
        aliasDomain: 'video.example.gov',
        persistentPrefixes: ['keep_', 'demo_'],
        automaticParticipant: {
          alias: 'queue@genesys.example.gov',
          role: 'chair',
          callType: 'video',
          keepConferenceAlive: 'keep_conference_alive',
          routing: 'routing_rule',
          systemLocation: '/api/admin/configuration/v1/system_location/3/',
        },
      },
      genesys: {
        apiBaseUrl: 'https://api.mypurecloud.ie',
        allowedDivisions: ['div-a', 'div-b'],
        organizationId: 'org-1',
        cacheTtlMs: 30_000,
        rejectionCacheMs: 5000,
        cacheSize: 100,
        timeoutMs: 1500,
      },
      cors: { allowedOrigins: ['https://widget.example.gov', 'http://localhost:5173'], maxAgeSeconds: 300 },
      eventSink: { username: 'pexip-nodes', passwords: ['current:password:with:colons', 'the-next-password-1'], bodyLimitBytes: 1048576, dedupRetentionMs: 48 * 3_600_000 },
      authFailures: { limit: 5, windowMs: 120_000 },
      garbageCollection: { intervalMs: 300_000, graceMs: 900_000, batchSize: 25 },
    });
  });
});

describe('bad configuration', () => {
  test('lists every bad variable at once', () => {
    const problems = problemsOf({
      MAXCONF_ENV: 'staging',
      PORT: 'eighty',
      ENTRA_TENANT_ID: 'not-a-guid',
      ENTRA_CLIENT_IDS: 'abc,def',
      JWKS_COOLDOWN_SECONDS: '5',
      ENTRA_CLOCK_TOLERANCE_SECONDS: '3600',
      ENTRA_JWKS_URI: 'http://keys.example.com/keys',
      ROOM_PIN_LENGTH: '3',
      TOKEN_CACHE_SIZE: '-1',
    });
    expect(problems).toContain('ENTRA_CLIENT_IDS: entry 2: must be a GUID');
    const named = [...new Set(problems.map((p) => p.split(':')[0]))];
    expect(named.sort()).toEqual(
      ['ENTRA_CLIENT_IDS', 'ENTRA_CLOCK_TOLERANCE_SECONDS', 'ENTRA_JWKS_URI', 'ENTRA_TENANT_ID', 'JWKS_COOLDOWN_SECONDS', 'MAXCONF_ENV', 'PORT', 'ROOM_PIN_LENGTH', 'TOKEN_CACHE_SIZE'].sort(),
    );
  });

  test('the local profile is refused when NODE_ENV=production', () => {
    expect(problemsOf({ MAXCONF_ENV: 'local', NODE_ENV: 'production' })).toEqual([expect.stringMatching(/^MAXCONF_ENV: the local profile is refused/)]);
  });

  test('NODE_ENV=production without a profile is refused (it would otherwise fall back to local)', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([expect.stringMatching(/^MAXCONF_ENV: required when NODE_ENV=production/)]);
  });

  test('outside local, the tag base URL, Genesys divisions, sink credentials and the room provider are required', () => {
    expect(problemsOf({ MAXCONF_ENV: 'prod' })).toEqual([
      expect.stringMatching(/^ROOM_TAG_BASE_URL: required/),
      expect.stringMatching(/^GENESYS_ALLOWED_DIVISIONS: required/),
      expect.stringMatching(/^EVENT_SINK_USERNAME: required/),
      expect.stringMatching(/^EVENT_SINK_PASSWORD: required/),
      expect.stringMatching(/^ROOM_PROVIDER: required outside the local profile/),
    ]);
  });

  test('ROOM_PROVIDER=embedded outside local starts, with a warning that its rooms exist on no conferencing node', () => {
    const config = loadConfig({ MAXCONF_ENV: 'prod', ...DEPLOYED, ROOM_PROVIDER: 'embedded' });
    expect(config.roomProvider).toEqual({ kind: 'embedded' });
    expect(config.warnings).toEqual([expect.stringMatching(/ROOM_PROVIDER=embedded in the prod profile: .*do not exist on any conferencing node/)]);
    expect(loadConfig({ MAXCONF_ENV: 'prod', ...DEPLOYED }).warnings).toEqual([]);
    expect(loadConfig({}).warnings).toEqual([]);
  });

  test.each([
    ['AUTOMATIC_PARTICIPANT_ROLE', 'host', "must be one of Pexip's choices: guest, chair"],
    ['AUTOMATIC_PARTICIPANT_ROUTING', 'auto', "must be one of Pexip's choices: manual, routing_rule"],
    ['AUTOMATIC_PARTICIPANT_CALL_TYPE', 'voice', "must be one of Pexip's choices: video, video-only, audio"],
    ['AUTOMATIC_PARTICIPANT_KEEP_ALIVE', 'yes', "must be one of Pexip's choices: keep_conference_alive, keep_conference_alive_if_multiple, keep_conference_alive_never"],
    ['AUTOMATIC_PARTICIPANT_SYSTEM_LOCATION', 'London', 'must be the resource URI of a Pexip system location'],
  ])('%s=%s, which Pexip would refuse, stops the gateway at start-up', (variable, value, message) => {
    expect(problemsOf({ GENESYS_SIP_ADDRESS: 'queue@genesys.example.gov', [variable]: value })).toEqual([expect.stringContaining(`${variable}: ${message}`)]);
  });

  test("the automatic participant's defaults are Pexip's choices: guest, audio, never keeps the conference alive, routed manually from a location Pexip picks", () => {
    expect(loadConfig({ GENESYS_SIP_ADDRESS: 'queue@genesys.example.gov' }).rooms.automaticParticipant).toEqual({
      alias: 'queue@genesys.example.gov',
      role: 'guest',
      callType: 'audio',
      keepConferenceAlive: 'keep_conference_alive_never',
      routing: 'manual',
      systemLocation: undefined,
    });
  });

  test('a variable of the wrong type does not hide the missing required ones', () => {
    const problems = problemsOf({ MAXCONF_ENV: 'prod', PORT: 'eighty', EVENT_SINK_PASSWORD: 'short' });
    expect(problems).toContainEqual(expect.stringMatching(/^EVENT_SINK_PASSWORD: must be at least 12 characters/));
    for (const missing of ['ROOM_TAG_BASE_URL', 'GENESYS_ALLOWED_DIVISIONS', 'EVENT_SINK_USERNAME', 'ROOM_PROVIDER']) {
      expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${missing}: required`)));
    }
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['EVENT_SINK_PASSWORD', 'EVENT_SINK_USERNAME', 'GENESYS_ALLOWED_DIVISIONS', 'PORT', 'ROOM_PROVIDER', 'ROOM_TAG_BASE_URL']);
  });

  test('the Genesys region defaults to cac1 and comes only from the allow-list', () => {
    expect(loadConfig({ MAXCONF_ENV: 'edge', ...DEPLOYED }).genesys.apiBaseUrl).toBe('https://api.cac1.pure.cloud');
    expect(problemsOf({ GENESYS_REGION: 'evil.example.com' })[0]).toMatch(/^GENESYS_REGION:/);
    expect(problemsOf({ GENESYS_API_BASE_URL: 'https://api.evil.example.com' })[0]).toMatch(/^GENESYS_API_BASE_URL: only a loopback stand-in/);
  });

  test('CORS origins must be bare origins', () => {
    expect(problemsOf({ CORS_ALLOWED_ORIGINS: 'https://widget.example.gov/path' })[0]).toMatch(/^CORS_ALLOWED_ORIGINS: entry 1: must be an origin/);
  });

  test('sink passwords must be at least 12 characters, and the value is never echoed', () => {
    const problems = problemsOf({ EVENT_SINK_PASSWORD: 'short-pw' });
    expect(problems[0]).toMatch(/^EVENT_SINK_PASSWORD: must be at least 12 characters/);
    expect(problems.join()).not.toContain('short-pw');
  });

  test('ROOM_PROVIDER=pexip without its settings names each missing one', () => {
    expect(problemsOf({ ROOM_PROVIDER: 'pexip' })).toEqual([
      expect.stringMatching(/^PEXIP_BASE_URL: required with ROOM_PROVIDER=pexip/),
      expect.stringMatching(/^PEXIP_USERNAME: required with ROOM_PROVIDER=pexip and PEXIP_AUTH=basic/),
      expect.stringMatching(/^PEXIP_PASSWORD: required with ROOM_PROVIDER=pexip and PEXIP_AUTH=basic/),
    ]);
    expect(problemsOf({ ROOM_PROVIDER: 'pexip', PEXIP_BASE_URL: 'https://pexip.example.gov', PEXIP_AUTH: 'oauth2' })).toEqual([
      expect.stringMatching(/^PEXIP_OAUTH_CLIENT_ID: required/),
      expect.stringMatching(/^PEXIP_OAUTH_PRIVATE_KEY: required/),
    ]);
    expect(problemsOf({ PEXIP_OAUTH_PRIVATE_KEY: 'not a key' })[0]).toMatch(/^PEXIP_OAUTH_PRIVATE_KEY: must be a PEM private key/);
    expect(problemsOf({ ROOM_PROVIDER: 'pexip', PEXIP_BASE_URL: 'https://pexip.example.gov', PEXIP_AUTH: 'oauth2', PEXIP_OAUTH_CLIENT_ID: 'c', PEXIP_OAUTH_PRIVATE_KEY_FILE: '/nonexistent/key.pem' })).toEqual([
      'PEXIP_OAUTH_PRIVATE_KEY_FILE: the file cannot be read',
    ]);
  });

  test('ROOM_PROVIDER=pexip with Basic settings, and the embedded provider by default', () => {
    expect(loadConfig({}).roomProvider).toEqual({ kind: 'embedded' });
    expect(loadConfig({ ROOM_PROVIDER: 'pexip', PEXIP_BASE_URL: 'https://pexip.example.gov/', PEXIP_USERNAME: 'api', PEXIP_PASSWORD: 'secret' }).roomProvider).toEqual({
      kind: 'pexip',
      baseUrl: 'https://pexip.example.gov',
      auth: { kind: 'basic', username: 'api', password: 'secret' },
      timeoutMs: 10_000,
      maxRetries: 3,
      requestsPerMinute: 900,
      budgetWindowMs: 60_000,
      replicationDelayMs: 90_000,
    });
  });

  test('plain http is accepted for loopback only', () => {
    expect(loadConfig({ ENTRA_JWKS_URI: 'http://127.0.0.1:9999/keys' }).entra.jwksUri).toBe('http://127.0.0.1:9999/keys');
    expect(problemsOf({ ENTRA_JWKS_URI: 'http://10.0.0.1/keys' })[0]).toMatch(/^ENTRA_JWKS_URI: must be an https/);
  });

  test('blank values count as unset', () => {
    expect(loadConfig({ PORT: '', MAXCONF_ENV: ' ' }).http.port).toBe(8080);
  });

  test.each([
    ['abc', "PORT: must be a whole number between 0 and 65535, got 'abc'"],
    ['65536', "PORT: must be a whole number between 0 and 65535, got '65536'"],
    ['80.5', "PORT: must be a whole number between 0 and 65535, got '80.5'"],
    [' 8081', "PORT: must be a whole number between 0 and 65535, got ' 8081'"],
  ])('PORT=%j is refused in our words, with the value as given', (value, problem) => {
    expect(problemsOf({ PORT: value })).toEqual([problem]);
  });

  test('a choice not among the allowed ones is echoed with them; a space around it is refused as around a number', () => {
    expect(problemsOf({ MAXCONF_ENV: 'prd' })).toEqual(["MAXCONF_ENV: must be one of local, edge, test, prod, got 'prd'"]);
    expect(problemsOf({ MAXCONF_ENV: ' prod' })).toEqual(["MAXCONF_ENV: must be one of local, edge, test, prod, got ' prod'"]);
    expect(problemsOf({ LOG_LEVEL: 'verbose' })[0]).toMatch(/^LOG_LEVEL: must be one of fatal, .*, got 'verbose'$/);
  });

  test('the metrics listener cannot share the API port, set or defaulted; METRICS_PORT=0 turns it off', () => {
    const refusal = 'METRICS_PORT: must differ from PORT (both 8080): metrics have a listener of their own (METRICS_PORT=0 turns it off)';
    expect(problemsOf({ PORT: '8080', METRICS_PORT: '8080' })).toEqual([refusal]);
    expect(problemsOf({ METRICS_PORT: '8080' })).toEqual([refusal]);
    expect(problemsOf({ PORT: '9464' })[0]).toMatch(/^METRICS_PORT: must differ from PORT \(both 9464\)/);
    expect(loadConfig({ PORT: '0', METRICS_PORT: '0' }).metrics).toBeUndefined();
    expect(loadConfig({ PORT: '8080', METRICS_PORT: '0' }).metrics).toBeUndefined();
  });

  test("the example deployment's placeholders are refused, named with their variable", () => {
    expect(problemsOf({ GENESYS_ALLOWED_DIVISIONS: 'replace-with-the-division-id', PEXIP_OAUTH_CLIENT_ID: 'replace-with-the-oauth2-client-id' })).toEqual([
      "GENESYS_ALLOWED_DIVISIONS: still the example's placeholder ('replace-with-the-division-id'); set the real value",
      "PEXIP_OAUTH_CLIENT_ID: still the example's placeholder ('replace-with-the-oauth2-client-id'); set the real value",
    ]);
  });
});

describe('warnings: the configuration runs, but probably not as meant', () => {
  test('a NODE_ENV other than production, development or test', () => {
    expect(loadConfig({ NODE_ENV: 'staging' }).warnings).toEqual([
      "NODE_ENV='staging' is none of production, development, test: set NODE_ENV=production in every deployed profile and choose the profile with MAXCONF_ENV",
    ]);
    for (const known of ['development', 'test', '']) expect(loadConfig({ NODE_ENV: known }).warnings).toEqual([]);
  });

  test('a variable with one of our prefixes that the gateway does not read, with the closest known name', () => {
    expect(loadConfig({ MAXCONF_PROFILE: 'prod', ENTRA_TENANTID: 'x', PEXIP_URL_BASE: 'https://pexip.example.gov', HOME: '/root' }).warnings).toEqual([
      'ENTRA_TENANTID is not a variable the gateway reads (did you mean ENTRA_TENANT_ID?); see .env.example',
      'MAXCONF_PROFILE is not a variable the gateway reads; see .env.example',
      'PEXIP_URL_BASE is not a variable the gateway reads; see .env.example',
    ]);
    expect(loadConfig({ MAXCONF_EVN: 'local' }).warnings).toEqual(['MAXCONF_EVN is not a variable the gateway reads (did you mean MAXCONF_ENV?); see .env.example']);
  });
});

describe('tracing (OpenTelemetry)', () => {
  test('off unless an OTLP endpoint is set', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_SERVICE_NAME: 'named', OTEL_TRACES_SAMPLER: 'always_on' }).tracing).toBeUndefined();
  });

  test("the general endpoint gets OTLP's /v1/traces; the traces endpoint is used as it is and wins", () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'maxconf-gateway',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
    const both = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otlp.example.gov/traces' };
    expect(loadConfig(both).tracing?.tracesUrl).toBe('https://otlp.example.gov/traces');
  });

  test('OTEL_SDK_DISABLED=true turns it off whatever the endpoints say', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
  });

  test('sampler, ratio and service name come from the standard variables', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_SERVICE_NAME: 'gateway-west' };
    expect(loadConfig(env).tracing).toMatchObject({ sampler: 'parentbased_traceidratio', samplerRatio: 0.25, serviceName: 'gateway-west' });
  });

  test('a protocol the exporter does not speak, an unknown sampler or a ratio out of range is refused at start-up', () => {
    const problems = problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_TRACES_SAMPLER: 'sometimes', OTEL_TRACES_SAMPLER_ARG: '2' });
    expect(problems.map((p) => p.slice(0, p.indexOf(':')))).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG']);
    expect(problems[1]).toMatch(/must be http\/json/);
  });
});

describe('configuration reference', () => {
  const read = (file: string) => fs.readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
  const documented = () => readEnvExample(read('.env.example'));

  test('.env.example documents every variable the gateway reads, and no other', () => {
    const names = new Set(documented().map((v) => v.name));
    const read = new Set(Object.keys(environmentSchema.shape));
    expect([...read].filter((name) => !names.has(name))).toEqual([]);
    expect([...names].filter((name) => !read.has(name))).toEqual([]);
  });

  test('every documented variable says what it is', () => {
    expect(documented().filter((v) => v.description.length < 10).map((v) => v.name)).toEqual([]);
  });

  test("the README's configuration table is the one generated from .env.example (npm run docs:config)", () => {
    const readme = read('README.md');
    expect(withConfigTable(readme, read('.env.example'))).toBe(readme);
  });
});
