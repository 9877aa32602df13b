import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { UpstreamFetch } from '../upstream.js';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_URL_FULL } from './attributes.js';
import { inChildSpan, type Tracing } from './tracing.js';

/**
 * An upstream fetch whose every call is a client span, child of the active
 * span (a trace of its own for background work), and carries that span's
 * `traceparent` to the upstream. The URL is recorded without its query
 * string. Without tracing, the fetch itself.
 */
export function tracedFetch(fetch: UpstreamFetch, tracing: Tracing | undefined, upstream: string): UpstreamFetch {
  if (tracing === undefined) return fetch;
  return (url, request) => {
    const parsed = new URL(url);
    const method = request.method ?? 'GET';
    const attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_URL_FULL]: `${parsed.origin}${parsed.pathname}`,
      [ATTR_SERVER_ADDRESS]: parsed.hostname,
      [ATTR_SERVER_PORT]: Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80)),
      'peer.service': upstream,
    };
    return inChildSpan(tracing, method, SpanKind.CLIENT, attributes, async (span) => {
      const headers = { ...request.headers };
      tracing.propagator.inject(context.active(), headers, { set: (carrier, key, value) => (carrier[key] = value) });
      const response = await fetch(url, { ...request, headers });
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
      if (response.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR }).setAttribute('error.type', String(response.status));
      return response;
    });
  };
}
