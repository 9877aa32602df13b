/** The Pexip Management API's VMR object, as `constrained_attributes=false` returns it. */
export interface Conference {
  id: number;
  resource_uri: string;
  name: string;
  service_type: 'conference';
  allow_guests: boolean;
  pin: string;
  guest_pin: string;
  tag: string;
  description: string;
  aliases: ConferenceAlias[];
  automatic_participants: AutomaticParticipant[];
  call_type: string;
  creation_time: string;
  crypto_mode: string | null;
  enable_chat: string;
  enable_overlay_text: boolean;
  guest_view: string | null;
  guests_can_present: boolean;
  host_view: string | null;
  /** Pexip nests the IVR theme object here (pexip/go-infinity-sdk config/conference_model.go: `*IVRTheme`). */
  ivr_theme: Record<string, unknown> | null;
  max_callrate_in: number | null;
  max_callrate_out: number | null;
  max_pixels_per_second: string | null;
  mute_all_guests: boolean;
  participant_limit: number | null;
  primary_owner_email_address: string;
  sync_tag: string;
  system_location: string | null;
}

export interface ConferenceAlias {
  id: number;
  alias: string;
  conference: string;
  creation_time: string;
  description: string;
}

/** An automatically dialled participant as Pexip nests it in its conference (HL727/Meeting conferencecenter/tests/mock_data/pexip.py). */
export interface AutomaticParticipant {
  id: number;
  alias: string;
  call_type: string;
  creation_time: string;
  description: string;
  dtmf_sequence: string;
  keep_conference_alive: string;
  presentation_url: string;
  protocol: string;
  remote_display_name: string;
  role: string;
  routing: string;
  streaming: boolean;
  system_location?: string | null;
  resource_uri?: string;
}

/** What connects a citizen or an agent to a room (docs/contract.md §2 "Shapes"). */
export interface ConstrainedConference {
  id: number;
  name: string;
  service_type: 'conference';
  allow_guests: boolean;
  pin?: string;
  guest_pin: string;
  tag: string;
  aliases: ConferenceAlias[];
}

/** The fields a caller may change with PATCH /room/{room_name}. */
export interface RoomChanges {
  pin?: string;
  guest_pin?: string;
  tag?: string;
  description?: string;
  participant_limit?: number;
  allow_guests?: boolean;
}

/**
 * Pexip's PIN rules for the room as it would be after a change
 * (https://docs.pexip.com/admin/pins_hosts_guests.htm): the two PINs differ,
 * a Guest PIN needs a Host PIN, and allowing Guests needs a Host PIN. PINs
 * are never echoed.
 */
export function pinConflict(room: Pick<Conference, 'pin' | 'guest_pin' | 'allow_guests'>): { field: string; message: string } | undefined {
  if (room.guest_pin !== '' && room.guest_pin === room.pin) return { field: 'guest_pin', message: "The guest_pin would equal the room's pin; Pexip requires them to differ." };
  if (room.guest_pin !== '' && room.pin === '') return { field: 'pin', message: 'The room has no pin; Pexip accepts a guest_pin only together with a pin.' };
  if (room.allow_guests && room.pin === '') return { field: 'pin', message: 'The room has no pin; Pexip allows guests only when there is a pin.' };
  return undefined;
}

/** Changes that would leave a room as Pexip refuses it (pinConflict); the changes always come in a request body. */
export class RoomChangeConflict extends Error {
  constructor(readonly field: string, readonly description: string) {
    super(description);
    this.name = 'RoomChangeConflict';
  }
}

export const CONFERENCE_COLLECTION = '/api/admin/configuration/v1/conference/';
export const AUTOMATIC_PARTICIPANT_COLLECTION = '/api/admin/configuration/v1/automatic_participant/';

/** Pexip's timestamps: UTC with microseconds and no zone, e.g. `2017-05-11T22:02:05.848612` (HL727/Meeting conferencecenter/tests/mock_data/pexip.py). */
export function pexipTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}000`;
}

export function conferenceUri(id: number): string {
  return `${CONFERENCE_COLLECTION}${id}/`;
}

export function constrain(conference: Conference, withPin: boolean): ConstrainedConference {
  const { id, name, service_type, allow_guests, pin, guest_pin, tag, aliases } = conference;
  return withPin
    ? { id, name, service_type, allow_guests, pin, guest_pin, tag, aliases }
    : { id, name, service_type, allow_guests, guest_pin, tag, aliases };
}
