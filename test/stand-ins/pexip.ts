import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LoopbackServer } from './loopback-server.js';
import { jwtVerify } from 'jose';

const API = '/api/admin/configuration/v1';

export type PexipFault =
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'hang' }
  /** Apply the request, then answer as if it failed (a lost response). */
  | { kind: 'apply-then-fail'; status: number }
  /** Apply the request and never answer (the answer is on its way when the caller dies). */
  | { kind: 'apply-then-hang' }
  /** Apply the request and answer as always, its JSON followed by `padding` spaces sent chunked (no Content-Length): still valid JSON. */
  | { kind: 'padded'; padding: number };

interface StoredConference {
  [field: string]: unknown;
  id: number;
  name: string;
  aliases: Record<string, unknown>[];
}

interface StoredParticipant {
  [field: string]: unknown;
  id: number;
  conference: string[];
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };
/** Per-field messages, as tastypie answers a failed validation: `{"<resource_name>": {"<field>": ["..."]}}`. */
type FieldErrors = Record<string, string[]>;

/**
 * The subset of Pexip Infinity's Management configuration API the gateway
 * uses, with its tastypie behaviour (docs/pexip.md §1): trailing slashes
 * required, `{meta, objects}` lists with `limit`/`offset`/`meta.next`,
 * filters, 201 + `Location`, PATCH 202, DELETE 204 — and DELETE on the
 * collection URI deleting every VMR, as the real one does. Every field the
 * gateway sends is checked against Pexip's documented rules (sources beside
 * each rule below) and a violation is answered 400 with tastypie's per-field
 * body. Objects come back in Pexip's shapes: nested aliases and automatic
 * participants, zone-less timestamps. Faults can be queued (status codes with
 * Retry-After, hangs, lost responses), every call is counted, and HTTP Basic
 * or OAuth2 (ES256 client assertion) is enforced.
 */
export class PexipStandIn extends LoopbackServer {
  readonly conferences = new Map<number, StoredConference>();
  readonly participants = new Map<number, StoredParticipant>();
  /** System locations that exist, by resource URI. */
  readonly systemLocations = new Set([`${API}/system_location/1/`]);
  /** Pexip's Location header is absolute in some deployments and a path in others (docs/pexip.md §1); both are served. */
  locationStyle: 'absolute' | 'relative' = 'absolute';
  /**
   * Every request as it arrived (`at`: epoch ms). Pexip limits the Management
   * API per Management Node to 1,000 requests per 60 s (docs/pexip.md §1,
   * citing https://docs.pexip.com/api_manage/using.htm); tests count windows over these. The headers show
   * what reached Pexip (W3C `traceparent`, for instance).
   */
  readonly calls: { method: string; path: string; body: string; at: number; headers: http.IncomingHttpHeaders }[] = [];
  /**
   * The request limit, answered as Pexip answers it: once `requests` API
   * requests were accepted in the last `windowMs`, 429 with `Retry-After`
   * (seconds until the oldest of them leaves the window). Pexip documents the
   * limit but not the 429's body (docs/pexip.md §1); clients retry 429
   * honouring Retry-After (the same section). The token endpoint is not
   * counted. Tests that need it lower it.
   */
  requestLimit = { requests: 1000, windowMs: 60_000 };
  /** Refused with 429 by the request limit (they are in `calls`, not in the limit's window). */
  limited = 0;
  /** The stand-in's time (epoch ms): `at`, token expiry, the request limit. A test may give it the gateway's TestClock. */
  now: () => number = Date.now;
  readonly faults: PexipFault[] = [];
  /** Spaces after the JSON of each token answer (still valid JSON), to make it as large as a test needs. */
  tokenAnswerPadding = 0;
  /** Names of the VMRs a conference is running in now, as the status API lists them. */
  readonly activeConferences = new Set<string>();
  latencyMs = 0;
  /** Latency for particular requests (overrides latencyMs when it returns a number). */
  latencyFor: ((method: string, path: string) => number | undefined) | undefined;
  /** Successful DELETEs per VMR id: a room deleted twice would show 2. */
  readonly deletions = new Map<number, number>();
  /** Page size when the client sends no limit, and the largest it may ask for. */
  defaultLimit = 20;
  maxLimit = 1000;
  /** Pexip's `api_oauth2_expiration`, 1 hour by default (docs/pexip.md §1); a token is refused once it has passed. */
  tokenLifetimeSeconds = 3600;
  /** Whether the token answer says how long the token lives (`expires_in` is RECOMMENDED, not required: RFC 6749 §5.1). */
  reportsTokenLifetime = true;
  tokensIssued = 0;
  private nextId = 1;
  private nextAliasId = 1;
  private nextParticipantId = 1;
  /**
   * Conference ids by name and by alias, as Pexip's unique indexes keep
   * them: lookups stay cheap with thousands of VMRs on the platform. Every
   * write goes through this class (seed, the API); an entry is checked
   * against the conference before use, so a deleted or renamed one is not found.
   */
  private readonly idByName = new Map<string, number>();
  private readonly idByAlias = new Map<string, number>();
  /** Issued OAuth2 tokens and when each expires (epoch ms, by `now`). */
  private readonly validTokens = new Map<string, number>();
  /** When the requests counted by the limit were accepted, oldest first, from `acceptedFrom` on. */
  private readonly accepted: number[] = [];
  private acceptedFrom = 0;

