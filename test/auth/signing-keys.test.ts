import { randomUUID } from 'node:crypto';
import { SigningKeys } from '../../src/auth/signing-keys.js';
import { createLogger } from '../../src/logger.js';
import { EntraStandIn, newIssuerKey } from '../stand-ins/entra.js';
import { TestClock } from '../support/clock.js';
import { startTestGateway, useSharedStore, type TestGateway } from '../support/gateway.js';

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

const start = async (env: Record<string, string> = {}, begin = true) => {
  gw = await startTestGateway({ entra, store: shared.store, env: { JWKS_COOLDOWN_SECONDS: String(COOLDOWN_MS / 1000), ...env }, start: begin });
  return gw;
};
const attacker = newIssuerKey();
const randomKidToken = () => gw.token({ key: { ...attacker, kid: `random-${randomUUID()}` } });
const status = async (token: string) => (await gw.http.get('/rooms').set('Authorization', `Bearer ${token}`)).status;

describe('loading at start-up', () => {
  test('readiness fails until the keys are loaded, then passes', async () => {
    await start({}, false);
    const before = await gw.http.get('/public/ready');
    expect(before.status).toBe(503);
    expect(before.body.checks.signing_keys).toBe('fail');
    await gw.gateway.start();
    const after = await gw.http.get('/public/ready');
    expect(after.status).toBe(200);
    expect(after.body).toEqual({ status: 'ready', checks: { store: 'ok', signing_keys: 'ok', serving: 'ok' } });
  });

  test('JWKS down at start-up: not ready, tokens get 503 (our outage; see signing-keys-outage.test.ts); once the JWKS answers, keys load on the next allowed fetch', async () => {
    entra.behaviour = 'fail-503';
    await start();
    expect((await gw.http.get('/public/ready')).status).toBe(503);
    expect(await status(gw.token())).toBe(503);
    entra.behaviour = 'serve';
    gw.clock.advance(COOLDOWN_MS);
    expect(await status(gw.token())).toBe(200);
    expect((await gw.http.get('/public/ready')).status).toBe(200);
  });
});

describe('unknown key ids', () => {
  test('a newly published key is fetched on first sight, once', async () => {
    await start();
    const fetchesBefore = entra.fetches;
    const rotated = entra.rotate({ retireOld: false });
    gw.clock.advance(COOLDOWN_MS);
    expect(await status(gw.token({ key: rotated }))).toBe(200);
    expect(await status(gw.token({ key: rotated }))).toBe(200);
    expect(entra.fetches - fetchesBefore).toBe(1);
  });

  test('within the cool-down an unknown kid is rejected at once, without a fetch; after it, one refetch is allowed', async () => {
    await start();
    const fetchesBefore = entra.fetches;
    expect(await status(randomKidToken())).toBe(401);
    expect(entra.fetches).toBe(fetchesBefore);
    gw.clock.advance(COOLDOWN_MS - 1);
    expect(await status(randomKidToken())).toBe(401);
    expect(entra.fetches).toBe(fetchesBefore);
    gw.clock.advance(1);
    expect(await status(randomKidToken())).toBe(401);
    expect(entra.fetches).toBe(fetchesBefore + 1);
  });

  test('a flood of random kids causes at most one fetch per cool-down, with one fetch in flight', async () => {
    await start();
    gw.clock.advance(COOLDOWN_MS);
    const fetchesBefore = entra.fetches;
    const flood = await Promise.all(Array.from({ length: 200 }, () => status(randomKidToken())));
    expect(flood.every((s) => s === 401)).toBe(true);
    expect(entra.fetches - fetchesBefore).toBe(1);
    const second = await Promise.all(Array.from({ length: 200 }, () => status(randomKidToken())));
    expect(second.every((s) => s === 401)).toBe(true);
    expect(entra.fetches - fetchesBefore).toBe(1);
  });

  test('while cooling down, a flood is answered without touching a hanging JWKS endpoint (503: the key set cannot be fetched)', async () => {
    await start({ JWKS_TIMEOUT_MS: '300' });
    entra.behaviour = 'hang';
    gw.clock.advance(COOLDOWN_MS);
    const fetchesBefore = entra.fetches;
    expect(await status(randomKidToken())).toBe(503);
    expect(entra.fetches - fetchesBefore).toBe(1);
    expect(gw.gateway.signingKeys.counts.timeout).toBe(1);
    const flood = await Promise.all(Array.from({ length: 100 }, () => status(randomKidToken())));
    expect(flood.every((s) => s === 503)).toBe(true);
    expect(entra.fetches - fetchesBefore).toBe(1);
    expect(await status(gw.token())).toBe(200);
  });
});

