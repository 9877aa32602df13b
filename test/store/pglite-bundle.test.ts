import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { releaseFsBundle } from '../../src/store/pglite-bundle.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import type { Store } from '../../src/store/store.js';
import { REPO_ROOT } from '../support/process.js';

/** The data-directory template `npm run build` prepares (initdb in this process without it). */
function template(): string | undefined {
  const dist = path.join(REPO_ROOT, 'dist');
  const name = fs.existsSync(dist) ? fs.readdirSync(dist).find((entry) => entry.startsWith('pglite-template-')) : undefined;
  return name === undefined ? undefined : path.join(dist, name);
}

function freshDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maxconf-bundle-'));
  const from = template();
  if (from !== undefined) fs.cpSync(from, path.join(dir, 'pgdata'), { recursive: true });
  return dir;
}

type Fs = { lookupPath(file: string): { node: { contents?: Uint8Array } }; analyzePath(file: string): { exists: boolean } };

describe("PGlite's file-system bundle, released once the engine has started", () => {
  let dir: string;
  let db: PGlite | undefined;
  let store: Store | undefined;

  beforeEach(() => {
    dir = freshDataDir();
  });

  afterEach(async () => {
    await db?.close();
    await store?.close();
    db = undefined;
    store = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('initdb inputs and unused libraries are removed, the files the engine may still read kept in buffers of their own', async () => {
    db = await PGlite.create(path.join(dir, 'pgdata'));
    const files = db.Module.FS as unknown as Fs;
    const utc = files.lookupPath('/pglite/share/postgresql/timezone/UTC').node.contents as Uint8Array;
    const bundle = utc.buffer;
    const utcBefore = Buffer.from(utc).toString('hex');

    const released = releaseFsBundle(db);

    expect(released).toEqual({ releasedBytes: expect.any(Number), kept: expect.any(Number), removed: expect.any(Number) });
    expect(released?.releasedBytes).toBeGreaterThan(4_000_000);
    expect(bundle.byteLength).toBe(0);
    for (const gone of ['/pglite/share/postgresql/postgres.bki', '/pglite/share/postgresql/information_schema.sql', '/pglite/lib/postgresql/utf8_and_gb18030.so', '/pglite/lib/postgresql/pgxs/src/Makefile.global', '/pglite/icu/icudt76l/coll/ucadata.icu']) {
      expect({ gone, exists: files.analyzePath(gone).exists }).toEqual({ gone, exists: false });
    }
    const utcAfter = files.lookupPath('/pglite/share/postgresql/timezone/UTC').node.contents as Uint8Array;
    expect(Buffer.from(utcAfter).toString('hex')).toBe(utcBefore);
    expect(utcAfter.buffer.byteLength).toBe(utcAfter.byteLength);
    expect(files.lookupPath('/pglite/bin/postgres').node.contents?.byteLength).toBeGreaterThan(0);
  });

  test('the engine still reads time zones and runs PL/pgSQL afterwards', async () => {
    db = await PGlite.create(path.join(dir, 'pgdata'));
    releaseFsBundle(db);

    await db.query("SET TIME ZONE 'Asia/Tokyo'");
    const { rows } = await db.query<{ offset: string }>("SELECT to_char(timestamptz '2026-01-01 00:00:00+00', 'TZH') AS offset");
    expect(rows).toEqual([{ offset: '+09' }]);
    await db.exec('CREATE FUNCTION twice(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN n * 2; END $$');
    expect((await db.query<{ twice: number }>('SELECT twice(21)')).rows).toEqual([{ twice: 42 }]);
  });

  test('a second release finds no bundle and changes nothing', async () => {
    db = await PGlite.create(path.join(dir, 'pgdata'));
    releaseFsBundle(db);
    expect(releaseFsBundle(db)).toBeUndefined();
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  test("the embedded store opens with the bundle released and one session's shared memory", async () => {
    store = await openEmbeddedStore(dir);
    expect((await store.query('SHOW max_connections')).rows).toEqual([{ max_connections: '1' }]);
    await store.query("SET TIME ZONE 'Europe/Paris'");
    expect((await store.query("SELECT to_char(timestamptz '2026-07-01 00:00:00+00', 'TZH') AS offset")).rows).toEqual([{ offset: '+02' }]);
  });
});
