/** NUL (PostgreSQL's text cannot hold it) or half of a UTF-16 surrogate pair (it has no UTF-8 form). */
const UNSTORABLE = /[\0\p{Cs}]/u;
const EVERY_UNSTORABLE = new RegExp(UNSTORABLE.source, 'gu');

/** Whether every store (PGlite and PostgreSQL) can hold this text as it is. */
export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

/** The text with each character no store can hold replaced by U+FFFD, for copies kept to be read, not used. */
export function storableCopy(value: string): string {
  return value.replace(EVERY_UNSTORABLE, '\uFFFD');
}
