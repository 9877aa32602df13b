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
  automatic_participants: string[];
  call_type: string;
  creation_time: string;
  crypto_mode: string | null;
  enable_chat: string;
  enable_overlay_text: boolean;
  guest_view: string | null;
  guests_can_present: boolean;
  host_view: string | null;
  ivr_theme: string | null;
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

/** What connects a citizen or an agent to a room (SPEC §2 "Shapes"). */
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

export const CONFERENCE_COLLECTION = '/api/admin/configuration/v1/conference/';

export function conferenceUri(id: number): string {
  return `${CONFERENCE_COLLECTION}${id}/`;
}

export function constrain(conference: Conference, withPin: boolean): ConstrainedConference {
  const { id, name, service_type, allow_guests, pin, guest_pin, tag, aliases } = conference;
  return withPin
    ? { id, name, service_type, allow_guests, pin, guest_pin, tag, aliases }
    : { id, name, service_type, allow_guests, guest_pin, tag, aliases };
}
