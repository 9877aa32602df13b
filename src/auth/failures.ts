/**
 * Why a request was not authenticated, modelled on the RFC 6750 classes
 * (bearer-errors.ts): `reason` is a stable code for logs and metrics,
 * `description` a fixed sentence safe to show the caller. How a failure is
 * answered over HTTP is decided in http/errors.ts alone.
 */
export abstract class AuthenticationFailure extends Error {
  /** The credentials themselves were refused: the failure counts towards the client's limit (failure-limiter.ts). */
  abstract readonly counted: boolean;

  constructor(readonly reason: string, readonly description: string) {
    super(description);
    this.name = new.target.name;
  }
}

/** A credential header sent more than once: which copy to believe is ambiguous. */
export class RepeatedCredentials extends AuthenticationFailure {
  readonly counted = false;
  constructor(readonly header: string) {
    super('invalid_request', `Send exactly one ${header} header; this request has several.`);
  }
}

/** Credentials missing, malformed or wrong for a strategy other than Entra's (which has RFC 6750's). */
export class CredentialsRefused extends AuthenticationFailure {
  readonly counted = true;
  constructor(readonly strategy: 'genesys' | 'event-sink', description: string) {
    super('rejected', description);
  }
}
