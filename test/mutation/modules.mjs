/**
 * The modules whose guarantees mutation testing holds to account (issue 36), each with the
 * source files StrykerJS mutates and the test files that exercise them in-process. Only
 * in-process tests can see a mutant: test/process/ and test/postgres/ run dist/main.js and are
 * never listed. Stryker runs only the listed tests that cover a mutant (coverageAnalysis perTest).
 */
export const MODULES = {
  secrets: {
    mutate: ['src/auth/secrets.ts'],
    tests: ['test/auth/constant-time.test.ts', 'test/auth/repeated-credentials.test.ts', 'test/events/sink.test.ts'],
  },
  'failure-limiter': {
    mutate: ['src/auth/failure-limiter.ts', 'src/auth/fixed-windows.ts'],
    tests: [
      'test/auth/concurrent-failures.test.ts',
      'test/auth/client-address.test.ts',
      'test/auth/signing-keys-outage.test.ts',
      'test/auth/repeated-credentials.test.ts',
      'test/events/sink.test.ts',
      'test/public/agent-room.test.ts',
    ],
  },
  auth: {
    mutate: ['src/auth/**/*.ts'],
    tests: ['test/auth/*.test.ts', 'test/events/sink.test.ts', 'test/public/agent-room.test.ts', 'test/upstream-answers.test.ts', 'test/config.test.ts'],
  },
  events: {
    mutate: ['src/events/**/*.ts'],
    tests: ['test/events/*.test.ts', 'test/rooms/retirement/*.test.ts', 'test/openapi-constraints.test.ts'],
  },
  pool: {
    mutate: ['src/rooms/pool.ts'],
    tests: ['test/rooms/pool.test.ts', 'test/rooms/routes.test.ts', 'test/rooms/deadlines.test.ts', 'test/rooms/ledger.test.ts'],
  },
  retirement: {
    mutate: ['src/rooms/retirement/**/*.ts'],
    tests: ['test/rooms/retirement/*.test.ts', 'test/events/sink.test.ts', 'test/rooms/deadlines.test.ts', 'test/rooms/routes.test.ts'],
  },
  ledger: {
    mutate: ['src/rooms/ledger.ts'],
    tests: ['test/rooms/ledger.test.ts', 'test/rooms/pool.test.ts', 'test/rooms/routes.test.ts'],
  },
};
