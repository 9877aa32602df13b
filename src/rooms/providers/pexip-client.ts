import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { parseRetryAfter } from '../../retry-after.js';
import { type UpstreamFetch, type UpstreamResponse, UpstreamTimeout } from '../../upstream-http.js';
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
  /** Safe to send again when no answer came back (GET, PATCH, DELETE are). */
  idempotent: boolean;
  /** Whom the request serves: interactive ones may use the whole budget but wait for it only briefly. */
  priority: BudgetPriority;
  /** When the caller's use for the answer ends (clock ms): no attempt, wait or retry goes past it. */
  deadlineAt?: number;
}

/** How long a request waits for room in the budget: IDIM gets 503 after a few seconds, an agent sooner, background work waits its turn. */
const BUDGET_WAIT_MS: Record<BudgetPriority, number> = { interactive: 5000, agent: 1000, background: 60_000 };
const BUDGET_USED: Record<BudgetPriority, string> = {
  interactive: 'The gateway has used its Pexip request budget for this minute; retry shortly.',
  agent: 'Agent lookups have used their share of the Pexip request budget for this minute; retry shortly.',
  background: 'The gateway has used its Pexip request budget for this minute; retry shortly.',
};

const RETRYABLE = new Set([429, 502, 503, 504]);
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
 * HTTP to the Pexip Management API: authentication, a per-request timeout,
 * the shared request budget, and bounded retries with exponential backoff
 * and full jitter on 429 (honouring Retry-After), 502, 503, 504 and network
 * errors — for idempotent requests only.
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
    let reauthenticated = false;
    for (let attempt = 0; ; attempt += 1) {
      const outcome = await this.attempt(method, path, options);
      if (outcome.kind === 'answer' && outcome.response.status === 401 && !reauthenticated) {
        reauthenticated = true;
        this.auth.invalidate();
        attempt -= 1;
        continue;
      }
      if (outcome.kind === 'answer' && !RETRYABLE.has(outcome.response.status)) return outcome.response;
      const retryAfterMs = outcome.kind === 'answer' ? outcome.retryAfterMs : undefined;
      const delay = retryAfterMs ?? backoff(attempt);
      if (!options.idempotent || attempt >= this.config.maxRetries || this.clock.now() + delay >= (options.deadlineAt ?? Infinity)) throw this.unavailable(outcome, retryAfterMs);
      this.logger.warn({ method, path, attempt: attempt + 1, delayMs: delay, cause: outcome.kind === 'answer' ? outcome.response.status : outcome.cause }, 'Pexip request failed; retrying');
      await this.sleep(delay);
    }
  }

  private async attempt(method: HttpMethod, path: string, options: RequestOptions): Promise<Attempt> {
    const left = (options.deadlineAt ?? Infinity) - this.clock.now();
    if (left <= 0) return { kind: 'failure', cause: 'timeout' };
    if (!(await this.budget.take(options.priority, Math.min(BUDGET_WAIT_MS[options.priority], left)))) {
      throw new ProviderUnavailable('unavailable', 5, BUDGET_USED[options.priority]);
    }
    let response: UpstreamResponse;
    try {
      response = await this.fetch(`${this.config.baseUrl}${path}`, {
        method,
        headers: { authorization: await this.auth.header(), accept: 'application/json', ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        timeoutMs: Math.min(this.config.timeoutMs, Math.max(1, (options.deadlineAt ?? Infinity) - this.clock.now())),
      });
    } catch (error) {
      if (error instanceof PexipTokenRefused) {
        this.logger.error({ status: error.status }, 'Pexip refused the OAuth2 client assertion');
        throw new ProviderUnavailable('bad-answer', undefined, 'Pexip refused the gateway\'s credentials.');
      }
      return { kind: 'failure', cause: error instanceof UpstreamTimeout ? 'timeout' : 'network' };
    }
    const text = await response.text().catch(() => '');
    return {
      kind: 'answer',
      response: { status: response.status, location: response.header('location'), body: parseJson(text) },
      retryAfterMs: parseRetryAfter(response.header('retry-after'), this.clock, RETRY_AFTER_MAX_MS),
    };
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
