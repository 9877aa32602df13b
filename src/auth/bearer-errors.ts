import { AuthenticationFailure } from './failures.js';

/**
 * RFC 6750 §3 errors, one class per error code. `reason` is a stable code for
 * logs and metrics; `description` is a fixed sentence safe to show a caller.
 */
export type BearerFailureReason =
  | 'credentials_missing'
  | 'invalid_request'
  | 'token_too_large'
  | 'malformed_token'
  | 'encrypted_token'
  | 'nested_token'
  | 'unsupported_algorithm'
  | 'unsupported_token_type'
  | 'untrusted_header'
  | 'missing_key_id'
  | 'unknown_signing_key'
  | 'bad_signature'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'missing_claim'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'wrong_tenant'
  | 'caller_not_allowed'
  | 'app_token_required'
  | 'role_missing';

export abstract class BearerError extends AuthenticationFailure {
  /** RFC 6750's error code; none when the request had no credentials at all. */
  abstract readonly errorCode: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | undefined;

  constructor(override readonly reason: BearerFailureReason, description: string) {
    super(reason, description);
  }
}

/** No credentials at all: the bare challenge, no error code (RFC 6750 §3.1). */
export class CredentialsMissing extends BearerError {
  readonly errorCode = undefined;
  readonly counted = false;
  constructor() {
    super('credentials_missing', 'Send an Entra ID access token in the Authorization header: Authorization: Bearer <token>.');
  }
}

export class InvalidRequest extends BearerError {
  readonly errorCode = 'invalid_request';
  readonly counted = false;
  constructor(description: string) {
    super('invalid_request', description);
  }
}

export class InvalidToken extends BearerError {
  readonly errorCode = 'invalid_token';
  readonly counted = true;
  constructor(reason: BearerFailureReason) {
    super(reason, INVALID_TOKEN_DESCRIPTIONS[reason] ?? 'The access token is not valid.');
  }
}

export class InsufficientScope extends BearerError {
  readonly errorCode = 'insufficient_scope';
  readonly counted = false;
  constructor(reason: 'app_token_required' | 'role_missing', description: string) {
    super(reason, description);
  }
}

const INVALID_TOKEN_DESCRIPTIONS: Partial<Record<BearerFailureReason, string>> = {
  token_too_large: 'The access token is too large.',
  malformed_token: 'The access token is malformed.',
  encrypted_token: 'Encrypted tokens are not accepted; send a signed access token.',
  nested_token: 'Nested tokens are not accepted.',
  unsupported_algorithm: 'The access token is not signed with an accepted algorithm.',
  unsupported_token_type: 'The token type is not accepted; send an access token.',
  untrusted_header: 'The access token header names keys this API does not accept.',
  missing_key_id: 'The access token does not name its signing key.',
  unknown_signing_key: 'The access token signature could not be verified.',
  bad_signature: 'The access token signature could not be verified.',
  token_expired: 'The access token has expired.',
  token_not_yet_valid: 'The access token is not valid yet.',
  missing_claim: 'The access token lacks a required claim.',
  wrong_issuer: 'The access token was not issued by the expected tenant.',
  wrong_audience: 'The access token was not issued for this API.',
  wrong_tenant: 'The access token was not issued by the expected tenant.',
  caller_not_allowed: 'The calling application is not allowed to use this API.',
};
