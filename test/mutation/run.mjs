import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODULES } from './modules.mjs';

/**
 * `npm run mutate -- <module> [stryker options]`: StrykerJS on one module of modules.mjs
 * (test/MUTATION.md). Stryker 10 needs Node.js 22 or later; on an older Node this runs it on
 * Node 24 from .ci/node24, as CI runs the suite.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [name, ...strykerArgs] = process.argv.slice(2);
if (name === undefined || !Object.hasOwn(MODULES, name)) {
  process.stderr.write(`usage: npm run mutate -- <module> [stryker options]\nmodules: ${Object.keys(MODULES).join(', ')}\n`);
  process.exit(2);
}

const major = Number(process.versions.node.split('.')[0]);
const node = major >= 22 ? process.execPath : path.join(execFileSync(path.join(root, '.ci/node24'), { encoding: 'utf8' }).trim(), 'node');
const stryker = path.join(root, 'node_modules/@stryker-mutator/core/bin/stryker.js');
const run = spawnSync(node, [stryker, 'run', 'test/mutation/stryker.config.mjs', ...strykerArgs], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, MUTATE_MODULE: name },
});
process.exit(run.status ?? 1);
