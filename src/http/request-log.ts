import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { routeTemplate } from './middleware.js';

const QUIET_PATHS = new Set(['/public/health', '/public/ready']);

/**
 * One JSON line per request: request id, method, route template, path
 * (never the query string, which may carry data about the citizen), status,
 * latency and who called — never a credential.
 */
export function requestLog(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    wrapSerializers: false,
    genReqId: (_req: IncomingMessage, res: ServerResponse) => String(res.getHeader('x-request-id') ?? ''),
    serializers: {
      req: (req: IncomingMessage & { id?: unknown }) => ({ id: req.id, method: req.method, path: (req.url ?? '').split('?')[0] }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
    customProps: (req: IncomingMessage) => ({ route: routeTemplate(req as Request), caller: callerOf(req as Request) }),
    customLogLevel: (_req, res, error) => (error !== undefined || res.statusCode >= 500 ? 'error' : 'info'),
    autoLogging: { ignore: (req) => QUIET_PATHS.has((req.url ?? '').split('?')[0] ?? '') },
  }) as unknown as RequestHandler;
}

/** The Entra calling application, the Genesys user, or the event-sink user — identities, not secrets. */
function callerOf(req: Request): Record<string, string> | undefined {
  if (req.entra !== undefined) return { kind: 'entra-app', id: req.entra.caller };
  const user = req.user as { kind?: string; userId?: string; username?: string } | undefined;
  if (user?.kind === 'genesys-agent' && user.userId) return { kind: 'genesys-agent', id: user.userId };
  if (user?.kind === 'event-sink' && user.username) return { kind: 'event-sink', id: user.username };
  return undefined;
}
