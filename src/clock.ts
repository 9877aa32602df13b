/** Time as the gateway sees it; tests pass a clock they can move. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** How the gateway waits in production; tests inject one that does not. */
export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A clock reading as the ISO timestamp the store takes. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
