import fc from 'fast-check';

/** A JSON Schema node of openapi.yaml, read as it is (only the keywords the spec uses). */
export interface SchemaNode {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean | SchemaNode;
  minProperties?: number;
  items?: SchemaNode;
  maxItems?: number;
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  allOf?: SchemaNode[];
  not?: SchemaNode;
  if?: SchemaNode;
  then?: SchemaNode;
}

/** Values that break a schema in one place, named for the report. */
export interface Mutation {
  where: string;
  values: fc.Arbitrary<unknown>;
}

/**
 * Values generated from a JSON Schema: `valid` ones (checked against the
 * schema by `accepts`, so keywords the generator approximates stay right),
 * and `mutations`: for each place the schema constrains, valid values broken
 * there only (a pattern missed by a character, a length or bound passed by
 * one, a wrong type or enum value, a required property dropped, an unknown
 * one added, a list one item too long).
 */
export class SchemaArbitraries {
  constructor(
    private readonly resolve: (ref: string) => SchemaNode,
    private readonly accepts: (schema: SchemaNode, value: unknown) => boolean,
  ) {}

  valid(schema: SchemaNode): fc.Arbitrary<unknown> {
    return this.shape(schema).filter((value) => this.accepts(schema, value));
  }

  mutations(schema: SchemaNode, where = '(whole)'): Mutation[] {
    const node = this.deref(schema);
    const list: Mutation[] = [{ where: `${where}: wrong type`, values: wrongType }];
    const bounds = boundaryValues(node);
    if (bounds.length > 0) list.push({ where: `${where}: at and past its bounds`, values: fc.constantFrom(...bounds) });
    if (node.pattern !== undefined || node.maxLength !== undefined || node.minLength !== undefined) list.push({ where: `${where}: one character changed`, values: editedText(node) });
    const lengths = namedLengths(node);
    if (lengths.length > 0) list.push({ where: `${where}: at and past each length`, values: stretchedText(node, lengths) });
    if (node.properties !== undefined) list.push(...this.objectMutations(node, where));
    if (node.items !== undefined) list.push(...this.arrayMutations(node, where));
    const branches = [...(node.oneOf ?? []), ...(node.anyOf ?? []), ...(node.allOf ?? []), ...(node.then === undefined ? [] : [node.then])];
    branches.forEach((branch, index) => list.push(...this.mutations(branch, `${where} (part ${index + 1})`)));
    const conditioned = whenConditionHolds(node);
    if (conditioned !== undefined) list.push(...this.mutations(conditioned, `${where} (when its if holds)`));
    return list;
  }

  private deref(schema: SchemaNode): SchemaNode {
    return schema.$ref === undefined ? schema : this.deref(this.resolve(schema.$ref));
  }

  /** Values of the schema's shape, before the exact check. */
  private shape(schema: SchemaNode): fc.Arbitrary<unknown> {
    const node = this.deref(schema);
    if (node.const !== undefined) return fc.constant(node.const);
    if (node.enum !== undefined) return fc.constantFrom(...node.enum);
    const branches = node.oneOf ?? node.anyOf;
    if (branches !== undefined) return fc.oneof(...branches.map((branch) => this.shape(branch)));
    if (node.allOf !== undefined) return this.shape({ ...node, allOf: undefined, ...mergeShapes(node.allOf.map((part) => this.deref(part))) });
    const types = node.type === undefined ? undefined : [node.type].flat();
    if (types === undefined) return node.properties === undefined ? fc.jsonValue({ maxDepth: 2 }) : this.object(node);
    return fc.oneof(...types.map((type) => this.ofType(type, node)));
  }

  private ofType(type: string, node: SchemaNode): fc.Arbitrary<unknown> {
    switch (type) {
      case 'string':
        return text(node);
      case 'integer':
        return integer(node.minimum ?? -1_000_000, node.maximum ?? 1_000_000);
      case 'number':
        return fc.double({ min: node.minimum ?? -1e12, max: node.maximum ?? 1e12, noNaN: true, noDefaultInfinity: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array':
        return fc.array(node.items === undefined ? fc.jsonValue({ maxDepth: 1 }) : this.shape(node.items), { maxLength: Math.min(node.maxItems ?? 3, 3) });
      default:
        return this.object(node);
    }
  }

  private object(node: SchemaNode): fc.Arbitrary<unknown> {
    if (node.properties === undefined) return fc.dictionary(fc.stringMatching(/^[a-z_]{1,8}$/), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 });
    const fields = Object.fromEntries(Object.entries(node.properties).map(([key, child]) => [key, this.shape(child)]));
    return fc.record(fields, { requiredKeys: node.required ?? [] });
  }

  private objectMutations(node: SchemaNode, where: string): Mutation[] {
    const valid = this.valid(node) as fc.Arbitrary<Record<string, unknown>>;
    const list: Mutation[] = [
      { where: `${where}: an unknown property`, values: valid.map((object) => ({ ...object, unknown_field: 'x' })) },
      { where: `${where}: no property`, values: fc.constant({}) },
    ];
    for (const key of node.required ?? []) list.push({ where: `${where}.${key}: missing`, values: valid.map(({ [key]: _dropped, ...rest }) => rest) });
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      for (const { where: at, values } of this.mutations(child, `${where}.${key}`)) {
        list.push({ where: at, values: fc.tuple(valid, values).map(([object, broken]) => ({ ...object, [key]: broken })) });
      }
    }
    return list;
  }

