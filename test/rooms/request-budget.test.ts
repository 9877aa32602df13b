import { type BudgetLimits, InProcessBudget, PostgresBudget, type RequestBudget } from '../../src/rooms/providers/request-budget.js';
import type { Store } from '../../src/store/store.js';
import { TestClock } from '../support/clock.js';
import { useSharedStore } from '../support/gateway.js';

/**
 * Both budgets, one contract: the in-process one (embedded store) and the
 * one replicas share in the database (here on the test store: PGlite, or
 * PostgreSQL under `npm run test:postgres`). The three-replica test in
 * test/postgres/ proves the shared one across processes.
 */
const shared = useSharedStore();
let clock: TestClock;
let sleeps: number[];
const sleep = (ms: number) => {
  sleeps.push(ms);
  clock.advance(ms);
  return Promise.resolve();
};

beforeEach(() => {
  clock = new TestClock();
  sleeps = [];
});

const kinds: [string, (limits: BudgetLimits, store: Store) => RequestBudget][] = [
  ['in-process', (limits) => new InProcessBudget(limits, clock, sleep)],
  ['in the database', (limits, store) => new PostgresBudget(store, limits, clock, sleep)],
];

describe.each(kinds)('the request budget %s', (_name, budgetOf) => {
  test('no window holds more requests than the budget; a request waits exactly until the oldest leaves the window', async () => {
    const budget = budgetOf({ perWindow: 4, windowMs: 60_000 }, shared.store);
    for (let i = 0; i < 4; i += 1) {
      expect(await budget.take('interactive', 0)).toBe(true);
      clock.advance(10_000);
    }
    expect(await budget.take('interactive', 0)).toBe(false);
    expect(await budget.take('interactive', 19_999)).toBe(false);
    expect(await budget.take('interactive', 60_000)).toBe(true);
    expect(sleeps).toEqual([20_000]);
    expect(await budget.take('interactive', 0)).toBe(false);
  });

  test('background work leaves the last 5 % of the window to interactive requests', async () => {
    const budget = budgetOf({ perWindow: 40, windowMs: 60_000 }, shared.store);
    for (let i = 0; i < 38; i += 1) expect(await budget.take('background', 0)).toBe(true);
    expect(await budget.take('background', 0)).toBe(false);
    expect(await budget.take('interactive', 0)).toBe(true);
    expect(await budget.take('interactive', 0)).toBe(true);
    expect(await budget.take('interactive', 0)).toBe(false);
  });

  test('agent lookups may use a tenth of the window, and no more however idle the rest is', async () => {
    const budget = budgetOf({ perWindow: 40, windowMs: 60_000 }, shared.store);
    for (let i = 0; i < 4; i += 1) expect(await budget.take('agent', 0)).toBe(true);
    expect(await budget.take('agent', 0)).toBe(false);
    expect(await budget.take('interactive', 0)).toBe(true);
  });

  test("IDIM's and background requests take the agents' tenth last: a window they half fill leaves agents their share", async () => {
    const budget = budgetOf({ perWindow: 40, windowMs: 60_000 }, shared.store);
    for (let i = 0; i < 10; i += 1) expect(await budget.take('interactive', 0)).toBe(true);
    for (let i = 0; i < 10; i += 1) expect(await budget.take('background', 0)).toBe(true);
    for (let i = 0; i < 4; i += 1) expect(await budget.take('agent', 0)).toBe(true);
  });
});
