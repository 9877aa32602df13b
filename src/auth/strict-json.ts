/**
 * Parses JSON that an attacker wrote: a document with a repeated object key is
 * refused instead of letting the last value win (jwt-validation.md §4 #30).
 */
export function parseStrictJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (hasDuplicateKeys(text)) throw new SyntaxError('duplicate object key');
  return value;
}

/** Walks text that JSON.parse accepted, tracking the keys of every open object. */
function hasDuplicateKeys(text: string): boolean {
  const open: (Set<string> | null)[] = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (char === '"') {
      const end = endOfString(text, i);
      const keys = open.at(-1);
      if (expectingKey && keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return true;
        keys.add(key);
        expectingKey = false;
      }
      i = end;
    } else if (char === '{') {
      open.push(new Set());
      expectingKey = true;
    } else if (char === '[') {
      open.push(null);
    } else if (char === '}' || char === ']') {
      open.pop();
    } else if (char === ',') {
      expectingKey = open.at(-1) instanceof Set;
    }
  }
  return false;
}

function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i;
}
