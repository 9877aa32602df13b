import { createPublicKey, type KeyObject } from 'node:crypto';
import jwksRsa from 'jwks-rsa';
import type { Logger } from 'pino';
import { BackgroundLoop, SingleFlight } from '../background.js';
import type { Clock } from '../clock.js';
import { discard, isTimeout, readJson, type UpstreamFetch } from '../upstream.js';
import { AuthenticationFailure } from './failures.js';

export interface SigningKeysOptions {
  jwksUri: string;
  fetch: UpstreamFetch;
  clock: Clock;
  logger: Logger;
  timeoutMs: number;
  /** Minimum time between two fetches caused by unknown key ids. */
  cooldownMs: number;
  /** Background refresh period (jittered ±10 %). */
  refreshIntervalMs: number;
  /** Called when a fetch succeeds after one or more failed ones (the end of an outage). */
  onRecovered?: () => void;
}

export type FetchOutcome = 'ok' | 'error' | 'timeout';

/**
 * The token may be good, but we cannot tell: no keys are loaded, or the key set
 * could not be fetched and the token names a key we do not hold. Our outage,
 * never the caller's failure.
 */
export class SigningKeysUnavailable extends AuthenticationFailure {
  readonly counted = false;
  constructor(readonly retryAfterSeconds: number) {
    super('signing_keys_unavailable', `The gateway cannot verify access tokens right now (Entra ID signing keys unavailable); retry after ${retryAfterSeconds} seconds.`);
  }
}

export const MAX_JWKS_BYTES = 512 * 1024;
const MIN_RSA_BITS = 2048;

/** A held key and the SPKI PEM jwks-rsa made of its JWK, by which an unchanged key is recognised. */
interface HeldKey {
  key: KeyObject;
  pem: string;
}

/**
 * The tenant's signing keys, fetched from its JWKS. jwks-rsa's client fetches
 * the set (through our fetch) and turns each JWK into a key; the policy is
 * ours: the last good keys are never dropped when the endpoint fails, and an
 * unknown `kid` causes at most one fetch per cool-down: callers that arrive
 * while cooling down are answered at once, never queued. A `kid` we do not hold
 * is "unknown" only while the key set is fresh; after a failed fetch it is our
 * outage (SigningKeysUnavailable).
 */
export class SigningKeys {
  private keys = new Map<string, HeldKey>();
  /**
   * jwks-rsa's client. Its cache and rate limiter stay off: the cache keeps
   * five `kid`s for ten minutes, after which a failing endpoint leaves it
   * nothing to serve, and the limiter queues callers for minutes; the whole
   * set kept, one fetch at a time and the cool-down below replace both.
   * getSigningKeys reads the whole set in one fetch.
   */
  private readonly client: jwksRsa.JwksClient;
  private readonly fetching = new SingleFlight(() => this.fetchKeys());
  private readonly refreshing = new BackgroundLoop({
    step: () => this.refresh(),
    nextDelayMs: (ok) => jittered(ok ? this.options.refreshIntervalMs : this.retryDelayMs()),
    onError: () => undefined,
  });
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private lastFetchFailed = false;
  private lastLoadedAt: number | undefined;
  readonly counts: Record<FetchOutcome, number> = { ok: 0, error: 0, timeout: 0 };

  constructor(private readonly options: SigningKeysOptions) {
    // The fetcher is our fetch (timeout, body cap, metrics, spans), and hands jwks-rsa only the JWKs usable with RS256.
    this.client = new jwksRsa.JwksClient({ jwksUri: options.jwksUri, cache: false, rateLimit: false, fetcher: async () => ({ keys: rs256SigningKeys(await this.download()) }) });
  }

  get loaded(): boolean {
    return this.keys.size > 0;
  }

  /** Signing keys held now. */
  get size(): number {
    return this.keys.size;
  }

  /** When the key set was last fetched successfully (clock milliseconds); undefined until then. */
  get loadedAt(): number | undefined {
    return this.lastLoadedAt;
  }

  /** Keys are loaded and the last fetch succeeded: a `kid` we do not hold is unknown to the tenant too. */
  get fresh(): boolean {
    return this.loaded && !this.lastFetchFailed;
  }

  /** Seconds until a token naming a key we do not hold may cause the next fetch. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.lastAttemptAt + this.retryDelayMs() - this.options.clock.now()) / 1000));
  }

  get fetches(): number {
    return this.counts.ok + this.counts.error + this.counts.timeout;
  }

  /** The key for `kid` if we hold it now; never waits. */
  current(kid: string): KeyObject | undefined {
    return this.keys.get(kid)?.key;
  }

