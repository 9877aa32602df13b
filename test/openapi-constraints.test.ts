import fs from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import YAML from 'yaml';
import type { z } from 'zod';
import { readEnvelope } from '../src/events/envelope.js';
import { OPENAPI_PATH } from '../src/http/docs.js';
import {
  bulkCreateBody,
  bulkJobParams,
  createRoomBody,
  createRoomQuery,
  deleteRoomsQuery,
  getRoomQuery,
  listRoomsQuery,
  roomChangesBody,
  roomNameParams,
} from '../src/http/routes/room-schemas.js';
import { maxUuiDataForTag } from '../src/rooms/tag.js';
import { startTestGateway, TAG_BASE_URL, type TestGateway } from './support/gateway.js';
import { SchemaArbitraries, type SchemaNode } from './support/json-schema-arbitrary.js';
import { expectToMatchSpec } from './support/openapi.js';

/**
 * The request validators (zod, in src/) are the source of every request
 * constraint; openapi.yaml restates them for callers. This holds the two
 * together both ways, as test/config.test.ts does for .env.example: values
 * openapi.yaml allows are accepted, and values it forbids (a pattern missed,
 * a bound passed, a wrong type or enum value, a required field missing, an
 * unknown one added) are refused; defaults are the same on both sides; and
 * every parameter and body the spec describes has its validator here.
 */

interface Parameter {
  $ref?: string;
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: SchemaNode & { default?: unknown };
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: SchemaNode }> };
}
type PathItem = Record<string, Operation> & { parameters?: Parameter[] };

