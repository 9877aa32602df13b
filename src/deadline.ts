import type { Clock } from './clock.js';

/**
 * When the upstream work of one piece of work (an incoming request, a
 * background step) must stop: at `at` (clock ms: what waits and retries are
 * measured against) or when `signal` aborts (the same time in real time, or
 * the caller left).
 */
export interface Deadline {
  readonly at: number;
  readonly signal: AbortSignal;
}

/**
 * A deadline `ms` from now, also ended by any of `signals`. Its signal is made
 * when first asked for: most requests (a cached read, a refused token) never
 * reach upstream, and each timeout signal is a timer that would fire, and build
 * its TimeoutError, long after the request ended (15 µs a request, profiled).
 */
export function deadlineIn(clock: Clock, ms: number, ...signals: AbortSignal[]): Deadline {
  const startedAt = performance.now();
  let signal: AbortSignal | undefined;
  return {
    at: clock.now() + ms,
    get signal() {
      signal ??= AbortSignal.any([AbortSignal.timeout(Math.max(0, Math.ceil(ms - (performance.now() - startedAt)))), ...signals]);
      return signal;
    },
  };
}

/** The same deadline, brought forward to `at` if that is sooner. */
export function notAfter(deadline: Deadline, at: number): Deadline {
  return at >= deadline.at ? deadline : { at, get signal() { return deadline.signal; } };
}