  private arrayMutations(node: SchemaNode, where: string): Mutation[] {
    const items = node.items as SchemaNode;
    const valid = fc.array(this.valid(items), { maxLength: 2 });
    const list = this.mutations(items, `${where}[]`).map(({ where: at, values }) => ({
      where: at,
      values: fc.tuple(valid, values, valid).map(([before, broken, after]) => [...before, broken, ...after]),
    }));
    const { maxItems } = node;
    if (maxItems !== undefined) list.push({ where: `${where}: one item too many`, values: this.valid(items).map((item) => Array.from({ length: maxItems + 1 }, () => item)) });
    return list;
  }
}

/** Numbers at and around each bound, and values beside an enum's or constant's. */
function boundaryValues(node: SchemaNode): unknown[] {
  const values: unknown[] = [];
  for (const bound of [node.minimum, node.maximum]) if (bound !== undefined) values.push(bound - 1, bound, bound + 1, bound + 0.5);
  if (node.enum !== undefined || node.const !== undefined) values.push(0, 3, 'x', `${String(node.enum?.[0] ?? node.const)}x`);
  return values;
}

/** A valid string with a character inserted, removed or replaced by one a pattern may not allow. */
function editedText(node: SchemaNode): fc.Arbitrary<string> {
  const foreign = fc.constantFrom('\u0000', '\ud800', '\udc00', ' ', '!', '#', 'g', 'Z', '0', 'é', '😀', '\n');
  return fc.tuple(text(node), fc.nat(), foreign, fc.constantFrom(0, 1, 2)).map(([valid, at, character, edit]) => {
    const position = at % (valid.length + 1);
    if (edit === 0) return valid.slice(0, position) + character + valid.slice(position);
    if (edit === 1) return valid.slice(0, Math.max(0, position - 1)) + valid.slice(position);
    return valid.slice(0, position) + character + valid.slice(position + 1);
  });
}

/** Each length a string node names (minLength, maxLength, a pattern's `{m,n}`), one either side of it, and twice it. */
function namedLengths(node: SchemaNode): number[] {
  const named = [node.minLength, node.maxLength, ...[...(node.pattern ?? '').matchAll(/\{(\d+)(?:,(\d+))?\}/g)].flatMap((m) => [Number(m[1]), Number(m[2] ?? m[1])])];
  return [...new Set(named.filter((n): n is number => n !== undefined).flatMap((n) => [n - 1, n, n + 1, 2 * n, 2 * n + 1, 2 * n + 2]))].filter((n) => n >= 0);
}

/** A valid string repeated to each of `lengths`. */
function stretchedText(node: SchemaNode, lengths: number[]): fc.Arbitrary<string> {
  return fc.tuple(text(node), fc.constantFrom(...lengths)).map(([valid, length]) => (valid || 'a').repeat(length + 1).slice(0, length));
}

/**
 * An object whose `if` and `then` constrain its properties, as one object in
 * which the `if` holds: its mutations break what `then` adds, on values the
 * `if` picks out (a `then` mutated on its own lacks what the `if` needs, so
 * both sides would refuse it for that).
 */
function whenConditionHolds(node: SchemaNode): SchemaNode | undefined {
  if (node.properties === undefined || node.if?.properties === undefined || node.then?.properties === undefined) return undefined;
  const properties = { ...node.properties };
  for (const part of [node.if.properties, node.then.properties]) {
    for (const [key, child] of Object.entries(part)) properties[key] = properties[key] === undefined ? child : { allOf: [properties[key] as SchemaNode, child] };
  }
  return { ...node, if: undefined, then: undefined, properties };
}

/** Type, bounds and properties of `allOf` parts, for generating (the exact check applies the rest). */
function mergeShapes(parts: SchemaNode[]): SchemaNode {
  return parts.reduce<SchemaNode>((merged, part) => {
    const { not: _not, ...rest } = part;
    return { ...merged, ...rest, properties: { ...merged.properties, ...rest.properties } };
  }, {});
}

const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, '', 'x', 'x\u0000', 'x\ud800', [], {}, ['x']),
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.dictionary(fc.stringMatching(/^[a-z_]{1,8}$/), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
);

function integer(min: number, max: number): fc.Arbitrary<number> {
  const small = fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) });
  return fc.oneof(small, fc.constantFrom(min, max));
}

/** Strings of a string node; fast-check cannot invert every pattern (`\p{Cs}` for one), so those are filtered from any text. */
function text(node: SchemaNode): fc.Arbitrary<string> {
  const maxLength = Math.min(node.maxLength ?? 40, 600);
  const minLength = node.minLength ?? 0;
  if (node.pattern === undefined) return fc.string({ unit: 'binary', minLength, maxLength });
  const pattern = new RegExp(node.pattern, 'u');
  try {
    return fc.stringMatching(pattern).filter((value) => value.length >= minLength && value.length <= (node.maxLength ?? Infinity));
  } catch {
    return fc.string({ unit: 'binary', minLength, maxLength }).filter((value) => pattern.test(value));
  }
}
