import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { context } from '@opentelemetry/api';
import type { IRouter, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import getRawBody, { type RawBodyError } from 'raw-body';
import { DuplicateKeyError, type DuplicateKeysWanted, type JsonPath, parseJsonReportingDuplicates, parseStrictJson } from '../auth/strict-json.js';
import { HttpProblem, notFound, repeatedHeader } from './problem.js';
import { headerValues } from '../raw-headers.js';
import { RepeatedField } from '../validation.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What every request goes through before routing; it throws an HttpProblem to refuse the request. */
export type RequestHook = (req: Request, res: Response) => void;

/**
 * The hooks as one middleware: each Express layer costs a dispatch on every
 * request, and these run on all of them (bench/README.md).
 */
export function everyRequest(hooks: RequestHook[]): RequestHandler {
  return (req, res, next) => {
    for (const hook of hooks) hook(req, res);
    next();
  };
}

declare module 'express-serve-static-core' {
  interface Request {
    /** The client's address as `trust proxy` makes it, worked out once (Express's `req.ip` parses X-Forwarded-For on each read). */
    clientAddress: string;
  }
}

/** Senders of X-Forwarded-For judged, at most: each once, so a proxy's requests pay for it only the first time. */
const SENDERS_JUDGED = 16;

/**
 * The client's address, as `trust proxy` makes it. An X-Forwarded-For from a
 * sender that setting does not trust is logged, once per sender: behind a
 * proxy missing from TRUST_PROXY_ADDRESSES (APIM), every client has the
 * proxy's address, so one client that keeps failing authentication gets them
 * all a 429. Several senders are judged, so that a caller reaching the gateway
 * directly cannot use up the warning before the proxy's first request.
 */
export function clientAddress(logger: Logger): RequestHook {
  const judged = new Set<string | undefined>();
  return (req, res) => {
    const sender = req.socket.remoteAddress;
    req.clientAddress = req.ip ?? sender ?? 'unknown';
    if (judged.size >= SENDERS_JUDGED || judged.has(sender) || !req.headers['x-forwarded-for']) return;
    judged.add(sender);
    if ((req.app.get('trust proxy fn') as (address: string | undefined, hop: number) => boolean)(sender, 0)) return;
    logger.warn(
      { requestId: res.locals.requestId, sender },
      'X-Forwarded-For came from an address TRUST_PROXY_ADDRESSES does not name, so it is ignored: if this is your proxy (APIM), list its addresses, or every client behind it counts as one for failed-authentication limiting',
    );
  };
}

/** Every response carries an `x-request-id`: the caller's when well-formed, else a new one. */
export const requestId: RequestHook = (req, res) => {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.setHeader('x-request-id', id);
};

/**
 * helmet's headers, worked out once: with our fixed policy they do not depend
 * on the request, and setting them from a list costs a fraction of running
 * helmet's dozen middlewares on every request.
 */
export function securityHeaders(): RequestHook {
  const headers: [string, string][] = [];
  const recorder = { setHeader: (name: string, value: unknown) => headers.push([name, String(value)]), removeHeader: () => undefined };
  helmet()({} as Request, recorder as unknown as Response, () => undefined);
  return (_req, res) => {
    for (const [name, value] of headers) res.setHeader(name, value);
  };
}

const JSON_TYPES = ['application/json', 'application/*+json'];
/** RFC 8259 §8.1: JSON exchanged between systems is UTF-8. */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;

export interface JsonBodyOptions {
  /**
   * Repeated keys are left to the route, which reads these of them with
   * `duplicateKeysOf` (a bulk envelope refuses only the events that repeat
   * one); without it, a body with a repeated key is refused.
   */
  reportDuplicateKeys?: DuplicateKeysWanted;
}

/**
 * JSON bodies only: anything else with content is a 415; then read with a
 * size limit and parse strictly (any JSON value: the schema says what is wrong
 * with it; a repeated key is refused, as in token payloads, unless the route
 * judges repeats itself: `reportDuplicateKeys`).
 */
export function jsonBody(limitBytes: number, { reportDuplicateKeys }: JsonBodyOptions = {}): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (hasBody(req.headers) && !(req.is(JSON_TYPES) && isUtf8Charset(req.headers['content-type']))) {
      throw new HttpProblem(415, 'unsupported-media-type', 'Unsupported Media Type', 'Send the body as UTF-8 JSON with Content-Type: application/json.');
    }
    next();
  };
  const read: RequestHandler = (req, res, next) => {
    if (!hasBody(req.headers)) {
      req.body = undefined;
      next();
      return;
    }
    if (!isIdentityCoding(req.headers['content-encoding'])) throw contentCodingRefused();
    // The body's last chunk resumes the chain: bound, it goes on in the request's trace context (identity when tracing is off).
    const done = context.bind(context.active(), (error: RawBodyError | null, bytes: Buffer) => {
      if (error !== null) {
        next(unreadBody(error, limitBytes));
        return;
      }
      try {
        if (bytes.length === 0) req.body = undefined;
        else if (reportDuplicateKeys === undefined) req.body = parseJsonBody(bytes, parseStrictJson);
        else {
          const { value, duplicates } = parseJsonBody(bytes, (text) => parseJsonReportingDuplicates(text, reportDuplicateKeys));
          req.body = value;
          res.locals.duplicateKeys = duplicates;
        }
        next();
      } catch (parseError) {
        next(parseError);
      }
    });
    getRawBody(req, { length: req.headers['content-length'], limit: limitBytes }, done);
  };
  return [requireJson, read];
}

