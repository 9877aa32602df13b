import type { Request } from 'express';
import { LRUCache } from 'lru-cache';
import { HttpProblem } from '../http/problem.js';
import type { Clock } from '../clock.js';

interface Window {
  startedAt: number;
  failures: number;
}

/**
 * Counts failed authentications per client and strategy in a fixed window;
 * a client over the limit is refused (429) until its window ends, before its
 * credentials are even looked at.
 */
export class FailureLimiter {
  private readonly windows = new LRUCache<string, Window>({ max: 50_000 });

  constructor(private readonly limit: number, private readonly windowMs: number, private readonly clock: Clock) {}

  /**
   * The key of this strategy's client, once it may try again; a client over
   * the limit gets 429 with Retry-After (`onRefused` counts it).
   */
  admit(strategy: string, req: Request, onRefused: () => void): string {
    const client = `${strategy}:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
    const wait = this.retryAfterSeconds(client);
    if (wait > 0) {
      onRefused();
      throw new HttpProblem(429, 'too-many-failures', 'Too Many Requests', `Too many failed authentications from this client; retry after ${wait} seconds.`, {
        headers: { 'Retry-After': String(wait) },
      });
    }
    return client;
  }

  /** Seconds the client must wait, or 0 when it may try. */
  retryAfterSeconds(client: string): number {
    const window = this.current(client);
    if (window === undefined || window.failures < this.limit) return 0;
    return Math.max(1, Math.ceil((window.startedAt + this.windowMs - this.clock.now()) / 1000));
  }

  recordFailure(client: string): void {
    const window = this.current(client) ?? { startedAt: this.clock.now(), failures: 0 };
    window.failures += 1;
    this.windows.set(client, window);
  }

  /**
   * Forgets every failure counted for a strategy. After an outage of ours
   * (signing keys unavailable) we cannot tell which failures were the callers'
   * own, so none of them is held against anyone.
   */
  forgive(strategy: string): void {
    for (const client of [...this.windows.keys()]) if (client.startsWith(`${strategy}:`)) this.windows.delete(client);
  }

  private current(client: string): Window | undefined {
    const window = this.windows.get(client);
    if (window !== undefined && this.clock.now() - window.startedAt >= this.windowMs) {
      this.windows.delete(client);
      return undefined;
    }
    return window;
  }
}
