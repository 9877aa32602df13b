import fs from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Response } from 'supertest';
import YAML from 'yaml';
import { OPENAPI_PATH } from '../../src/http/docs.js';

interface ResponseObject {
  $ref?: string;
  content?: Record<string, { schema?: unknown }>;
}

interface Operation {
  responses: Record<string, ResponseObject>;
}

const spec = YAML.parse(fs.readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, Record<string, Operation>> };

/** A response object and the JSON pointer where it lives, following one `$ref` to components. */
function resolveResponse(at: string, response: ResponseObject): { at: string; response: ResponseObject } {
  if (response.$ref === undefined) return { at, response };
  const target = response.$ref.replace(/^#\//, '');
  const resolved = target.split('/').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  return { at: target, response: resolved as ResponseObject };
}
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema(spec, 'openapi');
const validators = new Map<string, ValidateFunction>();

/** The spec's path template matching a concrete path, e.g. /room/abc → /room/{room_name}. */
function templateFor(pathname: string): string | undefined {
  const templates = Object.keys(spec.paths);
  const exact = templates.find((t) => t === pathname);
  if (exact) return exact;
  return templates.find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(pathname));
}

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * Asserts that a real response is described by openapi.yaml: its path,
 * method and status are documented, and its body matches the schema.
 */
export function expectToMatchSpec(res: Response): void {
  const req = (res as unknown as { req: { method: string; path: string } }).req;
  const pathname = new URL(req.path, 'http://x').pathname;
  const template = templateFor(pathname);
  if (template === undefined) throw new Error(`openapi.yaml documents no path matching ${pathname}`);
  const method = req.method.toLowerCase();
  const operation = spec.paths[template]?.[method];
  if (operation === undefined) throw new Error(`openapi.yaml documents no ${req.method} ${template}`);
  const status = String(res.status);
  const key = operation.responses[status] ? status : 'default';
  const declared = operation.responses[key];
  if (declared === undefined) throw new Error(`openapi.yaml documents no ${status} for ${req.method} ${template}`);
  const { at, response } = resolveResponse(pointer('paths', template, method, 'responses', key), declared);
  if (response.content === undefined) {
    if (res.text && res.text.length > 0) throw new Error(`${req.method} ${template} ${status} is documented without a body but has one`);
    return;
  }
  const contentType = String(res.headers['content-type'] ?? '').split(';')[0] as string;
  const media = response.content[contentType];
  if (media === undefined) throw new Error(`openapi.yaml documents no ${contentType} body for ${req.method} ${template} ${status}`);
  const ref = `openapi#/${at}/${pointer('content', contentType, 'schema')}`;
  let validate = validators.get(ref);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: ref });
    validators.set(ref, validate);
  }
  const body = contentType.endsWith('json') ? JSON.parse(res.text) : res.text;
  if (!validate(body)) {
    throw new Error(`${req.method} ${pathname} ${status} does not match openapi.yaml: ${ajv.errorsText(validate.errors)}\n${res.text.slice(0, 500)}`);
  }
}
