/**
 * Persistent rooms (docs/contract.md §4) are those whose name starts with a persistent
 * prefix: garbage collection keeps them, new room names avoid them, and a
 * deletion by prefix reaches them only when its prefix names theirs
 * (`deletionPrefix` "test_" reaches "test_kiosk").
 */
export function isPersistent(name: string, persistentPrefixes: readonly string[], deletionPrefix = ''): boolean {
  return persistentPrefixes.some((prefix) => name.startsWith(prefix) && !deletionPrefix.startsWith(prefix));
}
