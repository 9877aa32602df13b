import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import http from 'node:http';
import { HttpProblem } from './problem.js';

/** `HTTP_*_TIMEOUT_MS`. */
export interface HttpServerSettings {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/**
 * The gateway's HTTP server. Requests Node's parser refuses before they reach
 * the app, and expectations it cannot meet, are answered with problem+json
 * too, rather than Node's empty defaults.
 */
export function createHttpServer(app: RequestListener, { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs }: HttpServerSettings): Server {
  const server = http.createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs,
      // Node enforces the two timeouts above only when it checks connections (every 30 s by default).
      connectionsCheckingInterval: Math.min(1000, Math.floor(headersTimeoutMs / 2)),
      // The app refuses a missing Host itself (singleHeaders), with a body that says so.
      requireHostHeader: false,
    },
    app,
  );
  server.on('clientError', answerClientError);
  server.on('checkExpectation', refuseExpectation);
  server.on('connect', refuseConnect);
  return server;
}

function answerClientError(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
  // As Node's own handler (lib/_http_server.js, socketOnError): answer only if no response on this connection has begun.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && (inFlight == null || !inFlight.headersSent)) {
    const problem = parserProblem(error.code, error.rawPacket);
    // Through the response of the request still being read (its body timed out or broke its framing), so that its log line, metric and span say what was sent;
    // a complete request's response is not this error's (a pipelined request after it is being read).
    if (inFlight == null || inFlight.req.complete) answerAndClose(socket, problem);
    else answerResponse(inFlight, problem);
  }
  (socket as Duplex & { destroySoon(): void }).destroySoon();
}

/** A problem's body and the headers that frame it on a connection that then closes. */
function closingAnswer(problem: HttpProblem): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(problem.body());
  return { body, headers: { 'Content-Type': 'application/problem+json', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' } };
}

function answerResponse(res: ServerResponse, problem: HttpProblem): void {
  const { body, headers } = closingAnswer(problem);
  res.removeHeader('Transfer-Encoding');
  res.writeHead(problem.status, headers).end(body);
}

function answerAndClose(socket: Duplex, problem: HttpProblem): void {
  const { body, headers } = closingAnswer(problem);
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${problem.status} ${http.STATUS_CODES[problem.status]}\r\n${lines.join('')}\r\n${body}`);
}

/** RFC 9110 §15.6.2: a method the server does not implement is a 501 (Node's parser knows CONNECT, and without a listener drops the connection unanswered). */
const notImplemented = () =>
  new HttpProblem(501, 'method-not-implemented', 'Not Implemented', 'The gateway does not implement this request method; use GET, HEAD, POST, PATCH, DELETE or OPTIONS.');

function refuseConnect(_req: IncomingMessage, socket: Duplex): void {
  answerAndClose(socket, notImplemented());
  (socket as Duplex & { destroySoon(): void }).destroySoon();
}

/** A request line that is well-formed but for its method: `TOKEN SP target SP HTTP/1.x`. */
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/1\.[01]\r?\n/;

/** The codes are llhttp's, as Node reports them in `error.code` (nodejs/llhttp src/llhttp/errors.ts), and Node's own timeout. */
function parserProblem(code: string | undefined, rawPacket: Buffer | undefined): HttpProblem {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new HttpProblem(431, 'headers-too-large', 'Request Header Fields Too Large', `The request's headers exceed ${http.maxHeaderSize} bytes (its URL included); send a shorter URL, or fewer or shorter headers.`);
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new HttpProblem(413, 'body-too-large', 'Content Too Large', 'The chunk extensions of the body are too large; send the body without chunk extensions.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new HttpProblem(408, 'request-timeout', 'Request Timeout', 'The request did not arrive in time; send it again in one go.');
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CHUNK_SIZE':
      return malformed('frame the body with one Content-Length, or with Transfer-Encoding: chunked (well-formed chunks) and no Content-Length');
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'HPE_LF_EXPECTED':
    case 'HPE_CR_EXPECTED':
      return malformed('write each header as "Name: value" on one line ending in CRLF, without control characters or line folding');
    case 'HPE_INVALID_METHOD':
      if (REQUEST_LINE.test(rawPacket?.subarray(0, 8192).toString('latin1') ?? '')) return notImplemented();
      return malformed('start with a request line "METHOD /path HTTP/1.1" ending in CRLF');
    case 'HPE_INVALID_URL':
    case 'HPE_INVALID_VERSION':
      return malformed('start with a request line "METHOD /path HTTP/1.1" ending in CRLF');
    default:
      return malformed('check the request line, the headers and the body framing');
  }
}

const malformed = (fix: string) => new HttpProblem(400, 'malformed-request', 'Bad Request', `The request is not well-formed HTTP/1.1: ${fix}.`);

/** Node's default for an `Expect` other than 100-continue is an empty 417. */
function refuseExpectation(req: IncomingMessage, res: ServerResponse): void {
  answerResponse(res, new HttpProblem(417, 'expectation-failed', 'Expectation Failed', 'The gateway supports only Expect: 100-continue; send the request without Expect.'));
  req.resume();
}
