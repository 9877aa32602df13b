import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { parseRetryAfter } from '../retry-after.js';
import { TtlCache } from '../ttl-cache.js';
import { discard, isTimeout, readJson, UpstreamBodyTooLarge, type UpstreamFetch } from '../upstream.js';

export interface GenesysAgent {
  userId: string;
  divisionId: string | undefined;
  organizationId: string | undefined;
}

export type AgentVerdict =
  | { outcome: 'allowed'; agent: GenesysAgent }
  | { outcome: 'rejected' }
  | { outcome: 'forbidden'; reason: 'division' | 'organization' | 'genesys' }
  | { outcome: 'unavailable'; retryAfterSeconds: number | undefined; cause: 'timeout' | 'rate-limited' | 'upstream-error' | 'network' | 'paused' };

type Lookup = { outcome: 'user'; agent: GenesysAgent } | Exclude<AgentVerdict, { outcome: 'allowed' } | { outcome: 'forbidden'; reason: 'division' | 'organization' }>;

/** The largest users/me answer read (a user with its organization: a few KB). */
export const MAX_USER_ANSWER_BYTES = 256 * 1024;

/** The longest wait passed on from Genesys to the caller. */
const RETRY_AFTER_MAX_MS = 3_600_000;

/**
 * The longest Genesys may pause our lookups for. Its rate limits count per
 * minute, so a longer Retry-After (or a far HTTP-date) is not waited out in
 * full: lookups ask again after a minute, and pause again if told to.
 */
const PAUSE_MAX_MS = 60_000;

const userMe = z.object({
  id: z.string().min(1),
  division: z.object({ id: z.string() }).loose().optional(),
  organization: z.object({ id: z.string() }).loose().optional(),
}).loose();

/** `GENESYS_*`, in milliseconds. */
export interface GenesysSettings {
  /** `https://api.<region>`, or a loopback stand-in in local use and tests. Undefined only in local (the stand-in fills it in). */
  apiBaseUrl: string | undefined;
  allowedDivisions: string[];
  organizationId: string | undefined;
  cacheTtlMs: number;
  rejectionCacheMs: number;
  cacheSize: number;
  timeoutMs: number;
}

/**
 * Checks an agent's Genesys Cloud token by calling `users/me` in the
 * configured region (docs/genesys.md §1). Results are cached under a
 * SHA-256 of the token (a 401 or 403 briefly), concurrent checks of one token
 * share one call, and an outage is "unavailable" — never "rejected". A 429
 * or 503 with Retry-After pauses every lookup not served from the cache for
 * that long (PAUSE_MAX_MS at most): they are "unavailable" at once, without a
 * call. Without Retry-After nothing pauses: Genesys gave no time to wait.
 */
export class GenesysAgents {
  private readonly cache: TtlCache<string, Lookup>;
  private readonly inFlight = new Map<string, Promise<Lookup>>();
  private pausedUntil = Number.NEGATIVE_INFINITY;
  calls = 0;
  cacheHits = 0;
  /** Lookups answered "unavailable" without a call while paused. */
  pausedLookups = 0;

  constructor(
    private readonly config: GenesysSettings & { apiBaseUrl: string },
    private readonly fetch: UpstreamFetch,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.cache = new TtlCache(config.cacheSize, clock);
  }

  async check(token: string): Promise<AgentVerdict> {
    const lookup = await this.lookup(createHash('sha256').update(token).digest('base64url'), token);
    return lookup.outcome === 'user' ? this.authorize(lookup.agent) : lookup;
  }

  private authorize(agent: GenesysAgent): AgentVerdict {
    const { allowedDivisions, organizationId } = this.config;
    if (agent.divisionId === undefined || !allowedDivisions.includes(agent.divisionId)) return { outcome: 'forbidden', reason: 'division' };
    if (organizationId !== undefined && agent.organizationId !== organizationId) return { outcome: 'forbidden', reason: 'organization' };
    return { outcome: 'allowed', agent };
  }

  private async lookup(key: string, token: string): Promise<Lookup> {
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      this.cacheHits += 1;
      return cached;
    }
    const paused = this.pausedForSeconds();
    if (paused !== undefined) {
      this.pausedLookups += 1;
      return { outcome: 'unavailable', retryAfterSeconds: paused, cause: 'paused' };
    }
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      pending = this.callUsersMe(token).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const lookup = await pending;
    this.remember(key, lookup);
    return lookup;
  }

  private remember(key: string, lookup: Lookup): void {
    const ttlMs = lookup.outcome === 'user' ? this.config.cacheTtlMs : lookup.outcome === 'unavailable' ? 0 : this.config.rejectionCacheMs;
    this.cache.set(key, lookup, ttlMs);
  }

  private async callUsersMe(token: string): Promise<Lookup> {
    this.calls += 1;
    try {
      // One timeout for the whole exchange, the body included.
      const response = await this.fetch(`${this.config.apiBaseUrl}/api/v2/users/me?expand=organization`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      return response.status === 200 ? this.user(await readJson(response, MAX_USER_ANSWER_BYTES)) : this.refusal(response);
    } catch (error) {
      if (error instanceof UpstreamBodyTooLarge || error instanceof SyntaxError) return this.unexpectedUser();
      const cause = isTimeout(error) ? 'timeout' : 'network';
      this.logger.warn({ cause }, 'Genesys users/me call failed');
      return { outcome: 'unavailable', retryAfterSeconds: undefined, cause };
    }
  }

  private user(json: unknown): Lookup {
    const body = userMe.safeParse(json);
    if (body.success) return { outcome: 'user', agent: { userId: body.data.id, divisionId: body.data.division?.id, organizationId: body.data.organization?.id } };
    return this.unexpectedUser();
  }

  private unexpectedUser(): Lookup {
    this.logger.warn('Genesys users/me answered 200 with an unexpected body');
    return { outcome: 'unavailable', retryAfterSeconds: undefined, cause: 'upstream-error' };
  }

  private refusal(response: Response): Lookup {
    discard(response);
    if (response.status === 401) return { outcome: 'rejected' };
    if (response.status === 403) return { outcome: 'forbidden', reason: 'genesys' };
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.clock, RETRY_AFTER_MAX_MS);
    const asksToWait = response.status === 429 || response.status === 503;
    if (asksToWait && retryAfterMs !== undefined && retryAfterMs > 0) this.pause(response.status, retryAfterMs);
    else if (response.status !== 429) this.logger.warn({ status: response.status }, 'Genesys users/me answered with an error');
    // Once paused, the caller is told when lookups resume: what its retry depends on.
    const retryAfterSeconds = this.pausedForSeconds() ?? (retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000));
    return { outcome: 'unavailable', retryAfterSeconds, cause: response.status === 429 ? 'rate-limited' : 'upstream-error' };
  }

  /** Genesys asked us to wait: no lookup calls it until then. Logged when a pause starts, not when one under way is extended. */
  private pause(status: number, retryAfterMs: number): void {
    const pauseMs = Math.min(retryAfterMs, PAUSE_MAX_MS);
    if (this.pausedForSeconds() === undefined) this.logger.warn({ status, pauseSeconds: Math.ceil(pauseMs / 1000) }, 'Genesys asked the gateway to wait: lookups paused');
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + pauseMs);
  }

  /** Whole seconds until lookups may call Genesys again; undefined when they may now. */
  pausedForSeconds(): number | undefined {
    const ms = this.pausedUntil - this.clock.now();
    return ms > 0 ? Math.ceil(ms / 1000) : undefined;
  }
}
