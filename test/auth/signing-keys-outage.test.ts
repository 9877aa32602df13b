import { randomUUID } from 'node:crypto';
import { EntraStandIn, newIssuerKey } from '../stand-ins/entra.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { startTestGateway, useSharedStore, type TestGateway } from '../support/gateway.js';

/**
 * Issue 12 item 3: while no signing keys can be used, a valid token is our
 * failure (503 + Retry-After), never the caller's (401, counted towards 429).
 */
const LIMIT = 20;
/** Without keys, a token may cause a fetch once this has passed since the last one (SigningKeys.retryDelayMs). */
const NO_KEYS_RETRY_MS = 5_000;
const COOLDOWN_MS = 60_000;
const shared = useSharedStore();
let entra: EntraStandIn;
let gw: TestGateway;

beforeEach(async () => {
  entra = await new EntraStandIn().start();
});
afterEach(async () => {
  await gw?.close();
  await entra.stop();
});

const start = async (env: Record<string, string> = {}) => {
  gw = await startTestGateway({
    entra,
    store: shared.store,
    env: { AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW_SECONDS: '3600', JWKS_COOLDOWN_SECONDS: String(COOLDOWN_MS / 1000), ...env },
  });
  return gw;
};
const rooms = (token: string) => gw.http.get('/rooms').set('Authorization', `Bearer ${token}`);

async function expectOutageAnswers(token: string, attempts: number): Promise<void> {
  for (let i = 0; i < attempts; i += 1) {
    const res = await rooms(token);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.body.detail).toMatch(/signing keys/);
    expectToMatchSpec(res);
  }
}

describe('no signing keys loaded', () => {
  test('JWKS down at start-up: a valid token gets 503 with Retry-After, never 429; once the JWKS answers, the same caller gets 200', async () => {
    entra.behaviour = 'fail-503';
    await start();
    const token = gw.token();
    await expectOutageAnswers(token, LIMIT + 5);
    expect((await gw.http.get('/public/ready')).status).toBe(503);

    entra.behaviour = 'serve';
    gw.clock.advance(NO_KEYS_RETRY_MS);
    expect((await rooms(token)).status).toBe(200);
    expect((await gw.http.get('/public/ready')).status).toBe(200);
  });

  test('a JWKS answering after 10 s (beyond JWKS_TIMEOUT_MS) is an outage too: 503 with Retry-After, never 429, then 200', async () => {
    entra.behaviour = 'slow';
    await start({ JWKS_TIMEOUT_MS: '1000' });
    expect(gw.gateway.signingKeys.loaded).toBe(false);
    const token = gw.token();
    await expectOutageAnswers(token, LIMIT + 1);

    entra.behaviour = 'serve';
    gw.clock.advance(NO_KEYS_RETRY_MS);
    expect((await rooms(token)).status).toBe(200);
  });

  test('requests that arrive while the first (slow) fetch is under way wait at most JWKS_TIMEOUT_MS and get 503', async () => {
    entra.behaviour = 'slow';
    gw = await startTestGateway({ entra, store: shared.store, env: { JWKS_TIMEOUT_MS: '1000' }, start: false });
    const starting = gw.gateway.start();
    const answers = await Promise.all(Array.from({ length: 5 }, () => rooms(gw.token())));
    await starting;
    expect(answers.map((res) => res.status)).toEqual([503, 503, 503, 503, 503]);
  });
});

describe('keys loaded, key set not refreshed because the JWKS fails', () => {
  test('a token signed by a key published during the outage gets 503 (we cannot fetch it), not 401, and is not counted', async () => {
    await start();
    const held = entra.signingKey;
    entra.behaviour = 'fail-500';
    const rotated = entra.rotate({ retireOld: false });
    gw.clock.advance(COOLDOWN_MS);
    await expectOutageAnswers(gw.token({ key: rotated }), LIMIT + 1);
    expect((await rooms(gw.token({ key: held }))).status).toBe(200);

    entra.behaviour = 'serve';
    gw.clock.advance(COOLDOWN_MS);
    expect((await rooms(gw.token({ key: rotated }))).status).toBe(200);
  });

  test('while the key set is fresh, an unknown kid stays 401 (random kids cannot cause 503s) and still counts', async () => {
    await start({ AUTH_FAILURE_LIMIT: '3' });
    const attacker = newIssuerKey();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await rooms(gw.token({ key: { ...attacker, kid: `random-${randomUUID()}` } }))).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

test('failures counted during an outage of ours are forgiven when the keys load', async () => {
  entra.behaviour = 'fail-503';
  await start({ AUTH_FAILURE_LIMIT: '3' });
  for (let i = 0; i < 3; i += 1) expect((await rooms(`garbage.token.${i}`)).status).toBe(401);
  expect((await rooms(gw.token())).status).toBe(429);

  entra.behaviour = 'serve';
  // What the background retry does a few seconds later: the limited caller cannot cause the fetch itself.
  expect(await gw.gateway.signingKeys.refresh()).toBe(true);
  expect((await rooms(gw.token())).status).toBe(200);
});

test("forgiving Entra's failures when the keys load leaves the same client's failed agent lookups counted", async () => {
  entra.behaviour = 'fail-503';
  await start({ AUTH_FAILURE_LIMIT: '3' });
  const lookup = (token: string) => gw.http.get('/public/room/Room1').set('x-auth-token', token);
  for (let i = 0; i < 3; i += 1) expect((await lookup(`junk-token-${i}`)).status).toBe(401);
  entra.behaviour = 'serve';
  expect(await gw.gateway.signingKeys.refresh()).toBe(true);
  expect((await lookup(gw.genesys.agent('agent-after-recovery'))).status).toBe(429);
  expect((await rooms(gw.token())).status).toBe(200);
});
