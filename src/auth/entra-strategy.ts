import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpProblem } from '../http/problem.js';
import { BearerError, CredentialsMissing, InsufficientScope } from './bearer-errors.js';
import type { FailureLimiter } from './failure-limiter.js';
import { SigningKeysUnavailable } from './signing-keys.js';
import { extractBearerToken } from './bearer-token.js';
import type { EntraPrincipal, EntraVerifier } from './entra-verifier.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set once an Entra access token has been accepted. */
    entra?: EntraPrincipal;
  }
}

export interface EntraAuthenticationOptions {
  requiredRole: string | undefined;
  failures: FailureLimiter;
  /** Counts and logs a failure by its reason code. */
  onFailure: (res: Response, reason: string) => void;
}

/**
 * Express adapter for the Entra verifier: private routes accept application
 * tokens only (IDIM uses the client-credentials flow), and, when configured,
 * tokens carrying `requiredRole`. A client that keeps presenting bad tokens
 * is refused with 429 before its next token is looked at; while the signing
 * keys are unavailable, callers get 503 and nothing is counted against them.
 */
export function entraAuthentication(verifier: EntraVerifier, { requiredRole, failures, onFailure }: EntraAuthenticationOptions): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const client = failures.admit('entra', req, () => onFailure(res, 'rate_limited'));
    try {
      req.entra = await authenticate(verifier, req, requiredRole);
    } catch (error) {
      if (error instanceof SigningKeysUnavailable) {
        onFailure(res, 'signing_keys_unavailable');
        throw keysUnavailable(error.retryAfterSeconds);
      }
      if (error instanceof BearerError) {
        onFailure(res, error.reason);
        if (error.status === 401 && error.reason !== 'credentials_missing') failures.recordFailure(client);
      }
      throw error;
    }
    next();
  };
}

async function authenticate(verifier: EntraVerifier, req: Request, requiredRole: string | undefined): Promise<EntraPrincipal> {
  const token = extractBearerToken({ authorization: req.headersDistinct.authorization, accessTokenParameter: hasAccessTokenParameter(req) });
  const principal = await verifier.verify(token);
  if (principal.delegated) {
    throw new InsufficientScope('app_token_required', 'This API accepts application tokens (client credentials) only.');
  }
  if (requiredRole !== undefined) assertRole(principal, requiredRole);
  return principal;
}

/** Not counted as a failed authentication: the caller did nothing wrong. */
function keysUnavailable(retryAfterSeconds: number): HttpProblem {
  return new HttpProblem(503, 'signing-keys-unavailable', 'Service Unavailable', `The gateway cannot verify access tokens right now (Entra ID signing keys unavailable); retry after ${retryAfterSeconds} seconds.`, {
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });
}

/** Guards an operation that needs an app role on top of authentication (bulk operations). */
export function requireRole(role: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (role !== undefined) {
      if (req.entra === undefined) throw new CredentialsMissing();
      assertRole(req.entra, role);
    }
    next();
  };
}

function assertRole(principal: EntraPrincipal, role: string): void {
  if (!principal.roles.includes(role)) {
    throw new InsufficientScope('role_missing', `This operation needs the application role "${role}".`);
  }
}

function hasAccessTokenParameter(req: Request): boolean {
  const query = req.query as Record<string, unknown> | undefined;
  return query?.access_token !== undefined;
}
