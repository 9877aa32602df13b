import type { Clock } from '../clock.js';
import { FixedWindows } from './fixed-windows.js';

/** An agent that made its minute's room lookups already: refused until the minute ends. */
export class TooManyAgentRequests extends Error {
  constructor(readonly limit: number, readonly retryAfterSeconds: number) {
    super(`This agent has looked rooms up ${limit} times this minute, its limit; retry after ${retryAfterSeconds} seconds.`);
    this.name = 'TooManyAgentRequests';
  }

  /** The same refusal `ms` later, its Retry-After shorter by as much (1 s at least). */
  after(ms: number): TooManyAgentRequests {
    return new TooManyAgentRequests(this.limit, Math.max(1, Math.ceil(this.retryAfterSeconds - ms / 1000)));
  }
}

interface Requests {
  readonly startedAt: number;
  requests: number;
}

/**
 * Room lookups per agent (Genesys user, whichever of its tokens it sends) in
 * a fixed minute opened by its first lookup, so that one stolen token or a
 * widget stuck in a loop cannot use the gateway as it likes. In memory, per
 * replica; agents not seen for a while are dropped beyond 50,000.
 */
export class AgentRequestLimiter {
  private readonly windows: FixedWindows<Requests>;

  constructor(private readonly perMinute: number, clock: Clock) {
    this.windows = new FixedWindows(60_000, clock, 50_000, (startedAt) => ({ startedAt, requests: 0 }));
  }

  /** Counts a lookup of the agent; throws TooManyAgentRequests once it has made `perMinute` this minute. */
  count(userId: string): void {
    const window = this.windows.open(userId);
    if (window.requests >= this.perMinute) throw new TooManyAgentRequests(this.perMinute, this.windows.secondsLeft(window));
    window.requests += 1;
  }
}
