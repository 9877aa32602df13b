import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { AuthenticationFailure } from './failures.js';

interface Window {
  startedAt: number;
  failures: number;
}

/** A client that kept failing to authenticate, refused until its window ends. */
export class TooManyFailures extends AuthenticationFailure {
  readonly counted = false;
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', `Too many failed authentications from this client; retry after ${retryAfterSeconds} seconds.`);
  }
}

/**
 * Counts failed authentications per client and strategy in a fixed window;
 * a client over the limit is refused (TooManyFailures) until its window ends,
 * before its credentials are even looked at.
 */
export class FailureLimiter {
  private readonly windows = new LRUCache<string, Window>({ max: 50_000 });

  constructor(private readonly limit: number, private readonly windowMs: number, private readonly clock: Clock) {}

  /** The key of this strategy's client at `address`, once it may try again; throws TooManyFailures before that. */
  admit(strategy: string, address: string): string {
    const client = `${strategy}:${address}`;
    const wait = this.retryAfterSeconds(client);
    if (wait > 0) throw new TooManyFailures(wait);
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
