import type { Server } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createHttpServer } from '../../src/http/server.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { expectOurProblem } from '../support/problems.js';

/**
 * Requests that Node's HTTP parser refuses, or that only a raw socket can send,
 * against the gateway's own server (src/http/server.ts) around the real app.
 */
let gw: TestGateway;
let server: Server;
let port: number;
beforeAll(async () => {
  gw = await startTestGateway();
  server = createHttpServer(gw.gateway.app, { ...gw.config.http, headersTimeoutMs: 500 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
}, 60_000);
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  await gw?.close();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, never>;
}

/** Writes `request` as is and reads until the server closes the connection. */
function transcript(request: string | Buffer, { keepOpen = false } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.write(request);
    if (!keepOpen) socket.end();
  });
}

async function exchange(request: string | Buffer, options: { keepOpen?: boolean } = {}): Promise<RawAnswer> {
  return parseAnswer(await transcript(request, options));
}

function parseAnswer(text: string): RawAnswer {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  const body = rest.join('\r\n\r\n');
  return { status: Number(statusLine.split(' ')[1]), headers, body: body === '' ? {} : JSON.parse(body) };
}

const TOKEN_FREE_GET = 'GET /public/health HTTP/1.1\r\nHost: gateway\r\n';

describe("requests Node's parser refuses get problem+json, and the connection closes", () => {
  test.each([
    ['two Content-Length', 'POST /public/event_sink HTTP/1.1\r\nHost: gateway\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400, /one Content-Length/],
    ['Transfer-Encoding with Content-Length', 'POST /public/event_sink HTTP/1.1\r\nHost: gateway\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, /one Content-Length/],
    ['an unknown Transfer-Encoding', 'POST /public/event_sink HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: gzip\r\n\r\n', 400, /chunked/],
    ['a malformed chunk', 'POST /public/event_sink HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n', 400, /well-formed chunks/],
    ['an obs-folded header', `${TOKEN_FREE_GET}X-Note: a\r\n  b\r\n\r\n`, 400, /line folding/],
    ['NUL in a header value', `${TOKEN_FREE_GET}X-Note: a\u0000b\r\n\r\n`, 400, /control characters/],
    ['a space before the colon', `${TOKEN_FREE_GET}X-Note : a\r\n\r\n`, 400, /"Name: value"/],
    ['a garbage request line', 'HELLO\r\n\r\n', 400, /request line/],
    ['a method the gateway does not implement', 'FOO /rooms HTTP/1.1\r\nHost: gateway\r\n\r\n', 501, /does not implement this request method/],
    ['CONNECT', 'CONNECT gateway:443 HTTP/1.1\r\nHost: gateway:443\r\n\r\n', 501, /does not implement this request method/],
    ['an unknown HTTP version', 'GET /public/health HTTP/9.9\r\nHost: gateway\r\n\r\n', 400, /request line/],
    ['headers over the size limit', `${TOKEN_FREE_GET}X-Pad: ${'a'.repeat(20_000)}\r\n\r\n`, 431, /headers exceed \d+ bytes \(its URL included\)/],
    ['a URL over the size limit', `GET /public/room/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: gateway\r\n\r\n`, 431, /shorter URL/],
  ])('%s', async (_case, request, status, detail) => {
    const answer = await exchange(request);
    expectOurProblem(answer, status);
    expect(answer.body.detail).toMatch(detail);
    expect(answer.headers.connection).toBe('close');
    expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(JSON.stringify(answer.body)));
  });

  test('headers that do not arrive before the headers timeout → 408', async () => {
    const answer = await exchange(`${TOKEN_FREE_GET}X-Slow: `, { keepOpen: true });
    expectOurProblem(answer, 408);
  });
});

describe('requests the app refuses for their framing', () => {
  test('an HTTP/1.1 request without Host → 400 naming the header', async () => {
    const answer = await exchange('GET /public/health HTTP/1.1\r\nConnection: close\r\n\r\n');
    expectOurProblem(answer, 400);
    expect(answer.body.errors).toEqual([{ in: 'header', field: 'host', message: 'is required in HTTP/1.1' }]);
  });

  test('an HTTP/1.0 request without Host is served', async () => {
    const answer = await exchange('GET /public/health HTTP/1.0\r\n\r\n');
    expect(answer.status).toBe(200);
  });

  test.each([
    ['Host', `${TOKEN_FREE_GET}Host: elsewhere\r\nConnection: close\r\n\r\n`],
    ['Content-Type', 'POST /rooms/bulk HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{"count":1}'],
  ])('a repeated %s → 400 naming the header', async (name, request) => {
    const answer = await exchange(request);
    expectOurProblem(answer, 400);
    expect(answer.body.errors).toEqual([{ in: 'header', field: name.toLowerCase(), message: 'must be sent once' }]);
  });

  test('an Expect other than 100-continue → 417', async () => {
    const answer = await exchange(`${TOKEN_FREE_GET}Expect: the-unexpected\r\n\r\n`);
    expectOurProblem(answer, 417);
    expect(answer.body.detail).toMatch(/only Expect: 100-continue/);
  });

  test('Expect: 100-continue is honoured', async () => {
    const text = await transcript(`${TOKEN_FREE_GET}Expect: 100-continue\r\nConnection: close\r\n\r\n`);
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  });

  test('a JSON body that is not UTF-8 → 400', async () => {
    const body = Buffer.from('{"node":"\xff"}', 'latin1');
    const head = `POST /public/event_sink HTTP/1.1\r\nHost: gateway\r\nAuthorization: Basic ${Buffer.from('pexip:sink:pass:word-2026').toString('base64')}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const answer = await exchange(Buffer.concat([Buffer.from(head), body]));
    expectOurProblem(answer, 400);
    expect(answer.body.detail).toMatch(/not valid UTF-8/);
  });
});

describe('bodies refused before they are read: answered at once, and the connection closes', () => {
  const sinkHead = (headers: string) =>
    `POST /public/event_sink HTTP/1.1\r\nHost: gateway\r\nAuthorization: Basic ${Buffer.from('pexip:sink:pass:word-2026').toString('base64')}\r\nContent-Type: application/json\r\n${headers}\r\n`;

  // Each client below keeps its socket open and never sends the rest of its body: only an answer
  // given before the body is read, with the connection closed by the server, ends the exchange.
  test('a Content-Length over the limit → 413 before any of the body arrives', async () => {
    const answer = await exchange(sinkHead(`Content-Length: ${gw.config.eventSink.bodyLimitBytes + 1}\r\n`), { keepOpen: true });
    expectOurProblem(answer, 413);
    expect(answer.headers.connection).toBe('close');
    expect(answer.body.detail).toContain(`${gw.config.eventSink.bodyLimitBytes} bytes`);
  });

  test('a chunked body that grows past the limit → 413 while the client is still sending', async () => {
    const chunk = Buffer.alloc(gw.config.eventSink.bodyLimitBytes + 1, 0x20);
    const head = Buffer.from(`${sinkHead('Transfer-Encoding: chunked\r\n')}${chunk.length.toString(16)}\r\n`);
    const answer = await exchange(Buffer.concat([head, chunk]), { keepOpen: true });
    expectOurProblem(answer, 413);
    expect(answer.headers.connection).toBe('close');
  });

  test('a compressed body → 415 naming Content-Encoding, with Accept-Encoding: identity', async () => {
    const answer = await exchange(`${sinkHead('Content-Encoding: gzip\r\nContent-Length: 20\r\n')}`, { keepOpen: true });
    expectOurProblem(answer, 415);
    expect(answer.headers['accept-encoding']).toBe('identity');
    expect(answer.body.errors).toEqual([expect.objectContaining({ in: 'header', field: 'content-encoding' })]);
  });

  test('Content-Encoding: identity is a body read as sent', async () => {
    const body = '{"node":"10.0.0.1","seq":1,"version":2,"time":1,"event":"participant_updated","data":{}}';
    const answer = await exchange(`${sinkHead(`Content-Encoding: identity\r\nContent-Length: ${body.length}\r\nConnection: close\r\n`)}${body}`);
    expect(answer.status).toBe(200);
  });
});

test('a path that is not valid percent-encoding → 400 saying so', async () => {
  const answer = await exchange('GET /public/room/%ZZ HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n');
  expectOurProblem(answer, 400);
  expect(answer.body.detail).toMatch(/percent-encoding/);
});

test("a body that stops arriving is cut off at the request timeout: the 408 is sent through the request's own response (its request id, and its metric says 408, not the route's later 400)", async () => {
  const slow = createHttpServer(gw.gateway.app, { ...gw.config.http, headersTimeoutMs: 500, requestTimeoutMs: 1500 });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect((slow.address() as AddressInfo).port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.write(`POST /room/create HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${gw.token()}\r\nContent-Type: application/json\r\nContent-Length: 100\r\nX-Request-Id: body-never-finished\r\n\r\n{"uuiData":`);
    });
    const parsed = parseAnswer(answer);
    expectOurProblem(parsed, 408);
    expect(parsed.headers['x-request-id']).toBe('body-never-finished');
    expect(await gw.gateway.metrics.registry.metrics()).toMatch(/maxconf_http_request_duration_seconds_count\{method="POST",route="\/room\/create",status="408"\} 1/);
  } finally {
    slow.closeAllConnections();
    await new Promise((resolve) => slow.close(resolve));
  }
});

test("a pipelined request's parse error is not answered through the response of the complete request before it", async () => {
  const text = await transcript(`GET /public/ready HTTP/1.1\r\nHost: gateway\r\nX-Request-Id: ready-first\r\n\r\n${TOKEN_FREE_GET}X-Pad: ${'a'.repeat(20_000)}\r\n\r\n`, { keepOpen: true });
  const answers = text.split(/(?=HTTP\/1\.1 \d{3} )/).map((answer) => parseAnswer(answer));
  const refused = answers.find((answer) => answer.status === 431);
  expect(refused).toBeDefined();
  expect(refused?.headers['x-request-id']).toBeUndefined();
  expect(await gw.gateway.metrics.registry.metrics()).not.toMatch(/route="\/public\/ready",status="431"/);
});
