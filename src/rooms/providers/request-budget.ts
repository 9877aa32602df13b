import type { Clock } from '../../clock.js';

/**
 * A sliding one-minute budget of requests to the Management API, shared by
 * everything that calls it (pool refill, bulk jobs, requests), kept under
 * Pexip's 1,000 requests / 60 s per Management Node.
 */
export class RequestBudget {
  private readonly sent: number[] = [];

  constructor(private readonly perMinute: number, private readonly clock: Clock, private readonly sleep: (ms: number) => Promise<void>) {}

  /** Waits for room in the budget; false when none frees up within `maxWaitMs`. */
  async take(maxWaitMs: number): Promise<boolean> {
    const deadline = this.clock.now() + maxWaitMs;
    for (;;) {
      const now = this.clock.now();
      while (this.sent.length > 0 && (this.sent[0] as number) <= now - 60_000) this.sent.shift();
      if (this.sent.length < this.perMinute) {
        this.sent.push(now);
        return true;
      }
      const wait = (this.sent[0] as number) + 60_000 - now;
      if (now + wait > deadline) return false;
      await this.sleep(wait);
    }
  }
}