  constructor(readonly auth: { basic?: { username: string; password: string }; oauth?: { clientId: string; publicKey: KeyObject | string } }) {
    super();
  }

  /**
   * Stores a conference exactly as Pexip returned it elsewhere (a published
   * fixture); its nested automatic participants are kept as objects of their
   * own, an automatic participant shared by several conferences only once.
   */
  seed(conference: Record<string, unknown>): void {
    const { automatic_participants: nested = [], ...stored } = conference as StoredConference & { automatic_participants?: { id: number }[] };
    this.conferences.set(stored.id, stored);
    this.index(stored);
    for (const participant of nested) {
      const existing = this.participants.get(participant.id);
      if (existing) existing.conference.push(stored.resource_uri as string);
      else this.participants.set(participant.id, { ...participant, conference: [stored.resource_uri as string] });
    }
    this.nextId = Math.max(this.nextId, stored.id + 1);
    this.nextParticipantId = Math.max(this.nextParticipantId, ...nested.map((p) => p.id + 1));
  }

  /**
   * How the calls fill windows of `windowMs` (a request budget's window):
   * the most that arrived in any window starting at one of them, and how many
   * arrived in the whole windows counted from the first call.
   */
  windows(windowMs: number): { busiest: number; fullWindows: number; inFullWindows: number } {
    const times = this.calls.map((c) => c.at).sort((a, b) => a - b);
    let busiest = 0;
    for (let first = 0, last = 0; first < times.length; first += 1) {
      while (last < times.length && (times[last] as number) < (times[first] as number) + windowMs) last += 1;
      busiest = Math.max(busiest, last - first);
    }
    if (times.length === 0) return { busiest, fullWindows: 0, inFullWindows: 0 };
    const start = times[0] as number;
    const fullWindows = Math.floor(((times[times.length - 1] as number) - start) / windowMs);
    return { busiest, fullWindows, inFullWindows: times.filter((t) => t < start + fullWindows * windowMs).length };
  }

  /**
   * VMRs that others made on the platform (other services, other tools),
   * each created and checked as a POST would be, without counting as a call;
   * with `dialOut`, each with an automatic participant dialling it.
   */
  addVmrs(names: readonly string[], dialOut?: string): void {
    for (const name of names) {
      const answer = this.create({ name, service_type: 'conference', aliases: [{ alias: name }] });
      if (answer.status !== 201) throw new Error(`the stand-in refused VMR ${name}: ${JSON.stringify(answer.body)}`);
      if (dialOut === undefined) continue;
      const dialling = this.addParticipant({ alias: dialOut, conference: [this.conferences.get(this.idByName.get(name) as number)?.resource_uri] });
      if (dialling.status !== 201) throw new Error(`the stand-in refused the automatic participant of VMR ${name}: ${JSON.stringify(dialling.body)}`);
    }
  }

  /** Calls whose method and path match. */
  count(method: string, pathPattern: RegExp): number {
    return this.calls.filter((c) => c.method === method && pathPattern.test(c.path)).length;
  }

