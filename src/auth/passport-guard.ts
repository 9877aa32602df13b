import type { RequestHandler, Response } from 'express';
import type { Passport } from 'passport';
import { HttpProblem } from '../http/problem.js';
import type { FailureLimiter } from './failure-limiter.js';

/**
 * Mounts one passport strategy on a route (`session: false`): failures become
 * the strategy's problem, and a client that keeps failing is refused with 429
 * before its credentials are checked again.
 */
const REASONS: Partial<Record<number, string>> = { 400: 'invalid_request', 403: 'forbidden' };

export function passportGuard(passport: InstanceType<typeof Passport>, strategy: string, failures: FailureLimiter, onFailure: (res: Response, reason: string) => void): RequestHandler {
  return (req, res, next) => {
    const client = failures.admit(strategy, req, () => onFailure(res, 'rate_limited'));
    const handler = passport.authenticate(strategy, { session: false }, (error: unknown, user: unknown, challenge: unknown) => {
      if (error) {
        onFailure(res, error instanceof HttpProblem ? error.slug : 'error');
        next(error);
        return;
      }
      if (!user) {
        const problem = challenge instanceof HttpProblem ? challenge : new HttpProblem(401, 'unauthorized', 'Unauthorized', 'Authentication failed.');
        onFailure(res, REASONS[problem.status] ?? 'rejected');
        if (problem.status === 401) failures.recordFailure(client);
        next(problem);
        return;
      }
      req.user = user as Express.User;
      next();
    }) as RequestHandler;
    handler(req, res, next);
  };
}
