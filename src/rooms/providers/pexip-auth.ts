import { createPrivateKey, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Clock } from '../../clock.js';
import { readJson, UpstreamBodyTooLarge, type UpstreamFetch } from '../../upstream.js';

/** How the gateway signs in to the Management API (`PEXIP_AUTH` and its credentials). */
export interface PexipAuthSettings {
  baseUrl: string;
  auth: { kind: 'basic'; username: string; password: string } | { kind: 'oauth2'; clientId: string; privateKeyPem: string };
  timeoutMs: number;
}

export interface PexipAuth {
  /** The Authorization header value for the next request. */
  header(): Promise<string>;
  /** Forget a token Pexip refused, so that the next header fetches a new one. */
  invalidate(): void;
}

export function pexipAuth(config: PexipAuthSettings, fetch: UpstreamFetch, clock: Clock): PexipAuth {
  if (config.auth.kind === 'basic') {
    const header = `Basic ${Buffer.from(`${config.auth.username}:${config.auth.password}`).toString('base64')}`;
    return { header: async () => header, invalidate: () => undefined };
  }
  return new PexipOAuth(config.baseUrl, config.auth.clientId, config.auth.privateKeyPem, config.timeoutMs, fetch, clock);
}

/** The largest token answer read (a token and its lifetime: well under 8 KB). */
export const MAX_TOKEN_ANSWER_BYTES = 64 * 1024;

/** Refreshed this long before the token's own expiry. */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * OAuth2 client credentials with a JWT client assertion signed ES256
 * (docs/pexip.md §1): `POST /oauth/token/`, `scope=is_admin use_api`.
 * The access token is cached until shortly before it expires; one fetch at a
 * time.
 */
class PexipOAuth implements PexipAuth {
  private token: { value: string; expiresAt: number } | undefined;
  private fetching: Promise<string> | undefined;
  private readonly key;
  private readonly tokenUrl: string;

  constructor(baseUrl: string, private readonly clientId: string, privateKeyPem: string, private readonly timeoutMs: number, private readonly fetch: UpstreamFetch, private readonly clock: Clock) {
    this.key = createPrivateKey(privateKeyPem);
    this.tokenUrl = `${baseUrl}/oauth/token/`;
  }

  async header(): Promise<string> {
    if (this.token !== undefined && this.token.expiresAt - EXPIRY_MARGIN_MS > this.clock.now()) return `Bearer ${this.token.value}`;
    this.fetching ??= this.fetchToken().finally(() => {
      this.fetching = undefined;
    });
    return `Bearer ${await this.fetching}`;
  }

  invalidate(): void {
    this.token = undefined;
  }

  private async fetchToken(): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer(this.clientId)
      .setSubject(this.clientId)
      .setAudience(this.tokenUrl)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti(randomUUID())
      .sign(this.key);
    const response = await this.fetch(this.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
        scope: 'is_admin use_api',
      }).toString(),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    // An answer over the limit throws UpstreamBodyTooLarge (the client's 502); any other unreadable one is a refusal.
    const body = (await readJson(response, MAX_TOKEN_ANSWER_BYTES).catch((error: unknown) => {
      if (error instanceof UpstreamBodyTooLarge) throw error;
      return undefined;
    })) as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (response.status !== 200 || typeof body?.access_token !== 'string') throw new PexipTokenRefused(response.status);
    const lifetimeSeconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
    this.token = { value: body.access_token, expiresAt: this.clock.now() + lifetimeSeconds * 1000 };
    return body.access_token;
  }
}

export class PexipTokenRefused extends Error {
  constructor(readonly status: number) {
    super(`the Pexip token endpoint answered ${status}`);
    this.name = 'PexipTokenRefused';
  }
}
