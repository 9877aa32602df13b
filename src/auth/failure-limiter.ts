import type { Clock } from '../clock.js';
import { AuthenticationFailure } from './failures.js';
import { FixedWindows } from './fixed-windows.js';

interface Failures {
  readonly startedAt: number;
  /** Attempts whose credentials were refused: held against the client until the window ends. */
  failures: number;
  /**
   * Attempts admitted whose check has not finished, by the credentials they
   * carry: each distinct credential counts as a failure until its check ends.
   * Requests with one credential share its count: a burst of IDIM's requests
   * on a new token is one check, not one per request.
   */
  readonly pending: Map<string, number>;
}

/**
 * A client that kept failing to authenticate, refused until its window ends;
 * or one with as many attempts under way as it may fail, refused for a second
 * (they may yet succeed).
 */
export class TooManyFailures extends AuthenticationFailure {
  readonly counted = false;
  constructor(readonly retryAfterSeconds: number, why: 'failed' | 'under-way') {
    const what = why === 'failed' ? 'Too many failed authentications from this client' : 'Too many authentications from this client are under way at once';
    super('rate_limited', `${what}; retry after ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}.`);
  }
}

/** An admitted attempt to authenticate; settle it once, when its check has finished. */
export interface Attempt {
  /** `refused`: the credentials themselves were refused, and the failure stays counted; otherwise its count is given back. */
  settle(refused: boolean): void;
}

/**
 * Counts failed authentications per client and strategy in a fixed window;
 * a client over the limit is refused (TooManyFailures) until its window ends,
 * before its credentials are even looked at. An attempt counts as a failure
 * from the moment it is admitted (the checks are asynchronous: counting them
 * only once they had failed let any number run at once) until it succeeds,
 * or fails by no fault of the caller's (our outage), so that however many
 * arrive together, no more than `limit` checks run at once, nor fail in a
 * window, per client.
 */
export class FailureLimiter {
  private readonly windows: FixedWindows<Failures>;

  constructor(private readonly limit: number, windowMs: number, clock: Clock) {
    this.windows = new FixedWindows(windowMs, clock, 50_000, (startedAt) => ({ startedAt, failures: 0, pending: new Map() }));
  }

  /**
   * Admits an attempt of this strategy's client at `address` carrying
   * `credentials` (kept only while its check runs); throws TooManyFailures
   * while the client may not try.
   */
  admit(strategy: string, address: string, credentials: string): Attempt {
    const client = `${strategy}:${address}`;
    const window = this.windows.open(client);
    const sharing = window.pending.get(credentials) ?? 0;
    if (window.failures >= this.limit || (sharing === 0 && window.failures + window.pending.size >= this.limit)) throw this.refusal(window);
    window.pending.set(credentials, sharing + 1);
    return {
      settle: (refused) => {
        const left = (window.pending.get(credentials) ?? 1) - 1;
        if (left > 0) window.pending.set(credentials, left);
        else window.pending.delete(credentials);
        if (refused) window.failures += 1;
        else if (window.failures === 0 && window.pending.size === 0) this.windows.close(client, window);
      },
    };
  }

  /**
   * Forgets every failure counted for a strategy. After an outage of ours
   * (signing keys unavailable) we cannot tell which failures were the callers'
   * own, so none of them is held against anyone.
   */
  forgive(strategy: string): void {
    this.windows.forget((client) => client.startsWith(`${strategy}:`));
  }

  private refusal(window: Failures): TooManyFailures {
    return window.failures >= this.limit ? new TooManyFailures(this.windows.secondsLeft(window), 'failed') : new TooManyFailures(1, 'under-way');
  }
}
