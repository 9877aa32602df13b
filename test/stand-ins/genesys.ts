import http from 'node:http';
import { LoopbackServer } from './loopback-server.js';

export const ALLOWED_DIVISION = 'division-allowed';
export const ORGANIZATION = 'org-maxconf';

export type AgentBehaviour =
  | { kind: 'user'; id: string; division: string | undefined; organization: string | undefined }
  /** A published body served verbatim (test/fixtures/upstream/genesys/). */
  | { kind: 'body'; body: unknown }
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'hang' }
  | { kind: 'garbage' };

/**
 * Genesys Cloud's `GET /api/v2/users/me` as the gateway sees it: answers per
 * token (a user, 401, 403, 429 with Retry-After, 5xx, a hang), or alike to
 * every token it was given no answer for, with latency or held until
 * released, and counts its calls.
 */
export class GenesysStandIn extends LoopbackServer {
  private readonly tokens = new Map<string, AgentBehaviour>();
  private held: Promise<void> | undefined;
  calls = 0;
  latencyMs = 0;
  lastQuery = '';
  /** The answer to a token given none: Genesys' 401, or what it answers everyone while rate limiting or failing. */
  otherTokens: AgentBehaviour = { kind: 'status', status: 401 };

  /** A token of an agent, by default in the allowed division of the expected organization. */
  agent(token: string, division: string | undefined = ALLOWED_DIVISION, organization: string | undefined = ORGANIZATION): string {
    this.tokens.set(token, { kind: 'user', id: `user-${token.slice(0, 8)}`, division, organization });
    return token;
  }

  behave(token: string, behaviour: AgentBehaviour): string {
    this.tokens.set(token, behaviour);
    return token;
  }

  /** Answers no call (each still counts when it arrives) until the function returned is called. */
  hold(): () => void {
    let release = () => {};
    this.held = new Promise((resolve) => (release = resolve));
    return () => {
      this.held = undefined;
      release();
    };
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
    await this.held;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const behaviour = this.tokens.get(token) ?? this.otherTokens;
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', 'inin-correlation-id': 'c0ffee', ...headers }).end(JSON.stringify(body));
    switch (behaviour.kind) {
      case 'user':
        json(200, userMe(behaviour, url.searchParams.get('expand')?.split(',') ?? []));
        return;
      case 'body':
        json(200, behaviour.body);
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

/**
 * A `UserMe` as Genesys Cloud returns it: the `User` fields in the shape of
 * `gc users get` output (MyPureCloud/developer-center-blog
 * source/2021-10-01-experimental-feature-transform-data/index.md), plus
 * `organization` only when `expand=organization` asks for it (UserMe and
 * Organization models: MyPureCloud/platform-client-sdk-python
 * build/docs/UserMe.md, build/docs/Organization.md). A user outside any
 * division has no `division` (MyPureCloud/genesys-cloud-webrtc-sdk
 * test/mock-apis.ts MOCK_USER).
 */
function userMe(user: Extract<AgentBehaviour, { kind: 'user' }>, expand: string[]): Record<string, unknown> {
  const email = `${user.id}@example.gov`;
  return {
    id: user.id,
    name: 'Agent Smith',
    ...(user.division === undefined ? {} : { division: { id: user.division, name: 'Verification', selfUri: `/api/v2/authorization/divisions/${user.division}` } }),
    chat: { jabberId: `${user.id}@example.orgspan.com` },
    email,
    primaryContactInfo: [{ address: email, mediaType: 'EMAIL', type: 'PRIMARY' }],
    addresses: [],
    state: 'active',
    username: email,
    version: 3,
    acdAutoAnswer: false,
    ...(expand.includes('organization') && user.organization !== undefined
      ? { organization: { id: user.organization, name: 'MaxConf', defaultLanguage: 'en', defaultCountryCode: 'CA', thirdPartyOrgName: 'maxconf', domain: 'maxconf', version: 7, state: 'active', voicemailEnabled: true, productPlatform: 'PureCloud', selfUri: `/api/v2/organizations/${user.organization}`, features: {} } }
      : {}),
    selfUri: `/api/v2/users/${user.id}`,
  };
}
