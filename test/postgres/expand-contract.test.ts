import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EntraStandIn, mintToken } from '../stand-ins/entra.js';
import { GenesysStandIn } from '../stand-ins/genesys.js';
import { basicAuth, deployedEnvironment, SINK_PASSWORD, SINK_USER, temporaryDirectory } from '../support/gateway.js';
import { admin, createTestDatabase, describePostgres, openPostgresTestStore, type TestDatabase } from '../support/postgres.js';
import { REPO_ROOT, spawnGateway, unusedPort, waitUntil, type RunningGateway } from '../support/process.js';
import { MIGRATIONS } from '../../src/store/schema.js';

/**
 * Old and new release on one database (issue 35, item 4). During a rolling
 * deploy the previous release runs on a database this one has migrated. The
 * previous release is the commit before the one that added the latest
 * migration on the first-parent line (git log --first-parent -m -S on its
 * version in src/store/schema.ts; the current commit when that migration is not
 * committed yet); its tree is taken
 * with git archive and built with this repository's TypeScript and
 * node_modules, after checking that it declares no dependency this one does
 * not declare alike. It then serves the smoke requests alone, and beside the
 * current build, on a database the current code migrated.
 */
const git = (...args: string[]): string => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();

/** The commit of the release before the latest migration. Fails, never skips, without the history (CI clones fully). */
function previousRelease(): string {
  if (git('rev-parse', '--is-shallow-repository') === 'true') {
    throw new Error('This test needs the git history to find the release before the latest migration, and this clone is shallow: run git fetch --unshallow (CI clones the full history).');
  }
  const latest = MIGRATIONS.at(-1)!.version;
  const marker = `version: ${latest},`;
  // Releases are the first-parent line: a merge brings a branch's migration (which a branch commit's parent may predate).
  const adding = git('log', '--first-parent', '-m', '--reverse', '--format=%H', `-S${marker}`, '--', 'src/store/schema.ts').split('\n')[0];
  const previous = adding ? git('rev-parse', `${adding}^1`) : git('rev-parse', 'HEAD');
  if (git('show', `${previous}:src/store/schema.ts`).includes(marker)) throw new Error(`commit ${previous} already has migration ${latest}: the release before it was not found`);
  return previous;
}

/** Every dependency of the earlier release is declared here with the same range, so that the installed one satisfies it. */
function checkDependencies(directory: string): void {
  const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as { dependencies: Record<string, string> };
  const current = read(path.join(REPO_ROOT, 'package.json')).dependencies;
  const differing = Object.entries(read(path.join(directory, 'package.json')).dependencies).filter(([name, range]) => current[name] !== range);
  if (differing.length > 0) {
    throw new Error(`The previous release declares dependencies this one does not declare alike, so this repository's node_modules cannot run it: ${differing.map(([n, r]) => `${n}@${r}`).join(', ')}. Install its own (npm ci in its tree) here instead.`);
  }
}

