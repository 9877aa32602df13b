import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { UpstreamBodyTooLarge, upstreamHttp, type UpstreamHttp } from '../src/upstream-http.js';
import { freePort, waitUntil } from './support/process.js';

let upstream: UpstreamHttp;
const closers: (() => Promise<void>)[] = [];
beforeEach(() => {
  upstream = upstreamHttp();
});
afterEach(async () => {
  upstream.close();
  await Promise.all(closers.splice(0).map((close) => close()));
});
/** A loopback server answering each request with `handle`, closed after the test; counts connections. */
async function started(handle: http.RequestListener): Promise<{ url: string; connections: () => number }> {
  const server = http.createServer(handle);
  let connections = 0;
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections: () => connections };
}

test('a request carries its method, headers and UTF-8 body with its length; the answer is read as text or JSON', async () => {
  let seen: { method?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
  const server = await started((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen = { method: req.method, headers: req.headers, body };
      res.setHeader('content-type', 'application/json').end(JSON.stringify({ echoed: body }));
    });
  });
  const response = await upstream.fetch(`${server.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{"name":"é"}', timeoutMs: 5_000 });
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ echoed: '{"name":"é"}' });
  expect(seen).toMatchObject({ method: 'POST', body: '{"name":"é"}', headers: { 'content-length': '13', 'content-type': 'application/json', accept: 'application/json' } });
});

test('header lookup ignores case and joins a repeated header; a missing one is null', async () => {
  const server = await started((_req, res) => {
    res.setHeader('Retry-After', '7');
    res.setHeader('X-Repeated', ['a', 'b']);
    res.end();
  });
  const response = await upstream.fetch(server.url, { headers: {}, timeoutMs: 5_000 });
  response.discard();
  expect(response.header('retry-after')).toBe('7');
  expect(response.header('RETRY-AFTER')).toBe('7');
  expect(response.header('x-repeated')).toBe('a, b');
  expect(response.header('location')).toBeNull();
});

test('a redirect is the answer: it is not followed', async () => {
  const server = await started((req, res) => {
    if (req.url === '/moved') res.writeHead(302, { location: '/elsewhere' }).end();
    else res.writeHead(500).end();
  });
  const response = await upstream.fetch(`${server.url}/moved`, { headers: {}, timeoutMs: 5_000 });
  expect(response.status).toBe(302);
  expect(response.header('location')).toBe('/elsewhere');
  expect(await response.text()).toBe('');
});

test('an upstream that accepts the connection and never answers is abandoned at the timeout, as a TimeoutError', async () => {
  const server = await started(() => undefined);
  await expect(upstream.fetch(server.url, { headers: {}, timeoutMs: 200 })).rejects.toMatchObject({ name: 'TimeoutError' });
});

test('a body that stalls after its headers is abandoned at the same timeout, as a TimeoutError (not a cut connection)', async () => {
  const server = await started((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"keys":');
  });
  const response = await upstream.fetch(server.url, { headers: {}, timeoutMs: 300 });
  expect(response.status).toBe(200);
  await expect(response.text()).rejects.toMatchObject({ name: 'TimeoutError' });
});

test('a body past its limit is refused and its connection closed, however long the upstream would go on', async () => {
  let closed = false;
  const server = await started((req, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(16 * 1024, 'x');
    const pump = () => {
      while (!closed && res.write(chunk));
    };
    res.on('drain', pump);
    req.socket.on('close', () => (closed = true));
    pump();
  });
  const response = await upstream.fetch(server.url, { headers: {}, timeoutMs: 10_000 });
  await expect(response.text(64 * 1024)).rejects.toBeInstanceOf(UpstreamBodyTooLarge);
  await waitUntil(() => closed, 'the upstream connection to close');
});

test('a connection that is cut in the middle of the body is an error, not a short body', async () => {
  const server = await started((req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial', () => req.socket.destroy());
  });
  const response = await upstream.fetch(server.url, { headers: {}, timeoutMs: 5_000 });
  await expect(response.text()).rejects.toThrow();
});

test('a refused connection is an error that is not a timeout', async () => {
  const port = await freePort();
  const error = await upstream.fetch(`http://127.0.0.1:${port}/`, { headers: {}, timeoutMs: 5_000 }).catch((e: unknown) => e as NodeJS.ErrnoException);
  expect(error).toMatchObject({ code: 'ECONNREFUSED' });
  expect((error as Error).name).not.toBe('TimeoutError');
});

