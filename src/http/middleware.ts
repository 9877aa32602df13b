import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import helmet from 'helmet';
import { HttpProblem, notFound } from './problem.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Every response carries an `x-request-id`: the caller's when well-formed, else a new one. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.setHeader('x-request-id', id);
  next();
};

/**
 * helmet's headers, worked out once: with our fixed policy they do not depend
 * on the request, and setting them from a list costs a fraction of running
 * helmet's dozen middlewares on every request.
 */
export function securityHeaders(): RequestHandler {
  const headers: [string, string][] = [];
  const recorder = { setHeader: (name: string, value: unknown) => headers.push([name, String(value)]), removeHeader: () => undefined };
  helmet()({} as Request, recorder as unknown as Response, () => undefined);
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/** JSON bodies only: anything else with content is a 415; then parse with a size limit (any JSON value: the schema says what is wrong with it). */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (hasBody(req.headers) && !req.is(['application/json', 'application/*+json'])) {
      throw new HttpProblem(415, 'unsupported-media-type', 'Unsupported Media Type', 'Send the body as JSON with Content-Type: application/json.');
    }
    next();
  };
  return [requireJson, express.json({ limit: limitBytes, strict: false, type: ['application/json', 'application/*+json'] })];
}

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

type Method = 'get' | 'post' | 'patch' | 'delete';
export type MethodHandlers = Partial<Record<Method, RequestHandler[]>>;

/**
 * Registers a path's methods as one route (one match per request, whatever
 * the number of methods), answers OPTIONS with `Allow`, and any other method
 * with 405 and `Allow`.
 */
export function resource(router: Router, path: string, handlers: MethodHandlers): void {
  const methods = Object.keys(handlers).map((m) => m.toUpperCase());
  const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
  const route = router.route(path);
  for (const [method, chain] of Object.entries(handlers) as [Method, RequestHandler[]][]) route[method](...chain);
  route.options((_req, res) => {
    res.setHeader('Allow', allow);
    res.status(204).end();
  });
  route.all((req) => {
    throw new HttpProblem(405, 'method-not-allowed', 'Method Not Allowed', `${req.method} is not supported here; use one of ${allow}.`, { headers: { Allow: allow } });
  });
}

/** The matched route's template (`/room/:room_name`), never the raw path, for logs and metrics. */
export function routeTemplate(req: Request): string {
  return req.route?.path === undefined ? 'unmatched' : `${req.baseUrl}${String(req.route.path)}`;
}

export const unknownRoute: RequestHandler = (req) => {
  throw notFound(`There is no endpoint at ${req.path.slice(0, 200)}; see /docs for the API.`);
};