function buildPrevious(commit: string): string {
  const directory = temporaryDirectory('previous-release');
  try {
    execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C "${directory}"`], { cwd: REPO_ROOT });
    checkDependencies(directory);
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(directory, 'node_modules'));
    // It shipped type-checked; only its JavaScript is needed, and the embedded store's template is not (PostgreSQL).
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--noCheck'], { cwd: directory });
    return directory;
  } catch (error) {
    fs.rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

let previous: { commit: string; directory: string } | undefined;
let database: TestDatabase;
let entra: EntraStandIn;
let genesys: GenesysStandIn;
const started: RunningGateway[] = [];

async function startGateway(directory: string): Promise<{ base: string; process: RunningGateway }> {
  // A release before the bound port was logged says only the port it was given (0 with PORT=0): give it one.
  const port = await unusedPort();
  const environment = { ...deployedEnvironment(entra, genesys), PORT: String(port), LOG_LEVEL: 'warn', DATABASE_URL: database.url, DATABASE_POOL_SIZE: '3', POOL_TARGET_SIZE: '2' };
  const process = spawnGateway(environment, path.join(directory, 'dist/main.js'), directory);
  started.push(process);
  const base = `http://127.0.0.1:${port}`;
  const ready = async () => (await fetch(`${base}/public/ready`).catch(() => undefined))?.status === 200;
  await waitUntil(async () => process.child.exitCode !== null || (await ready()), `the gateway in ${directory} ready`);
  if (process.child.exitCode !== null) throw new Error(`the gateway in ${directory} exited with ${process.child.exitCode}: ${process.stderr()}${process.stdout()}`);
  return { base, process };
}

let seq = 0;
/** Create, read, agent lookup, a single and a bulk event, readiness: the statuses, and the room created. */
async function smoke(base: string, readAlso: string[] = []): Promise<{ statuses: Record<string, number[]>; room: string }> {
  const bearer = { authorization: `Bearer ${mintToken(entra, { now: Date.now() })}` };
  const agent = { 'x-auth-token': genesys.agent('expand-agent') };
  const sink = (body: unknown) => ({ method: 'POST', headers: { ...basicAuth(SINK_USER, SINK_PASSWORD), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const event = (node: string) => ({ node, seq: (seq += 1), version: 2, time: Date.now() / 1000, event: 'participant_updated', data: { conference: 'expand' } });
  const created = await fetch(`${base}/room/create?uuiData=0102`, { method: 'POST', headers: bearer });
  const room = created.status === 200 ? ((await created.json()) as { name: string }).name : 'none';
  const rooms = [room, ...readAlso];
  const statuses = {
    create: [created.status],
    read: await Promise.all(rooms.map(async (name) => (await fetch(`${base}/room/${name}`, { headers: bearer })).status)),
    'agent lookup': await Promise.all(rooms.map(async (name) => (await fetch(`${base}/public/room/${name}`, { headers: agent })).status)),
    'single event': [(await fetch(`${base}/public/event_sink`, sink(event('10.2.0.1')))).status],
    'bulk event': [(await fetch(`${base}/public/event_sink`, sink({ ...event('10.2.0.9'), event: 'eventsink_bulk', data: [event('10.2.0.2'), event('10.2.0.3')] }))).status],
    ready: [(await fetch(`${base}/public/ready`)).status],
  };
  return { statuses, room };
}

const allOk = (rooms: number) => ({ create: [200], read: Array(rooms).fill(200), 'agent lookup': Array(rooms).fill(200), 'single event': [200], 'bulk event': [200], ready: [200] });

describePostgres('the previous release on a database the current one migrated', () => {
  beforeAll(async () => {
    const commit = previousRelease();
    previous = { commit, directory: buildPrevious(commit) };
    database = await createTestDatabase();
    await (await openPostgresTestStore(database)).close();
    entra = await new EntraStandIn().start();
    genesys = await new GenesysStandIn().start();
  }, 120_000);

  afterAll(async () => {
    for (const process of started) {
      if (process.child.exitCode === null && process.child.signalCode === null) {
        process.kill('SIGKILL');
        await process.exited;
      }
    }
    await Promise.all([entra?.stop(), genesys?.stop()]);
    await database?.drop();
    if (previous !== undefined) fs.rmSync(previous.directory, { recursive: true, force: true });
  });

  test('the previous release serves the smoke requests alone, then beside the current one, each reading the other\'s rooms', async () => {
    const versions = await admin(async (client) => (await client.query<{ version: number }>('SELECT version FROM schema_migration ORDER BY version')).rows.map((r) => r.version), database.url);
    expect(versions).toEqual(MIGRATIONS.map((m) => m.version));

    const old = await startGateway(previous!.directory);
    const alone = await smoke(old.base);
    expect(alone.statuses).toEqual(allOk(1));

    const current = await startGateway(REPO_ROOT);
    const byCurrent = await smoke(current.base, [alone.room]);
    const byOld = await smoke(old.base, [byCurrent.room]);
    expect({ byCurrent: byCurrent.statuses, byOld: byOld.statuses }).toEqual({ byCurrent: allOk(2), byOld: allOk(2) });
  }, 60_000);

  test('the current release runs on a database a later release expanded (a test-only migration)', async () => {
    const later = { version: MIGRATIONS.length + 1, name: 'a later release\'s expansion (test only)', sql: 'ALTER TABLE room_ledger ADD COLUMN later_note text; CREATE TABLE later_release (id bigserial PRIMARY KEY)' };
    await (await openPostgresTestStore(database, 1, [...MIGRATIONS, later])).close();
    const current = await startGateway(REPO_ROOT);
    expect((await smoke(current.base)).statuses).toEqual(allOk(1));
  }, 30_000);

  test('the current release refuses a database a later release contracted, saying what to do', async () => {
    await admin((client) => client.query(`INSERT INTO schema_migration (version, name, kind) VALUES (1000, 'a later release''s contraction', 'contract')`), database.url);
    const refused = spawnGateway({ ...deployedEnvironment(entra, genesys), DATABASE_URL: database.url });
    started.push(refused);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toContain('The database has migration 1000 (a later release\'s contraction) of a later release');
  }, 30_000);
});
