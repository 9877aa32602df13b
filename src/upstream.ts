/** What the gateway sends upstream (Entra's key set, Genesys, Pexip): a subset of fetch's RequestInit. */
export interface UpstreamRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
  /** Ends the exchange, its body included: a timeout (AbortSignal.timeout), a deadline, a caller who left. */
  signal: AbortSignal;
  /** outboundFetch sets it: a redirect is the answer. */
  redirect?: 'manual';
}

/** One HTTP exchange with an upstream: Node's global fetch (undici), or whatever a caller passes in its place. */
export type UpstreamFetch = (url: string, request: UpstreamRequest) => Promise<Response>;

/** Safe to send again when no answer came back: Pexip applies a PATCH's fields as they are, so a second one changes nothing more. */
const IDEMPOTENT = new Set(['GET', 'PATCH', 'DELETE']);
/** Answers that say "later", not "no". */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

export type ExchangeOutcome = number | 'timeout' | 'network';

/** No answer (timeout, network), or an answer that says "later" (429, 502, 503, 504): the upstream may do it if asked again. */
export function isTransient(outcome: ExchangeOutcome): boolean {
  return typeof outcome !== 'number' || RETRYABLE_STATUSES.has(outcome);
}

/** The one rule for what may be sent again: an idempotent request whose outcome was transient. */
export function mayRetry(method: string, outcome: ExchangeOutcome): boolean {
  return IDEMPOTENT.has(method) && isTransient(outcome);
}

/**
 * The gateway's outbound fetch: redirects are answers, never followed (an
 * upstream cannot send our credentials elsewhere), and every request names
 * the gateway (a caller's own user-agent wins).
 */
export function outboundFetch(fetch: UpstreamFetch): UpstreamFetch {
  return (url, request) => fetch(url, { ...request, headers: { 'user-agent': 'maxconf-gateway', ...request.headers }, redirect: 'manual' });
}

/** The exchange was abandoned because its AbortSignal.timeout fired (the caller gone or a deadline is another reason). */
export function isTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'TimeoutError';
}

export class UpstreamBodyTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the answer's body exceeds ${maxBytes} bytes`);
    this.name = 'UpstreamBodyTooLarge';
  }
}

/** The body as UTF-8, read as a stream and abandoned (the connection closed) once it passes `maxBytes`. */
export async function readText(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      void reader.cancel().catch(() => undefined);
      throw new UpstreamBodyTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readJson(response: Response, maxBytes: number): Promise<unknown> {
  return JSON.parse(await readText(response, maxBytes)) as unknown;
}

/** An answer whose body is not wanted: cancelled, never read to its end. */
export function discard(response: Response): void {
  response.body?.cancel().catch(() => undefined);
}
