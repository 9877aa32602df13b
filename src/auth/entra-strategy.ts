import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { CredentialsMissing, InsufficientScope } from './bearer-errors.js';
import { extractBearerToken } from './bearer-token.js';
import type { EntraPrincipal, EntraVerifier } from './entra-verifier.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set once an Entra access token has been accepted. */
    entra?: EntraPrincipal;
  }
}

/**
 * Express adapter for the Entra verifier: private routes accept application
 * tokens only (IDIM uses the client-credentials flow), and, when configured,
 * tokens carrying `requiredRole`.
 */
export function entraAuthentication(verifier: EntraVerifier, requiredRole: string | undefined): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const token = extractBearerToken({
      authorization: req.headers.authorization,
      accessTokenParameter: hasAccessTokenParameter(req),
    });
    const principal = await verifier.verify(token);
    if (principal.delegated) {
      throw new InsufficientScope('app_token_required', 'This API accepts application tokens (client credentials) only.');
    }
    if (requiredRole !== undefined) assertRole(principal, requiredRole);
    req.entra = principal;
    next();
  };
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
