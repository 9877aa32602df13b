import { LRUCache } from 'lru-cache';
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

  private current(client: string): Window | undefined {
    const window = this.windows.get(client);
    if (window !== undefined && this.clock.now() - window.startedAt >= this.windowMs) {
      this.windows.delete(client);
      return undefined;
    }
    return window;
  }
}
