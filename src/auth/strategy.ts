import passport from 'passport';
import type { EntraPrincipal } from './entra-verifier.js';
import { RepeatedCredentials } from './failures.js';
import { headerValues } from '../raw-headers.js';

export interface AgentCaller {
  kind: 'genesys-agent';
  /** The agent's Genesys user id. */
  id: string;
}

export interface SinkCaller {
  kind: 'event-sink';
  id: string;
}

/** Who called: `kind` and `id` are identities, never secrets, and may be logged. */
export type Caller = EntraPrincipal | AgentCaller | SinkCaller;

/** What a strategy reads of a request: every header as sent, and the parsed query when there is one. */
export interface CredentialSource {
  rawHeaders: readonly string[];
  query?: unknown;
}

/** What a strategy authenticates: its name in passport, and the label of its failures in logs and metrics. */
export type StrategyName = 'entra' | 'genesys' | 'event-sink';

/**
 * The gateway's three ways in (Entra bearer tokens, Genesys agents' tokens,
 * the event sink's Basic credentials) as passport strategies: `callerOf`
 * gives the caller the request's credentials prove, which passport is told
 * with `success`, or throws the AuthenticationFailure saying why, handed to
 * passport with `error` so that http/errors.ts answers it. Never `fail`:
 * passport would write its own 401.
 */
export abstract class CallerStrategy extends passport.Strategy {
  abstract override readonly name: StrategyName;

  protected abstract callerOf(source: CredentialSource): Promise<Caller>;

  override authenticate(source: CredentialSource): void {
    this.callerOf(source).then(
      (caller) => this.success(caller),
      (error: unknown) => this.error(error),
    );
  }
}

/** The one value of a credential header, or undefined; several copies are refused. */
export function credentialHeader(source: CredentialSource, name: string): string | undefined {
  const values = headerValues(source.rawHeaders, name);
  if (values.length > 1) throw new RepeatedCredentials(name);
  return values[0];
}
