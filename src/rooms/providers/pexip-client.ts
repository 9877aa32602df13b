import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { type Deadline, deadlineIn } from '../../deadline.js';
import { parseRetryAfter } from '../../retry-after.js';
import { isTimeout, isTransient, mayRetry, readText, UpstreamBodyTooLarge, type UpstreamFetch } from '../../upstream.js';
import { type PexipAuth, type PexipAuthSettings, PexipTokenRefused } from './pexip-auth.js';
import { ProviderUnavailable } from './provider.js';
import type { BudgetPriority, RequestBudget } from './request-budget.js';

/** `PEXIP_*`, in milliseconds. */
export interface PexipSettings extends PexipAuthSettings {
  maxRetries: number;
  /** Requests allowed in any budget window (named for Pexip's window, 60 s). */
  requestsPerMinute: number;
  budgetWindowMs: number;
  /** How long a new room waits before the pool hands it out (Pexip replicates to its nodes in about 90 s). */
  replicationDelayMs: number;
}

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface PexipResponse {
  status: number;
  location: string | null;
  body: unknown;
}

export interface RequestOptions {
  body?: unknown;
  /** Whom the request serves: interactive ones may use the whole budget but wait for it only briefly. */
  priority: BudgetPriority;
  /**
   * The deadline of the work the request serves (an incoming request's, a
   * claim's): no attempt, budget wait or retry goes past it, and none starts
   * once its signal has aborted. Without one: UNSCOPED_DEADLINE_MS.
   */
  deadline?: Deadline;
}

/** The deadline of a request (its attempts, waits and retries) made for work without one of its own: background work, commands. */
const UNSCOPED_DEADLINE_MS = 120_000;
/** The largest answer read from the Management API: a page of 500 VMRs is under 1 MB. */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** How long a request waits for room in the budget: IDIM gets 503 after a few seconds, an agent sooner, background work waits its turn. */
const BUDGET_WAIT_MS: Record<BudgetPriority, number> = { interactive: 5000, agent: 1000, background: 60_000 };
const BUDGET_USED: Record<BudgetPriority, string> = {
  interactive: 'The gateway has used its Pexip request budget for this minute; retry shortly.',
  agent: 'Agent lookups have used their share of the Pexip request budget for this minute; retry shortly.',
  background: 'The gateway has used its Pexip request budget for this minute; retry shortly.',
};

const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 10_000;
const RETRY_AFTER_MAX_MS = 60_000;
/** Only an object URI (`…/conference/42/`) may be deleted: DELETE on a list URL deletes every object in it. */
const OBJECT_URI = /^\/api\/admin\/configuration\/v1\/[a-z_]+\/\d+\/$/;

export class CollectionDeleteRefused extends Error {
  constructor(path: string) {
    super(`refusing to DELETE ${path}: only object URIs may be deleted`);
    this.name = 'CollectionDeleteRefused';
  }
}

/**
 * HTTP to the Pexip Management API: authentication, a per-attempt timeout,
 * the shared request budget, and bounded retries (mayRetry) with exponential
 * backoff and full jitter, honouring Retry-After — all within the deadline
 * of the work the request serves: a wait that would pass it is not begun,
 * and the request gives up at once when its caller leaves.
 */
