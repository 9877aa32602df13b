import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** Debian's Chromium (package `chromium`). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * The browser test drives Debian's Chromium through playwright-core (no
 * browser download). On a machine without it, install it from Debian's
 * packages when we can (root with apt-get), else say how.
 */
export default function globalSetup(): void {
  if (fs.existsSync(CHROMIUM_PATH)) return;
  const root = process.getuid?.() === 0;
  if (!root || !fs.existsSync('/usr/bin/apt-get')) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium package (apt-get install chromium) to run the browser test`);
  }
  process.stderr.write('\nInstalling Debian chromium for the browser test (apt-get install chromium)...\n');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
