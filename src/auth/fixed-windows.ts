import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { neverEmptiedOptions, REMOVED } from '../ttl-cache.js';

/** One key's counts in its current window; `startedAt` is when the window opened. */
export interface Window {
  readonly startedAt: number;
}

/**
 * Counts per key in fixed windows of `windowMs`, each opened by the key's
 * first use, by the injected clock. In memory, per replica: the least
 * recently used keys are dropped beyond `maxKeys`.
 */
export class FixedWindows<W extends Window> {
  private readonly windows: LRUCache<string, W | typeof REMOVED>;

  constructor(
    private readonly windowMs: number,
    private readonly clock: Clock,
    maxKeys: number,
    private readonly empty: (startedAt: number) => W,
  ) {
    this.windows = new LRUCache(neverEmptiedOptions(maxKeys));
  }

  /** The key's window, undefined when it has none or its window has ended (a new one replaces it). */
  current(key: string): W | undefined {
    const window = this.windows.get(key);
    if (window === undefined || window === REMOVED || this.clock.now() - window.startedAt >= this.windowMs) return undefined;
    return window;
  }

  /** The key's window, a new one opening now when it has none. */
  open(key: string): W {
    let window = this.current(key);
    if (window === undefined) {
      window = this.empty(this.clock.now());
      this.windows.set(key, window);
    }
    return window;
  }

  /** Whole seconds until `window` ends, at least 1 (a Retry-After). */
  secondsLeft(window: W): number {
    return Math.max(1, Math.ceil((window.startedAt + this.windowMs - this.clock.now()) / 1000));
  }

  /** Drops the key's window, if it is still `window` (a window that ended may have been replaced). */
  close(key: string, window: W): void {
    if (this.windows.peek(key) === window) this.windows.set(key, REMOVED);
  }

  /** Drops the windows of every key `matches`. */
  forget(matches: (key: string) => boolean): void {
    for (const key of [...this.windows.keys()]) if (matches(key)) this.windows.set(key, REMOVED);
  }
}
