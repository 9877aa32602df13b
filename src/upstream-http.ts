import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import { nodeHttp, nodeHttps } from './node-http.js';

export interface UpstreamRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
  /** For the whole exchange: connecting, sending, the answer's headers and its body. */
  timeoutMs: number;
}

export interface UpstreamResponse {
  status: number;
  /** A header's value (repeated ones joined by ", "), or null. */
  header(name: string): string | null;
  /** The body as UTF-8; refused (UpstreamBodyTooLarge) past `maxBytes`. */
  text(maxBytes?: number): Promise<string>;
  json(maxBytes?: number): Promise<unknown>;
  /** The body is not wanted: the connection is closed rather than read to its end. */
  discard(): void;
}

/** One HTTP exchange with an upstream. Redirects are answers, never followed. */
export type UpstreamFetch = (url: string, request: UpstreamRequest) => Promise<UpstreamResponse>;

/** The exchange did not finish within its `timeoutMs` (callers tell it from a network failure by its class). */
export class UpstreamTimeout extends Error {
  constructor(timeoutMs: number) {
    super(`no complete answer within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

export class UpstreamBodyTooLarge extends Error {
  constructor(maxBytes: number) {
    super(`the answer's body exceeds ${maxBytes} bytes`);
    this.name = 'UpstreamBodyTooLarge';
  }
}

export interface UpstreamHttp {
  fetch: UpstreamFetch;
  /** Drops the pooled connections (at shutdown, once no exchange is in flight). */
  close(): void;
}

/** Idle pooled connections are closed after this (undici's default), or sooner when the upstream's `Keep-Alive: timeout=N` says so. */
const IDLE_MS = 4_000;
/** Sent again, once, on a new connection when a reused one turns out closed before any answer. */
const IDEMPOTENT = new Set(['GET', 'PUT', 'DELETE']);
/** Asked of every upstream: answers are read as they come (nothing decompressed), and the caller is named. */
const DEFAULT_HEADERS = { 'accept-encoding': 'identity', 'user-agent': 'maxconf-gateway' };

/**
 * The gateway's outbound HTTP (Entra's key set, Genesys, Pexip) on
 * `node:http` and `node:https` with pooled keep-alive connections. Not fetch:
 * fetch is undici, which on Node.js 24 keeps about 3 MB resident for the few
 * calls a warm gateway makes (bench/README.md, soak).
 */
export function upstreamHttp(): UpstreamHttp {
  // Node.js follows an upstream's Keep-Alive hint only when the agent has a timeout of its own.
  const agents: Record<string, Agent> = {
    'http:': new nodeHttp.Agent({ keepAlive: true, timeout: IDLE_MS }),
    'https:': new nodeHttps.Agent({ keepAlive: true, timeout: IDLE_MS }),
  };
  return {
    fetch: async (url, request) => {
      const parsed = new URL(url);
      try {
        return await exchange(parsed, request, agents);
      } catch (error) {
        // A pooled connection the upstream closed as we reused it: nothing was answered; an idempotent call is sent again, once, on a new one.
        if (!(error instanceof StaleConnection) || !IDEMPOTENT.has(request.method ?? 'GET')) throw error instanceof StaleConnection ? error.cause : error;
        return exchange(parsed, request, agents, true);
      }
    },
    close: () => {
      for (const agent of Object.values(agents)) agent.destroy();
    },
  };
}

class StaleConnection extends Error {
  constructor(cause: Error) {
    super('a reused connection was closed before any answer', { cause });
  }
}

function exchange(url: URL, request: UpstreamRequest, agents: Record<string, Agent>, fresh = false): Promise<UpstreamResponse> {
  const agent = agents[url.protocol];
  if (agent === undefined) return Promise.reject(new TypeError(`unsupported protocol ${url.protocol}`));
  const client = url.protocol === 'https:' ? nodeHttps : nodeHttp;
  const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
  const headers = { ...DEFAULT_HEADERS, ...request.headers, ...(body === undefined ? {} : { 'content-length': String(body.length) }) };
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method: request.method ?? 'GET', headers, agent: fresh ? false : agent });
    const exchange = new Exchange(req, request.timeoutMs, (error) => reject(!fresh && req.reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET' ? new StaleConnection(error) : error));
    req.on('error', (error) => exchange.fail(error));
    // Closed without an answer and without an error (a 101 answer, for one): a failure too, never a wait.
    let answer: IncomingMessage | undefined;
    req.on('close', () => {
      if (answer?.complete !== true) exchange.fail(new Error('the connection closed before the answer was complete'));
    });
    req.once('response', (res) => resolve(exchange.answer((answer = res))));
    req.end(body);
  });
}

/**
 * One request and its answer. Every failure (timeout, size, network) settles
 * whichever promise is waiting, directly: nothing depends on an 'error'
 * event arriving later, and the request is destroyed without an error so
 * that no 'error' is emitted where nobody listens.
 */
class Exchange {
  private failure: Error | undefined;
  private done = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly req: ClientRequest, timeoutMs: number, private waiting: ((error: Error) => void) | undefined) {
    this.timer = setTimeout(() => this.fail(new UpstreamTimeout(timeoutMs)), timeoutMs);
    this.timer.unref();
  }

  fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.failure = error;
    clearTimeout(this.timer);
    this.req.destroy();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(error);
  }

  private finish(): void {
    this.done = true;
    clearTimeout(this.timer);
  }

  answer(res: IncomingMessage): UpstreamResponse {
    this.waiting = undefined;
    let reading: Promise<string> | undefined;
    const text = (maxBytes = Number.POSITIVE_INFINITY) => (reading ??= this.read(res, maxBytes));
    return {
      status: res.statusCode ?? 0,
      header: (name) => {
        const value = res.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
      text,
      json: async (maxBytes) => JSON.parse(await text(maxBytes)) as unknown,
      discard: () => {
        if (this.done) return;
        this.finish();
        // Complete: read to its end, which returns the connection to the pool. Otherwise the connection is closed.
        if (res.complete) res.resume();
        else this.req.destroy();
      },
    };
  }

  private read(res: IncomingMessage, maxBytes: number): Promise<string> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.done) return Promise.reject(new Error('the answer was discarded'));
    return new Promise((resolve, reject) => {
      this.waiting = reject;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (this.done) return;
        size += chunk.length;
        if (size > maxBytes) this.fail(new UpstreamBodyTooLarge(maxBytes));
        else chunks.push(chunk);
      });
      res.once('end', () => {
        if (this.done) return;
        this.finish();
        this.waiting = undefined;
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', (error) => this.fail(error));
    });
  }
}
