import type { AutomaticParticipantSettings } from '../automatic-participant.js';
import type { Conference, RoomChanges } from '../conference.js';
import type { Deadline } from '../../deadline.js';

export interface NewRoom {
  name: string;
  pin: string;
  guestPin: string;
  tag: string;
  /** The room's dial strings: its name, and `name@<alias domain>` when configured. */
  aliases: string[];
  automaticParticipant: AutomaticParticipantSettings | undefined;
}

/** The VMR fields a new room sets, in Pexip's names (both providers store exactly these). */
export function vmrFields(room: NewRoom) {
  return { name: room.name, service_type: 'conference' as const, allow_guests: true, pin: room.pin, guest_pin: room.guestPin, tag: room.tag };
}

/** The automatic participant's fields, in Pexip's names (pexip/go-infinity-sdk config/automatic_participant_model.go). */
export function automaticParticipantFields(participant: AutomaticParticipantSettings) {
  return {
    alias: participant.alias,
    description: 'Dials the Genesys queue when the conference starts',
    protocol: 'sip',
    role: participant.role,
    call_type: participant.callType,
    keep_conference_alive: participant.keepConferenceAlive,
    routing: participant.routing,
    system_location: participant.systemLocation ?? null,
  };
}

export interface RoomListQuery {
  namePrefix: string | undefined;
  limit: number;
  offset: number;
}

export interface RoomPage {
  rooms: Conference[];
  total: number;
}

/**
 * Where VMRs live: the Pexip Management API in production, the gateway's own
 * store locally and in tests. Both return Pexip's shapes, ids and URIs.
 * `deadline`: that of the work a call serves (no upstream work goes past it,
 * nor goes on once its caller left); a provider that calls no upstream ignores it.
 */
export interface RoomProvider {
  readonly kind: 'embedded' | 'pexip';
  create(room: NewRoom, deadline?: Deadline): Promise<Conference>;
  findByName(name: string, deadline?: Deadline): Promise<Conference | undefined>;
  list(query: RoomListQuery, deadline?: Deadline): Promise<RoomPage>;
  /** Changes a VMR by its object id; throws RoomNotFound when it is gone. */
  update(id: number, changes: RoomChanges, deadline?: Deadline): Promise<void>;
  /** Deletes one VMR by its object id; "already gone" is not an error. */
  delete(id: number, deadline?: Deadline): Promise<'deleted' | 'gone'>;
  /** Whether a conference is running in the room now (someone is in it). */
  inConference(name: string, deadline?: Deadline): Promise<boolean>;
}

export class RoomNotFound extends Error {
  constructor(readonly roomName: string) {
    super(`no room named ${roomName}`);
    this.name = 'RoomNotFound';
  }
}

export class RoomAlreadyExists extends Error {
  constructor(readonly roomName: string) {
    super(`a room named ${roomName} already exists`);
    this.name = 'RoomAlreadyExists';
  }
}

/**
 * The room platform cannot serve the request: it is unreachable, slow,
 * overloaded or out of our request budget (`unavailable`), or it answered
 * something the gateway cannot use (`bad-answer`).
 */
export class ProviderUnavailable extends Error {
  constructor(readonly kind: 'unavailable' | 'bad-answer', readonly retryAfterSeconds: number | undefined, detail: string) {
    super(detail);
    this.name = 'ProviderUnavailable';
  }
}
