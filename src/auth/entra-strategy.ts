import { InsufficientScope } from './bearer-errors.js';
import { extractBearerToken } from './bearer-token.js';
import type { EntraPrincipal, EntraVerifier } from './entra-verifier.js';
import { CallerStrategy, type CredentialSource } from './strategy.js';
import { headerValues } from '../raw-headers.js';

/**
 * Applications, by their Entra ID access token: private routes accept
 * application tokens only (IDIM uses the client-credentials flow), and, when
 * configured, tokens carrying `requiredRole`. Failures are the RFC 6750
 * classes of bearer-errors.ts, or SigningKeysUnavailable while the keys are.
 */
export class EntraStrategy extends CallerStrategy {
  override readonly name = 'entra';

  constructor(private readonly verifier: EntraVerifier, private readonly requiredRole: string | undefined) {
    super();
  }

  protected async callerOf(source: CredentialSource): Promise<EntraPrincipal> {
    const token = extractBearerToken({ authorization: headerValues(source.rawHeaders, 'authorization'), accessTokenParameter: hasAccessTokenParameter(source) });
    const principal = await this.verifier.verify(token);
    if (principal.delegated) {
      throw new InsufficientScope('app_token_required', 'This API accepts application tokens (client credentials) only.');
    }
    if (this.requiredRole !== undefined) assertRole(principal, this.requiredRole);
    return principal;
  }
}

export function assertRole(principal: EntraPrincipal, role: string): void {
  if (!principal.roles.includes(role)) {
    throw new InsufficientScope('role_missing', `This operation needs the application role "${role}".`);
  }
}

function hasAccessTokenParameter(source: CredentialSource): boolean {
  const query = source.query as Record<string, unknown> | undefined;
  return query?.access_token !== undefined;
}
