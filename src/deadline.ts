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

/** A deadline `ms` from now, also ended by any of `signals`. */
export function deadlineIn(clock: Clock, ms: number, ...signals: AbortSignal[]): Deadline {
  return { at: clock.now() + ms, signal: AbortSignal.any([AbortSignal.timeout(ms), ...signals]) };
}

/** The same deadline, brought forward to `at` if that is sooner. */
export function notAfter(deadline: Deadline, at: number): Deadline {
  return at >= deadline.at ? deadline : { at, signal: deadline.signal };
}