  /** Invalidates issued OAuth2 tokens before their expiry, as a restart of the Management Node would. */
  revokeTokens(): void {
    this.validTokens.clear();
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const at = this.now();
    const url = new URL(req.url ?? '/', this.baseUrl);
    const body = await readBody(req);
    this.calls.push({ method: req.method ?? '', path: url.pathname + url.search, body, at, headers: req.headers });
    const delay = this.latencyFor?.(req.method ?? 'GET', url.pathname) ?? this.latencyMs;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay).unref());
    if (url.pathname === '/oauth/token/') return this.token(body, res);
    const retryAfter = this.overLimit(at);
    if (retryAfter !== undefined) {
      this.limited += 1;
      res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': String(retryAfter) }).end('Too Many Requests');
      return;
    }
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
    const answer = this.route(req.method ?? 'GET', url, { text: body, contentType: req.headers['content-type'] });
    if (fault?.kind === 'apply-then-fail') {
      res.writeHead(fault.status).end();
      return;
    }
    if (fault?.kind === 'apply-then-hang') {
      this.hanging.add(res);
      return;
    }
    const json = answer.body === undefined ? '' : JSON.stringify(answer.body);
    if (fault?.kind === 'padded') {
      res.writeHead(answer.status, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...answer.headers });
      writePadded(res, json, fault.padding);
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(json);
  }

  /** Seconds the caller must wait when the limit is reached (the request is then not counted); undefined when it is accepted. */
  private overLimit(at: number): number | undefined {
    const { requests, windowMs } = this.requestLimit;
    while (this.acceptedFrom < this.accepted.length && (this.accepted[this.acceptedFrom] as number) <= at - windowMs) this.acceptedFrom += 1;
    if (this.accepted.length - this.acceptedFrom >= requests) {
      const oldest = this.accepted[this.acceptedFrom] ?? at;
      return Math.max(1, Math.ceil((oldest + windowMs - at) / 1000));
    }
    this.accepted.push(at);
    if (this.acceptedFrom > 4096) {
      this.accepted.splice(0, this.acceptedFrom);
      this.acceptedFrom = 0;
    }
    return undefined;
  }

  private authorized(header: string | undefined): boolean {
    if (this.auth.basic) {
      const expected = `Basic ${Buffer.from(`${this.auth.basic.username}:${this.auth.basic.password}`).toString('base64')}`;
      if (header === expected) return true;
    }
    if (this.auth.oauth && header?.startsWith('Bearer ')) return (this.validTokens.get(header.slice(7)) ?? 0) > this.now();
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
    this.validTokens.set(token, this.now() + this.tokenLifetimeSeconds * 1000);
    this.tokensIssued += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', ...(this.reportsTokenLifetime ? { expires_in: this.tokenLifetimeSeconds } : {}), scope: 'is_admin use_api' }) + ' '.repeat(this.tokenAnswerPadding));
  }

  private route(method: string, url: URL, body: RequestBody): Answer {
    const path = url.pathname;
    if (path === `${API}/conference/`) {
      if (method === 'GET') return { status: 200, body: this.list(url) };
      if (method === 'POST') return withInput(body, (input) => this.create(input));
      if (method === 'DELETE') {
        this.conferences.clear();
        return { status: 204 };
      }
    }
    const one = new RegExp(`^${API}/conference/(\\d+)/$`).exec(path);
    if (one) {
      const conference = this.conferences.get(Number(one[1]));
      if (conference === undefined) return { status: 404, body: {} };
      if (method === 'GET') return { status: 200, body: this.render(conference) };
      if (method === 'PATCH') return withInput(body, (changes) => this.patch(conference, changes));
      if (method === 'DELETE') {
        this.conferences.delete(conference.id);
        this.deletions.set(conference.id, (this.deletions.get(conference.id) ?? 0) + 1);
        return { status: 204 };
      }
    }
    if (path === `${API}/automatic_participant/` && method === 'POST') return withInput(body, (input) => this.addParticipant(input));
    if (path === '/api/admin/status/v1/conference/' && method === 'GET') return { status: 200, body: this.activeList(url) };
    return { status: 404, body: {} };
  }

  /**
   * The status API's running conferences (`/api/admin/status/v1/`, docs/pexip.md
   * §1), tastypie-enveloped, filtered by `name` as third-party clients query
   * it; one object per conference instance, whose `id` is a UUID.
   */
  private activeList(url: URL): unknown {
    const name = url.searchParams.get('name');
    const names = [...this.activeConferences].filter((n) => name === null || n === name);
    const objects = names.map((n) => {
      const id = randomBytes(16).toString('hex');
      return { id, name: n, service_type: 'conference', is_started: true, is_locked: false, guests_muted: false, tag: '', start_time: pexipTime(), resource_uri: `/api/admin/status/v1/conference/${id}/` };
    });
    return { meta: { limit: 20, offset: 0, total_count: objects.length, next: null, previous: null }, objects };
  }

  private list(url: URL): unknown {
    const query = url.searchParams;
    const limit = Math.min(Number(query.get('limit') ?? this.defaultLimit), this.maxLimit);
    const offset = Number(query.get('offset') ?? 0);
    const name = query.get('name');
    const prefix = query.get('name__startswith');
    const serviceType = query.get('service_type');
    const tag = query.get('tag');
    let objects = name === null ? [...this.conferences.values()].sort((a, b) => a.id - b.id) : [this.byName(name)].filter((c) => c !== undefined);
    if (prefix !== null) objects = objects.filter((c) => c.name.startsWith(prefix));
    if (serviceType !== null) objects = objects.filter((c) => c.service_type === serviceType);
    if (tag !== null) objects = objects.filter((c) => c.tag === tag);
    const page = objects.slice(offset, offset + limit);
    const link = (at: number) => {
      const next = new URLSearchParams(query);
      next.set('limit', String(limit));
      next.set('offset', String(at));
      return `${API}/conference/?${next.toString()}`;
    };
    return {
      meta: { limit, offset, total_count: objects.length, next: offset + limit < objects.length ? link(offset + limit) : null, previous: offset > 0 ? link(Math.max(0, offset - limit)) : null },
      objects: page.map((c) => this.render(c)),
    };
  }

  /** A conference as Pexip returns it: aliases and automatic participants nested (HL727/Meeting conferencecenter/tests/mock_data/pexip.py). */
  private render(conference: StoredConference): Record<string, unknown> {
    const uri = conference.resource_uri as string;
    const participants = [...this.participants.values()].filter((p) => p.conference.includes(uri)).map(({ conference: _targets, ...nested }) => nested);
    return { ...conference, automatic_participants: participants };
  }

  private create(input: Record<string, unknown>): Answer {
    const id = this.nextId;
    const uri = `${API}/conference/${id}/`;
    const now = pexipTime();
    const candidate: StoredConference = { ...CONFERENCE_DEFAULTS, ...input, id, name: input.name as string, aliases: [], resource_uri: uri, creation_time: now };
    const errors = conferenceErrors(candidate, true, this.nameTaken(candidate.name));
    if (errors) return invalid('conference', errors);
    const aliases = Array.isArray(input.aliases) ? (input.aliases as unknown[]) : [];
    const aliasErrors = this.aliasErrors(aliases);
    if (aliasErrors) return invalid('conference_alias', aliasErrors);
    this.nextId += 1;
    candidate.aliases = aliases.map((a) => ({ id: this.nextAliasId++, alias: (a as { alias: string }).alias, conference: uri, creation_time: now, description: '' }));
    this.conferences.set(id, candidate);
    this.index(candidate);
    return this.createdAt(uri);
  }

  private patch(conference: StoredConference, changes: Record<string, unknown>): Answer {
    const candidate = { ...conference, ...changes, id: conference.id, aliases: conference.aliases, resource_uri: conference.resource_uri };
    const renamed = changes.name !== undefined && changes.name !== conference.name;
    const errors = conferenceErrors(candidate, false, renamed && this.nameTaken(candidate.name));
    if (errors) return invalid('conference', errors);
    Object.assign(conference, candidate);
    this.index(conference);
    return { status: 202 };
  }

  private addParticipant(input: Record<string, unknown>): Answer {
    const candidate = { ...PARTICIPANT_DEFAULTS, ...input } as Record<string, unknown>;
    const errors = participantErrors(candidate, (uri) => this.conferenceByUri(uri) !== undefined, (uri) => this.systemLocations.has(uri));
    if (errors) return invalid('automatic_participant', errors);
    const id = this.nextParticipantId++;
    const uri = `${API}/automatic_participant/${id}/`;
    this.participants.set(id, { ...candidate, id, conference: candidate.conference as string[], creation_time: pexipTime(), resource_uri: uri });
    return this.createdAt(uri);
  }

  private createdAt(uri: string): Answer {
    return { status: 201, headers: { location: this.locationStyle === 'absolute' ? `${this.baseUrl}${uri}` : uri } };
  }

  private index(conference: StoredConference): void {
    this.idByName.set(conference.name, conference.id);
    for (const { alias } of conference.aliases) this.idByAlias.set(alias as string, conference.id);
  }

  private byName(name: string): StoredConference | undefined {
    const conference = this.conferences.get(this.idByName.get(name) ?? 0);
    return conference?.name === name ? conference : undefined;
  }

  private nameTaken(name: unknown): boolean {
    return typeof name === 'string' && this.byName(name) !== undefined;
  }

  private aliasTaken(alias: string): boolean {
    return this.conferences.get(this.idByAlias.get(alias) ?? 0)?.aliases.some((a) => a.alias === alias) ?? false;
  }

  private conferenceByUri(uri: string): StoredConference | undefined {
    const id = Number(new RegExp(`^${API}/conference/(\\d+)/$`).exec(uri)?.[1]);
    return this.conferences.get(id);
  }

  /** Nested aliases: `alias` required, at most 250 characters, unique on the platform. */
  private aliasErrors(aliases: unknown[]): FieldErrors | undefined {
    const requested = new Set<string>();
    const errors: FieldErrors = {};
    for (const entry of aliases) {
      const alias = (entry as { alias?: unknown } | null)?.alias;
      // pexip/terraform-provider-pexip internal/provider/resource_infinity_conference_alias.go: alias Required, LengthAtMost(250).
      const problem = text(alias, { required: true, max: 250 });
      // Aliases are unique platform-wide (docs/pexip.md §1, Josh-E-S/pexip-mgmt-mcp tools/alias.py).
      const duplicate = typeof alias === 'string' && (requested.has(alias) || this.aliasTaken(alias)) ? 'Conference alias with this Alias already exists.' : undefined;
      if (problem ?? duplicate) errors.alias = [(problem ?? duplicate) as string];
      if (typeof alias === 'string') requested.add(alias);
    }
    return Object.keys(errors).length > 0 ? errors : undefined;
  }
}

