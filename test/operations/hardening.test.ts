import net from 'node:net';
import { startTestGateway, temporaryDirectory } from '../support/gateway.js';
import { spawnGateway, whenListening } from '../support/process.js';
import { expectToMatchSpec } from '../support/openapi.js';

describe('failed authentication is rate limited on the Entra routes too', () => {
  test('a client that keeps sending bad tokens gets 429 with Retry-After, even with a good token, until the window ends', async () => {
    const gw = await startTestGateway({ env: { AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_SECONDS: '60' } });
    try {
      for (let i = 0; i < 3; i += 1) expect((await gw.http.get('/rooms').set('Authorization', `Bearer bad.token.${i}`)).status).toBe(401);
      const limited = await gw.http.get('/rooms').set(gw.bearer());
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toBe('60');
      expectToMatchSpec(limited);
      gw.clock.advance(60_000);
      expect((await gw.http.get('/rooms').set(gw.bearer())).status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  test('a request without any token is not counted as a failure (it gets the bare challenge)', async () => {
    const gw = await startTestGateway({ env: { AUTH_FAILURE_LIMIT: '2' } });
    try {
      for (let i = 0; i < 5; i += 1) expect((await gw.http.get('/rooms')).status).toBe(401);
      expect((await gw.http.get('/rooms').set(gw.bearer())).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});

test('a client that never finishes its headers is cut off at HTTP_HEADERS_TIMEOUT_MS', async () => {
  const running = spawnGateway({ DATA_DIR: temporaryDirectory('slowloris'), HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000' });
  try {
    const { port } = await whenListening(running);
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /public/health HTTP/1.1\r\nHost: x\r\nX-Slow: '));
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      setTimeout(() => socket.destroy(), 8000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  } finally {
    running.kill('SIGKILL');
    await running.exited;
  }
});
