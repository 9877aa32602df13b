import { AuthenticationFailure, CredentialsRefused } from './failures.js';
import type { GenesysAgents } from './genesys-agents.js';
import { type AgentCaller, CallerStrategy, type CredentialSource, credentialHeader } from './strategy.js';

const TOKEN = /^[\x21-\x7e]{1,4096}$/;

/** A known agent that may not look rooms up. */
export class AgentForbidden extends AuthenticationFailure {
  readonly counted = false;
  constructor(readonly why: 'division' | 'organization' | 'genesys') {
    super('forbidden', FORBIDDEN[why]);
  }
}

/** Genesys Cloud could not say whether the token is good: our outage, never the caller's failure. */
export class GenesysUnavailable extends AuthenticationFailure {
  readonly counted = false;
  constructor(readonly retryAfterSeconds: number | undefined) {
    super('genesys-unavailable', 'Genesys Cloud could not confirm the token right now; retry shortly.');
  }
}

/**
 * Genesys Cloud agents, by the token in `x-auth-token`, checked with Genesys:
 * refused by Genesys → CredentialsRefused; outside the allowed divisions or
 * organization → AgentForbidden; Genesys unreachable, slow, rate-limited or
 * failing → GenesysUnavailable.
 */
export class GenesysAgentStrategy extends CallerStrategy {
  override readonly name = 'genesys';

  constructor(private readonly agents: GenesysAgents) {
    super();
  }

  protected async callerOf(source: CredentialSource): Promise<AgentCaller> {
    const token = credentialHeader(source, 'x-auth-token');
    if (token === undefined || !TOKEN.test(token)) throw new CredentialsRefused(this.name, 'Send the agent\'s Genesys Cloud access token in the x-auth-token header.');
    const verdict = await this.agents.check(token);
    switch (verdict.outcome) {
      case 'allowed':
        return { kind: 'genesys-agent', id: verdict.agent.userId };
      case 'rejected':
        throw new CredentialsRefused(this.name, 'Genesys Cloud did not accept the token; sign in again.');
      case 'forbidden':
        throw new AgentForbidden(verdict.reason);
      case 'unavailable':
        throw new GenesysUnavailable(verdict.retryAfterSeconds);
    }
  }
}

const FORBIDDEN = {
  division: 'This agent is not in a division allowed to look rooms up.',
  organization: 'This agent does not belong to the organization this gateway serves.',
  genesys: 'Genesys Cloud does not let this token read its user.',
} as const;
