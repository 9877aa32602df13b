import { constants, createHmac, createPublicKey, createSign, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { CLIENT_IDS, MAXCONF_TENANT_ID } from '../../src/auth/entra-apps.js';
import { createHttpServer } from '../../src/http/server.js';
import { mintToken, newIssuerKey, signRaw, type EntraStandIn } from '../stand-ins/entra.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const OTHER_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const GRAPH = '00000003-0000-0000-c000-000000000000';

let gw: TestGateway;
let entra: EntraStandIn;
/** Counts requests to an attacker-controlled key server named by jku/x5u. */
let attackerHits = 0;
let attacker: http.Server;
let attackerUrl: string;

beforeAll(async () => {
  gw = await startTestGateway({ env: { ENTRA_CLOCK_TOLERANCE_SECONDS: '60' } });
  entra = gw.entra;
  attacker = http.createServer((_req, res) => {
    attackerHits += 1;
    res.end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/keys`;
});

afterAll(async () => {
  await gw.close();
  await new Promise((resolve) => attacker.close(resolve));
});

const now = () => Math.floor(gw.clock.now() / 1000);
const get = (authorization: string, path = '/rooms') => gw.http.get(path).set('Authorization', authorization);

/** Signs with the real key but lets the test choose header and payload JSON text. */
function craft(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  return signRaw(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: entra.signingKey.kid, ...header }), JSON.stringify(claims), entra.signingKey.privateKey);
}

function validClaims(): Record<string, unknown> {
  const payload = mintToken(entra, { now: gw.clock.now() }).split('.')[1] as string;
  return JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
}

async function expectInvalidToken(token: string): Promise<void> {
  const res = await get(`Bearer ${token}`);
  expect(res.status).toBe(401);
  const challenge = String(res.headers['www-authenticate']);
  expect(challenge).toMatch(/^Bearer realm="maxconf", error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]+"$/);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.detail).not.toMatch(/jose|JWS|JWT_|ERR_|claim timestamp|stack|\bat \w+ \(/);
  expectToMatchSpec(res);
}

describe('accepted tokens', () => {
  test.each([
    ['v2, audience = client ID', { version: '2.0' as const }],
    ['v2, audience = api://client ID', { version: '2.0' as const, claims: { aud: `api://${CLIENT_IDS.dev}` } }],
    ['v1, audience = api://client ID', { version: '1.0' as const }],
    ['v1, audience = client ID', { version: '1.0' as const, claims: { aud: CLIENT_IDS.dev } }],
    ['v1 without ver (issuer form decides)', { version: '1.0' as const, claims: { ver: undefined } }],
    ['typ absent', { header: { typ: undefined } }],
    ['typ "jwt" in lower case', { header: { typ: 'jwt' } }],
    ['expired 30 s ago, within the 60 s tolerance', { claims: { exp: Math.floor(Date.now() / 1000) - 30 } }],
  ])('%s → 200', async (_name, options) => {
    const res = await get(`Bearer ${gw.token(options)}`);
    expect(res.status).toBe(200);
    expectToMatchSpec(res);
  });

  test('trailing whitespace is optional whitespace (RFC 9110 §5.5), not part of the token', async () => {
    expect((await get(`Bearer ${gw.token()}  `)).status).toBe(200);
  });

  test('lower-case scheme "bearer" is accepted', async () => {
    expect((await get(`bearer ${gw.token()}`)).status).toBe(200);
  });

  test('tokens from an independent issuer key pair served over HTTP are verified against the fetched JWKS', async () => {
    const fresh = newIssuerKey();
    entra.published = [...entra.published, fresh];
    await gw.gateway.signingKeys.refresh();
    expect((await get(`Bearer ${gw.token({ key: fresh, version: '1.0' })}`)).status).toBe(200);
    expect((await get(`Bearer ${gw.token({ key: fresh, version: '2.0' })}`)).status).toBe(200);
  });
});

describe('missing or malformed credentials', () => {
  test('no Authorization header → 401 with the bare challenge', async () => {
    const res = await gw.http.get('/rooms');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="maxconf"');
    expectToMatchSpec(res);
  });

  test.each(['Basic dXNlcjpwYXNz', 'Token abc', 'Digest x'])('another scheme (%s) → 401 with the bare challenge', async (header) => {
    const res = await get(header);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="maxconf"');
  });

  test.each([
    ['empty token', 'Bearer '],
    ['scheme only', 'Bearer'],
    ['double space', `Bearer  TOKEN`],
    ['token with a space inside', 'Bearer abc def'],
    ['characters outside b64token', 'Bearer abc$def'],
  ])('%s → 400 invalid_request', async (_name, header) => {
    const token = mintToken(entra, { now: gw.clock.now() });
    const res = await get(header.replace('TOKEN', token));
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_request"/);
    expectToMatchSpec(res);
  });

  test('a token in the header and an access_token query parameter → 400 invalid_request', async () => {
    const res = await get(`Bearer ${gw.token()}`, `/rooms?access_token=${gw.token()}`);
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_request"/);
  });

  test('a token only as an access_token query parameter → 400 invalid_request', async () => {
    const res = await gw.http.get(`/rooms?access_token=${gw.token()}`);
    expect(res.status).toBe(400);
  });
});

describe('must-reject table (docs/jwt-validation.md §4)', () => {
  const cases: [string, () => string][] = [
    ['#1 alg none, empty signature', () => `${b64('{"alg":"none","typ":"JWT"}')}.${b64(JSON.stringify(validClaims()))}.`],
    ['#1 alg NONE', () => `${b64('{"alg":"NONE","kid":"x"}')}.${b64(JSON.stringify(validClaims()))}.`],
    ['#1 alg None with a signature', () => `${b64('{"alg":"None"}')}.${b64(JSON.stringify(validClaims()))}.c2ln`],
    ['#2 RS256→HS256 key confusion (HMAC keyed with the public PEM)', () => hmacToken(publicPem())],
    ['#3 HS256', () => hmacToken('secret')],
    ['#3 ES256', () => ecToken('ES256')],
    ['#3 PS256 signed with the real RSA key', () => pssToken()],
    ['#3 RS512', () => craft({ alg: 'RS512' }, validClaims())],
    ['#5 signature from another key with the same kid', () => gw.token({ key: { ...newIssuerKey(entra.signingKey.kid) } })],
    ['#6 tampered payload, original signature', () => tamper(gw.token(), { roles: ['Admin'] })],
    ['#7 signature stripped', () => gw.token().split('.').slice(0, 2).join('.') + '.'],
    ['#7 null signature bytes', () => gw.token().split('.').slice(0, 2).join('.') + '.' + Buffer.alloc(256).toString('base64url')],
    ['#8 ES256 psychic signature r=s=0', () => `${b64(`{"alg":"ES256","kid":"${entra.signingKey.kid}"}`)}.${b64(JSON.stringify(validClaims()))}.${Buffer.alloc(64).toString('base64url')}`],
    ['#9 embedded jwk header with the attacker key', () => attackerSigned({ jwk: newIssuerKey().publicJwk })],
    ['#10 jku to an attacker key set', () => attackerSigned({ jku: attackerUrl })],
    ['#10 x5u to an attacker certificate', () => attackerSigned({ x5u: attackerUrl })],
    ['#10 x5c with an attacker certificate', () => craft({ x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] }, validClaims())],
    ['#11 kid path traversal', () => attackerSigned({ kid: '../../../../dev/null' })],
    ['#11 kid SQL injection', () => attackerSigned({ kid: "' OR 1=1--" })],
    ['#11 very long kid', () => attackerSigned({ kid: 'k'.repeat(5000) })],
    ['#12 unknown kid', () => attackerSigned({ kid: 'kid-that-nobody-published' })],
    ['#13 missing kid', () => craft({ kid: undefined }, validClaims())],
    ['#14 crit names an unknown extension', () => craft({ crit: ['exp-ext'], 'exp-ext': true }, validClaims())],
    ['#14 empty crit', () => craft({ crit: [] }, validClaims())],
    ['#14 b64:false', () => craft({ b64: false, crit: ['b64'] }, validClaims())],
    ['#15 expired beyond the tolerance', () => gw.token({ claims: { exp: now() - 61, nbf: now() - 3600, iat: now() - 3600 } })],
    ['#16 nbf beyond the tolerance', () => gw.token({ claims: { nbf: now() + 120 } })],
    ['#17 iat in the future', () => gw.token({ claims: { iat: now() + 600 } })],
    ['#18 missing exp', () => gw.token({ claims: { exp: undefined } })],
    ['#19 exp as a string', () => gw.token({ claims: { exp: String(now() + 3600) } })],
    ['#19 exp non-finite', () => signRaw(`{"alg":"RS256","kid":"${entra.signingKey.kid}"}`, JSON.stringify(validClaims()).replace(/"exp":\d+/, '"exp":1e400'), entra.signingKey.privateKey)],
    ['#19 nbf as a string', () => gw.token({ claims: { nbf: String(now()) } })],
    ['#20 wrong aud', () => gw.token({ claims: { aud: 'api://someone-else' } })],
    ['#20 aud of Microsoft Graph', () => gw.token({ claims: { aud: GRAPH } })],
    ['#20 aud empty array', () => gw.token({ claims: { aud: [] } })],
    ['#20 aud missing', () => gw.token({ claims: { aud: undefined } })],
    ['#20 aud with a trailing slash', () => gw.token({ claims: { aud: `api://${CLIENT_IDS.dev}/` } })],
    ['#20 aud of another environment (prod client ID)', () => gw.token({ claims: { aud: CLIENT_IDS.prod } })],
    ['#21 aud array containing ours plus another', () => gw.token({ claims: { aud: [CLIENT_IDS.dev, GRAPH] } })],
    ['#22 wrong iss', () => gw.token({ claims: { iss: 'https://evil.example/v2.0' } })],
    ['#22 iss of another tenant', () => gw.token({ claims: { iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` } })],
    ['#22 v2 iss with a trailing slash', () => gw.token({ claims: { iss: `https://login.microsoftonline.com/${MAXCONF_TENANT_ID}/v2.0/` } })],
    ['#22 v1 iss without its trailing slash', () => gw.token({ version: '1.0', claims: { iss: `https://sts.windows.net/${MAXCONF_TENANT_ID}` } })],
    ['#23 another tenant, signed with a shared key', () => gw.token({ claims: { tid: OTHER_TENANT, iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` } })],
    ['#24 iss tenant ≠ tid', () => gw.token({ claims: { tid: OTHER_TENANT } })],
    ['#24 tid missing', () => gw.token({ claims: { tid: undefined } })],
    ['#26 caller (azp) not allowed', () => gw.token({ claims: { azp: CLIENT_IDS.prod } })],
    ['#26 caller (appid) not allowed in v1', () => gw.token({ version: '1.0', claims: { appid: GRAPH } })],
    ['#26 v2 token without azp', () => gw.token({ claims: { azp: undefined } })],
    ['#26 v2 token naming the caller only in appid', () => gw.token({ claims: { azp: undefined, appid: CLIENT_IDS.dev } })],
    ['#27 two segments', () => gw.token().split('.').slice(0, 2).join('.')],
    ['#27 four segments', () => `${gw.token()}.abc`],
    ['#27 invalid JSON header', () => `${b64('{"alg":"RS256",')}.${b64(JSON.stringify(validClaims()))}.c2ln`],
    ['#27 invalid JSON payload', () => signRaw(`{"alg":"RS256","kid":"${entra.signingKey.kid}"}`, '{"exp":', entra.signingKey.privateKey)],
    ['#27 payload is an array', () => signRaw(`{"alg":"RS256","kid":"${entra.signingKey.kid}"}`, '[1,2]', entra.signingKey.privateKey)],
    ['#27 payload is a string', () => signRaw(`{"alg":"RS256","kid":"${entra.signingKey.kid}"}`, '"claims"', entra.signingKey.privateKey)],
    ['#27 header is null', () => `${b64('null')}.${b64(JSON.stringify(validClaims()))}.c2ln`],
    ['#27 invalid UTF-8 in the payload', () => invalidUtf8Token()],
    ['#27 ver neither 1.0 nor 2.0', () => gw.token({ claims: { ver: '3.0' } })],
    // Each names an allowed caller in the claim its `ver` reads, so only the disagreement with `iss` refuses it.
    ['#27 ver 2.0 with the v1 issuer', () => gw.token({ version: '1.0', claims: { ver: '2.0', azp: CLIENT_IDS.dev } })],
    ['#27 ver 1.0 with the v2 issuer', () => gw.token({ claims: { ver: '1.0', appid: CLIENT_IDS.dev } })],
    ['#28 nested JWT (cty: JWT)', () => craft({ cty: 'JWT' }, validClaims())],
    ['#29 JWE (five segments)', () => `${b64('{"alg":"RSA-OAEP","enc":"A256GCM"}')}.a.b.c.d`],
    ['#30 duplicate aud key', () => signRaw(`{"alg":"RS256","kid":"${entra.signingKey.kid}"}`, JSON.stringify(validClaims()).replace('{', '{"aud":"evil",'), entra.signingKey.privateKey)],
    ['#30 duplicate key spelled with an escape', () => signRaw(`{"alg":"RS256","kid":"${entra.signingKey.kid}"}`, JSON.stringify(validClaims()).replace('{', '{"a\\u0075d":"evil",'), entra.signingKey.privateKey)],
    ['#30 duplicate header key', () => signRaw(`{"alg":"none","alg":"RS256","kid":"${entra.signingKey.kid}"}`, JSON.stringify(validClaims()), entra.signingKey.privateKey)],
    ['#31 oversized token (over the 8 KB cap, under the HTTP header limit)', () => gw.token({ claims: { padding: 'x'.repeat(6500) } })],
    ['#32 typ at+jwt', () => craft({ typ: 'at+jwt' }, validClaims())],
    ['#32 typ id_token-ish', () => craft({ typ: 'JOSE' }, validClaims())],
    ['#35 HS256 with a blank secret', () => hmacToken('')],
  ];

  test.each(cases)('%s → 401 invalid_token', async (_name, build) => {
    await expectInvalidToken(build());
  });

  test('#10 no request ever reached the attacker key server named by jku/x5u', () => {
    expect(attackerHits).toBe(0);
  });

  test('#25 a delegated (user) token with scp → 403 insufficient_scope', async () => {
    const res = await get(`Bearer ${gw.token({ claims: { scp: 'Rooms.Read', idtyp: undefined } })}`);
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="maxconf", error="insufficient_scope", error_description="[^"]+"$/);
    expectToMatchSpec(res);
  });

  test('#25 idtyp user → 403 insufficient_scope', async () => {
    expect((await get(`Bearer ${gw.token({ claims: { idtyp: 'user' } })}`)).status).toBe(403);
  });

  test('#34 a token far beyond the header limit is refused by HTTP itself: 431 problem+json from the gateway\'s server, never a 5xx', async () => {
    const server = createHttpServer(gw.gateway.app, gw.config.http);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}`).get('/rooms').set('Authorization', `Bearer ${'a'.repeat(40_000)}`);
      expect(res.status).toBe(431);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.body).toMatchObject({ status: 431, detail: expect.stringMatching(/headers exceed \d+ bytes/) });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('app roles', () => {
  test('a required role on every route: tokens without it → 403 insufficient_scope, with it → 200', async () => {
    const roleGw = await startTestGateway({ entra, store: gw.store, env: { ENTRA_REQUIRED_ROLE: 'Rooms.Manage' } });
    try {
      const without = await roleGw.http.get('/rooms').set(roleGw.bearer());
      expect(without.status).toBe(403);
      expect(without.headers['www-authenticate']).toMatch(/insufficient_scope/);
      expect((await roleGw.http.get('/rooms').set(roleGw.bearer({ claims: { roles: ['Rooms.Manage'] } }))).status).toBe(200);
    } finally {
      await roleGw.close();
    }
  });
});

describe('deployment client IDs', () => {
  test('the test profile accepts both of its client IDs and refuses the production one', async () => {
    const testGw = await startTestGateway({ entra, store: gw.store, env: { MAXCONF_ENV: 'test' } });
    try {
      for (const clientId of [CLIENT_IDS.dev, CLIENT_IDS.test]) {
        const res = await testGw.http.get('/rooms').set(testGw.bearer({ claims: { aud: clientId, azp: clientId } }));
        expect(res.status).toBe(200);
      }
      const prod = await testGw.http.get('/rooms').set(testGw.bearer({ claims: { aud: CLIENT_IDS.prod, azp: CLIENT_IDS.prod } }));
      expect(prod.status).toBe(401);
    } finally {
      await testGw.close();
    }
  });
});

function publicPem(): string {
  return createPublicKey({ key: entra.signingKey.publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
}

function hmacToken(secret: string): string {
  const input = `${b64(`{"alg":"HS256","typ":"JWT","kid":"${entra.signingKey.kid}"}`)}.${b64(JSON.stringify(validClaims()))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function ecToken(alg: 'ES256'): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const input = `${b64(`{"alg":"${alg}","kid":"${entra.signingKey.kid}"}`)}.${b64(JSON.stringify(validClaims()))}`;
  return `${input}.${createSign('SHA256').update(input).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

function pssToken(): string {
  const input = `${b64(`{"alg":"PS256","kid":"${entra.signingKey.kid}"}`)}.${b64(JSON.stringify(validClaims()))}`;
  const signature = createSign('RSA-SHA256').update(input).sign({ key: entra.signingKey.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING });
  return `${input}.${signature.toString('base64url')}`;
}

function tamper(token: string, extra: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), ...extra };
  return `${header}.${b64(JSON.stringify(claims))}.${signature}`;
}

/** Signed with a key the tenant never published. */
function attackerSigned(header: Record<string, unknown>): string {
  const key = newIssuerKey();
  return signRaw(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header }), JSON.stringify(validClaims()), key.privateKey);
}

function invalidUtf8Token(): string {
  const input = `${b64(`{"alg":"RS256","kid":"${entra.signingKey.kid}"}`)}.${Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('base64url')}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(entra.signingKey.privateKey).toString('base64url')}`;
}