describe('a failing JWKS endpoint never drops the last good keys', () => {
  test.each(['fail-500', 'fail-503', 'garbage', 'redirect', 'hang'] as const)('%s', async (behaviour) => {
    await start({ JWKS_TIMEOUT_MS: '300' });
    const token = gw.token();
    expect(await status(token)).toBe(200);
    entra.behaviour = behaviour;
    expect(await gw.gateway.signingKeys.refresh()).toBe(false);
    expect(gw.gateway.signingKeys.loaded).toBe(true);
    expect(await status(gw.token())).toBe(200);
    expect((await gw.http.get('/public/ready')).status).toBe(200);
  });

  test('a key set with no usable RS256 key is treated as a failure, not as "no keys"', async () => {
    await start();
    const held = entra.signingKey;
    entra.published = [];
    entra.extraJwks = [{ kty: 'EC', kid: 'ec', crv: 'P-256', x: 'x', y: 'y' }, { ...newIssuerKey('rs384').publicJwk, alg: 'RS384' }];
    expect(await gw.gateway.signingKeys.refresh()).toBe(false);
    expect(await status(gw.token({ key: held }))).toBe(200);
  });
});

describe('key properties', () => {
  test('#4 a JWK whose own alg is not RS256 is not used for RS256 tokens', async () => {
    const ps = newIssuerKey('ps-key');
    entra.extraJwks = [{ ...ps.publicJwk, alg: 'PS256' }];
    await start();
    expect(await status(gw.token({ key: ps }))).toBe(401);
  });

  test('RSA keys shorter than 2048 bits are refused', async () => {
    const weak = newIssuerKey('weak', 1024);
    entra.published = [...entra.published, weak];
    await start();
    expect(await status(gw.token({ key: weak }))).toBe(401);
    expect(await status(gw.token())).toBe(200);
  });

  test('rotation: once a key is retired from the JWKS, its tokens are refused, even ones verified before', async () => {
    await start();
    const oldToken = gw.token();
    expect(await status(oldToken)).toBe(200);
    const next = entra.rotate({ retireOld: true });
    await gw.gateway.signingKeys.refresh();
    expect(await status(oldToken)).toBe(401);
    expect(await status(gw.token({ key: next }))).toBe(200);
  });
});

describe('the key set as jwks-rsa reads it, through our fetch', () => {
  test('a key set larger than 512 KiB is a failed fetch: the last good keys stay', async () => {
    await start();
    entra.extraJwks = [{ kty: 'oct', kid: 'padding', k: 'x'.repeat(600 * 1024) }];
    expect(await gw.gateway.signingKeys.refresh()).toBe(false);
    expect(gw.gateway.signingKeys.counts.error).toBe(1);
    expect(await status(gw.token())).toBe(200);
  });

  test('a kid published twice: the first key is the one used', async () => {
    const impostor = newIssuerKey(entra.signingKey.kid);
    entra.published = [entra.signingKey, impostor];
    await start();
    expect(await status(gw.token())).toBe(200);
    expect(await status(gw.token({ key: impostor }))).toBe(401);
  });

  test('an RSA key published for encryption (key_ops without verify) is not used', async () => {
    const encryption = newIssuerKey('enc-ops');
    entra.extraJwks = [{ ...encryption.publicJwk, key_ops: ['encrypt'] }];
    await start();
    expect(await status(gw.token({ key: encryption }))).toBe(401);
  });

  test('a refresh that finds the same keys keeps tokens verified before (same key objects)', async () => {
    await start();
    const token = gw.token();
    expect(await status(token)).toBe(200);
    expect(await gw.gateway.signingKeys.refresh()).toBe(true);
    expect(await status(token)).toBe(200);
    expect(gw.gateway.tokenCache.hits).toBe(1);
  });
});

describe('background refresh', () => {
  test('keys are refetched periodically and a fetch that hangs is abandoned at the timeout', async () => {
    const keys = new SigningKeys({
      jwksUri: entra.jwksUri,
      fetch: globalThis.fetch,
      clock: new TestClock(),
      logger: createLogger('silent'),
      timeoutMs: 200,
      cooldownMs: 30_000,
      refreshIntervalMs: 100,
    });
    await keys.start();
    try {
      await waitFor(() => entra.fetches >= 3);
      entra.behaviour = 'hang';
      await waitFor(() => keys.counts.timeout >= 1);
      expect(keys.loaded).toBe(true);
    } finally {
      keys.stop();
    }
  });
});

async function waitFor(condition: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
