import type { Logger } from 'pino';
import type { Deadline } from '../../deadline.js';
import { AUTOMATIC_PARTICIPANT_COLLECTION, CONFERENCE_COLLECTION, type Conference, type RoomChanges, conferenceUri } from '../conference.js';
import type { PexipClient, PexipResponse } from './pexip-client.js';
import { automaticParticipantFields, type NewRoom, ProviderUnavailable, type RoomListQuery, type RoomPage, type RoomProvider, RoomAlreadyExists, RoomNotFound, vmrFields } from './provider.js';
import type { BudgetPriority } from './request-budget.js';
/** Page size asked of Pexip when walking a list (tastypie's default is 20). */
const PAGE = 500;
/** The status API's conferences: those running now, one object per conference instance. */
const ACTIVE_CONFERENCES = '/api/admin/status/v1/conference/';

/** What a create request ended with: Pexip's answer, or the object found after a lost answer. */
type CreateOutcome = { kind: 'response'; response: PexipResponse } | { kind: 'found'; id: number };

interface ListEnvelope {
  meta: { total_count: number; next: string | null };
  objects: Conference[];
}

/**
 * VMRs on Pexip Infinity through the Management configuration API
 * (docs/pexip.md §1). Every call goes through the client's budget,
 * timeouts and retries; a create is only sent again after checking by name
 * that the first one did not happen.
 */
export class PexipRoomProvider implements RoomProvider {
  readonly kind = 'pexip' as const;

  /** `priority`: whom this instance's calls serve (the pool and garbage collection get a background one). */
  constructor(private readonly client: PexipClient, private readonly logger: Logger, private readonly priority: BudgetPriority) {}

  async create(room: NewRoom, deadline?: Deadline): Promise<Conference> {
    const id = await this.createConference(room, deadline);
    if (room.automaticParticipant) await this.addAutomaticParticipant(id, room, deadline);
    const conference = await this.byId(id, deadline);
    if (conference === undefined) throw new ProviderUnavailable('bad-answer', undefined, 'Pexip lost a room it had just created; retry.');
    return conference;
  }

  async findByName(name: string, deadline?: Deadline): Promise<Conference | undefined> {
    const page = await this.page(`${CONFERENCE_COLLECTION}?${new URLSearchParams({ name, limit: '1' })}`, deadline);
    return page.objects.find((c) => c.name === name);
  }

  /** The status API lists the conferences running now (`/api/admin/status/v1/conference/`, filtered by name). */
  async inConference(name: string, deadline?: Deadline): Promise<boolean> {
    const page = await this.page(`${ACTIVE_CONFERENCES}?${new URLSearchParams({ name, limit: '1' })}`, deadline);
    return page.objects.some((c) => c.name === name);
  }

  async list({ namePrefix, limit, offset }: RoomListQuery, deadline?: Deadline): Promise<RoomPage> {
    const query = new URLSearchParams({ service_type: 'conference', limit: String(Math.min(limit, PAGE)), offset: String(offset) });
    if (namePrefix !== undefined) query.set('name__startswith', namePrefix);
    const rooms: Conference[] = [];
    let next: string | null = `${CONFERENCE_COLLECTION}?${query}`;
    let total = 0;
    while (next !== null && rooms.length < limit) {
      const page: ListEnvelope = await this.page(next, deadline);
      total = page.meta.total_count;
      rooms.push(...page.objects);
      next = page.objects.length === 0 ? null : relativePath(page.meta.next);
    }
    return { rooms: rooms.slice(0, limit), total };
  }

  async update(id: number, changes: RoomChanges, deadline?: Deadline): Promise<void> {
    const response = await this.client.request('PATCH', conferenceUri(id), { body: changes, priority: this.priority, deadline });
    if (response.status === 404) throw new RoomNotFound(String(id));
    expectStatus(response, [200, 202, 204], 'update a room');
  }

  async delete(id: number, deadline?: Deadline): Promise<'deleted' | 'gone'> {
    const response = await this.client.request('DELETE', conferenceUri(id), { priority: this.priority, deadline });
    if (response.status === 404) return 'gone';
    expectStatus(response, [200, 202, 204], 'delete a room');
    return 'deleted';
  }