/** What Pexip fills in when a create leaves a field out (HL727/Meeting conferencecenter/tests/mock_data/pexip.py). */
const CONFERENCE_DEFAULTS = {
  allow_guests: false, call_type: 'video', crypto_mode: '', description: '', enable_chat: 'default', enable_overlay_text: false,
  force_presenter_into_main: false, guest_pin: '', guest_view: null, guests_can_present: true, host_view: 'one_main_seven_pips', ivr_theme: null,
  match_string: '', max_callrate_in: null, max_callrate_out: null, max_pixels_per_second: null, mssip_proxy: null, mute_all_guests: false,
  participant_limit: null, pin: '', primary_owner_email_address: '', replace_string: '', service_type: 'conference', sync_tag: '',
  system_location: null, tag: '',
};

/** Defaults per pexip/terraform-provider-pexip internal/provider/resource_infinity_automatic_participant.go (stringdefault.StaticString). */
const PARTICIPANT_DEFAULTS = {
  call_type: 'video', description: '', dtmf_sequence: '', keep_conference_alive: 'keep_conference_alive_if_multiple', presentation_url: '',
  protocol: 'sip', remote_display_name: '', role: 'guest', routing: 'manual', streaming: false, system_location: null,
};

/**
 * The conference rules, each from Pexip's own Terraform provider
 * (internal/provider/resource_infinity_conference.go) unless said otherwise.
 */
