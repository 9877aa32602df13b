import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import type { Store } from '../../src/store/store.js';

describe('the embedded store (PGlite as it ships, nothing of it edited)', () => {
  let dir: string;
  let store: Store | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maxconf-embedded-'));
  });

  afterEach(async () => {
    await store?.close();
    store = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("opens with one session's shared memory", async () => {
    store = await openEmbeddedStore(dir);
    expect((await store.query('SHOW max_connections')).rows).toEqual([{ max_connections: '1' }]);
    expect((await store.query('SHOW shared_buffers')).rows).toEqual([{ shared_buffers: '4MB' }]);
  });

  test('every part of PostgreSQL it ships works: ICU collations, time zones, PL/pgSQL, text search', async () => {
    store = await openEmbeddedStore(dir);
    expect((await store.query(`SELECT 'b' < 'B' COLLATE "und-x-icu" AS lower_first`)).rows).toEqual([{ lower_first: true }]);
    await store.query("SET TIME ZONE 'Asia/Tokyo'");
    expect((await store.query("SELECT to_char(timestamptz '2026-01-01 00:00:00+00', 'TZH') AS offset")).rows).toEqual([{ offset: '+09' }]);
    await store.query('CREATE FUNCTION twice(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN n * 2; END $$');
    expect((await store.query('SELECT twice(21)')).rows).toEqual([{ twice: 42 }]);
    expect((await store.query("SELECT to_tsvector('verifying identities') AS words")).rows).toEqual([{ words: "'ident':2 'verifi':1" }]);
  });
});