test('connections are kept alive and reused; a discarded answer closes its connection instead of reading it', async () => {
  const server = await started((req, res) => res.end(req.url === '/big' ? 'x'.repeat(256 * 1024) : 'ok'));
  for (let i = 0; i < 3; i += 1) expect(await (await upstream.fetch(`${server.url}/small`, { headers: {}, timeoutMs: 5_000 })).text()).toBe('ok');
  expect(server.connections()).toBe(1);
  (await upstream.fetch(`${server.url}/big`, { headers: {}, timeoutMs: 5_000 })).discard();
  expect(await (await upstream.fetch(`${server.url}/small`, { headers: {}, timeoutMs: 5_000 })).text()).toBe('ok');
  expect(server.connections()).toBe(2);
});

test('HTTPS verifies the upstream certificate: a self-signed one is refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upstream-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    const server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) }, (_req, res) => res.end('secret'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const { port } = server.address() as net.AddressInfo;
    await expect(upstream.fetch(`https://127.0.0.1:${port}/`, { headers: {}, timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a URL of another scheme is refused before anything is sent', async () => {
  await expect(upstream.fetch('file:///etc/passwd', { headers: {}, timeoutMs: 5_000 })).rejects.toThrow(/unsupported protocol file:/);
});

test('a complete answer that is discarded gives its connection back to the pool (a flood of refused tokens must not leak one each)', async () => {
  const server = await started((_req, res) => res.writeHead(401).end('Unauthorized'));
  for (let i = 0; i < 20; i += 1) (await upstream.fetch(server.url, { headers: {}, timeoutMs: 5_000 })).discard();
  // A discarded answer's connection is back in the pool once its end has been read, a turn later: the next call may open a second.
  expect(server.connections()).toBeLessThanOrEqual(2);
});

/** A raw TCP server: `onConnection` writes whatever bytes the test needs. */
async function rawServer(onConnection: (socket: net.Socket) => void): Promise<string> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

test('an answer that switches protocols closes the exchange at once: a failure, not a wait for the timeout', async () => {
  const url = await rawServer((socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'));
  await expect(upstream.fetch(url, { headers: {}, timeoutMs: 600_000 })).rejects.toThrow('the connection closed before the answer was complete');
});

test('an answer whose connection is cut before the caller reads it fails when read, and reading twice gives the same result', async () => {
  let cut!: () => void;
  const wasCut = new Promise<void>((resolve) => (cut = resolve));
  const url = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart', () => setImmediate(() => {
    socket.resetAndDestroy();
    cut();
  })));
  const response = await upstream.fetch(url, { headers: {}, timeoutMs: 600_000 });
  await wasCut;
  await new Promise((resolve) => setTimeout(resolve, 50));
  const first = response.text();
  await expect(first).rejects.toThrow();
  expect(response.text()).toBe(first);
});

test('a body over its limit that arrived whole with its headers is refused too', async () => {
  const url = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789'));
  const response = await upstream.fetch(url, { headers: {}, timeoutMs: 5_000 });
  await expect(response.text(5)).rejects.toBeInstanceOf(UpstreamBodyTooLarge);
});

test('a pooled connection the upstream closed as it was reused: a GET is sent again on a new one, a POST is not', async () => {
  // Each connection answers its first request and resets on the next: the race with an upstream's idle timeout.
  const url = await rawServer((socket) => {
    let requests = 0;
    socket.on('data', () => {
      requests += 1;
      if (requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else socket.resetAndDestroy();
    });
  });
  const get = async () => (await upstream.fetch(url, { headers: {}, timeoutMs: 5_000 })).text();
  expect(await get()).toBe('ok');
  await expect(upstream.fetch(url, { method: 'POST', headers: {}, body: '{}', timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'ECONNRESET' });
  expect(await get()).toBe('ok');
  expect(await get()).toBe('ok');
});

test('every request asks for an unencoded answer and names the gateway; a caller\'s own header wins', async () => {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = await started((req, res) => {
    seen.push(req.headers);
    res.end();
  });
  (await upstream.fetch(server.url, { headers: {}, timeoutMs: 5_000 })).discard();
  (await upstream.fetch(server.url, { headers: { 'user-agent': 'other' }, timeoutMs: 5_000 })).discard();
  expect(seen[0]).toMatchObject({ 'accept-encoding': 'identity', 'user-agent': 'maxconf-gateway' });
  expect(seen[1]?.['user-agent']).toBe('other');
});
