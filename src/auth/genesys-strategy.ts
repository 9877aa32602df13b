import type { Request } from 'express';
import { Strategy } from 'passport-strategy';
import { HttpProblem } from '../http/problem.js';
import type { GenesysAgent, GenesysAgents } from './genesys-agents.js';
import { repeatedHeader } from './repeated-header.js';

export interface AgentCaller extends GenesysAgent {
  kind: 'genesys-agent';
}

const TOKEN = /^[\x21-\x7e]{1,4096}$/;
const CHALLENGE = 'X-Auth-Token realm="genesys"';

/**
 * The agent's Genesys Cloud token in `x-auth-token`, checked with Genesys.
 * Genesys 401 → 401; outside the allowed divisions or organization → 403;
 * Genesys unreachable, slow, rate-limited or failing → 503.
 */
export class GenesysTokenStrategy extends Strategy {
  name = 'x-auth-token';

  constructor(private readonly agents: GenesysAgents) {
    super();
  }

  override authenticate(req: Request): void {
    const repeated = repeatedHeader(req, 'x-auth-token');
    if (repeated !== undefined) {
      this.fail(repeated, 400);
      return;
    }
    const token = req.headers['x-auth-token'];
    if (typeof token !== 'string' || !TOKEN.test(token)) {
      this.fail(unauthorized('Send the agent\'s Genesys Cloud access token in the x-auth-token header.'), 401);
      return;
    }
    this.agents.check(token).then(
      (verdict) => {
        switch (verdict.outcome) {
          case 'allowed':
            this.success({ kind: 'genesys-agent', ...verdict.agent } satisfies AgentCaller);
            return;
          case 'rejected':
            this.fail(unauthorized('Genesys Cloud did not accept the token; sign in again.'), 401);
            return;
          case 'forbidden':
            this.fail(new HttpProblem(403, 'forbidden', 'Forbidden', FORBIDDEN[verdict.reason]), 403);
            return;
          case 'unavailable':
            this.error(
              new HttpProblem(503, 'genesys-unavailable', 'Service Unavailable', 'Genesys Cloud could not confirm the token right now; retry shortly.', {
                headers: verdict.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(verdict.retryAfterSeconds) },
              }),
            );
        }
      },
      (error: unknown) => this.error(error as Error),
    );
  }
}

const FORBIDDEN = {
  division: 'This agent is not in a division allowed to look rooms up.',
  organization: 'This agent does not belong to the organization this gateway serves.',
  genesys: 'Genesys Cloud does not let this token read its user.',
} as const;

function unauthorized(detail: string): HttpProblem {
  return new HttpProblem(401, 'unauthorized', 'Unauthorized', detail, { headers: { 'WWW-Authenticate': CHALLENGE } });
}
