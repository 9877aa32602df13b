import type { AutomaticParticipantSettings } from '../automatic-participant.js';
import type { Conference, RoomChanges } from '../conference.js';

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
 */
export interface RoomProvider {
  readonly kind: 'embedded' | 'pexip';
  create(room: NewRoom): Promise<Conference>;
  findByName(name: string): Promise<Conference | undefined>;
  list(query: RoomListQuery): Promise<RoomPage>;
  /** Changes a VMR by its object id; throws RoomNotFound when it is gone. No attempt is made after `deadlineAt` (clock ms). */
  update(id: number, changes: RoomChanges, deadlineAt?: number): Promise<void>;
  /** Deletes one VMR by its object id; "already gone" is not an error. */
  delete(id: number): Promise<'deleted' | 'gone'>;
  /** Whether a conference is running in the room now (someone is in it). */
  inConference(name: string): Promise<boolean>;
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
