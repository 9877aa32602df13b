import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { OtlpCollectorStandIn, type ReceivedSpan, SPAN_KIND } from '../stand-ins/otlp-collector.js';
import { deployedEnvironment, temporaryDirectory } from '../support/gateway.js';
import { spawnGateway, START_LIMIT_MS, waitUntil, whenReady, type RunningGateway } from '../support/process.js';
import { pexipProvider, type ProviderUnderTest } from '../support/providers.js';

/**
 * The built gateway (`node dist/main.js`) with W3C trace context and OpenTelemetry: a Collector's OTLP/HTTP
 * receiver and Pexip stand-ins see what an operator's back end and Pexip would.
 */
let entra: EntraStandIn;
let genesys: GenesysStandIn;
let pexip: ProviderUnderTest;
let collector: OtlpCollectorStandIn;
let dataDir: string;
let port: number;
let running: RunningGateway | undefined;
/** A start (START_LIMIT_MS at most) and the test's own requests; no timing is asserted. */
const PROCESS_TEST_MS = 2 * START_LIMIT_MS;

beforeEach(async () => {
  entra = await new EntraStandIn().start();
  genesys = await new GenesysStandIn().start();
  pexip = await pexipProvider();
  collector = await new OtlpCollectorStandIn().start();
  dataDir = temporaryDirectory('tracing');
}, PROCESS_TEST_MS);
afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.kill('SIGKILL');
    await running.exited;
  }
  running = undefined;
  await Promise.all([entra.stop(), genesys.stop(), pexip.stop(), collector.stop()]);
  fs.rmSync(dataDir, { recursive: true, force: true });
}, PROCESS_TEST_MS);

async function start(extra: Record<string, string>): Promise<RunningGateway> {
  // No pool: a create makes its room on Pexip while the request waits, so Pexip's calls belong to the request's trace.
  const env = { ...deployedEnvironment(entra, genesys), ...pexip.env, DATA_DIR: dataDir, LOG_LEVEL: 'info', POOL_TARGET_SIZE: '0', ...extra };
  running = spawnGateway(env);
  port = await whenReady(running);
  return running;
}

/** SIGTERM, as an orchestrator stops a pod: the gateway exports the spans it still holds before it exits. */
async function stop(gateway: RunningGateway): Promise<void> {
  gateway.kill('SIGTERM');
  expect(await gateway.exited).toBe(0);
}

const create = (headers: Record<string, string>) =>
  fetch(`http://127.0.0.1:${port}/room/create?uuiData=3132333435362c373635343332`, { method: 'POST', headers: { authorization: `Bearer ${mintToken(entra)}`, ...headers } });

const jsonLines = (text: string) => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const pexipCalls = () => pexip.pexip!.calls.filter((call) => call.path.startsWith('/api/'));

/** The spans from `span` up to the root of its trace, as the back end would draw them. */
function ancestry(spans: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
  const parent = spans.find((s) => s.spanId === span.parentSpanId);
  return parent === undefined ? [span] : [span, ...ancestry(spans, parent)];
}

test('a create continues the caller\'s trace: server span, Pexip and store spans beneath it, traceparent to Pexip, ids in the log line', async () => {
  const traceId = hex(16);
  const callerSpanId = hex(8);
  const gateway = await start({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.baseUrl, OTEL_SERVICE_NAME: 'maxconf-gateway-test' });
  const res = await create({ traceparent: `00-${traceId}-${callerSpanId}-01`, tracestate: 'apim=1', 'x-request-id': 'traced-create' });
  expect(res.status).toBe(200);
  await stop(gateway);

  const spans = collector.spans.filter((span) => span.traceId === traceId);
  const server = spans.find((span) => span.kind === SPAN_KIND.server);
  expect(server).toMatchObject({
    name: 'POST /room/create',
    parentSpanId: callerSpanId,
    serviceName: 'maxconf-gateway-test',
    attributes: { 'http.request.method': 'POST', 'http.route': '/room/create', 'url.path': '/room/create', 'http.response.status_code': 200, 'maxconf.request_id': 'traced-create' },
  });
  expect(spans.filter((span) => span.kind === SPAN_KIND.server)).toHaveLength(1);

  // Every Pexip call of the request is a client span under the server span, and carried that span's traceparent.
  const calls = pexipCalls();
  expect(calls.length).toBeGreaterThan(0);
  const pexipSpans = spans.filter((span) => span.attributes['peer.service'] === 'pexip');
  expect(pexipSpans).toHaveLength(calls.length);
  for (const call of calls) {
    const [, callTrace, callParent] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(call.headers.traceparent)) ?? [];
    expect(callTrace).toBe(traceId);
    const span = pexipSpans.find((s) => s.spanId === callParent);
    expect(span).toMatchObject({ kind: SPAN_KIND.client, name: call.method, attributes: { 'http.request.method': call.method, 'server.address': '127.0.0.1' } });
    expect(call.headers.tracestate).toBe('apim=1');
    expect(ancestry(spans, span!).at(-1)).toBe(server);
  }
  expect(pexipSpans.every((span) => !String(span.attributes['url.full']).includes('?'))).toBe(true);

  // The store's statements are spans of the same trace; their text has parameters, never values.
  const statements = spans.filter((span) => span.attributes['db.system.name'] === 'postgresql');
  expect(statements.length).toBeGreaterThan(0);
  for (const statement of statements) expect(ancestry(spans, statement).at(-1)).toBe(server);

  const line = jsonLines(gateway.stdout()).find((entry) => entry.req?.id === 'traced-create');
  expect(line).toMatchObject({ trace_id: traceId, span_id: server!.spanId, res: { statusCode: 200 } });
  expect(jsonLines(gateway.stdout()).find((entry) => entry.msg === 'gateway listening')).toMatchObject({ tracing: 'on' });
}, PROCESS_TEST_MS);

