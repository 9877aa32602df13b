import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { BearerError } from '../auth/bearer-errors.js';
import { ProviderUnavailable, RoomAlreadyExists, RoomNotFound } from '../rooms/providers/provider.js';
import { StoreUnavailableError } from '../store/store.js';
import { HttpProblem } from './problem.js';

/** body-parser and router errors carry `type` and `status`; only the status and a fixed sentence reach the caller. */
interface ParserError {
  type?: string;
  status?: number;
  expose?: boolean;
  limit?: number;
}

/** Turns every error into application/problem+json; nothing internal reaches the caller. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const problem = toProblem(error);
    if (problem.status >= 500) {
      logger.error({ requestId: res.locals.requestId, err: error }, 'request failed');
    }
    sendProblem(res, problem);
  };
}

export function sendProblem(res: Response, problem: HttpProblem): void {
  res.status(problem.status);
  for (const [name, value] of Object.entries(problem.extras.headers ?? {})) res.setHeader(name, value);
  res.type('application/problem+json').send(JSON.stringify(problem.body()));
}

function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof BearerError) return bearerProblem(error);
  if (error instanceof RoomNotFound) return new HttpProblem(404, 'room-not-found', 'Not Found', `No room named ${error.roomName} exists.`);
  if (error instanceof RoomAlreadyExists) return new HttpProblem(409, 'room-exists', 'Conflict', `A room named ${error.roomName} already exists.`);
  if (error instanceof ProviderUnavailable) {
    return new HttpProblem(error.status, 'pexip-unavailable', error.status === 502 ? 'Bad Gateway' : 'Service Unavailable', error.message, {
      headers: error.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(error.retryAfterSeconds) },
    });
  }
  if (error instanceof StoreUnavailableError) {
    return new HttpProblem(503, 'store-unavailable', 'Service Unavailable', 'The gateway cannot reach its store right now; retry shortly.', { headers: { 'Retry-After': '5' } });
  }
  return parserProblem(error as ParserError) ?? new HttpProblem(500, 'internal', 'Internal Server Error', 'The gateway failed unexpectedly; quote the x-request-id header when reporting it.');
}

function bearerProblem(error: BearerError): HttpProblem {
  const [slug, title] = {
    400: ['invalid-request', 'Bad Request'],
    401: ['unauthorized', 'Unauthorized'],
    403: ['forbidden', 'Forbidden'],
  }[error.status];
  return new HttpProblem(error.status, slug as string, title as string, error.description, { headers: { 'WWW-Authenticate': error.challenge() } });
}

function parserProblem(error: ParserError): HttpProblem | undefined {
  switch (error?.type) {
    case 'entity.too.large':
      return new HttpProblem(413, 'body-too-large', 'Content Too Large', `The body is larger than the ${error.limit ?? 'allowed'} bytes this endpoint accepts.`);
    case 'encoding.unsupported':
      return new HttpProblem(415, 'unsupported-media-type', 'Unsupported Media Type', 'Send the body as UTF-8 JSON without content encoding.');
    default:
      if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
        return new HttpProblem(error.status, 'bad-request', 'Bad Request', 'The request could not be read; check its URL, headers and body.');
      }
      return undefined;
  }
}
