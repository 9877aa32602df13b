/**
 * `node:http` and `node:https` as CommonJS modules. An ES import of
 * `node:http` makes Node.js 24 build its named exports by reading every
 * export, among them the lazy `WebSocket`, `CloseEvent` and `MessageEvent`,
 * which loads undici: about 3 MB resident that the gateway never uses
 * (bench/README.md, soak). Import these instead; type-only imports of
 * `node:http` are erased and stay as they are.
 */
export const nodeHttp = process.getBuiltinModule('node:http');
export const nodeHttps = process.getBuiltinModule('node:https');
