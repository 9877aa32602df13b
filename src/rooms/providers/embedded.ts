import { type Clock, iso } from '../../clock.js';
import type { AutomaticParticipantSettings } from '../automatic-participant.js';
import type { Queryable, Store } from '../../store/store.js';
import { AUTOMATIC_PARTICIPANT_COLLECTION, type AutomaticParticipant, type Conference, type RoomChanges, conferenceUri, pexipTimestamp } from '../conference.js';
import { automaticParticipantFields, type NewRoom, type RoomListQuery, type RoomPage, type RoomProvider, RoomAlreadyExists, RoomNotFound, vmrFields } from './provider.js';
const UNIQUE_VIOLATION = '23505';

/**
 * VMRs kept in the gateway's own store with Pexip's shapes, ids and resource
 * URIs: the provider for local use and tests.
 */
export class EmbeddedRoomProvider implements RoomProvider {
  readonly kind = 'embedded' as const;

  constructor(private readonly store: Store, private readonly clock: Clock) {}

  async create(room: NewRoom): Promise<Conference> {
    try {
      return await this.store.transaction((tx) => this.insert(tx, room));
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw new RoomAlreadyExists(room.name);
      throw error;
    }
  }

  /** Nobody can join an embedded room: no conference ever runs in one. */
  async inConference(): Promise<boolean> {
    return false;
  }

  async findByName(name: string): Promise<Conference | undefined> {
    const { rows } = await this.store.query<{ document: Conference }>('SELECT document FROM embedded_conference WHERE name = $1', [name]);
    return rows[0]?.document;
  }

  async list({ namePrefix, limit, offset }: RoomListQuery): Promise<RoomPage> {
    const filter = 'WHERE $1::text IS NULL OR starts_with(name, $1::text)';
    const prefix = namePrefix ?? null;
    const [page, count] = await Promise.all([
      this.store.query<{ document: Conference }>(`SELECT document FROM embedded_conference ${filter} ORDER BY id LIMIT $2 OFFSET $3`, [prefix, limit, offset]),
      this.store.query<{ total: number }>(`SELECT count(*)::int AS total FROM embedded_conference ${filter}`, [prefix]),
    ]);
    return { rooms: page.rows.map((r) => r.document), total: count.rows[0]?.total ?? 0 };
  }

  async update(id: number, changes: RoomChanges): Promise<void> {
    const { rowCount } = await this.store.query('UPDATE embedded_conference SET document = document || $2::jsonb WHERE id = $1', [id, JSON.stringify(changes)]);
    if (rowCount === 0) throw new RoomNotFound(String(id));
  }

  async delete(id: number): Promise<'deleted' | 'gone'> {
    const { rowCount } = await this.store.query('DELETE FROM embedded_conference WHERE id = $1', [id]);
    return rowCount > 0 ? 'deleted' : 'gone';
  }

  private async insert(tx: Queryable, room: NewRoom): Promise<Conference> {
    const now = this.clock.now();
    const createdAt = iso(now);
    const creationTime = pexipTimestamp(now);
    const { rows } = await tx.query<{ id: number }>(
      `INSERT INTO embedded_conference (name, document, created_at) VALUES ($1, '{}'::jsonb, $2) RETURNING id::int AS id`,
      [room.name, createdAt],
    );
    const id = (rows[0] as { id: number }).id;
    const uri = conferenceUri(id);
    const aliases = [];
    for (const alias of room.aliases) {
      aliases.push({ id: await nextId(tx, 'embedded_conference_alias_id_seq'), alias, conference: uri, creation_time: creationTime, description: '' });
    }
    const participant = room.automaticParticipant;
    const automaticParticipants: AutomaticParticipant[] = participant ? [await newAutomaticParticipant(tx, participant, creationTime)] : [];
    const conference: Conference = {
      ...PEXIP_DEFAULTS,
      ...vmrFields(room),
      id,
      resource_uri: uri,
      aliases,
      automatic_participants: automaticParticipants,
      creation_time: creationTime,
    };
    await tx.query('UPDATE embedded_conference SET document = $2::jsonb WHERE id = $1', [id, JSON.stringify(conference)]);
    return conference;
  }
}

/** Values a new VMR gets on Pexip when the create request leaves them out. */
const PEXIP_DEFAULTS = {
  description: '',
  call_type: 'video',
  crypto_mode: null,
  enable_chat: 'default',
  enable_overlay_text: false,
  guest_view: null,
  guests_can_present: true,
  host_view: 'one_main_seven_pips',
  ivr_theme: null,
  max_callrate_in: null,
  max_callrate_out: null,
  max_pixels_per_second: null,
  mute_all_guests: false,
  participant_limit: null,
  primary_owner_email_address: '',
  sync_tag: '',
  system_location: null,
} satisfies Partial<Conference>;

async function newAutomaticParticipant(tx: Queryable, participant: AutomaticParticipantSettings, creationTime: string): Promise<AutomaticParticipant> {
  const id = await nextId(tx, 'embedded_automatic_participant_id_seq');
  return {
    ...automaticParticipantFields(participant),
    id,
    resource_uri: `${AUTOMATIC_PARTICIPANT_COLLECTION}${id}/`,
    creation_time: creationTime,
    dtmf_sequence: '',
    presentation_url: '',
    remote_display_name: '',
    streaming: false,
  };
}

async function nextId(tx: Queryable, sequence: string): Promise<number> {
  const { rows } = await tx.query<{ id: number }>(`SELECT nextval('${sequence}')::int AS id`);
  return (rows[0] as { id: number }).id;
}
