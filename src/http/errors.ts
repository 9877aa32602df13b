import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { TooManyAgentRequests } from '../auth/agent-requests.js';
import { BearerError } from '../auth/bearer-errors.js';
import { TooManyFailures } from '../auth/failure-limiter.js';
import { AuthenticationFailure, CredentialsRefused, RepeatedCredentials } from '../auth/failures.js';
import { AgentForbidden, GenesysUnavailable } from '../auth/genesys-strategy.js';
import { SigningKeysUnavailable } from '../auth/signing-keys.js';
import { RoomChangeConflict } from '../rooms/conference.js';
import { ProviderUnavailable, RoomAlreadyExists, RoomNotFound } from '../rooms/providers/provider.js';
import { StoreUnavailableError } from '../store/store.js';
import { InvalidInput, RepeatedField, UnknownFields } from '../validation.js';
import { HttpProblem, repeatedHeader } from './problem.js';

/** The router's errors carry a `status`; only the status and a fixed sentence reach the caller. */
interface ParserError {
  status?: number;
}

/** Turns every error into application/problem+json; nothing internal reaches the caller. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    const problem = toProblem(error);
    if (problem.status >= 500) {
      logger.error({ requestId: res.locals.requestId, err: error }, 'request failed');
    }
    if (!res.headersSent) sendProblem(res, problem);
    // Too late to answer (the server may have answered already, as on a request timeout): a response begun is cut off.
    else if (!res.writableEnded) cutOff(logger, res, error, problem);
  };
}

function cutOff(logger: Logger, res: Response, error: unknown, problem: HttpProblem): void {
  if (problem.status < 500) logger.warn({ requestId: res.locals.requestId, err: error }, 'response cut off: an error after it had begun');
  res.destroy();
}

export function sendProblem(res: Response, problem: HttpProblem): void {
  res.status(problem.status);
  for (const [name, value] of Object.entries(problem.extras.headers ?? {})) res.setHeader(name, value);
  res.type('application/problem+json').send(JSON.stringify(problem.body()));
}

/** The one place where a domain error becomes a status code, a problem type and headers. */
function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof RepeatedField) return new HttpProblem(422, 'duplicate-key', 'Unprocessable Content', error.description, { errors: error.errors });
  if (error instanceof UnknownFields) return new HttpProblem(422, 'unknown-fields', 'Unprocessable Content', error.description, { errors: error.errors });
  if (error instanceof InvalidInput) return new HttpProblem(400, 'invalid-request', 'Bad Request', error.description, { errors: error.errors });
  if (error instanceof AuthenticationFailure) return authenticationProblem(error);
  if (error instanceof TooManyAgentRequests) return new HttpProblem(429, 'too-many-requests', 'Too Many Requests', error.message, { headers: retryAfter(error.retryAfterSeconds) });
  if (error instanceof RoomNotFound) return new HttpProblem(404, 'room-not-found', 'Not Found', `No room named ${error.roomName} exists.`);
  if (error instanceof RoomAlreadyExists) return new HttpProblem(409, 'room-exists', 'Conflict', `A room named ${error.roomName} already exists.`);
  if (error instanceof RoomChangeConflict) {
    return new HttpProblem(409, 'room-change-conflict', 'Conflict', `${error.description} Change the request and send it again.`, {
      errors: [{ in: 'body', field: error.field, message: error.description }],
    });
  }
  if (error instanceof ProviderUnavailable) {
    const [status, title] = error.kind === 'bad-answer' ? [502, 'Bad Gateway'] : [503, 'Service Unavailable'];
    return new HttpProblem(status, 'pexip-unavailable', title, error.message, { headers: retryAfter(error.retryAfterSeconds) });
  }
  if (error instanceof StoreUnavailableError) {
    return new HttpProblem(503, 'store-unavailable', 'Service Unavailable', 'The gateway cannot reach its store right now; retry shortly.', { headers: retryAfter(5) });
  }
  return parserProblem(error as ParserError) ?? internal();
}

const BEARER_REALM = 'maxconf';
const CHALLENGES = {
  genesys: 'X-Auth-Token realm="genesys"',
  'event-sink': 'Basic realm="maxconf-event-sink", charset="UTF-8"',
} as const;

function authenticationProblem(error: AuthenticationFailure): HttpProblem {
  if (error instanceof BearerError) return bearerProblem(error);
  if (error instanceof RepeatedCredentials) return repeatedHeader(error.header);
  if (error instanceof CredentialsRefused) {
    return new HttpProblem(401, 'unauthorized', 'Unauthorized', error.description, { headers: { 'WWW-Authenticate': CHALLENGES[error.strategy] } });
  }
  if (error instanceof AgentForbidden) return new HttpProblem(403, 'forbidden', 'Forbidden', error.description);
  if (error instanceof TooManyFailures) {
    return new HttpProblem(429, 'too-many-failures', 'Too Many Requests', error.description, { headers: retryAfter(error.retryAfterSeconds) });
  }
  if (error instanceof SigningKeysUnavailable) {
    return new HttpProblem(503, 'signing-keys-unavailable', 'Service Unavailable', error.description, { headers: retryAfter(error.retryAfterSeconds) });
  }
  if (error instanceof GenesysUnavailable) {
    return new HttpProblem(503, 'genesys-unavailable', 'Service Unavailable', error.description, { headers: retryAfter(error.retryAfterSeconds) });
  }
  return internal();
}

/** RFC 6750 §3.1: the status of each error code, and the challenge that names it. */
function bearerProblem(error: BearerError): HttpProblem {
  const [status, slug, title] = {
    invalid_request: [400, 'invalid-request', 'Bad Request'] as const,
    invalid_token: [401, 'unauthorized', 'Unauthorized'] as const,
    insufficient_scope: [403, 'forbidden', 'Forbidden'] as const,
    none: [401, 'unauthorized', 'Unauthorized'] as const,
  }[error.errorCode ?? 'none'];
  return new HttpProblem(status, slug, title, error.description, { headers: { 'WWW-Authenticate': bearerChallenge(error) } });
}

/** The `WWW-Authenticate` value; only RFC 6750's allowed characters reach the quoted strings. */
function bearerChallenge(error: BearerError): string {
  const parts = [`Bearer realm="${BEARER_REALM}"`];
  if (error.errorCode !== undefined) {
    parts.push(`error="${error.errorCode}"`, `error_description="${quoteSafe(error.description)}"`);
  }
  return parts.join(', ');
}

function quoteSafe(text: string): string {
  return text.replace(/"/g, "'").replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '');
}

function retryAfter(seconds: number | undefined): Record<string, string> {
  return seconds === undefined ? {} : { 'Retry-After': String(seconds) };
}

function internal(): HttpProblem {
  return new HttpProblem(500, 'internal', 'Internal Server Error', 'The gateway failed unexpectedly; quote the x-request-id header when reporting it.');
}

function parserProblem(error: ParserError): HttpProblem | undefined {
  if (error instanceof URIError && error.status === 400) {
    return new HttpProblem(400, 'malformed-path', 'Bad Request', 'A path segment is not valid percent-encoding (RFC 3986 §2.1); encode its bytes as UTF-8, each % followed by two hex digits.', {
      errors: [{ in: 'path', field: '(path)', message: 'is not valid percent-encoding' }],
    });
  }
  if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
    return new HttpProblem(error.status, 'bad-request', 'Bad Request', 'The request could not be read; check its URL, headers and body.');
  }
  return undefined;
}
