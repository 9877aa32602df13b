import fs from 'node:fs';
import { OPENAPI_PATH } from '../../src/http/docs.js';
import { openTestStore, startTestGateway, type TestGateway } from '../support/gateway.js';
import { expectToMatchSpec } from '../support/openapi.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ env: { BODY_LIMIT_BYTES: '2048' } });
});
afterAll(async () => {
  await gw.close();
});

const isProblem = (res: { headers: Record<string, string>; body: Record<string, unknown> }, status: number) => {
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: expect.stringMatching(/^urn:maxconf:problem:/), title: expect.any(String), status, detail: expect.any(String) });
};

describe('problem+json for every error', () => {
  test('unknown route → 404', async () => {
    const res = await gw.http.get('/nowhere/at/all');
    expect(res.status).toBe(404);
    isProblem(res, 404);
    expect(res.body.detail).toMatch(/see \/docs/);
  });

  test.each([
    ['put', '/room/create', 'POST, GET, HEAD, OPTIONS'],
    ['post', '/room/abc', 'GET, PATCH, DELETE, HEAD, OPTIONS'],
    ['put', '/rooms', 'GET, DELETE, HEAD, OPTIONS'],
    ['delete', '/public/health', 'GET, HEAD, OPTIONS'],
    ['post', '/openapi.yaml', 'GET, HEAD, OPTIONS'],
  ] as const)('%s %s → 405 with Allow', async (method, path, allow) => {
    const res = await gw.http[method](path);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    isProblem(res, 405);
  });

  test('OPTIONS answers with Allow', async () => {
    const res = await gw.http.options('/rooms');
    expect(res.status).toBe(204);
    expect(res.headers.allow).toBe('GET, DELETE, HEAD, OPTIONS');
  });

  test.each([
    ['/public/room/abc', 'GET, HEAD, OPTIONS'],
    ['/public/health', 'GET, HEAD, OPTIONS'],
    ['/docs/init.js', 'GET, HEAD, OPTIONS'],
    ['/openapi.yaml', 'GET, HEAD, OPTIONS'],
  ])('OPTIONS %s answers with Allow, whichever module registered the route', async (path, allow) => {
    const res = await gw.http.options(path);
    expect(res.status).toBe(204);
    expect(res.headers.allow).toBe(allow);
  });

  test('malformed JSON → 400 naming the problem', async () => {
    const res = await gw.http.post('/rooms/bulk').set(gw.bearer()).set('Content-Type', 'application/json').send('{"count": 3,');
    expect(res.status).toBe(400);
    isProblem(res, 400);
    expect(res.body.detail).toMatch(/not valid JSON/);
    expectToMatchSpec(res);
  });

  test('a body over the limit → 413', async () => {
    const res = await gw.http.post('/rooms/bulk').set(gw.bearer()).set('Content-Type', 'application/json').send(JSON.stringify({ count: 1, pad: 'x'.repeat(5000) }));
    expect(res.status).toBe(413);
    isProblem(res, 413);
    expect(res.body.detail).toMatch(/2048 bytes/);
    expectToMatchSpec(res);
  });

  test.each([
    ['text/plain', 'count=3'],
    ['application/x-www-form-urlencoded', 'count=3'],
    ['application/json; charset=latin1', '{"count":3}'],
  ])('Content-Type %s → 415', async (type, body) => {
    const res = await gw.http.post('/rooms/bulk').set(gw.bearer()).set('Content-Type', type).send(body);
    expect(res.status).toBe(415);
    isProblem(res, 415);
  });

  test('a body without Content-Type → 415', async () => {
    const res = await gw.http.patch('/room/abc').set(gw.bearer()).set('Content-Type', '').send(Buffer.from('{"tag":"x"}'));
    expect(res.status).toBe(415);
  });

  test('a malformed percent-encoding in the path → 400, not 500', async () => {
    const res = await gw.http.get('/room/%E0%A4%A').set(gw.bearer());
    expect(res.status).toBe(400);
    isProblem(res, 400);
  });

  test('authentication runs before the body is read: 401 for a malformed body without a token', async () => {
    const res = await gw.http.post('/rooms/bulk').set('Content-Type', 'application/json').send('{oops');
    expect(res.status).toBe(401);
  });
});

describe('x-request-id', () => {
  test('a well-formed id is echoed', async () => {
    const res = await gw.http.get('/public/health').set('x-request-id', 'apim-1234.abcd:5');
    expect(res.headers['x-request-id']).toBe('apim-1234.abcd:5');
  });

  test.each(['has spaces', 'x'.repeat(129), 'inject\u0000'.replace('\u0000', '%00'), '<script>'])('a malformed id (%s) is replaced', async (given) => {
    const res = await gw.http.get('/public/health').set('x-request-id', given);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('errors carry one too', async () => {
    for (const res of [await gw.http.get('/nowhere'), await gw.http.get('/rooms'), await gw.http.put('/rooms')]) {
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('security headers', () => {
  test('helmet headers are set and x-powered-by is not', async () => {
    const res = await gw.http.get('/public/health');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
  });
});

describe('probes', () => {
  test('health: alive with an ISO timestamp', async () => {
    const res = await gw.http.get('/public/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'alive', timestamp: new Date(gw.clock.now()).toISOString() });
    expectToMatchSpec(res);
  });

  test('HEAD health → 200 without a body', async () => {
    const res = await gw.http.head('/public/health');
    expect(res.status).toBe(200);
  });

  test('ready: both checks ok', async () => {
    const res = await gw.http.get('/public/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { store: 'ok', signing_keys: 'ok', serving: 'ok' } });
    expectToMatchSpec(res);
  });
});

describe('docs', () => {
  test('/openapi.yaml serves the repository file', async () => {
    const res = await gw.http.get('/openapi.yaml');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/yaml/);
    expect(res.text).toBe(fs.readFileSync(OPENAPI_PATH, 'utf8'));
  });

  test('/docs serves Swagger UI with its scripts from this origin', async () => {
    const page = await gw.http.get('/docs');
    expect(page.status).toBe(200);
    expect(page.text).toContain('swagger-ui-bundle.js');
    expect((await gw.http.get('/docs/swagger-ui-bundle.js')).status).toBe(200);
    expect((await gw.http.get('/docs/swagger-ui.css')).status).toBe(200);
    expect((await gw.http.get('/docs/init.js')).text).toContain("url: '/openapi.yaml'");
  });
});

describe('store outage', () => {
  test('requests that need the store get 503 problem+json with Retry-After; readiness fails; health stays up', async () => {
    const store = await openTestStore();
    const broken = await startTestGateway({ store, entra: gw.entra });
    try {
      await store.close();
      const res = await broken.http.get('/rooms').set(broken.bearer());
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      isProblem(res, 503);
      expectToMatchSpec(res);
      const ready = await broken.http.get('/public/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.store).toBe('fail');
      expect((await broken.http.get('/public/health')).status).toBe(200);
    } finally {
      await broken.close();
    }
  });
});
