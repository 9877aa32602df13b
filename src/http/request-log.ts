import { context } from '@opentelemetry/api';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics.js';
import { routeTemplate, sentStatus, type RequestHook } from './middleware.js';
import { PROBE_PATHS } from './probes.js';

const QUIET_PATHS = new Set<string>(Object.values(PROBE_PATHS));

/**
 * When a response is done: one JSON line (request id, method, route
 * template, path — never the query string, which may carry data about the
 * citizen — the client address as `trust proxy` makes it, status, latency,
 * who called or why authentication failed, never a credential) and the
 * request-duration metric. One listener per request and no child logger:
 * this runs on every request, so it is kept to the work the line needs.
 */
export function requestLog(logger: Logger, metrics: GatewayMetrics): RequestHook {
  return (req, res) => {
    const started = performance.now();
    // In the request's trace context (its ids in the line) when tracing is on; without it, bind is the identity.
    res.once('close', context.bind(context.active(), () => {
      const responseTime = performance.now() - started;
      const route = routeTemplate(req);
      const status = sentStatus(res);
      metrics.requestDone(req.method, route, status, responseTime / 1000);
      const path = req.originalUrl.split('?', 1)[0] as string;
      if (QUIET_PATHS.has(path)) return;
      const line = {
        req: { id: res.locals.requestId as string, method: req.method, path, remoteAddress: req.clientAddress },
        res: { statusCode: status },
        responseTime: Math.round(responseTime * 1000) / 1000,
        route,
        caller: callerOf(req),
        room: res.locals.room as string | undefined,
        authFailure: res.locals.authFailure as AuthFailure | undefined,
      };
      if (!res.writableFinished) logger.warn(line, 'request aborted before the response was sent');
      else if (res.statusCode >= 500) logger.error(line, 'request completed');
      else logger.info(line, 'request completed');
    }));
  };
}

interface AuthFailure {
  strategy: string;
  reason: string;
}

/** Keeps why authentication failed (a reason code such as `bad_signature`, never the credential) for the request's line. */
export function noteAuthFailure(res: Response, failure: AuthFailure): void {
  res.locals.authFailure = failure;
}

/** The room a request handed out, for its line (a name, never its PINs). */
export function noteRoom(res: Response, roomName: string): void {
  res.locals.room = roomName;
}

/** The Entra calling application, the Genesys user, or the event-sink user — identities, not secrets. */
function callerOf({ caller }: Request): { kind: string; id: string } | undefined {
  return caller === undefined ? undefined : { kind: caller.kind, id: caller.id };
}