export class PexipClient {
  constructor(
    private readonly config: PexipSettings,
    private readonly auth: PexipAuth,
    private readonly budget: RequestBudget,
    private readonly fetch: UpstreamFetch,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  async request(method: HttpMethod, path: string, options: RequestOptions): Promise<PexipResponse> {
    if (method === 'DELETE' && !OBJECT_URI.test(path)) throw new CollectionDeleteRefused(path);
    const deadline = options.deadline ?? deadlineIn(this.clock, UNSCOPED_DEADLINE_MS);
    let reauthenticated = false;
    for (let attempt = 0; ; attempt += 1) {
      const outcome = await this.attempt(method, path, options.body, options.priority, deadline);
      if (outcome.kind === 'answer' && outcome.response.status === 401 && !reauthenticated) {
        reauthenticated = true;
        this.auth.invalidate();
        attempt -= 1;
        continue;
      }
      const result = outcome.kind === 'answer' ? outcome.response.status : outcome.cause;
      if (outcome.kind === 'answer' && !isTransient(result)) return outcome.response;
      const retryAfterMs = outcome.kind === 'answer' ? outcome.retryAfterMs : undefined;
      const delay = retryAfterMs ?? backoff(attempt);
      if (!mayRetry(method, result) || attempt >= this.config.maxRetries || this.clock.now() + delay >= deadline.at) throw this.unavailable(outcome, retryAfterMs);
      this.logger.warn({ method, path, attempt: attempt + 1, delayMs: delay, cause: outcome.kind === 'answer' ? outcome.response.status : outcome.cause }, 'Pexip request failed; retrying');
      await Promise.race([this.sleep(delay), aborted(deadline.signal)]);
    }
  }

  private async attempt(method: HttpMethod, path: string, body: unknown, priority: BudgetPriority, deadline: Deadline): Promise<Attempt> {
    this.stopIfAbandoned(method, path, deadline.signal);
    const left = deadline.at - this.clock.now();
    if (left <= 0) return { kind: 'failure', cause: 'timeout' };
    if (!(await this.budget.take(priority, Math.min(BUDGET_WAIT_MS[priority], left)))) {
      throw new ProviderUnavailable('unavailable', 5, BUDGET_USED[priority]);
    }
    this.stopIfAbandoned(method, path, deadline.signal);
    const timeoutMs = Math.min(this.config.timeoutMs, Math.max(1, deadline.at - this.clock.now()));
    try {
      const response = await this.fetch(`${this.config.baseUrl}${path}`, {
        method,
        headers: { authorization: await this.auth.header(), accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), deadline.signal]),
      });
      const text = await readText(response, MAX_ANSWER_BYTES);
      return {
        kind: 'answer',
        response: { status: response.status, location: response.headers.get('location'), body: parseJson(text) },
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), this.clock, RETRY_AFTER_MAX_MS),
      };
    } catch (error) {
      if (error instanceof PexipTokenRefused) {
        this.logger.error({ status: error.status }, 'Pexip refused the OAuth2 client assertion');
        throw new ProviderUnavailable('bad-answer', undefined, 'Pexip refused the gateway\'s credentials.');
      }
      if (error instanceof UpstreamBodyTooLarge) {
        this.logger.error({ method, path, maxBytes: error.maxBytes }, 'Pexip answered with a body over the limit');
        throw new ProviderUnavailable('bad-answer', undefined, 'Pexip answered with more than the gateway reads; retry later.');
      }
      this.stopIfAbandoned(method, path, deadline.signal);
      return { kind: 'failure', cause: isTimeout(error) ? 'timeout' : 'network' };
    }
  }

  /** The caller left (or the deadline passed in real time): no further attempt, wait or retry. */
  private stopIfAbandoned(method: HttpMethod, path: string, signal: AbortSignal): void {
    if (!signal.aborted) return;
    if (isTimeout(signal.reason)) throw new ProviderUnavailable('unavailable', 1, 'Pexip did not answer in time; retry shortly.');
    this.logger.info({ method, path }, 'the caller left: Pexip request abandoned');
    throw new ProviderUnavailable('unavailable', undefined, 'The caller left before Pexip answered.');
  }

  private unavailable(outcome: Attempt, retryAfterMs: number | undefined): ProviderUnavailable {
    const seconds = retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000);
    if (outcome.kind === 'failure') {
      return new ProviderUnavailable('unavailable', seconds, outcome.cause === 'timeout' ? 'Pexip did not answer in time; retry shortly.' : 'Pexip cannot be reached; retry shortly.');
    }
    return new ProviderUnavailable(outcome.response.status === 429 || outcome.response.status === 503 ? 'unavailable' : 'bad-answer', seconds, `Pexip answered ${outcome.response.status}; retry shortly.`);
  }
}

type Attempt = { kind: 'answer'; response: PexipResponse; retryAfterMs: number | undefined } | { kind: 'failure'; cause: 'timeout' | 'network' };

/** Resolves when `signal` aborts (the next check then stops the request); never rejects. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function backoff(attempt: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(Math.random() * ceiling);
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
