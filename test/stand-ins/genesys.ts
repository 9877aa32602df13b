import http from 'node:http';
import { LoopbackServer } from './loopback-server.js';

export const ALLOWED_DIVISION = 'division-allowed';
export const ORGANIZATION = 'org-maxconf';

export type AgentBehaviour =
  | { kind: 'user'; id: string; division: string | undefined; organization: string | undefined }
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'hang' }
  | { kind: 'garbage' };

/**
 * Genesys Cloud's `GET /api/v2/users/me` as the gateway sees it: answers per
 * token (a user, 401, 403, 429 with Retry-After, 5xx, a hang), with latency,
 * and counts its calls.
 */
export class GenesysStandIn extends LoopbackServer {
  private readonly tokens = new Map<string, AgentBehaviour>();
  calls = 0;
  latencyMs = 0;
  lastQuery = '';

  /** A token of an agent, by default in the allowed division of the expected organization. */
  agent(token: string, division: string | undefined = ALLOWED_DIVISION, organization: string | undefined = ORGANIZATION): string {
    this.tokens.set(token, { kind: 'user', id: `user-${token.slice(0, 8)}`, division, organization });
    return token;
  }

  behave(token: string, behaviour: AgentBehaviour): string {
    this.tokens.set(token, behaviour);
    return token;
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET' || url.pathname !== '/api/v2/users/me') {
      res.writeHead(404).end();
      return;
    }
    this.calls += 1;
    this.lastQuery = url.search;
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs).unref());
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const behaviour = this.tokens.get(token) ?? { kind: 'status', status: 401 };
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', 'inin-correlation-id': 'c0ffee', ...headers }).end(JSON.stringify(body));
    switch (behaviour.kind) {
      case 'user':
        json(200, {
          id: behaviour.id,
          name: 'Agent Smith',
          username: 'agent@example.gov',
          ...(behaviour.division === undefined ? {} : { division: { id: behaviour.division, name: 'Verification', selfUri: `/api/v2/authorization/divisions/${behaviour.division}` } }),
          ...(behaviour.organization === undefined ? {} : { organization: { id: behaviour.organization, name: 'MaxConf' } }),
          selfUri: `/api/v2/users/${behaviour.id}`,
        });
        return;
      case 'status':
        json(behaviour.status, { status: behaviour.status, code: 'upstream.secret.detail', message: 'Genesys internal detail that must not leak', contextId: 'ctx-123' }, behaviour.retryAfter === undefined ? {} : { 'retry-after': behaviour.retryAfter });
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' }).end('<html>');
        return;
      case 'hang':
        this.hanging.add(res);
    }
  }
}
