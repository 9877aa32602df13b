/** NUL (PostgreSQL's text cannot hold it) or half of a UTF-16 surrogate pair (it has no UTF-8 form). */
const UNSTORABLE = /[\0\p{Cs}]/u;

/** Whether every store (PGlite and PostgreSQL) can hold this text as it is. */
export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}
