import { openEmbeddedStore } from '../../src/store/embedded.js';
import { migrate, type Migration, MIGRATIONS, SchemaAheadError, splitStatements } from '../../src/store/schema.js';

/**
 * Migrations only add while the previous release may still run (issue 35, item 4; DEVELOPERS.md, "Migrations"):
 * every migration not marked `contract` is made of statements the release before it keeps working beside.
 * test/postgres/expand-contract.test.ts runs that release on the migrated database.
 */
const EXPAND_STATEMENTS: readonly RegExp[] = [
  /^CREATE TABLE (IF NOT EXISTS )?\w+ \(/i,
  /^CREATE INDEX (IF NOT EXISTS )?\w+ ON \w+/i,
  /^CREATE SEQUENCE (IF NOT EXISTS )?\w+$/i,
  // Filling new tables and correcting data keep the shape the earlier release reads and writes.
  /^INSERT INTO \w+ /i,
  /^UPDATE \w+ SET /i,
];

/** Why a statement is not an expand one, or undefined when it is. */
function notExpand(statement: string): string | undefined {
  const sql = statement.replace(/--.*$/gm, '').replace(/\s+/g, ' ').trim();
  const column = /^ALTER TABLE (IF EXISTS )?\w+ ADD (COLUMN )?(IF NOT EXISTS )?\w+ (.*)$/i.exec(sql);
  if (column !== null) {
    const definition = column[4]!;
    if (/\bNOT NULL\b/i.test(definition) && !/\bDEFAULT\b/i.test(definition)) return 'a NOT NULL column without a DEFAULT refuses the earlier release\'s inserts';
    if (/\b(UNIQUE|PRIMARY KEY|REFERENCES|CHECK)\b/i.test(definition)) return 'a constraint on a new column can refuse the earlier release\'s writes';
    return undefined;
  }
  if (EXPAND_STATEMENTS.some((form) => form.test(sql))) return undefined;
  return 'not among the statements that only add (drops, renames, type changes, new constraints and deletions come in a contract migration of a later release)';
}

function violations(migrations: readonly Migration[]): string[] {
  return migrations
    .filter((migration) => (migration.kind ?? 'expand') === 'expand')
    .flatMap((migration) => splitStatements(migration.sql).flatMap((statement) => {
      const why = notExpand(statement);
      return why === undefined ? [] : [`migration ${migration.version}: ${statement.replace(/\s+/g, ' ').slice(0, 80)}: ${why}`];
    }));
}

test('migrations are appended: versions run 1, 2, 3 … in order', () => {
  expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
});

test('every expand migration only adds', () => {
  expect(violations(MIGRATIONS)).toEqual([]);
});

test('the check refuses what would break the previous release, and accepts what does not', () => {
  const expand = (sql: string): Migration => ({ version: 1, name: 'probe', sql });
  for (const sql of [
    'ALTER TABLE room_ledger DROP COLUMN handed_out_to',
    'DROP TABLE bulk_job',
    'ALTER TABLE room_pool RENAME COLUMN conference TO document',
    'ALTER TABLE room_pool ALTER COLUMN ready_at TYPE text',
    'ALTER TABLE room_pool ALTER COLUMN lease_token SET NOT NULL',
    'ALTER TABLE room_pool ADD COLUMN owner text NOT NULL',
    'ALTER TABLE room_pool ADD CONSTRAINT one_owner UNIQUE (bulk_job_id)',
    'CREATE UNIQUE INDEX room_pool_job ON room_pool (bulk_job_id)',
    'DELETE FROM event_seen',
    'TRUNCATE event_seen',
  ]) {
    expect(violations([expand(sql)])).toHaveLength(1);
  }
  expect(violations([expand('ALTER TABLE room_pool ADD COLUMN owner text'), expand("ALTER TABLE room_pool ADD COLUMN kind text NOT NULL DEFAULT 'pool'")])).toEqual([]);
  expect(violations([{ ...expand('ALTER TABLE room_ledger DROP COLUMN handed_out_to'), kind: 'contract' }])).toEqual([]);
});

describe('a database a later release migrated further', () => {
  const later = (kind: 'expand' | 'contract'): Migration => ({ version: MIGRATIONS.length + 1, name: `a later ${kind}`, kind, sql: 'CREATE TABLE later_release (id integer)' });

  test('this release runs on it while the later migrations expand', async () => {
    const store = await openEmbeddedStore(undefined);
    try {
      await migrate(store, [...MIGRATIONS, later('expand')]);
      expect(await migrate(store)).toEqual({ applied: [], ahead: [MIGRATIONS.length + 1] });
    } finally {
      await store.close();
    }
  });

  test('this release refuses it once a later migration contracts', async () => {
    const store = await openEmbeddedStore(undefined);
    try {
      await migrate(store, [...MIGRATIONS, later('contract')]);
      await expect(migrate(store)).rejects.toThrow(SchemaAheadError);
    } finally {
      await store.close();
    }
  });

  test('a database an earlier release created, without the kind column, takes its migrations as expand ones', async () => {
    const store = await openEmbeddedStore(undefined);
    try {
      await store.query('CREATE TABLE schema_migration (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      await store.query(`INSERT INTO schema_migration (version, name) VALUES (${MIGRATIONS.length + 1}, 'from a later release before the kind')`);
      expect((await migrate(store)).ahead).toEqual([MIGRATIONS.length + 1]);
    } finally {
      await store.close();
    }
  });
});
