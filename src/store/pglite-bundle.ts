import type { PGlite } from '@electric-sql/pglite';

/** The part of PGlite's Emscripten file system (`PGlite.Module.FS`) used here. */
interface EmscriptenFs {
  root: FsNode;
  readdir(path: string): string[];
  lookupPath(path: string): { node: FsNode };
  isDir(mode: number): boolean;
  isFile(mode: number): boolean;
  readFile(path: string): Uint8Array;
  writeFile(path: string, data: Uint8Array): void;
  chmod(path: string, mode: number): void;
  unlink(path: string): void;
}

interface FsNode {
  mode: number;
  mount: unknown;
  contents?: unknown;
}

/**
 * Bundle files the engine does not read once started: initdb's inputs and the
 * configuration samples (initdb, the build's template or the fallback in
 * `PGlite.create`, has finished by then), encoding conversions (client and
 * server are both UTF-8), replication, build tooling and ICU's data (the
 * database uses the libc provider, C.UTF-8: ICU collations such as
 * `und-x-icu` stop working). Any other file is kept: time zones, text search,
 * extension scripts, PL/pgSQL and whatever a later PGlite adds.
 */
const UNUSED_AFTER_START = new RegExp(
  [
    String.raw`^/pglite/share/postgresql/[^/]+\.(bki|sql|txt|sample)$`,
    String.raw`^/pglite/lib/postgresql/([a-z0-9_]+_and_[a-z0-9_]+|euc2004_sjis2004|libpqwalreceiver|pgoutput)\.so$`,
    String.raw`^/pglite/lib/postgresql/pgxs/`,
    String.raw`^/pglite/icu/`,
  ].join('|'),
);
/** Where the bundle unpacks. */
const BUNDLE_ROOTS = ['/home', '/pglite'];
/** A file every bundle holds (initdb's catalog script), to find the bundle's buffer by. */
const BUNDLE_MARKER = '/pglite/share/postgresql/postgres.bki';

export interface ReleasedBundle {
  releasedBytes: number;
  removed: number;
}

/**
 * PGlite unpacks PostgreSQL's share/ and lib/ files from one 6 MB bundle, and
 * its in-memory file system keeps every file as a view of that buffer, so all
 * of it stays resident for the life of the process (bench/README.md, "What
 * changed"). Once the engine has started, the files it does not read are
 * removed, the others copied into buffers of their own, and the bundle's
 * buffer detached so that it is freed. Without the bundle's marker file as a
 * view of a larger buffer, nothing is changed (`undefined`).
 */
export function releaseFsBundle(db: PGlite): ReleasedBundle | undefined {
  const fs = db.Module.FS as unknown as EmscriptenFs;
  const bundle = bufferOf(fs, BUNDLE_MARKER);
  if (bundle === undefined) return undefined;
  const released: ReleasedBundle = { releasedBytes: bundle.byteLength, removed: 0 };
  for (const file of BUNDLE_ROOTS.flatMap((root) => [...filesIn(fs, root)])) {
    if (bufferOf(fs, file) !== bundle) continue;
    if (UNUSED_AFTER_START.test(file)) {
      fs.unlink(file);
      released.removed += 1;
    } else {
      copyOut(fs, file);
    }
  }
  // PGlite's start-up closures still hold the buffer: detached, it is freed all the same.
  structuredClone(bundle, { transfer: [bundle] });
  return released;
}

/** The file's contents in a buffer of their own (read-only files, such as bin/postgres, made writable for it). */
function copyOut(fs: EmscriptenFs, file: string): void {
  const { mode } = fs.lookupPath(file).node;
  fs.chmod(file, mode | 0o200);
  fs.writeFile(file, fs.readFile(file));
  fs.chmod(file, mode);
}

/** The buffer a file's contents view, when it is a view into a larger one. */
function bufferOf(fs: EmscriptenFs, file: string): ArrayBuffer | undefined {
  let contents: unknown;
  try {
    contents = fs.lookupPath(file).node.contents;
  } catch {
    return undefined;
  }
  if (!(contents instanceof Uint8Array) || !(contents.buffer instanceof ArrayBuffer)) return undefined;
  return contents.buffer.byteLength > contents.byteLength ? contents.buffer : undefined;
}

/** Every file under `dir` on the root file system (other mounts, such as the data directory, left out). */
function* filesIn(fs: EmscriptenFs, dir: string): Generator<string> {
  for (const name of fs.readdir(dir)) {
    if (name === '.' || name === '..') continue;
    const file = `${dir}/${name}`;
    const { node } = fs.lookupPath(file);
    if (node.mount !== fs.root.mount) continue;
    if (fs.isDir(node.mode)) yield* filesIn(fs, file);
    else if (fs.isFile(node.mode)) yield file;
  }
}