  private async createConference(room: NewRoom, deadline: Deadline | undefined): Promise<number> {
    const body = { ...vmrFields(room), aliases: room.aliases.map((alias) => ({ alias })) };
    const sent = await this.sendCreate(CONFERENCE_COLLECTION, body, () => this.findByName(room.name, deadline).then((c) => c?.id), deadline);
    if (sent.kind === 'found') return sent.id;
    if (sent.response.status === 400 && (await this.findByName(room.name, deadline)) !== undefined) throw new RoomAlreadyExists(room.name);
    return idFromLocation(expectStatus(sent.response, [201], 'create a room'));
  }

  private async addAutomaticParticipant(conferenceId: number, room: NewRoom, deadline: Deadline | undefined): Promise<void> {
    const participant = room.automaticParticipant;
    if (participant === undefined) return;
    const { system_location, ...fields } = automaticParticipantFields(participant);
    const body = { ...fields, conference: [conferenceUri(conferenceId)], ...(system_location === null ? {} : { system_location }) };
    const existing = async () => (((await this.byId(conferenceId, deadline))?.automatic_participants.length ?? 0) > 0 ? conferenceId : undefined);
    const sent = await this.sendCreate(AUTOMATIC_PARTICIPANT_COLLECTION, body, existing, deadline);
    if (sent.kind === 'response' && sent.response.status !== 201) {
      await this.delete(conferenceId, deadline).catch(() => undefined);
      expectStatus(sent.response, [201], 'add the automatic participant');
    }
  }

  /**
   * POST is not idempotent: when no answer (or a transient failure without
   * Retry-After) comes back, ask Pexip whether the object exists before
   * sending it again.
   */
  private async sendCreate(collection: string, body: unknown, alreadyCreated: () => Promise<number | undefined>, deadline: Deadline | undefined): Promise<CreateOutcome> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return { kind: 'response', response: await this.client.request('POST', collection, { body, priority: this.priority, deadline }) };
      } catch (error) {
        // Pexip asked for a pause (Retry-After): a create sent again at once would be refused as well.
        if (!(error instanceof ProviderUnavailable) || error.retryAfterSeconds !== undefined || attempt >= 2) throw error;
        const id = await alreadyCreated();
        if (id !== undefined) {
          this.logger.info({ collection }, 'Pexip create had happened despite the failed answer');
          return { kind: 'found', id };
        }
        this.logger.warn({ collection, attempt: attempt + 1 }, 'Pexip create failed and did not happen; sending it again');
      }
    }
  }

  private async byId(id: number, deadline: Deadline | undefined): Promise<Conference | undefined> {
    const response = await this.client.request('GET', conferenceUri(id), { priority: this.priority, deadline });
    if (response.status === 404) return undefined;
    return expectStatus(response, [200], 'read a room').body as Conference;
  }

  private async page(path: string, deadline: Deadline | undefined): Promise<ListEnvelope> {
    const response = expectStatus(await this.client.request('GET', path, { priority: this.priority, deadline }), [200], 'list rooms');
    const body = response.body as Partial<ListEnvelope> | undefined;
    if (!Array.isArray(body?.objects) || typeof body?.meta?.total_count !== 'number') {
      throw new ProviderUnavailable('bad-answer', undefined, 'Pexip answered a list request with something that is not a list.');
    }
    return body as ListEnvelope;
  }
}

function expectStatus(response: PexipResponse, expected: number[], what: string): PexipResponse {
  if (expected.includes(response.status)) return response;
  const detail = response.status === 401 || response.status === 403 ? `Pexip refused the gateway's credentials when asked to ${what}.` : `Pexip answered ${response.status} when asked to ${what}.`;
  throw new ProviderUnavailable('bad-answer', undefined, detail);
}

function idFromLocation(response: PexipResponse): number {
  const id = Number(/\/(\d+)\/?$/.exec(new URL(response.location ?? '', 'http://pexip').pathname)?.[1]);
  if (!Number.isInteger(id) || id <= 0) throw new ProviderUnavailable('bad-answer', undefined, 'Pexip created a room without saying where (no Location header).');
  return id;
}

/** `meta.next` is a path on the Management Node: only its path and query are used, never another host. */
function relativePath(next: string | null): string | null {
  if (next === null) return null;
  const url = new URL(next, 'http://pexip');
  return `${url.pathname}${url.search}`;
}
