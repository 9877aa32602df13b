import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import http from 'node:http';
import { LoopbackServer } from './loopback-server.js';
import { jwtVerify } from 'jose';

const API = '/api/admin/configuration/v1';

export type PexipFault =
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'hang' }
  /** Apply the request, then answer as if it failed (a lost response). */
  | { kind: 'apply-then-fail'; status: number };

interface StoredConference {
  [field: string]: unknown;
  id: number;
  name: string;
  aliases: Record<string, unknown>[];
  automatic_participants: string[];
}

/**
 * The subset of Pexip Infinity's Management configuration API the gateway
 * uses, with its tastypie behaviour (pexip-genesys.md A.1): trailing slashes
 * required, `{meta, objects}` lists with `limit`/`offset`/`meta.next`,
 * filters, 201 + `Location`, PATCH 202, DELETE 204 — and DELETE on the
 * collection URI deleting every VMR, as the real one does. Faults can be
 * queued (status codes with Retry-After, hangs, lost responses), every call
 * is counted, and HTTP Basic or OAuth2 (ES256 client assertion) is enforced.
 */
export class PexipStandIn extends LoopbackServer {
  readonly conferences = new Map<number, StoredConference>();
  readonly calls: { method: string; path: string; body: string }[] = [];
  readonly faults: PexipFault[] = [];
  latencyMs = 0;
  /** Latency for particular requests (overrides latencyMs when it returns a number). */
  latencyFor: ((method: string, path: string) => number | undefined) | undefined;
  /** Successful DELETEs per VMR id: a room deleted twice would show 2. */
  readonly deletions = new Map<number, number>();
  /** Page size when the client sends no limit, and the largest it may ask for. */
  defaultLimit = 20;
  maxLimit = 1000;
  tokenLifetimeSeconds = 3600;
  tokensIssued = 0;
  private nextId = 1;
  private nextAliasId = 1;
  private nextParticipantId = 1;
  private readonly validTokens = new Set<string>();

  constructor(readonly auth: { basic?: { username: string; password: string }; oauth?: { clientId: string; publicKey: KeyObject | string } }) {
    super();
  }

  /** Calls whose method and path match. */
  count(method: string, pathPattern: RegExp): number {
    return this.calls.filter((c) => c.method === method && pathPattern.test(c.path)).length;
  }

