import { context, defaultTextMapGetter, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '../tracing/attributes.js';
import type { Request, RequestHandler, Response } from 'express';
import type { Tracing } from '../tracing/tracing.js';
import { routeTemplate, sentStatus } from './middleware.js';

/**
 * Each request is a server span that continues the caller's W3C trace
 * (`traceparent`, `tracestate`; a new trace without them) and is the active
 * span for everything that serves it: upstream calls, store statements and
 * log lines. Code resumed from the request's or response's events (body
 * parsing, the request line) binds its callback to the active context:
 * binding the emitters themselves wraps every listener Node's HTTP internals
 * add, which halved throughput. Named by route template once routing is done
 * (`GET /room/:room_name`), never by raw path.
 */
export function traceContext({ tracer, propagator }: Tracing): RequestHandler {
  return (req, res, next) => {
    const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const span = tracer.startSpan(
      req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: req.method,
          [ATTR_URL_PATH]: req.path,
          [ATTR_URL_SCHEME]: req.protocol,
          [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
          ...(req.headers['user-agent'] === undefined ? {} : { [ATTR_USER_AGENT_ORIGINAL]: req.headers['user-agent'] }),
        },
      },
      parent,
    );
    res.once('close', () => endServerSpan(span, req, res));
    context.with(trace.setSpan(parent, span), next);
  };
}

function endServerSpan(span: Span, req: Request, res: Response): void {
  const route = routeTemplate(req);
  if (route !== 'unmatched') span.updateName(`${req.method} ${route}`).setAttribute(ATTR_HTTP_ROUTE, route);
  const status = sentStatus(res);
  if (status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  // Worked out once per request by the app's first hook, which runs inside this span.
  if (req.clientAddress !== undefined) span.setAttribute(ATTR_CLIENT_ADDRESS, req.clientAddress);
  if (typeof res.locals.requestId === 'string') span.setAttribute('maxconf.request_id', res.locals.requestId);
  if (!res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR }).setAttribute('error.type', 'aborted');
  else if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR }).setAttribute('error.type', String(res.statusCode));
  span.end();
}