function conferenceErrors(c: Record<string, unknown>, creating: boolean, nameTaken: boolean): FieldErrors | undefined {
  const errors: FieldErrors = {};
  const add = (field: string, message: string | undefined) => {
    if (message !== undefined) errors[field] = [message];
  };
  // name: Required, LengthAtMost(250); unique (Django's unique message, as tastypie passes it on).
  add('name', text(c.name, { required: creating, max: 250 }) ?? (nameTaken ? 'Conference with this Name already exists.' : undefined));
  // service_type: OneOf("conference", "lecture", "two_stage_dialing", "test_call", "media_playback").
  add('service_type', choice(c.service_type, ['conference', 'lecture', 'two_stage_dialing', 'test_call', 'media_playback']));
  // description and tag: LengthAtMost(250).
  add('description', text(c.description, { max: 250 }));
  add('tag', text(c.tag, { max: 250 }));
  // allow_guests: BoolAttribute.
  add('allow_guests', typeof c.allow_guests === 'boolean' ? undefined : "'allow_guests' field has invalid value");
  // pin, guest_pin: LengthBetween(4, 20), "digits, including any terminal #"; docs.pexip.com/admin/pins_hosts_guests.htm: digits 0-9 only, may end with #.
  add('pin', pinProblem(c.pin));
  add('guest_pin', pinProblem(c.guest_pin));
  // allow_guests true: "You must enter a PIN to be used by the Hosts" (allow_guests description).
  if (c.allow_guests === true && c.pin === '') add('pin', 'A Host PIN is required when Guests are allowed.');
  // docs.pexip.com/admin/pins_hosts_guests.htm: a Guest PIN needs a Host PIN, and the two must differ.
  if (c.guest_pin !== '' && c.pin === '') add('guest_pin', 'A Guest PIN can only be set together with a Host PIN.');
  if (c.guest_pin !== '' && c.guest_pin === c.pin) add('guest_pin', 'The Guest PIN must be different from the Host PIN.');
  // participant_limit: Int32, Between(0, 1000000), optional.
  if (c.participant_limit !== null && !(Number.isInteger(c.participant_limit) && (c.participant_limit as number) >= 0 && (c.participant_limit as number) <= 1_000_000)) {
    add('participant_limit', 'Ensure this value is an integer between 0 and 1000000.');
  }
  return Object.keys(errors).length > 0 ? errors : undefined;
}

