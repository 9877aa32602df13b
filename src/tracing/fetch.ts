import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_URL_FULL } from './attributes.js';
import { inChildSpan, type Tracing } from './tracing.js';

/**
 * A fetch whose every call is a client span, child of the active span (a
 * trace of its own for background work), and carries that span's
 * `traceparent` to the upstream. The URL is recorded without its query
 * string. Without tracing, the fetch itself.
 */
export function tracedFetch(fetch: typeof globalThis.fetch, tracing: Tracing | undefined, upstream: string): typeof globalThis.fetch {
  if (tracing === undefined) return fetch;
  return (input, init) => {
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request?.url ?? String(input));
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_URL_FULL]: `${url.origin}${url.pathname}`,
      [ATTR_SERVER_ADDRESS]: url.hostname,
      [ATTR_SERVER_PORT]: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      'peer.service': upstream,
    };
    return inChildSpan(tracing, method, SpanKind.CLIENT, attributes, async (span) => {
      const headers = new Headers(init?.headers ?? request?.headers);
      tracing.propagator.inject(context.active(), headers, { set: (carrier, key, value) => carrier.set(key, value) });
      const response = await fetch(input, { ...init, headers });
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
      if (response.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR }).setAttribute('error.type', String(response.status));
      return response;
    });
  };
}

