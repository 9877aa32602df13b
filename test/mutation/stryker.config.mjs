import { MODULES } from './modules.mjs';

/**
 * StrykerJS for one module of modules.mjs, named by MUTATE_MODULE (test/mutation/run.mjs sets it).
 * Jest runs as `npm test` runs it (native ESM, ts-jest), restricted to the module's test files and
 * without the global set-up: mutants run in-process against PGlite and need neither Chromium nor
 * PostgreSQL, and the set-up would run again for every mutant.
 */
const name = process.env.MUTATE_MODULE ?? '';
const module = MODULES[name];
if (module === undefined) throw new Error(`MUTATE_MODULE must name one of ${Object.keys(MODULES).join(', ')}; run npm run mutate -- <module>`);

export default {
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules', '--disable-warning=ExperimentalWarning'],
  jest: {
    configFile: 'jest.config.js',
    config: { globalSetup: null, testMatch: module.tests.map((file) => `**/${file}`) },
    // Jest's --findRelatedTests sees only the imports of files under its roots (test/), so it misses
    // every test reaching src/ through another src/ file; the module's list and per-test coverage select.
    enableFindRelatedTests: false,
  },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  mutate: module.mutate,
  coverageAnalysis: 'perTest',
  // The machine is shared: one test runner (and one checker) at a time.
  concurrency: 1,
  dryRunTimeoutMinutes: 30,
  ignorePatterns: ['/dist', '/dist-bench', '/data', '/coverage'],
  tempDirName: '.stryker-tmp',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  thresholds: { high: 85, low: 85, break: null },
};