/** The automatic participant rules, from pexip/terraform-provider-pexip internal/provider/resource_infinity_automatic_participant.go and pexip/go-infinity-sdk config/automatic_participant_model.go. */
function participantErrors(p: Record<string, unknown>, conferenceExists: (uri: string) => boolean, locationExists: (uri: string) => boolean): FieldErrors | undefined {
  const errors: FieldErrors = {};
  const add = (field: string, message: string | undefined) => {
    if (message !== undefined) errors[field] = [message];
  };
  // alias: Required, LengthAtMost(250). description, dtmf_sequence, remote_display_name, presentation_url: LengthAtMost(250).
  add('alias', text(p.alias, { required: true, max: 250 }));
  for (const field of ['description', 'dtmf_sequence', 'remote_display_name', 'presentation_url']) add(field, text(p[field], { max: 250 }));
  // conference: a list of conference resource URIs (the SDK's `Conference []string`), each one existing.
  const targets = p.conference;
  if (!Array.isArray(targets) || targets.length === 0) add('conference', 'A list of conference resource URIs is required.');
  else if (!targets.every((t) => typeof t === 'string' && conferenceExists(t))) add('conference', 'Could not find the provided object via resource URI.');
  // protocol: OneOf("teams", "gms", "h323", "sip", "mssip", "rtmp").
  add('protocol', choice(p.protocol, ['teams', 'gms', 'h323', 'sip', 'mssip', 'rtmp']));
  // call_type: OneOf("audio", "video", "video-only").
  add('call_type', choice(p.call_type, ['audio', 'video', 'video-only']));
  // role: OneOf("guest", "chair").
  add('role', choice(p.role, ['guest', 'chair']));
  // keep_conference_alive: OneOf("keep_conference_alive", "keep_conference_alive_if_multiple", "keep_conference_alive_never").
  add('keep_conference_alive', choice(p.keep_conference_alive, ['keep_conference_alive', 'keep_conference_alive_if_multiple', 'keep_conference_alive_never']));
  // routing: OneOf("manual", "routing_rule").
  add('routing', choice(p.routing, ['manual', 'routing_rule']));
  // streaming: BoolAttribute.
  add('streaming', typeof p.streaming === 'boolean' ? undefined : "'streaming' field has invalid value");
  // system_location: a system location's resource URI (testdata/resource_infinity_automatic_participant_full/resources.tf), or none (Automatic).
  if (p.system_location !== null && !(typeof p.system_location === 'string' && locationExists(p.system_location))) {
    add('system_location', 'Could not find the provided object via resource URI.');
  }
  return Object.keys(errors).length > 0 ? errors : undefined;
}

