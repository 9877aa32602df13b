import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import pg from 'pg';

/** Debian's Chromium (package `chromium`). */
export const CHROMIUM_PATH = '/usr/bin/chromium';
const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export default async function globalSetup(): Promise<void> {
  ensureChromium();
  await detectPostgres();
}

/**
 * The browser test drives Debian's Chromium through playwright-core (no
 * browser download). On a machine without it, install it from Debian's
 * packages when we can (root with apt-get), else say how.
 */
function ensureChromium(): void {
  if (fs.existsSync(CHROMIUM_PATH)) return;
  const root = process.getuid?.() === 0;
  if (!root || !fs.existsSync('/usr/bin/apt-get')) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium package (apt-get install chromium) to run the browser test`);
  }
  process.stderr.write('\nInstalling Debian chromium for the browser test (apt-get install chromium)...\n');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/**
 * The PostgreSQL suite needs a server. CI (MAXCONF_REQUIRE_POSTGRES=1, set by
 * .ci/run) fails without one; elsewhere the suite is not run and we say so.
 */
async function detectPostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    process.env.MAXCONF_TEST_POSTGRES = 'available';
  } catch (error) {
    if (process.env.MAXCONF_REQUIRE_POSTGRES === '1') {
      throw new Error(`PostgreSQL is required (MAXCONF_REQUIRE_POSTGRES=1) but ${ADMIN_URL} cannot be reached: ${(error as Error).message}`);
    }
    process.env.MAXCONF_TEST_POSTGRES = 'unavailable';
    process.stderr.write(
      `\n*** The PostgreSQL suite is NOT run: ${ADMIN_URL} cannot be reached (${(error as Error).message}).\n` +
        '*** Start PostgreSQL (see DEVELOPERS.md: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)\n' +
        '*** or point TEST_POSTGRES_ADMIN_URL at a server, then run npm test again.\n\n',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
