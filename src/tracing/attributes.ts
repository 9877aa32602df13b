/**
 * The OpenTelemetry semantic-convention attribute keys the gateway's spans
 * carry (all stable: https://opentelemetry.io/docs/specs/semconv/). They are
 * spelled here rather than imported from @opentelemetry/semantic-conventions
 * because that package's entry point loads every convention it defines (0.86 MB
 * of heap, bench/README.md) for these fourteen strings; a test holds each
 * to the package's own constant.
 */
export const ATTR_CLIENT_ADDRESS = 'client.address';
export const ATTR_DB_OPERATION_NAME = 'db.operation.name';
export const ATTR_DB_QUERY_TEXT = 'db.query.text';
export const ATTR_DB_SYSTEM_NAME = 'db.system.name';
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_HTTP_ROUTE = 'http.route';
export const ATTR_NETWORK_PROTOCOL_VERSION = 'network.protocol.version';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_URL_FULL = 'url.full';
export const ATTR_URL_PATH = 'url.path';
export const ATTR_URL_SCHEME = 'url.scheme';
export const ATTR_USER_AGENT_ORIGINAL = 'user_agent.original';