/**
 * A body refused before it was read to its end answers at once and closes the
 * connection: the rest of the body is never read (body-parser would wait for
 * it, so a declared length over the limit held the request until its timeout).
 */
function unreadBody(error: RawBodyError, limitBytes: number): HttpProblem {
  const close = { headers: { Connection: 'close' } };
  if (error.type === 'entity.too.large') {
    return new HttpProblem(413, 'body-too-large', 'Content Too Large', `The body is larger than the ${limitBytes} bytes this endpoint accepts; send a smaller one.`, close);
  }
  if (error.type === 'request.size.invalid') {
    return new HttpProblem(400, 'body-length-mismatch', 'Bad Request', 'The body is not as long as its Content-Length says; send the length of the body you send.', close);
  }
  return new HttpProblem(400, 'body-unreadable', 'Bad Request', 'The body could not be read to its end; send it again.', close);
}

/** Bodies are read as sent: a compressed one is refused (RFC 9110 §15.5.16) rather than inflated. */
function isIdentityCoding(coding: string | undefined): boolean {
  return coding === undefined || coding.trim() === '' || coding.trim().toLowerCase() === 'identity';
}

function contentCodingRefused(): HttpProblem {
  return new HttpProblem(415, 'unsupported-content-encoding', 'Unsupported Media Type', 'Send the body uncompressed, without Content-Encoding.', {
    headers: { 'Accept-Encoding': 'identity', Connection: 'close' },
    errors: [{ in: 'header', field: 'content-encoding', message: 'is not supported; only identity is' }],
  });
}

function isUtf8Charset(contentType: string | undefined): boolean {
  const charset = CHARSET.exec(contentType ?? '')?.[1];
  return charset === undefined || /^utf-?8$/i.test(charset);
}

/** Where a body read with `reportDuplicateKeys` repeats keys (nowhere when there was no body). */
export function duplicateKeysOf(res: Response): JsonPath[] {
  return (res.locals.duplicateKeys as JsonPath[] | undefined) ?? [];
}

function parseJsonBody<T>(bytes: Buffer, parse: (text: string) => T): T {
  if (!isUtf8(bytes)) throw new HttpProblem(400, 'malformed-json', 'Bad Request', 'The body is not valid UTF-8; send JSON encoded as UTF-8.');
  try {
    return parse(bytes.toString('utf8'));
  } catch (error) {
    if (error instanceof DuplicateKeyError) throw new RepeatedField(error.path);
    throw new HttpProblem(400, 'malformed-json', 'Bad Request', 'The body is not valid JSON; fix its syntax and send it again.');
  }
}

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Headers that must appear once, as credentials must: Node keeps the first of
 * several, so a repeat is refused rather than read in part.
 * RFC 9112 §3.2: an HTTP/1.1 request without Host, or with several, is a 400.
 */
export function singleHeaders(names: string[]): RequestHook {
  return (req) => {
    for (const name of names) {
      if (headerValues(req.rawHeaders, name).length > 1) throw repeatedHeader(name);
    }
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
      throw new HttpProblem(400, 'missing-header', 'Bad Request', 'Send the Host header: every HTTP/1.1 request must have one.', {
        errors: [{ in: 'header', field: 'host', message: 'is required in HTTP/1.1' }],
      });
    }
  };
}

/** A module's routes, registered on the app's one router (a nested Router costs a dispatch of its own on every request). */
export type Routes = (router: IRouter) => void;

type Method = 'get' | 'post' | 'patch' | 'delete';
export type MethodHandlers = Partial<Record<Method, RequestHandler[]>>;

/**
 * Registers a path's methods as one route (one match per request, whatever
 * the number of methods), answers OPTIONS with `Allow`, and any other method
 * with 405 and `Allow`.
 */
export function resource(router: IRouter, path: string, handlers: MethodHandlers): void {
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

/** The status sent, or undefined when the client left before a response began (res.statusCode would still say 200). */
export function sentStatus(res: Response): number | undefined {
  return res.headersSent ? res.statusCode : undefined;
}

/** The matched route's template (`/room/:room_name`), never the raw path, for logs and metrics. */
export function routeTemplate(req: Request): string {
  return req.route?.path === undefined ? 'unmatched' : `${req.baseUrl}${String(req.route.path)}`;
}

export const unknownRoute: RequestHandler = (req) => {
  throw notFound(`There is no endpoint at ${req.path.slice(0, 200)}; see /docs for the API.`);
};
