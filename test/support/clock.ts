import type { Clock } from '../../src/clock.js';

/** A clock tests move by hand, so nothing sleeps. */
export class TestClock implements Clock {
  constructor(private current = Date.now()) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
