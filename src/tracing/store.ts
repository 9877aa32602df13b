import { context, SpanKind, trace } from '@opentelemetry/api';
import { ATTR_DB_OPERATION_NAME, ATTR_DB_QUERY_TEXT, ATTR_DB_SYSTEM_NAME } from './attributes.js';
import type { Queryable, QueryResult, Store } from '../store/store.js';
import { inChildSpan, type Tracing } from './tracing.js';

/**
 * A store whose statements and transactions are spans, children of the
 * request (or upstream call) they serve. The statement text is recorded: its
 * values are always `$n` parameters, which are not. Work outside any trace
 * (the periodic pool and queue polls) is not spanned, so that it does not
 * make a trace of every poll. Without tracing, the store itself.
 */
export function tracedStore(store: Store, tracing: Tracing | undefined): Store {
  if (tracing === undefined) return store;
  const statement = <Row>(queryable: Queryable, sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> => {
    if (!inTrace()) return queryable.query<Row>(sql, params);
    const operation = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'QUERY';
    return inChildSpan(tracing, operation, SpanKind.CLIENT, { [ATTR_DB_SYSTEM_NAME]: 'postgresql', [ATTR_DB_OPERATION_NAME]: operation, [ATTR_DB_QUERY_TEXT]: sql }, () => queryable.query<Row>(sql, params));
  };
  return {
    kind: store.kind,
    query: (sql, params) => statement(store, sql, params),
    transaction: (work) => {
      const inTransaction = (tx: Queryable) => work({ query: (sql, params) => statement(tx, sql, params) });
      if (!inTrace()) return store.transaction(work);
      return inChildSpan(tracing, 'transaction', SpanKind.CLIENT, { [ATTR_DB_SYSTEM_NAME]: 'postgresql' }, () => store.transaction(inTransaction));
    },
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

function inTrace(): boolean {
  return trace.getSpan(context.active()) !== undefined;
}
