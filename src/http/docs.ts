import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { resource, type Routes } from './middleware.js';

/** openapi.yaml at the repository root is the source of truth; dist/ and src/ both sit one level below it. */
export const OPENAPI_PATH = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));

const SWAGGER_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>MaxConf gateway API</title><link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script></body>
</html>`;

const SWAGGER_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.yaml', dom_id: '#swagger-ui', deepLinking: true });`;

/** `GET /openapi.yaml` and Swagger UI at `/docs` (scripts served from here, so helmet's CSP holds). */
export function docsRoutes(): Routes {
  return (router) => {
    const spec = fs.readFileSync(OPENAPI_PATH, 'utf8');
    const assets = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
    resource(router, '/openapi.yaml', { get: [(_req, res) => void res.type('application/yaml').send(spec)] });
    resource(router, '/docs', { get: [(_req, res) => void res.type('html').send(SWAGGER_PAGE)] });
    resource(router, '/docs/init.js', { get: [(_req, res) => void res.type('application/javascript').send(SWAGGER_INIT)] });
    router.use('/docs', express.static(assets, { index: false, fallthrough: true }));
  };
}
