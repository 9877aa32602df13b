import type { RequestHandler } from 'express';

/**
 * CORS for the agent widget's origins only (docs/contract.md §2). A preflight from an
 * allowed origin is answered here, without authentication; any other origin
 * gets no CORS headers, so the browser blocks it.
 */
export function cors(allowedOrigins: readonly string[], maxAgeSeconds: number, allowedHeaders: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, res, next) => {
    res.vary('Origin');
    const origin = req.headers.origin;
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (origin === undefined || !allowed.has(origin)) {
      if (preflight) {
        res.status(204).end();
        return;
      }
      next();
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Expose-Headers', 'x-request-id, Retry-After');
    if (!preflight) {
      next();
      return;
    }
    res.setHeader('Access-Control-Allow-Methods', 'GET');
    res.setHeader('Access-Control-Allow-Headers', allowedHeaders.join(', '));
    res.setHeader('Access-Control-Max-Age', String(maxAgeSeconds));
    res.status(204).end();
  };
}
