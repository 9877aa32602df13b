import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { releaseFsBundle } from '../../src/store/pglite-bundle.js';
import { openEmbeddedStore, templateDir } from '../../src/store/embedded.js';
import type { Store } from '../../src/store/store.js';

/** The build's data-directory template for the installed PGlite (initdb in this process without it). */
function template(): string | undefined {
  const dir = templateDir();
  return fs.existsSync(path.join(dir, 'PG_VERSION')) ? dir : undefined;
}

function freshDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maxconf-bundle-'));
  const from = template();
  if (from !== undefined) fs.cpSync(from, path.join(dir, 'pgdata'), { recursive: true });
  return dir;
}

interface FsNode {
  mode: number;
  mount: unknown;
  contents?: Uint8Array;
}
interface Fs {
  root: FsNode;
  readdir(dir: string): string[];
  lookupPath(file: string): { node: FsNode };
  analyzePath(file: string): { exists: boolean };
  isDir(mode: number): boolean;
}

/** Every file of PGlite's in-memory file system under `dir`, with its contents (the data directory's mount left out). */
function memoryFiles(files: Fs, dir: string): Map<string, Uint8Array | undefined> {
  const found = new Map<string, Uint8Array | undefined>();
  for (const name of files.readdir(dir)) {
    if (name === '.' || name === '..') continue;
    const file = `${dir}/${name}`;
    const { node } = files.lookupPath(file);
    if (node.mount !== files.root.mount) continue;
    if (files.isDir(node.mode)) for (const [inner, contents] of memoryFiles(files, file)) found.set(inner, contents);
    else found.set(file, node.contents);
  }
  return found;
}

const fsOf = (db: PGlite) => db.Module.FS as unknown as Fs;
const allFiles = (db: PGlite) => new Map([...memoryFiles(fsOf(db), '/home'), ...memoryFiles(fsOf(db), '/pglite')]);

describe("PGlite's file-system bundle, released once the engine has started", () => {
  let dir: string;
  let db: PGlite | undefined;
  let store: Store | undefined;

  beforeEach(() => {
    dir = freshDataDir();
  });

  afterEach(async () => {
    try {
      await db?.close();
    } finally {
      await store?.close();
      db = undefined;
      store = undefined;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('initdb inputs and unused libraries are removed, and no remaining file reads from the freed buffer', async () => {
    db = await PGlite.create(path.join(dir, 'pgdata'));
    const before = allFiles(db);
    const bundle = before.get('/pglite/share/postgresql/postgres.bki')?.buffer;
    // Copies: the views themselves read from the bundle, which the release detaches.
    const bytesBefore = new Map([...before].map(([file, contents]) => [file, contents === undefined ? undefined : Buffer.from(contents)]));

    const released = releaseFsBundle(db);

    expect(released?.releasedBytes).toBeGreaterThan(4_000_000);
    expect(bundle?.byteLength).toBe(0);
    const after = allFiles(db);
    for (const gone of ['/pglite/share/postgresql/postgres.bki', '/pglite/share/postgresql/information_schema.sql', '/pglite/lib/postgresql/utf8_and_gb18030.so', '/pglite/lib/postgresql/pgxs/src/Makefile.global', '/pglite/icu/icudt76l/coll/ucadata.icu']) {
      expect({ gone, exists: after.has(gone) }).toEqual({ gone, exists: false });
    }
    expect(released?.removed).toBe(before.size - after.size);
    for (const [file, contents] of after) {
      const was = bytesBefore.get(file);
      expect({ file, bytes: contents?.byteLength, same: contents === undefined || was === undefined || Buffer.from(contents).equals(was) }).toEqual({ file, bytes: was?.byteLength, same: true });
    }
    expect(fsOf(db).lookupPath('/pglite/bin/postgres').node.mode & 0o777).toBe(0o555);
  });

  test('the engine still reads time zones, runs PL/pgSQL and text search afterwards', async () => {
    db = await PGlite.create(path.join(dir, 'pgdata'));
    releaseFsBundle(db);

    await db.query("SET TIME ZONE 'Asia/Tokyo'");
    expect((await db.query("SELECT to_char(timestamptz '2026-01-01 00:00:00+00', 'TZH') AS offset")).rows).toEqual([{ offset: '+09' }]);
    await db.exec('CREATE FUNCTION twice(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN n * 2; END $$');
    expect((await db.query('SELECT twice(21)')).rows).toEqual([{ twice: 42 }]);
    expect((await db.query("SELECT to_tsvector('verifying identities') AS words")).rows).toEqual([{ words: "'ident':2 'verifi':1" }]);
  });

  test('the data directory is left alone: a row written before the release is read back after a restart', async () => {
    db = await PGlite.create(path.join(dir, 'pgdata'));
    await db.exec("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('before')");
    releaseFsBundle(db);
    await db.exec("INSERT INTO kept VALUES ('after')");
    await db.close();

    db = await PGlite.create(path.join(dir, 'pgdata'));
    expect((await db.query('SELECT note FROM kept ORDER BY note')).rows).toEqual([{ note: 'after' }, { note: 'before' }]);
  });

  test('a second release finds no bundle and leaves the file system as it is', async () => {
    db = await PGlite.create(path.join(dir, 'pgdata'));
    releaseFsBundle(db);
    const once = [...allFiles(db).keys()];

    expect(releaseFsBundle(db)).toBeUndefined();
    expect([...allFiles(db).keys()]).toEqual(once);
  });

  test("the embedded store opens with the bundle released and one session's shared memory", async () => {
    store = await openEmbeddedStore(dir);
    const engine = (store as unknown as { db: PGlite }).db;
    expect(fsOf(engine).analyzePath('/pglite/share/postgresql/postgres.bki').exists).toBe(false);
    expect((await store.query('SHOW max_connections')).rows).toEqual([{ max_connections: '1' }]);
  });
});
