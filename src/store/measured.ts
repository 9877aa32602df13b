import { type Queryable, type Store, StoreUnavailableError } from './store.js';

/** How a store operation ended: `unavailable` is the store's outage (503), `error` any other failure (a constraint, a bug). */
export type StoreOutcome = 'ok' | 'unavailable' | 'error';

export type StoreObserver = (operation: 'query' | 'transaction', outcome: StoreOutcome, seconds: number) => void;

/** The store, with each statement and each transaction outside a transaction timed and its outcome reported. */
export function measuredStore(store: Store, observe: StoreObserver): Store {
  const measure = async <T>(operation: 'query' | 'transaction', run: () => Promise<T>): Promise<T> => {
    const startedAt = performance.now();
    try {
      const result = await run();
      observe(operation, 'ok', (performance.now() - startedAt) / 1000);
      return result;
    } catch (error) {
      observe(operation, error instanceof StoreUnavailableError ? 'unavailable' : 'error', (performance.now() - startedAt) / 1000);
      throw error;
    }
  };
  return {
    kind: store.kind,
    query: <Row>(sql: string, params?: readonly unknown[]) => measure('query', () => store.query<Row>(sql, params)),
    transaction: <T>(work: (tx: Queryable) => Promise<T>) => measure('transaction', () => store.transaction(work)),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
