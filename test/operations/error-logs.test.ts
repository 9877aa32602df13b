import { createLogger } from '../../src/logger.js';
import type { Store } from '../../src/store/store.js';
import { basicAuth, openTestStore, SINK_PASSWORD, SINK_USER, startTestGateway, type TestGateway, useSharedStore } from '../support/gateway.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { PEXIP_PASSWORD, pexipProvider, type ProviderUnderTest } from '../support/providers.js';
import { logLines, waitForRequestLines } from '../support/log-lines.js';

/**
 * Every 5xx path a test can provoke, with PINs, tokens and passwords in the
 * input: none of them may reach a log line, and each failure is still logged
 * (with what identifies it).
 */
const PIN = '97531246';
const GUEST_PIN = '86420135';
const { lines, stream: capture } = logLines();
const logger = createLogger('debug', capture);
const shared = useSharedStore();
let gateways: TestGateway[] = [];
let provider: ProviderUnderTest | undefined;

beforeEach(() => {
  lines.length = 0;
});
afterEach(async () => {
  await Promise.all(gateways.map((gw) => gw.close()));
  gateways = [];
  await provider?.stop();
  provider = undefined;
});

async function start(env: Record<string, string> = {}, store: Store = shared.store): Promise<TestGateway> {
  const gw = await startTestGateway({ logger, store, env: { POOL_TARGET_SIZE: '1', ROOM_CACHE_TTL_SECONDS: '0', ...env } });
  gateways.push(gw);
  return gw;
}

async function createRoom(gw: TestGateway): Promise<string> {
  const created = await gw.http.post('/room/create?uuiData=3132').set(gw.bearer());
  expect(created.status).toBe(200);
  return created.body.name as string;
}

const patchPins = (gw: TestGateway, name: string) => gw.http.patch(`/room/${name}`).set(gw.bearer()).send({ pin: PIN, guest_pin: GUEST_PIN, description: `secret pin ${PIN}` });

/** The failures were logged, through the allow-list, and nothing secret was (once these responses' own lines are written). */
async function expectLoggedWithoutSecrets(gw: TestGateway, responses: { headers: Record<string, string> }[], secrets: string[]): Promise<Record<string, any>[]> {
  await waitForRequestLines(lines, responses);
  const text = lines.join('\n');
  for (const secret of [PIN, GUEST_PIN, SINK_PASSWORD, gw.token(), ...secrets]) expect(text).not.toContain(secret);
  expect(text).not.toMatch(/"(params|query|where|detail|hint|internalQuery)":/);
  const failures = lines.map((l) => JSON.parse(l) as Record<string, any>).filter((entry) => entry.err !== undefined);
  expect(failures.length).toBeGreaterThan(0);
  return failures;
}

test('a statement the store refuses mid-request (its error quoting the row: PINs): 500, logged by SQLSTATE and names only', async () => {
  const gw = await start();
  const name = await createRoom(gw);
  // The database fails the way a broken migration or a constraint would, with every value of the row in its message, detail and hint.
  await gw.store.query(`
    CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'refused: %', NEW.document::text USING DETAIL = NEW.document::text, HINT = NEW.document::text; END $$`);
  await gw.store.query('CREATE TRIGGER refuse_update BEFORE UPDATE ON embedded_conference FOR EACH ROW EXECUTE FUNCTION refuse_update()');
  try {
    const res = await patchPins(gw, name);
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.stringify(res.body)).not.toContain(PIN);
    const failures = await expectLoggedWithoutSecrets(gw, [res], []);
    expect(failures.find((entry) => entry.msg === 'request failed')?.err).toEqual({ type: 'DatabaseError', code: 'P0001', severity: 'ERROR', routine: expect.any(String) });
  } finally {
    await gw.store.query('DROP TRIGGER refuse_update ON embedded_conference');
    await gw.store.query('DROP FUNCTION refuse_update()');
  }
});

test('the store gone mid-operation: 503 for room reads and changes and for events, nothing secret logged', async () => {
  // A store of its own, closed under the gateway.
  const store = await openTestStore();
  const gw = await start({}, store);
  const name = await createRoom(gw);
  await store.close();
  const answers = await Promise.all([
    gw.http.get('/rooms').set(gw.bearer()),
    gw.http.get(`/room/${name}`).set(gw.bearer()),
    patchPins(gw, name),
    gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).send({ node: 'n', seq: 1, version: 2, time: 1, event: 'conference_ended', data: { name } }),
  ]);
  for (const res of answers) {
    expect(res.status).toBe(503);
    expectToMatchSpec(res);
  }
  const failures = await expectLoggedWithoutSecrets(gw, answers, []);
  expect(failures.some((entry) => entry.err.type === 'StoreUnavailableError')).toBe(true);
}, 60_000);

test('Pexip failing (error status, hang, lost response) while PINs are changed: 502/503, nothing secret logged', async () => {
  provider = await pexipProvider({ PEXIP_TIMEOUT_MS: '200', PEXIP_MAX_RETRIES: '0' });
  // No pool: no background refill takes the queued faults.
  const gw = await start({ ...provider.env, POOL_TARGET_SIZE: '0' });
  const name = await createRoom(gw);
  const pexip = provider.pexip!;
  const answers = [];
  for (const fault of [{ kind: 'status', status: 500 }, { kind: 'hang' }, { kind: 'apply-then-fail', status: 502 }, { kind: 'status', status: 503, retryAfter: '3' }] as const) {
    pexip.faults.push(fault);
    const res = await patchPins(gw, name);
    expectToMatchSpec(res);
    answers.push(res);
  }
  expect(answers.every(({ status }) => status === 502 || status === 503)).toBe(true);
  const failures = await expectLoggedWithoutSecrets(gw, answers, [PEXIP_PASSWORD, Buffer.from(`gateway-api:${PEXIP_PASSWORD}`).toString('base64')]);
  expect(failures.some((entry) => entry.err.type === 'ProviderUnavailable')).toBe(true);
});

test('Genesys failing (5xx, hang, garbage) for an agent: 503, the agent token not logged', async () => {
  const gw = await start({ GENESYS_TIMEOUT_MS: '200' });
  const name = await createRoom(gw);
  const tokens = [
    gw.genesys.behave('genesys-token-status-500-aaaa', { kind: 'status', status: 500 }),
    gw.genesys.behave('genesys-token-status-503-bbbb', { kind: 'status', status: 503, retryAfter: '4' }),
    gw.genesys.behave('genesys-token-hang-cccc', { kind: 'hang' }),
    gw.genesys.behave('genesys-token-garbage-dddd', { kind: 'garbage' }),
  ];
  const answers = [];
  for (const token of tokens) {
    const res = await gw.http.get(`/public/room/${name}`).set('x-auth-token', token);
    expect(res.status).toBe(503);
    expectToMatchSpec(res);
    answers.push(res);
  }
  await expectLoggedWithoutSecrets(gw, answers, tokens);
});