// Every `#/…` reference made absolute, so that any node of the spec compiles on its own.
const spec = JSON.parse(JSON.stringify(YAML.parse(fs.readFileSync(OPENAPI_PATH, 'utf8'))).replaceAll('"$ref":"#/', '"$ref":"openapi#/')) as {
  paths: Record<string, PathItem>;
};
const ajv = new Ajv2020({ strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema(spec, 'openapi');
const compiled = new WeakMap<object, ValidateFunction>();
function specAllows(schema: SchemaNode, value: unknown): boolean {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate(value);
}
const resolve = (ref: string): SchemaNode =>
  ref
    .replace(/^openapi#\//, '')
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')], spec) as SchemaNode;
const arbitraries = new SchemaArbitraries(resolve, specAllows);

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
const operations = Object.values(spec.paths).flatMap((item) =>
  METHODS.filter((method) => item[method] !== undefined).map((method) => {
    const operation = item[method] as Operation;
    const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((p) => (p.$ref === undefined ? p : (resolve(p.$ref) as Parameter)));
    return { id: operation.operationId, parameters, body: operation.requestBody?.content['application/json']?.schema };
  }),
);

/** A parameter's validator: the route's zod schema, given the parameter alone (undefined: absent). */
const parameterOf =
  (schema: z.ZodType, name: string) =>
  (text: string | undefined): { ok: boolean; value?: unknown } => {
    const result = schema.safeParse(text === undefined ? {} : { [name]: text });
    return result.success ? { ok: true, value: (result.data as Record<string, unknown>)[name] } : { ok: false };
  };

const PARAMETERS: Record<string, ReturnType<typeof parameterOf>> = {
  'createRoom query uuiData': parameterOf(createRoomQuery, 'uuiData'),
  'createRoomDeprecated query uuiData': parameterOf(createRoomQuery, 'uuiData'),
  'getRoom path room_name': parameterOf(roomNameParams, 'room_name'),
  'getRoom query constrained_attributes': parameterOf(getRoomQuery, 'constrained_attributes'),
  'updateRoom path room_name': parameterOf(roomNameParams, 'room_name'),
  'deleteRoom path room_name': parameterOf(roomNameParams, 'room_name'),
  'listRooms query constrained_attributes': parameterOf(listRoomsQuery, 'constrained_attributes'),
  'listRooms query name_prefix': parameterOf(listRoomsQuery, 'name_prefix'),
  'listRooms query limit': parameterOf(listRoomsQuery, 'limit'),
  'listRooms query offset': parameterOf(listRoomsQuery, 'offset'),
  'deleteRoomsByPrefix query name_prefix': parameterOf(deleteRoomsQuery, 'name_prefix'),
  'getBulkJob path job_id': parameterOf(bulkJobParams, 'job_id'),
  'getRoomForAgent path room_name': parameterOf(roomNameParams, 'room_name'),
};

/** openapi.yaml: "Required here or in the body"; the route reads the body only when the query has none. */
const REQUIRED_HERE_OR_IN_BODY = new Set(['createRoom query uuiData', 'createRoomDeprecated query uuiData']);

const bodyOf = (schema: z.ZodType) => (body: unknown) => schema.safeParse(body).success;
/** The event sink acknowledges any JSON body, rejecting what it cannot process; a body is accepted when nothing in it is rejected. */
const acceptsEvents = (body: unknown): boolean => readEnvelope(body).rejected.length === 0;

const BODIES: Record<string, (body: unknown) => boolean> = {
  createRoom: bodyOf(createRoomBody),
  updateRoom: bodyOf(roomChangesBody),
  bulkCreateRooms: bodyOf(bulkCreateBody),
  receiveEvents: acceptsEvents,
};

/** Rules JSON Schema cannot state, which openapi.yaml states in words (RoomChanges' description). */
const BEYOND_SCHEMA: Record<string, (body: unknown) => boolean> = {
  updateRoom: (body) => {
    const { pin, guest_pin } = body as { pin?: unknown; guest_pin?: unknown };
    return pin !== undefined && pin === guest_pin;
  },
};
const specAllowsBody = (id: string, schema: SchemaNode, body: unknown) => specAllows(schema, body) && !(BEYOND_SCHEMA[id]?.(body) ?? false);

/**
 * What a query or path parameter's text stands for under its schema: an
 * integer in decimal digits; a boolean as `true`/`false` (any case) or `1`/`0`,
 * as the parameter's description says; a string as itself.
 */
function readParameter(schema: SchemaNode, text: string): unknown {
  const type = (schema.$ref === undefined ? schema : resolve(schema.$ref)).type;
  if (type === 'integer') return /^(-?[1-9]\d*|\d+)$/.test(text) ? Number(text) : text;
  if (type === 'boolean') return /^(true|1)$/i.test(text) ? true : /^(false|0)$/i.test(text) ? false : text;
  return text;
}

/** A value as the text of a query or path parameter (objects and lists have none here). */
const asText = (values: fc.Arbitrary<unknown>): fc.Arbitrary<string> => values.filter((value) => ['string', 'number', 'boolean'].includes(typeof value)).map(String);
const parameterTexts = (schema: SchemaNode): fc.Arbitrary<string> =>
  fc.oneof(asText(arbitraries.valid(schema)), ...arbitraries.mutations(schema).map(({ values }) => asText(values)), fc.string());

const parameters = operations.flatMap(({ id, parameters: list }) => list.map((p) => ({ key: `${id} ${p.in} ${p.name}`, parameter: p })));
const bodies = operations.filter((o) => o.body !== undefined).map(({ id, body }) => ({ id, schema: body as SchemaNode }));

test('every parameter and JSON body openapi.yaml describes has its validator here, and no other', () => {
  expect(parameters.map((p) => p.key).sort()).toEqual(Object.keys(PARAMETERS).sort());
  expect(bodies.map((b) => b.id).sort()).toEqual(Object.keys(BODIES).sort());
});

describe.each(parameters)('$key', ({ key, parameter }) => {
  const validator = PARAMETERS[key] as ReturnType<typeof parameterOf>;
  const agrees = (texts: fc.Arbitrary<string>) =>
    fc.assert(
      fc.property(texts, (text) => {
        expect({ text, accepted: validator(text).ok }).toEqual({ text, accepted: specAllows(parameter.schema, readParameter(parameter.schema, text)) });
      }),
      { numRuns: 100 },
    );

  test('texts openapi.yaml allows are accepted, and any text exactly when it allows it', () => {
    agrees(asText(arbitraries.valid(parameter.schema)));
    agrees(fc.string());
  });

  test.each(arbitraries.mutations(parameter.schema, parameter.name))('$where: refused exactly when openapi.yaml forbids it', ({ values }) => {
    agrees(asText(values));
  });

  test('left out: refused when required, else the schema default', () => {
    const absent = validator(undefined);
    expect(absent.ok).toBe(!parameter.required && !REQUIRED_HERE_OR_IN_BODY.has(key));
    if (absent.ok) expect(absent.value).toEqual(parameter.schema.default);
  });
});

describe.each(bodies)('$id request body', ({ id, schema }) => {
  const accepts = BODIES[id] as (body: unknown) => boolean;

  test('bodies openapi.yaml allows are accepted', () => {
    fc.assert(
      fc.property(arbitraries.valid(schema), (body) => {
        fc.pre(!(BEYOND_SCHEMA[id]?.(body) ?? false));
        expect({ body, accepted: accepts(body) }).toEqual({ body, accepted: true });
      }),
      { numRuns: 200 },
    );
  });

  test.each(arbitraries.mutations(schema))('$where: refused exactly when openapi.yaml forbids it', ({ values }) => {
    fc.assert(
      fc.property(values, (body) => {
        expect({ body, accepted: accepts(body) }).toEqual({ body, accepted: specAllowsBody(id, schema, body) });
      }),
      { numRuns: 60 },
    );
  });
});

describe('over HTTP', () => {
  let gw: TestGateway;
  let room: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    const res = await gw.http.post('/room/create?uuiData=3132').set(gw.bearer());
    room = res.body.name;
  }, 60_000);
  afterAll(async () => {
    await gw.close();
  });

  const refused = (status: number) => status === 400 || status === 422;
  /** A query string carries only well-formed text. */
  const sendable = (text: string) => {
    try {
      encodeURIComponent(text);
      return true;
    } catch {
      return false;
    }
  };
  const parameterSchema = (key: string) => (parameters.find((p) => p.key === key)?.parameter as Parameter).schema;
  const bodySchema = (id: string) => bodies.find((b) => b.id === id)?.schema as SchemaNode;

  test('GET /rooms: limit and offset are refused exactly when openapi.yaml forbids them', async () => {
    const limit = parameterSchema('listRooms query limit');
    const offset = parameterSchema('listRooms query offset');
    await fc.assert(
      fc.asyncProperty(parameterTexts(limit).filter(sendable), parameterTexts(offset).filter(sendable), async (l, o) => {
        const res = await gw.http.get('/rooms').query({ limit: l, offset: o }).set(gw.bearer());
        expectToMatchSpec(res);
        const allowed = specAllows(limit, readParameter(limit, l)) && specAllows(offset, readParameter(offset, o));
        expect({ l, o, refused: refused(res.status) }).toEqual({ l, o, refused: !allowed });
      }),
      { numRuns: 25 },
    );
  });

  test('PATCH /room/{room_name}: a body is refused exactly when openapi.yaml forbids it', async () => {
    const schema = bodySchema('updateRoom');
    await fc.assert(
      fc.asyncProperty(fc.oneof(arbitraries.valid(schema), ...arbitraries.mutations(schema).map(({ values }) => values)), async (body) => {
        const res = await gw.http.patch(`/room/${room}`).set(gw.bearer()).set('Content-Type', 'application/json').send(JSON.stringify(body));
        expectToMatchSpec(res);
        expect({ body, refused: refused(res.status) }).toEqual({ body, refused: !specAllowsBody('updateRoom', schema, body) });
      }),
      { numRuns: 25 },
    );
  });

  test('POST /room/create: uuiData in the query is refused exactly when openapi.yaml forbids it or its tag would not fit', async () => {
    const schema = parameterSchema('createRoom query uuiData');
    const fits = maxUuiDataForTag(TAG_BASE_URL);
    await fc.assert(
      fc.asyncProperty(parameterTexts(schema).filter(sendable), async (uuiData) => {
        const res = await gw.http.post('/room/create').query({ uuiData }).set(gw.bearer());
        expectToMatchSpec(res);
        expect({ uuiData, refused: refused(res.status) }).toEqual({ uuiData, refused: !specAllows(schema, uuiData) || uuiData.length > fits });
      }),
      { numRuns: 15 },
    );
  });
});
