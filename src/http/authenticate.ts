import type { Request, RequestHandler, Response } from 'express';
import type passport from 'passport';
import { CredentialsMissing } from '../auth/bearer-errors.js';
import { assertRole } from '../auth/entra-strategy.js';
import type { Attempt, FailureLimiter } from '../auth/failure-limiter.js';
import { AuthenticationFailure } from '../auth/failures.js';
import type { Caller, StrategyName } from '../auth/strategy.js';
import type { GatewayMetrics } from '../metrics.js';
import { noteAuthFailure } from './request-log.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Who called, once a strategy has authenticated the request. */
    caller?: Caller;
  }
}

export interface GuardOptions {
  failures: FailureLimiter;
  metrics: GatewayMetrics;
}

/**
 * Puts a passport strategy in front of a route: a client that keeps failing
 * is refused before its credentials are looked at again; each attempt counts
 * against the client while it is checked, and keeps counting only when the
 * credentials themselves were refused. passport runs the strategy, without
 * sessions; its outcome comes back to the callback here, so that passport
 * never answers on its own: the caller is put on `req.caller`, and a failure
 * is counted and noted for the request's log line by its reason, and answered
 * by http/errors.ts.
 */
export function authenticated(authenticator: passport.Authenticator, strategy: StrategyName, { failures, metrics }: GuardOptions): RequestHandler {
  const failed = (res: Response, error: unknown): void => {
    const reason = error instanceof AuthenticationFailure ? error.reason : 'error';
    metrics.authFailure(strategy, reason);
    noteAuthFailure(res, { strategy, reason });
  };
  return (req, res, next) => {
    let attempt: Attempt;
    try {
      attempt = failures.admit(strategy, req.clientAddress, presentedCredentials(req));
    } catch (error) {
      failed(res, error);
      throw error;
    }
    const done = (error: unknown, caller: Caller | false | undefined): void => {
      if (error == null && caller) {
        attempt.settle(false);
        req.caller = caller;
        next();
        return;
      }
      const failure = error ?? new Error(`the ${strategy} strategy ended without a caller or an error`);
      failed(res, failure);
      attempt.settle(failure instanceof AuthenticationFailure && failure.counted);
      next(failure);
    };
    authenticator.authenticate(strategy, { session: false }, done)(req, res, next);
  };
}

/** What a request presents to authenticate, so that concurrent requests with the same credentials count as one attempt. */
function presentedCredentials(req: Request): string {
  return `${req.headers.authorization ?? ''}\n${req.headers['x-auth-token'] ?? ''}`;
}

/** Guards an operation that needs an Entra app role on top of authentication (bulk operations). */
export function requireRole(role: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (role !== undefined) {
      if (req.caller?.kind !== 'entra-app') throw new CredentialsMissing();
      assertRole(req.caller, role);
    }
    next();
  };
}
