import pino, { type DestinationStream, type Logger } from 'pino';
import http from 'node:http';

/** Field names whose values never reach a log line, at any depth. */
const SECRET_KEYS = /^(pin|guest_pin|guestpin|password|passwords|pass|secret|token|access_token|client_assertion|authorization|x-auth-token|cookie|set-cookie|database_url)$/i;
const MAX_DEPTH = 8;

/** A line waits at most this long in the buffer, whatever the traffic. */
const FLUSH_INTERVAL_MS = 250;

/**
 * The process's stdout: buffered, asynchronous writes (a synchronous write
 * per request line cost measurable throughput, bench/), written out when 4 KB
 * have gathered and at the latest every FLUSH_INTERVAL_MS by sonic-boom's own
 * timer (one unref'd interval, nothing per request). pino flushes it
 * synchronously when the process exits.
 */
export type StdoutDestination = ReturnType<typeof pino.destination>;

export function stdoutDestination(): StdoutDestination {
  return pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: FLUSH_INTERVAL_MS });
}

/** `mixin`: fields every line gets from where it was written (the active trace's ids, when tracing is on). */
export function createLogger(level: string, destination?: DestinationStream, mixin?: () => object): Logger {
  return pino(
    {
      level,
      ...(mixin === undefined ? {} : { mixin }),
      base: { service: 'maxconf-gateway' },
      serializers: { err: errorFields, req: requestFields },
      formatters: { log: (object) => scrub(object, 0) as Record<string, unknown> },
    },
    destination,
  );
}

/** Whether a field of this name holds a secret: its value never reaches a log line (nor a kept copy of a request). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.test(key);
}

/**
 * Replaces the values of secret-named fields anywhere in a log object. Only
 * plain objects and arrays are walked: pino calls this before its serializers,
 * so raw requests, responses and errors are left to them (walking a socket on
 * every line once cost a quarter of the CPU).
 */
export function scrub(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const clean = scrub(item, depth + 1);
      if (!Object.is(clean, item)) (copy ??= [...value])[i] = clean;
    });
    return copy ?? value;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  // Copied only when something is replaced: a clean line (nearly every line) allocates nothing here.
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const clean = isSecretKey(key) ? '[redacted]' : scrub(item, depth + 1);
    if (!Object.is(clean, item)) (copy ??= { ...value })[key] = clean;
  }
  return copy ?? value;
}

/**
 * pino's `req` serializer: a raw request that reaches a line keeps its method
 * and path, never its headers (credentials) or query string (the citizen's
 * data); the request line's own `req` is a plain object and passes as it is.
 * In place of pino's `redact` paths for `req.headers`, which cloned the
 * request line's `req` on every line (bench/README.md); plain objects at any
 * depth are the scrubber's.
 */
function requestFields(req: unknown): unknown {
  return req instanceof http.IncomingMessage ? { method: req.method, path: req.url?.split('?', 1)[0] } : req;
}

/** Database errors: what identifies the failure, never the statement, its values, `where`, `detail` or `hint`. */
const DATABASE_ERROR_FIELDS = ['code', 'severity', 'routine', 'schema', 'table', 'column', 'constraint'] as const;
const SYSTEM_ERROR_FIELDS = ['code', 'syscall'] as const;
const MAX_CAUSES = 3;

/**
 * The one way an error reaches a log line (pino's `err` serializer): an
 * allow-list of fields, so that what drivers and libraries attach (PGlite's
 * `params` and `query`, PostgreSQL's `where` and `detail`, which quote the
 * values of a statement: PINs) never does. A database error keeps its
 * SQLSTATE and names but not its message, which may quote a value too; a
 * SyntaxError's message quotes its input. The stack of the error itself is
 * kept, as frames of our own code only (no message line, no dependency's).
 */
export function errorFields(error: unknown, depth = 0): Record<string, unknown> {
  if (error === null || typeof error !== 'object') return { type: typeof error };
  // PGlite's class names are minified; both drivers' errors are PostgreSQL's ErrorResponse.
  if (isDatabaseError(error)) return { type: 'DatabaseError', ...strings(error, DATABASE_ERROR_FIELDS) };
  const fields: Record<string, unknown> = { type: typeName(error) };
  Object.assign(fields, strings(error, SYSTEM_ERROR_FIELDS));
  if (!(error instanceof SyntaxError) && typeof (error as Error).message === 'string') fields.message = (error as Error).message;
  const stack = (error as Error).stack;
  if (typeof stack === 'string' && depth === 0) fields.stack = ownFrames(stack);
  const cause = (error as Error).cause;
  if (cause !== undefined && depth < MAX_CAUSES) fields.cause = errorFields(cause, depth + 1);
  return fields;
}

function ownFrames(stack: string): string {
  return stack
    .split('\n')
    .filter((line) => /^\s+at /.test(line) && !line.includes('node_modules'))
    .join('\n');
}

/** The class, unless it is a bare Error (pg's DatabaseError is named "error"; a bare one may say more in `name`). */
function typeName(error: object): string {
  const constructor = error.constructor?.name;
  return constructor && constructor !== 'Error' && constructor !== 'Object' ? constructor : String((error as Error).name ?? 'Object');
}

/** Errors PostgreSQL (or PGlite) reported: a five-character SQLSTATE, or the severity every server error carries. */
function isDatabaseError(error: object): boolean {
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  return (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) || typeof severity === 'string';
}

function strings(source: object, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = (source as Record<string, unknown>)[name];
    if (typeof value === 'string') picked[name] = value;
  }
  return picked;
}
