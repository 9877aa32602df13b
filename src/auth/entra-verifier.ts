import { errors as joseErrors, jwtVerify } from 'jose';
import type { Clock } from '../clock.js';
import { InvalidToken, type BearerFailureReason } from './bearer-errors.js';
import { inspectCompactJws } from './compact-jws.js';
import type { SigningKeys } from './signing-keys.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/** Who called, as an Entra access token proves it. */
export interface EntraPrincipal {
  kind: 'entra-app';
  /** The calling application: `azp` (v2) or `appid` (v1). */
  id: string;
  objectId: string | undefined;
  tenantId: string;
  version: '1.0' | '2.0';
  roles: string[];
  /** A token issued for a signed-in user rather than for an application. */
  delegated: boolean;
  expiresAt: number;
}

export interface EntraVerifier {
  verify(token: string): Promise<EntraPrincipal>;
}

/** What a token must match (`ENTRA_*`); the clock tolerance in seconds, as jose takes it. */
export interface EntraVerifierSettings {
  tenantId: string;
  clientIds: string[];
  /** App ID URIs accepted as `aud` beside `{client_id}` and `api://{client_id}`. */
  extraAudiences: string[];
  allowedCallers: string[];
  issuers: string[];
  clockToleranceSeconds: number;
  maxTokenBytes: number;
}

type Settings = EntraVerifierSettings;

/**
 * Validates Entra ID access tokens (docs/contract.md §5, docs/jwt-validation.md §1–4): RS256
 * against the tenant's keys, exact issuer, audience `{cid}`, `api://{cid}` or a
 * configured App ID URI,
 * `tid`, allowed caller, `exp` required, `nbf` honoured within the tolerance.
 */
export function createEntraVerifier(settings: Settings, keys: SigningKeys, cache: VerifiedTokenCache<EntraPrincipal>, clock: Clock): EntraVerifier {
  const audiences = new Set([...settings.clientIds.flatMap((id) => [id, `api://${id}`]), ...settings.extraAudiences]);
  const allowedCallers = new Set(settings.allowedCallers);
  const current = (kid: string) => keys.current(kid);

  async function verify(token: string): Promise<EntraPrincipal> {
    if (token.length > settings.maxTokenBytes) throw new InvalidToken('token_too_large');
    const cacheKey = VerifiedTokenCache.keyOf(token);
    const cached = cache.get(cacheKey, current);
    if (cached !== undefined) return cached;

    const { header, claims } = inspectCompactJws(token);
    assertFiniteTimes(claims);
    if (Array.isArray(claims.aud) || (typeof claims.aud === 'string' && !audiences.has(claims.aud))) {
      throw new InvalidToken('wrong_audience');
    }
    const key = await keys.resolve(header.kid);
    if (key === undefined) throw new InvalidToken('unknown_signing_key');
    const now = clock.now();
    try {
      await jwtVerify(token, key, {
        algorithms: ['RS256'],
        issuer: settings.issuers,
        audience: [...audiences],
        clockTolerance: settings.clockToleranceSeconds,
        requiredClaims: ['exp', 'iss', 'aud', 'tid'],
        currentDate: new Date(now),
      });
    } catch (error) {
      throw new InvalidToken(reasonFor(error));
    }
    const principal = principalFrom(claims, now);
    cache.set(cacheKey, { principal, kid: header.kid, key, expiresAt: principal.expiresAt });
    return principal;
  }

  function principalFrom(claims: Record<string, unknown>, now: number): EntraPrincipal {
    const { tid, iss, iat } = claims as { tid: unknown; iss: string; iat: unknown };
    if (tid !== settings.tenantId || !iss.includes(settings.tenantId)) throw new InvalidToken('wrong_tenant');
    if (typeof iat === 'number' && iat * 1000 > now + settings.clockToleranceSeconds * 1000) {
      throw new InvalidToken('token_not_yet_valid');
    }
    const version = tokenVersion(claims, iss);
    const caller = version === '2.0' ? claims.azp : claims.appid;
    if (typeof caller !== 'string' || !allowedCallers.has(caller)) throw new InvalidToken('caller_not_allowed');
    const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
    return {
      kind: 'entra-app',
      id: caller,
      objectId: typeof claims.oid === 'string' ? claims.oid : undefined,
      tenantId: settings.tenantId,
      version,
      roles,
      delegated: claims.scp !== undefined || (claims.idtyp !== undefined && claims.idtyp !== 'app'),
      expiresAt: (claims.exp as number) * 1000,
    };
  }

  return { verify };
}

/** jose takes any number, so `exp: 1e400` (Infinity) would never expire: times must be finite. */
function assertFiniteTimes(claims: Record<string, unknown>): void {
  for (const name of ['exp', 'nbf', 'iat']) {
    const value = claims[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) throw new InvalidToken('malformed_token');
  }
}

/**
 * The version the issuer's form says (v1 issuers are `sts.windows.net`, v2 end in `/v2.0`);
 * `ver`, when present, must say the same (docs/entra.md "Token versions"): it decides which claim
 * names the caller, so a token whose two disagree is one Entra never issues.
 */
function tokenVersion(claims: Record<string, unknown>, iss: string): '1.0' | '2.0' {
  const issued = iss.endsWith('/v2.0') ? '2.0' : '1.0';
  if (claims.ver !== undefined && claims.ver !== issued) throw new InvalidToken('malformed_token');
  return issued;
}

function reasonFor(error: unknown): BearerFailureReason {
  if (error instanceof joseErrors.JWTExpired) return 'token_expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return 'missing_claim';
    switch (error.claim) {
      case 'nbf':
      case 'iat':
        return 'token_not_yet_valid';
      case 'iss':
        return 'wrong_issuer';
      case 'aud':
        return 'wrong_audience';
      default:
        return 'malformed_token';
    }
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'unsupported_algorithm';
  return 'malformed_token';
}
