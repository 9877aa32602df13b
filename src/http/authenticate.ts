import type { Request, RequestHandler } from 'express';
import type { AgentRequestLimiter } from '../auth/agent-requests.js';
import { CredentialsMissing } from '../auth/bearer-errors.js';
import { assertRole } from '../auth/entra-strategy.js';
import type { Attempt, FailureLimiter } from '../auth/failure-limiter.js';
import { AuthenticationFailure } from '../auth/failures.js';
import type { Caller, Strategy } from '../auth/strategy.js';
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
 * Puts a strategy in front of a route: a client that keeps failing is refused
 * before its credentials are looked at again; each attempt counts against the
 * client while it is checked, and keeps counting only when the credentials
 * themselves were refused. A failure is counted and noted for the request's
 * log line by its reason, and answered by http/errors.ts.
 */
export function authenticated(strategy: Strategy, { failures, metrics }: GuardOptions): RequestHandler {
  return async (req, res, next) => {
    let attempt: Attempt | undefined;
    try {
      attempt = failures.admit(strategy.name, req.clientAddress, presentedCredentials(req));
      req.caller = await strategy.authenticate(req);
      attempt.settle(false);
    } catch (error) {
      const failure = error instanceof AuthenticationFailure ? error : undefined;
      metrics.authFailure(strategy.name, failure?.reason ?? 'error');
      noteAuthFailure(res, { strategy: strategy.name, reason: failure?.reason ?? 'error' });
      attempt?.settle(failure?.counted === true);
      throw error;
    }
    next();
  };
}

/** What a request presents to authenticate, so that concurrent requests with the same credentials count as one attempt. */
function presentedCredentials(req: Request): string {
  return `${req.headers.authorization ?? ''}\n${req.headers['x-auth-token'] ?? ''}`;
}

/** Counts an agent's request against its own limit: after authentication, so it is counted for the Genesys user it proved to be. */
export function limitAgentRequests(limiter: AgentRequestLimiter): RequestHandler {
  return (req, _res, next) => {
    if (req.caller?.kind === 'genesys-agent') limiter.count(req.caller.id);
    next();
  };
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