  /** Invalidates issued OAuth2 tokens, as an expiry or a restart of the Management Node would. */
  revokeTokens(): void {
    this.validTokens.clear();
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const body = await readBody(req);
    this.calls.push({ method: req.method ?? '', path: url.pathname + url.search, body });
    const delay = this.latencyFor?.(req.method ?? 'GET', url.pathname) ?? this.latencyMs;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay).unref());
    if (url.pathname === '/oauth/token/') return this.token(body, res);
    if (!this.authorized(req.headers.authorization)) {
      res.writeHead(401, { 'www-authenticate': this.auth.oauth ? 'Bearer' : 'Basic realm="Pexip"' }).end();
      return;
    }
    const fault = this.faults.shift();
    if (fault?.kind === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, { 'content-type': 'text/html', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) }).end('<h1>Pexip internal error detail</h1>');
      return;
    }
    const answer = this.route(req.method ?? 'GET', url, body);
    if (fault?.kind === 'apply-then-fail') {
      res.writeHead(fault.status).end();
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  }

  private authorized(header: string | undefined): boolean {
    if (this.auth.basic) {
      const expected = `Basic ${Buffer.from(`${this.auth.basic.username}:${this.auth.basic.password}`).toString('base64')}`;
      if (header === expected) return true;
    }
    if (this.auth.oauth && header?.startsWith('Bearer ')) return this.validTokens.has(header.slice(7));
    return false;
  }

  private async token(body: string, res: http.ServerResponse): Promise<void> {
    const form = new URLSearchParams(body);
    const oauth = this.auth.oauth;
    try {
      if (!oauth) throw new Error('oauth not enabled');
      if (form.get('grant_type') !== 'client_credentials') throw new Error('grant_type');
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') throw new Error('assertion type');
      if (form.get('scope') !== 'is_admin use_api') throw new Error('scope');
      const key = typeof oauth.publicKey === 'string' ? createPublicKey(oauth.publicKey) : oauth.publicKey;
      const { payload } = await jwtVerify(form.get('client_assertion') ?? '', key, { algorithms: ['ES256'], issuer: oauth.clientId, subject: oauth.clientId, audience: `${this.baseUrl}/oauth/token/`, requiredClaims: ['exp', 'iat', 'jti'] });
      if (payload.jti === undefined) throw new Error('jti');
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
      return;
    }
    const token = randomBytes(24).toString('hex');
    this.validTokens.add(token);
    this.tokensIssued += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: this.tokenLifetimeSeconds, scope: 'is_admin use_api' }));
  }

  private route(method: string, url: URL, body: string): { status: number; body?: unknown; headers?: Record<string, string> } {
    const path = url.pathname;
    if (path === `${API}/conference/`) {
      if (method === 'GET') return { status: 200, body: this.list(url) };
      if (method === 'POST') return this.create(parse(body));
      if (method === 'DELETE') {
        this.conferences.clear();
        return { status: 204 };
      }
    }
    const one = new RegExp(`^${API}/conference/(\\d+)/$`).exec(path);
    if (one) {
      const conference = this.conferences.get(Number(one[1]));
      if (conference === undefined) return { status: 404, body: {} };
      if (method === 'GET') return { status: 200, body: conference };
      if (method === 'PATCH') {
        Object.assign(conference, parse(body));
        return { status: 202 };
      }
      if (method === 'DELETE') {
        this.conferences.delete(conference.id);
        this.deletions.set(conference.id, (this.deletions.get(conference.id) ?? 0) + 1);
        return { status: 204 };
      }
    }
    if (path === `${API}/automatic_participant/` && method === 'POST') return this.addParticipant(parse(body));
    return { status: 404, body: {} };
  }

  private list(url: URL): unknown {
    const query = url.searchParams;
    const limit = Math.min(Number(query.get('limit') ?? this.defaultLimit), this.maxLimit);
    const offset = Number(query.get('offset') ?? 0);
    let objects = [...this.conferences.values()].sort((a, b) => a.id - b.id);
    if (query.has('name')) objects = objects.filter((c) => c.name === query.get('name'));
    if (query.has('name__startswith')) objects = objects.filter((c) => c.name.startsWith(query.get('name__startswith') as string));
    if (query.has('service_type')) objects = objects.filter((c) => c.service_type === query.get('service_type'));
    if (query.has('tag')) objects = objects.filter((c) => c.tag === query.get('tag'));
    const page = objects.slice(offset, offset + limit);
    const link = (at: number) => {
      const next = new URLSearchParams(query);
      next.set('limit', String(limit));
      next.set('offset', String(at));
      return `${API}/conference/?${next.toString()}`;
    };
    return {
      meta: { limit, offset, total_count: objects.length, next: offset + limit < objects.length ? link(offset + limit) : null, previous: offset > 0 ? link(Math.max(0, offset - limit)) : null },
      objects: page,
    };
  }

  private create(input: Record<string, unknown>): { status: number; body?: unknown; headers?: Record<string, string> } {
    const name = input.name;
    if (typeof name !== 'string' || name.length === 0) return { status: 400, body: { conference: { name: ['This field is required.'] } } };
    if ([...this.conferences.values()].some((c) => c.name === name)) return { status: 400, body: { conference: { name: ['Conference with this Name already exists.'] } } };
    const id = this.nextId++;
    const uri = `${API}/conference/${id}/`;
    const now = new Date().toISOString();
    const aliases = ((input.aliases as { alias: string }[] | undefined) ?? []).map((a) => ({ id: this.nextAliasId++, alias: a.alias, conference: uri, creation_time: now, description: '' }));
    this.conferences.set(id, {
      allow_guests: false, automatic_participants: [], call_type: 'video', creation_time: now, crypto_mode: null, description: '', enable_chat: 'default',
      enable_overlay_text: false, guest_pin: '', guest_view: null, guests_can_present: true, host_view: 'one_main_seven_pips', ivr_theme: null,
      max_callrate_in: null, max_callrate_out: null, max_pixels_per_second: null, mute_all_guests: false, participant_limit: null, pin: '',
      primary_owner_email_address: '', service_type: 'conference', sync_tag: '', system_location: null, tag: '',
      ...input, id, name, aliases, resource_uri: uri,
    });
    return { status: 201, headers: { location: `${this.baseUrl}${uri}` } };
  }

  private addParticipant(input: Record<string, unknown>): { status: number; body?: unknown; headers?: Record<string, string> } {
    const targets = input.conference;
    if (!Array.isArray(targets) || typeof input.alias !== 'string') return { status: 400, body: { automatic_participant: { conference: ['A list of conference URIs is required.'] } } };
    const uri = `${API}/automatic_participant/${this.nextParticipantId++}/`;
    for (const target of targets) {
      const id = Number(/\/conference\/(\d+)\/$/.exec(String(target))?.[1]);
      this.conferences.get(id)?.automatic_participants.push(uri);
    }
    return { status: 201, headers: { location: `${this.baseUrl}${uri}` } };
  }
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

function parse(body: string): Record<string, unknown> {
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return {};
  }
}
