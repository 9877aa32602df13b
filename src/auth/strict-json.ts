/** A JSON document that names the same key twice in one object. */
export class DuplicateKeyError extends SyntaxError {
  constructor(readonly key: string) {
    super('duplicate object key');
    this.name = 'DuplicateKeyError';
  }
}

/**
 * Parses JSON that an attacker wrote: a document with a repeated object key is
 * refused instead of letting the last value win (jwt-validation.md §4 #30).
 */
export function parseStrictJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  const key = duplicateKey(text);
  if (key !== undefined) throw new DuplicateKeyError(key);
  return value;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * Walks text that JSON.parse accepted, tracking the keys of every open object;
 * strings are skipped with indexOf, as this runs on every request body.
 */
function duplicateKey(text: string): string | undefined {
  const open: (Set<string> | null)[] = [];
  let keys: Set<string> | null = null;
  let expectingKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (char === QUOTE) {
      const end = endOfString(text, i);
      if (expectingKey && keys !== null) {
        const key = stringAt(text, i, end);
        if (keys.has(key)) return key;
        keys.add(key);
        expectingKey = false;
      }
      i = end;
    } else if (char === OPEN_OBJECT || char === OPEN_ARRAY) {
      keys = char === OPEN_OBJECT ? new Set() : null;
      open.push(keys);
      expectingKey = keys !== null;
    } else if (char === CLOSE_OBJECT || char === CLOSE_ARRAY) {
      open.pop();
      keys = open.at(-1) ?? null;
    } else if (char === COMMA) {
      expectingKey = keys !== null;
    }
  }
  return undefined;
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
