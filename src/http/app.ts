import express, { type Express, type Router } from 'express';
import type { Logger } from 'pino';
import { problemHandler } from './errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { requestId, securityHeaders, unknownRoute } from './middleware.js';
import { requestLog } from './request-log.js';

export interface AppOptions {
  logger: Logger;
  metrics: GatewayMetrics;
  /** Proxy hops in front of us (APIM: 1) whose X-Forwarded-For we believe; 0 trusts none. */
  trustProxyHops: number;
}

/** Wires the routers into one Express app with the cross-cutting behaviour every route shares. */
export function buildApp(routers: Router[], { logger, metrics, trustProxyHops }: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', trustProxyHops);
  app.use(requestId);
  app.use(requestLog(logger, metrics));
  app.use(securityHeaders());
  for (const router of routers) app.use(router);
  app.use(unknownRoute);
  app.use(problemHandler(logger));
  return app;
}
