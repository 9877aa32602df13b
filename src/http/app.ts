import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { problemHandler } from './errors.js';
import { requestId, unknownRoute } from './middleware.js';

/** Wires the routers into one Express app with the cross-cutting behaviour every route shares. */
export function buildApp(routers: Router[], logger: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestId);
  app.use(helmet());
  for (const router of routers) app.use(router);
  app.use(unknownRoute);
  app.use(problemHandler(logger));
  return app;
}
