import type { RequestHandler } from 'express';
import { type AgentRequestLimiter, TooManyAgentRequests } from '../auth/agent-requests.js';

/**
 * How long an agent over its limit waits for each 429. A widget that honours Retry-After meets it
 * once, on the 429 that tells it to wait; a client that does not (a widget stuck in a loop, a
 * stolen token in a closed loop) gets one answer per connection and second instead of 429s as
 * fast as the event loop can write them, which IDIM's requests would queue behind (bench scenario 9).
 */
const OVER_LIMIT_PAUSE_MS = 1_000;

/**
 * 429s held at once, per agent and in all. Each holds its request, response and timer; past
 * either bound a 429 is answered at once and closes its connection, so that neither more
 * connections nor pipelined requests make the held answers grow without end.
 */
const HELD_PER_AGENT = 100;
const HELD_IN_ALL = 2_000;

/** Places for held answers, counted per key and in all. */
export class HeldAnswers {
  private readonly byKey = new Map<string, number>();
  private total = 0;

  constructor(private readonly perKey: number, private readonly inAll: number) {}

  /** Takes a place for `key`; false when the key or the whole has none left. */
  take(key: string): boolean {
    const held = this.byKey.get(key) ?? 0;
    if (held >= this.perKey || this.total >= this.inAll) return false;
    this.byKey.set(key, held + 1);
    this.total += 1;
    return true;
  }

  release(key: string): void {
    const held = (this.byKey.get(key) ?? 1) - 1;
    if (held === 0) this.byKey.delete(key);
    else this.byKey.set(key, held);
    this.total -= 1;
  }
}

/**
 * Counts an agent's request against its own limit: after authentication, so it is counted for the
 * Genesys user it proved to be. A refusal is passed on after OVER_LIMIT_PAUSE_MS, unless the
 * client has gone by then.
 */
export function limitAgentRequests(limiter: AgentRequestLimiter, sleep: (ms: number) => Promise<void>): RequestHandler {
  const held = new HeldAnswers(HELD_PER_AGENT, HELD_IN_ALL);
  return (req, res, next) => {
    if (req.caller?.kind !== 'genesys-agent') return next();
    const agent = req.caller.id;
    try {
      limiter.count(agent);
    } catch (error) {
      if (!(error instanceof TooManyAgentRequests)) throw error;
      if (!held.take(agent)) {
        res.setHeader('Connection', 'close');
        throw error;
      }
      sleep(OVER_LIMIT_PAUSE_MS)
        .finally(() => held.release(agent))
        .then(() => {
          if (!req.socket.destroyed) next(error.after(OVER_LIMIT_PAUSE_MS));
        })
        .catch(next);
      return;
    }
    next();
  };
}
