/** Where a key is, from the document's root (object keys and array positions), ending with the key. */
export type JsonPath = (string | number)[];

/** A JSON document that names the same key twice in one object. */
export class DuplicateKeyError extends SyntaxError {
  /** `path`: where the first repeated key is. */
  constructor(readonly path: JsonPath) {
    super('duplicate object key');
    this.name = 'DuplicateKeyError';
  }
}

/**
 * Parses JSON that an attacker wrote: a document with a repeated object key is
 * refused instead of letting the last value win (docs/jwt-validation.md §4 #30).
 */
export function parseStrictJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  const [path] = duplicateKeys(text, { depth: 0, limit: 1 });
  if (path !== undefined) throw new DuplicateKeyError(path);
  return value;
}

/** Which repeated keys a reader needs to know of. */
export interface DuplicateKeysWanted {
  /** One repeat per value this many levels below the root (2: per item of a top-level field's list), the first in it. */
  depth: number;
  /** At most this many: the walk ends at the last. */
  limit: number;
}

/**
 * Parses JSON whose repeated keys its reader judges part by part (as a bulk
 * envelope's events are): the value, as JSON.parse reads it, and where keys
 * repeat, in document order.
 */
export function parseJsonReportingDuplicates(text: string, wanted: DuplicateKeysWanted): { value: unknown; duplicates: JsonPath[] } {
  const value: unknown = JSON.parse(text);
  return { value, duplicates: duplicateKeys(text, wanted) };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * An open object (its keys so far, and the one whose value is being read) or array (the position
 * being read). What has been reported in it (see DuplicateKeysWanted.depth): `reported`, a repeat
 * anywhere in it, when it is a part; `reportedKeys`, the keys repeated in it, when it is shallower.
 */
type Container = ({ keys: Set<string>; key: string } | { keys: null; index: number }) & { reported?: true; reportedKeys?: Set<string> };

/**
 * Walks text that JSON.parse accepted, tracking the keys of every open object
 * and the position in every open array; strings are skipped with indexOf, as
 * this runs on every request body.
 */
function duplicateKeys(text: string, { depth, limit }: DuplicateKeysWanted): JsonPath[] {
  const paths: JsonPath[] = [];
  const open: Container[] = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (char === QUOTE) {
      const end = endOfString(text, i);
      const top = open.at(-1);
      if (expectingKey && top?.keys) {
        const key = stringAt(text, i, end);
        if (!top.keys.has(key)) top.keys.add(key);
        else if (firstInItsPart(open, key, depth)) {
          paths.push([...open.slice(0, -1).map(position), key]);
          if (paths.length === limit) return paths;
        }
        top.key = key;
        expectingKey = false;
      }
      i = end;
    } else if (char === OPEN_OBJECT) {
      open.push({ keys: new Set(), key: '' });
      expectingKey = true;
    } else if (char === OPEN_ARRAY) {
      open.push({ keys: null, index: 0 });
      expectingKey = false;
    } else if (char === CLOSE_OBJECT || char === CLOSE_ARRAY) {
      open.pop();
    } else if (char === COMMA) {
      const top = open.at(-1);
      if (top?.keys === null) top.index += 1;
      expectingKey = top?.keys != null;
    }
  }
  return paths;
}

/**
 * Marks the part a repeat of `key` is in: the value `depth` levels below the root when the
 * repeat is that deep, else the key in its shallower object. Constant time, so that a body of
 * many repeats stays linear however deep they are or however long the keys around them.
 */
function firstInItsPart(open: Container[], key: string, depth: number): boolean {
  const part = open[depth];
  if (part !== undefined) {
    if (part.reported) return false;
    part.reported = true;
    return true;
  }
  const keys = ((open.at(-1) as Container).reportedKeys ??= new Set());
  if (keys.has(key)) return false;
  keys.add(key);
  return true;
}

function position(container: Container): string | number {
  return container.keys === null ? container.index : container.key;
}

function endOfString(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  while (isEscaped(text, end)) end = text.indexOf('"', end + 1);
  return end;
}

/** A quote is escaped when an odd number of backslashes precede it. */
function isEscaped(text: string, quote: number): boolean {
  let backslashes = 0;
  while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes += 1;
  return backslashes % 2 === 1;
}

function stringAt(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end);
  return raw.includes('\\') ? (JSON.parse(text.slice(start, end + 1)) as string) : raw;
}
