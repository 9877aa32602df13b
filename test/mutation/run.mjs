import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODULES } from './modules.mjs';

/**
 * `npm run mutate -- <module> [stryker options]`: StrykerJS on one module of modules.mjs
 * (test/MUTATION.md), on the Node that runs this script.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [name, ...strykerArgs] = process.argv.slice(2);
if (name === undefined || !Object.hasOwn(MODULES, name)) {
  process.stderr.write(`usage: npm run mutate -- <module> [stryker options]\nmodules: ${Object.keys(MODULES).join(', ')}\n`);
  process.exit(2);
}

const stryker = path.join(root, 'node_modules/@stryker-mutator/core/bin/stryker.js');
const run = spawnSync(process.execPath, [stryker, 'run', 'test/mutation/stryker.config.mjs', ...strykerArgs], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, MUTATE_MODULE: name },
});
process.exit(run.status ?? 1);