/**
 * Django's messages for a CharField (tastypie validates through Django forms).
 * Django's MaxLengthValidator counts `len()` of a Python str: code points, so
 * an emoji is one character where JavaScript's `length` counts two.
 */
function text(value: unknown, { required = false, max }: { required?: boolean; max: number }): string | undefined {
  if (value === undefined || value === null || value === '') return required ? 'This field is required.' : undefined;
  if (typeof value !== 'string') return 'Enter a valid value.';
  const characters = [...value].length;
  return characters > max ? `Ensure this value has at most ${max} characters (it has ${characters}).` : undefined;
}

/** Django's message for a value outside a ChoiceField's choices. */
function choice(value: unknown, choices: string[]): string | undefined {
  return typeof value === 'string' && choices.includes(value) ? undefined : `Select a valid choice. ${String(value)} is not one of the available choices.`;
}

function pinProblem(value: unknown): string | undefined {
  if (value === '') return undefined;
  if (typeof value !== 'string' || !/^[0-9]+#?$/.test(value) || value.length < 4 || value.length > 20) return 'PINs are 4 to 20 digits, including any terminal #.';
  return undefined;
}

/** tastypie's answer to a failed validation (django-tastypie/django-tastypie tastypie/resources.py Resource.is_valid: `bundle.errors[resource_name] = errors`). */
function invalid(resource: string, errors: FieldErrors): Answer {
  return { status: 400, body: { [resource]: errors } };
}

/** Pexip's timestamps: UTC, microseconds, no zone (`2017-05-11T22:02:05.848612`). */
function pexipTime(): string {
  return `${new Date().toISOString().slice(0, -1)}000`;
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

type RequestBody = { text: string; contentType: string | undefined };

/**
 * The request body as tastypie reads it (django-tastypie/django-tastypie, tastypie/resources.py
 * `Resource.deserialize`: the Content-Type, `application/json` when there is none, picks the
 * serializer). tastypie/serializers.py `Serializer.deserialize` raises UnsupportedDeserializationFormat
 * for a type it has no method for, which resources.py `Resource._handle_500` answers 415
 * (`get_response_class_for_exception`; 400 before tastypie's commit 8a86486a of 2016) with the
 * canned `error_message` outside DEBUG; the stand-in
 * knows JSON only (Pexip's API is JSON in and out, docs/pexip.md §1). `Serializer.from_json`
 * raises BadRequest('Request is not valid JSON.') for a body json.loads refuses, an empty one too,
 * which `Resource.wrap_view` answers 400 `{"error": "..."}`.
 */
function withInput(body: RequestBody, use: (input: Record<string, unknown>) => Answer): Answer {
  const format = (body.contentType ?? 'application/json').split(';')[0];
  if (format !== 'application/json') return { status: 415, body: { error_message: 'Sorry, this request could not be processed. Please try again later.' } };
  let input: unknown;
  try {
    input = JSON.parse(body.text);
  } catch {
    return { status: 400, body: { error: 'Request is not valid JSON.' } };
  }
  return use(input as Record<string, unknown>);
}

/** `json`, then `padding` spaces in 64 KB chunks as the connection takes them; stops when the client goes. */
function writePadded(res: http.ServerResponse, json: string, padding: number): void {
  const chunk = ' '.repeat(64 * 1024);
  function* body(): Generator<string> {
    yield json;
    for (let left = padding; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.slice(0, left);
  }
  pipeline(Readable.from(body()), res).catch(() => undefined);
}