  /**
   * The key for `kid`, refetching the set first when the cool-down allows it.
   * Throws SigningKeysUnavailable when the key is missing because of our outage.
   */
  async resolve(kid: string): Promise<KeyObject | undefined> {
    const held = this.current(kid);
    if (held !== undefined) return held;
    if (this.fetching.busy || !this.coolingDown()) await this.refresh();
    const key = this.current(kid);
    if (key === undefined && !this.fresh) throw new SigningKeysUnavailable(this.retryAfterSeconds());
    return key;
  }

  /** One fetch at a time: concurrent callers share the fetch under way. */
  refresh(): Promise<boolean> {
    return this.fetching.run();
  }

  /** Loads the keys once, then keeps them fresh in the background. */
  start(): Promise<void> {
    return this.refreshing.start();
  }

  /** Schedules no further refresh; a fetch under way is not waited for. */
  stop(): void {
    void this.refreshing.stop();
  }

  private coolingDown(): boolean {
    return this.options.clock.now() - this.lastAttemptAt < this.retryDelayMs();
  }

  /** Without keys, retry soon (in the background and on requests alike); with last good keys, retry after a cool-down. */
  private retryDelayMs(): number {
    return this.loaded ? this.options.cooldownMs : Math.min(5000, this.options.cooldownMs);
  }

  private async fetchKeys(): Promise<boolean> {
    const { clock, logger, timeoutMs } = this.options;
    this.lastAttemptAt = clock.now();
    try {
      const next = this.heldKeys(await this.client.getSigningKeys());
      if (next.size === 0) throw new Error('the key set holds no usable RS256 signing key');
      this.keys = next;
      this.lastLoadedAt = clock.now();
      this.counts.ok += 1;
      logger.info({ keys: [...next.keys()] }, 'signing keys loaded');
      if (this.lastFetchFailed) this.options.onRecovered?.();
      this.lastFetchFailed = false;
      return true;
    } catch (error) {
      const timedOut = isTimeout(error);
      this.counts[timedOut ? 'timeout' : 'error'] += 1;
      this.lastFetchFailed = true;
      logger.warn(
        { err: error, timeoutMs, keptKeys: this.keys.size },
        'signing key fetch failed; keeping the last good keys',
      );
      return false;
    }
  }

  private async download(): Promise<unknown> {
    const response = await this.options.fetch(this.options.jwksUri, {
      headers: { accept: 'application/json, application/jwk-set+json' },
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (response.status !== 200) {
      discard(response);
      throw new Error(`the key set endpoint answered ${response.status}`);
    }
    return readJson(response, MAX_JWKS_BYTES);
  }

  /** The first key of each `kid`, RSA of 2048 bits or more; a key whose material did not change stays the same object (verified-token-cache.ts). */
  private heldKeys(signingKeys: jwksRsa.SigningKey[]): Map<string, HeldKey> {
    const next = new Map<string, HeldKey>();
    for (const signingKey of signingKeys) {
      if (next.has(signingKey.kid)) continue;
      const pem = signingKey.getPublicKey();
      const previous = this.keys.get(signingKey.kid);
      const held = previous?.pem === pem ? previous : rsaKey(pem);
      if (held) next.set(signingKey.kid, held);
    }
    return next;
  }
}

/** ±10 %, so that replicas started together do not refresh together. */
function jittered(delayMs: number): number {
  return Math.round(delayMs * (1 + (Math.random() - 0.5) * 0.2));
}

function rs256SigningKeys(jwks: unknown): unknown[] {
  const entries = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(entries)) throw new Error('the key set has no "keys" array');
  return entries.filter(isRs256SigningKey);
}

function isRs256SigningKey(jwk: unknown): boolean {
  const { kty, kid, n, e, use, alg, key_ops } = (jwk ?? {}) as Record<string, unknown>;
  return (
    kty === 'RSA' &&
    typeof kid === 'string' &&
    kid.length > 0 &&
    typeof n === 'string' &&
    typeof e === 'string' &&
    (use === undefined || use === 'sig') &&
    (alg === undefined || alg === 'RS256') &&
    (key_ops === undefined || (Array.isArray(key_ops) && key_ops.includes('verify')))
  );
}

function rsaKey(pem: string): HeldKey | undefined {
  const key = createPublicKey(pem);
  return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_BITS ? { key, pem } : undefined;
}
