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
 * Bundle files the engine may read once started: time-zone names and
 * abbreviations (`SET TIME ZONE`), text-search data, extension scripts, PL/pgSQL.
 */
const READ_AFTER_START = /^\/pglite\/share\/postgresql\/(timezone|timezonesets|tsearch_data|extension)\/|^\/pglite\/lib\/postgresql\/plpgsql\.so$/;
/**
 * The rest of share/, lib/ and icu/: initdb's inputs (a data directory here is a
 * copy of the build's template), encoding conversions (client and server are
 * both UTF-8), ICU data (the database's collation is C), replication and build tooling.
 */
const UNUSED_AFTER_START = /^\/pglite\/(share|lib|icu)\//;
/** Where the bundle unpacks. */
const BUNDLE_ROOTS = ['/home', '/pglite'];
/** A file every bundle holds (initdb's catalog script), to find the bundle's buffer by. */
const BUNDLE_MARKER = '/pglite/share/postgresql/postgres.bki';

export interface ReleasedBundle {
  releasedBytes: number;
  kept: number;
  removed: number;
}

/**
 * PGlite unpacks PostgreSQL's share/ and lib/ files from one 6 MB bundle, and
 * its in-memory file system keeps every file as a view of that buffer, so all
 * of it stays resident for the life of the process (bench/README.md, goal 1).
 * Once the engine has started, the files it may still read are copied out, the
 * others removed, and the buffer detached so that it is freed. Anything other
 * than the layout of PGlite 0.5 leaves the file system as it is (`undefined`).
 */
export function releaseFsBundle(db: PGlite): ReleasedBundle | undefined {
  const fs = db.Module.FS as unknown as EmscriptenFs;
  const bundle = bufferOf(fs, BUNDLE_MARKER);
  if (bundle === undefined) return undefined;
  const released: ReleasedBundle = { releasedBytes: bundle.byteLength, kept: 0, removed: 0 };
  for (const file of BUNDLE_ROOTS.flatMap((root) => [...filesIn(fs, root, fs.root.mount)])) {
    if (bufferOf(fs, file) !== bundle) continue;
    if (UNUSED_AFTER_START.test(file) && !READ_AFTER_START.test(file)) {
      fs.unlink(file);
      released.removed += 1;
    } else {
      copyOut(fs, file);
      released.kept += 1;
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
function* filesIn(fs: EmscriptenFs, dir: string, rootMount: unknown): Generator<string> {
  for (const name of fs.readdir(dir)) {
    if (name === '.' || name === '..') continue;
    const file = `${dir}/${name}`;
    const { node } = fs.lookupPath(file);
    if (node.mount !== rootMount) continue;
    if (fs.isDir(node.mode)) yield* filesIn(fs, file, rootMount);
    else if (fs.isFile(node.mode)) yield file;
  }
}
