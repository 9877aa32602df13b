import { type Clock, iso } from '../../clock.js';
import type { Store } from '../../store/store.js';

/**
 * Whom a request serves: IDIM, who waits for it (interactive); an agent's
 * widget looking a room up (agent); pool refill, bulk jobs and garbage
 * collection (background).
 */
export type BudgetPriority = 'interactive' | 'agent' | 'background';

export interface BudgetLimits {
  /** Requests allowed in any window (Pexip: 1,000 per 60 s per Management Node). */
  perWindow: number;
  windowMs: number;
}

/**
 * A sliding window of requests to the Management API, shared by everything
 * that calls it, kept under Pexip's limit per Management Node.
 */
export interface RequestBudget {
  /** Waits for room in the budget; false when none frees up within `maxWaitMs`. */
  take(priority: BudgetPriority, maxWaitMs: number): Promise<boolean>;
}

/**
 * How many requests of a window a priority may use. Background work leaves
 * the last 5 % of every window to interactive requests, so that a pool
 * refill or a bulk job cannot make IDIM wait; agent lookups may use at most
 * 10 % of every window (at least one request), so that no number of agents
 * can take what IDIM's creates need.
 */
export function allowance(priority: BudgetPriority, { perWindow }: BudgetLimits): number {
  if (priority === 'interactive') return perWindow;
  if (priority === 'agent') return Math.max(1, Math.floor(perWindow / 10));
  return perWindow - Math.floor(perWindow / 20);
}

/**
 * The budget of one process (embedded store: there is only one). Agent
 * lookups are limited twice: by their own share, and by the whole window.
 */
export class InProcessBudget implements RequestBudget {
  private readonly sent: number[] = [];
  private readonly sentForAgents: number[] = [];

  constructor(private readonly limits: BudgetLimits, private readonly clock: Clock, private readonly sleep: (ms: number) => Promise<void>) {}

  async take(priority: BudgetPriority, maxWaitMs: number): Promise<boolean> {
    const deadline = this.clock.now() + maxWaitMs;
    const limits: [number[], number][] = [[this.sent, allowance(priority === 'agent' ? 'background' : priority, this.limits)]];
    if (priority === 'agent') limits.push([this.sentForAgents, allowance('agent', this.limits)]);
    for (;;) {
      const now = this.clock.now();
      const freesAt = Math.max(...limits.map(([sent, allowed]) => this.freesAt(sent, allowed, now)));
      if (freesAt <= now) {
        for (const [sent] of limits) sent.push(now);
        return true;
      }
      if (freesAt > deadline) return false;
      await this.sleep(freesAt - now);
    }
  }

  /** When `sent` has room for one more of `allowed` per window: now, or when its oldest blocking request leaves the window. */
  private freesAt(sent: number[], allowed: number, now: number): number {
    const { windowMs } = this.limits;
    while (sent.length > 0 && (sent[0] as number) <= now - windowMs) sent.shift();
    return sent.length < allowed ? now : (sent[sent.length - allowed] as number) + windowMs;
  }
}

/** Shortest wait between two attempts when a free slot was only held by another taker. */
const RETRY_MS = 5;

/**
 * The budget every replica draws from, in PostgreSQL: one row per request
 * allowed in a window (`pexip_request_slot`), each stamped with when it was
 * last used. Taking one is a single UPDATE of a slot unused for a whole
 * window (`FOR UPDATE SKIP LOCKED`, so concurrent takers get different
 * slots and a slot is used at most once per window): no window, of any
 * start, ever holds more requests than there are slots. Background work may
 * only use the first `allowance('background')` slots, agent lookups the
 * first `allowance('agent')`, which every other request takes last.
 */
export class PostgresBudget implements RequestBudget {
  private sized: Promise<void> | undefined;

  constructor(private readonly store: Store, private readonly limits: BudgetLimits, private readonly clock: Clock, private readonly sleep: (ms: number) => Promise<void>) {}

  async take(priority: BudgetPriority, maxWaitMs: number): Promise<boolean> {
    await this.size();
    const { windowMs } = this.limits;
    const highestSlot = allowance(priority, this.limits);
    const agentSlots = priority === 'agent' ? 0 : allowance('agent', this.limits);
    const deadline = this.clock.now() + maxWaitMs;
    for (;;) {
      const now = this.clock.now();
      const { rows } = await this.store.query<{ slot: number | null; oldest: Date | string }>(
        `WITH taken AS (
           UPDATE pexip_request_slot SET used_at = $1
           WHERE slot = (SELECT slot FROM pexip_request_slot WHERE slot <= $3 AND used_at <= $2 ORDER BY slot <= $4, used_at LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING slot)
         SELECT (SELECT slot FROM taken) AS slot, (SELECT min(used_at) FROM pexip_request_slot WHERE slot <= $3) AS oldest`,
        [iso(now), iso(now - windowMs), highestSlot, agentSlots],
      );
      const row = rows[0] as { slot: number | null; oldest: Date | string };
      if (row.slot !== null) return true;
      const freesAt = Math.max(new Date(row.oldest).getTime() + windowMs, now + RETRY_MS);
      if (freesAt > deadline) return false;
      await this.sleep(freesAt - now);
    }
  }

  /** Makes the slots match the configured budget, once per process (again after a failure). */
  private size(): Promise<void> {
    this.sized ??= this.store
      .transaction(async (tx) => {
        await tx.query('INSERT INTO pexip_request_slot (slot) SELECT generate_series(1, $1::int) ON CONFLICT DO NOTHING', [this.limits.perWindow]);
        await tx.query('DELETE FROM pexip_request_slot WHERE slot > $1', [this.limits.perWindow]);
      })
      .catch((error: unknown) => {
        this.sized = undefined;
        throw error;
      });
    return this.sized;
  }
}
