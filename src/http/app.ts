import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { problemHandler } from './errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { clientAddress, everyRequest, requestId, securityHeaders, singleHeaders, unknownRoute, type Routes } from './middleware.js';
import { requestLog } from './request-log.js';
import { traceContext } from './trace-context.js';
import type { Tracing } from '../tracing/tracing.js';

export interface AppOptions {
  logger: Logger;
  metrics: GatewayMetrics;
  /** Proxies (addresses, ranges or Express's names) whose X-Forwarded-For we believe; empty trusts none. */
  trustProxyAddresses: string[];
  /** Undefined: tracing is off. */
  tracing?: Tracing;
}

/** Wires the routes into one Express app with the cross-cutting behaviour every route shares. */
export function buildApp(routes: Routes[], { logger, metrics, trustProxyAddresses, tracing }: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', trustProxyAddresses.length > 0 ? trustProxyAddresses : false);
  if (tracing !== undefined) app.use(traceContext(tracing));
  app.use(everyRequest([requestId, clientAddress(logger), requestLog(logger, metrics), securityHeaders(), singleHeaders(['host', 'content-type'])]));
  for (const register of routes) register(app);
  app.use(unknownRoute);
  app.use(problemHandler(logger));
  return app;
}
