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

/**
 * The one shape of the gateway's three ways in (Entra bearer tokens, Genesys
 * agents' tokens, the event sink's Basic credentials): the caller the
 * request's credentials prove, or an AuthenticationFailure.
 */
export interface Strategy {
  /** What it authenticates; the label of its failures in logs and metrics. */
  readonly name: 'entra' | 'genesys' | 'event-sink';
  authenticate(source: CredentialSource): Promise<Caller>;
}

/** The one value of a credential header, or undefined; several copies are refused. */
export function credentialHeader(source: CredentialSource, name: string): string | undefined {
  const values = headerValues(source.rawHeaders, name);
  if (values.length > 1) throw new RepeatedCredentials(name);
  return values[0];
}
