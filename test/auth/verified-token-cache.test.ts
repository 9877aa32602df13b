import { VerifiedTokenCache } from '../../src/auth/verified-token-cache.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gw: TestGateway;
afterEach(async () => {
  await gw.close();
});

const status = async (token: string) => (await gw.http.get('/rooms').set('Authorization', `Bearer ${token}`)).status;

test('a token seen before is served from the cache: no second verification', async () => {
  gw = await startTestGateway();
  const cache = gw.gateway.tokenCache;
  const token = gw.token();
  expect(await status(token)).toBe(200);
  expect(cache.hits).toBe(0);
  expect(cache.size).toBe(1);
  expect(await status(token)).toBe(200);
  expect(await status(token)).toBe(200);
  expect(cache.hits).toBe(2);
});

test('entries are keyed by a SHA-256 of the token, never the token itself', () => {
  const token = 'header.payload.signature';
  expect(VerifiedTokenCache.keyOf(token)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(VerifiedTokenCache.keyOf(token)).not.toContain('payload');
});

test("an entry lives until the token's exp at most; after exp + tolerance the token is refused", async () => {
  gw = await startTestGateway({ env: { ENTRA_CLOCK_TOLERANCE_SECONDS: '60' } });
  const cache = gw.gateway.tokenCache;
  const exp = Math.floor(gw.clock.now() / 1000) + 120;
  const token = gw.token({ claims: { exp } });
  expect(await status(token)).toBe(200);
  gw.clock.advance(121_000);
  const hitsBefore = cache.hits;
  expect(await status(token)).toBe(200);
  expect(cache.hits).toBe(hitsBefore);
  gw.clock.advance(61_000);
  expect(await status(token)).toBe(401);
});

test('entries signed by a key that left the JWKS are dropped', async () => {
  gw = await startTestGateway();
  const token = gw.token();
  expect(await status(token)).toBe(200);
  gw.entra.rotate({ retireOld: true });
  await gw.gateway.signingKeys.refresh();
  expect(await status(token)).toBe(401);
  expect(gw.gateway.tokenCache.hits).toBe(0);
});

test('the cache is bounded by TOKEN_CACHE_SIZE', async () => {
  gw = await startTestGateway({ env: { TOKEN_CACHE_SIZE: '3' } });
  for (let i = 0; i < 6; i += 1) expect(await status(gw.token())).toBe(200);
  expect(gw.gateway.tokenCache.size).toBe(3);
});

test('TOKEN_CACHE_SIZE=0 disables caching; every request is verified', async () => {
  gw = await startTestGateway({ env: { TOKEN_CACHE_SIZE: '0' } });
  const token = gw.token();
  expect(await status(token)).toBe(200);
  expect(await status(token)).toBe(200);
  expect(gw.gateway.tokenCache.hits).toBe(0);
  expect(gw.gateway.tokenCache.size).toBe(0);
});

test('a cached token is still refused where a role is missing (authorisation runs on every request)', async () => {
  gw = await startTestGateway({ env: { ENTRA_BULK_ROLE: 'Rooms.Bulk' } });
  const token = gw.token();
  expect(await status(token)).toBe(200);
  const res = await gw.http.post('/rooms/bulk').set('Authorization', `Bearer ${token}`).send({ count: 1 });
  expect(res.status).toBe(403);
  expect(res.headers['www-authenticate']).toMatch(/insufficient_scope/);
});
