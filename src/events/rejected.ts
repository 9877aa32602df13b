import { type Clock, iso } from '../clock.js';
import { isSecretKey } from '../logger.js';
import { storableCopy } from '../store/storable.js';
import type { Queryable, Store } from '../store/store.js';
import type { RejectedEvent } from './envelope.js';

/** Rejected events kept at most (the newest); the sink's prune loop removes the others. */
const MAX_KEPT_REJECTED = 1000;
/** A kept copy holds about this many characters of the event (keys and text), then marks the rest omitted. */
const MAX_KEPT_CHARACTERS = 8192;
/** Deeper values are marked omitted (PostgreSQL refuses very deep jsonb, and nothing readable is that deep). */
const MAX_KEPT_DEPTH = 16;
const MAX_DETAIL_LENGTH = 2000;
const MAX_NODE_LENGTH = 255;
const OMITTED = '…';
/** PINs (pin, guest_pin, host_pin, …) under any spelling, besides the names logs redact. */
const PIN_LIKE = /pin/i;

/**
 * Events the sink acknowledged without processing them, kept (bounded, without
 * their PINs and other secrets) so that operators can see what a node sent and
 * why it could not be used.
 */
export class RejectedEvents {
  constructor(private readonly store: Store, private readonly clock: Clock) {}

  /** In the sink's transaction, beside the events of the same requests. */
  async keep(tx: Queryable, rejected: readonly RejectedEvent[]): Promise<void> {
    if (rejected.length === 0) return;
    await tx.query(
      `INSERT INTO event_rejected (received_at, node, reason, detail, event)
       SELECT $1, node, reason, detail, event::jsonb FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS kept (node, reason, detail, event)`,
      [
        iso(this.clock.now()),
        rejected.map(({ node }) => (node === undefined ? null : storableCopy(node.slice(0, MAX_NODE_LENGTH)))),
        rejected.map(({ reason }) => reason),
        rejected.map(({ errors }) => storableCopy(errors.map((e) => `${e.field}: ${e.message}`).join('; ').slice(0, MAX_DETAIL_LENGTH))),
        rejected.map(({ event }) => JSON.stringify(keptCopy(event))),
      ],
    );
  }

  /** Removes all but the newest MAX_KEPT_REJECTED. */
  async prune(): Promise<void> {
    await this.store.query('DELETE FROM event_rejected WHERE id <= (SELECT id FROM event_rejected ORDER BY id DESC OFFSET $1 LIMIT 1)', [MAX_KEPT_REJECTED]);
  }

  /** How many are kept, and when the newest arrived (for `npm run gc`). */
  async summary(): Promise<{ count: number; newestAt: Date | undefined }> {
    const { rows } = await this.store.query<{ n: number; newest: Date | null }>('SELECT count(*)::int AS n, max(received_at) AS newest FROM event_rejected');
    const newest = rows[0]?.newest;
    return { count: rows[0]?.n ?? 0, newestAt: newest ? new Date(newest) : undefined };
  }
}

/**
 * A copy of a parsed JSON value that the store can hold and operators may
 * read: fields whose names are PIN-like or secret dropped at any depth, text
 * made storable, and depth and size bounded (what is cut is marked `…`).
 */
function keptCopy(value: unknown): unknown {
  let budget = MAX_KEPT_CHARACTERS;
  const text = (s: string): string => {
    const kept = storableCopy(s.slice(0, Math.max(budget, 0)));
    budget -= s.length;
    return kept.length < s.length ? `${kept}${OMITTED}` : kept;
  };
  const copy = (item: unknown, depth: number): unknown => {
    if (typeof item === 'string') return text(item);
    if (typeof item !== 'object' || item === null) {
      budget -= 8;
      return item;
    }
    if (depth >= MAX_KEPT_DEPTH || budget <= 0) return OMITTED;
    if (Array.isArray(item)) {
      const items: unknown[] = [];
      for (const element of item) {
        if (budget <= 0) {
          items.push(OMITTED);
          break;
        }
        items.push(copy(element, depth + 1));
      }
      return items;
    }
    const entries: [string, unknown][] = [];
    for (const [key, field] of Object.entries(item)) {
      if (isSecretKey(key) || PIN_LIKE.test(key)) continue;
      if (budget <= 0) {
        entries.push([OMITTED, OMITTED]);
        break;
      }
      entries.push([text(key), copy(field, depth + 1)]);
    }
    // fromEntries defines each key as the object's own, "__proto__" included.
    return Object.fromEntries(entries);
  };
  return copy(value, 0);
}