test('without a traceparent the request starts a trace of its own, and Pexip\'s calls join it', async () => {
  const gateway = await start({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.baseUrl}/v1/traces` });
  expect((await create({ 'x-request-id': 'new-trace' })).status).toBe(200);
  await stop(gateway);

  const server = collector.spans.find((span) => span.kind === SPAN_KIND.server && span.attributes['maxconf.request_id'] === 'new-trace');
  expect(server).toMatchObject({ parentSpanId: '', name: 'POST /room/create', serviceName: 'maxconf-gateway' });
  expect(server!.traceId).toMatch(/^[0-9a-f]{32}$/);
  for (const call of pexipCalls()) expect(String(call.headers.traceparent)).toContain(server!.traceId);
  expect(jsonLines(gateway.stdout()).find((entry) => entry.req?.id === 'new-trace')).toMatchObject({ trace_id: server!.traceId, span_id: server!.spanId });
}, PROCESS_TEST_MS);

test('a request whose client left before its response ends its span as an error, aborted, with no status code', async () => {
  const gateway = await start({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.baseUrl });
  const agentToken = genesys.behave('agent-token-genesys-never-answers', { kind: 'hang' });
  const client = new AbortController();
  const lookup = fetch(`http://127.0.0.1:${port}/public/room/LeftEarly`, { headers: { 'x-auth-token': agentToken, 'x-request-id': 'client-left' }, signal: client.signal }).catch(() => 'aborted');
  await waitUntil(() => genesys.calls > 0, 'the gateway to ask Genesys about the agent');
  client.abort();
  expect(await lookup).toBe('aborted');
  await waitUntil(() => gateway.stdout().includes('client-left'), 'the aborted request\'s log line');
  await stop(gateway);

  const server = collector.spans.find((span) => span.kind === SPAN_KIND.server && span.attributes['maxconf.request_id'] === 'client-left');
  expect(server).toMatchObject({ name: 'GET /public/room/:room_name', status: { code: 2 }, attributes: { 'error.type': 'aborted' } });
  expect(server!.attributes).not.toHaveProperty(['http.response.status_code']);
}, PROCESS_TEST_MS);

test('with no exporter configured nothing is sent, no traceparent goes upstream, and requests are served as before', async () => {
  const gateway = await start({});
  const res = await create({ traceparent: `00-${hex(16)}-${hex(8)}-01`, 'x-request-id': 'untraced' });
  expect(res.status).toBe(200);
  await stop(gateway);

  expect(collector.requests).toEqual([]);
  expect(pexipCalls().length).toBeGreaterThan(0);
  for (const call of pexipCalls()) expect(call.headers.traceparent).toBeUndefined();
  const line = jsonLines(gateway.stdout()).find((entry) => entry.req?.id === 'untraced');
  expect(line).toBeDefined();
  expect(line).not.toHaveProperty('trace_id');
  expect(jsonLines(gateway.stdout()).find((entry) => entry.msg === 'gateway listening')).toMatchObject({ tracing: 'off' });
}, PROCESS_TEST_MS);
