/** One run of `task` at a time: callers that arrive while it runs share the run under way. */
export class SingleFlight<T> {
  private current: Promise<T> | undefined;

  constructor(private readonly task: () => Promise<T>) {}

  run(): Promise<T> {
    this.current ??= this.task().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Resolves once the run under way, if any, has ended (whatever its outcome). */
  async settled(): Promise<void> {
    await this.current?.catch(() => undefined);
  }
}

export interface BackgroundLoopOptions<T> {
  step: () => Promise<T>;
  /** The pause before the next step, from the outcome of the last one (undefined when it failed). */
  nextDelayMs: (outcome: T | undefined) => number;
  /** A failed step is reported here; the loop goes on. */
  onError: (error: unknown) => void;
}

/** Background work that repeats a step, pausing after each one ends, until stopped; its timers never keep the process alive. */
export class BackgroundLoop<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly options: BackgroundLoopOptions<T>) {}

  /** The first step runs after `firstDelayMs`; without one it runs at once, and the promise is its end. Starting a started loop changes nothing. */
  start(firstDelayMs?: number): Promise<void> {
    const live = !this.stopped || this.running !== undefined;
    this.stopped = false;
    // A step under way (even one a stop has not yet seen end) schedules the next one itself.
    if (live) return this.running ?? Promise.resolve();
    if (firstDelayMs === undefined) return this.tick();
    this.schedule(firstDelayMs);
    return Promise.resolve();
  }

  /** Schedules no further step; resolves once the step under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private tick(): Promise<void> {
    const { step, nextDelayMs, onError } = this.options;
    this.running = step()
      .catch((error: unknown) => {
        onError(error);
        return undefined;
      })
      .then((outcome) => {
        this.running = undefined;
        if (!this.stopped) this.schedule(nextDelayMs(outcome));
      });
    return this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.tick(), delayMs).unref();
  }
}
