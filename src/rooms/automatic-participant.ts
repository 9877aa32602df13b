/**
 * Pexip's documented choices for an automatic participant: pexip/terraform-provider-pexip
 * internal/provider/resource_infinity_automatic_participant.go (stringvalidator.OneOf) and
 * pexip/go-infinity-sdk config/automatic_participant_model.go.
 */
export const AUTOMATIC_PARTICIPANT_CHOICES = {
  role: ['guest', 'chair'],
  callType: ['video', 'video-only', 'audio'],
  keepConferenceAlive: ['keep_conference_alive', 'keep_conference_alive_if_multiple', 'keep_conference_alive_never'],
  routing: ['manual', 'routing_rule'],
} as const;

type Choice<K extends keyof typeof AUTOMATIC_PARTICIPANT_CHOICES> = (typeof AUTOMATIC_PARTICIPANT_CHOICES)[K][number];

/** Who every new room dials when its conference starts (the Genesys queue). */
export interface AutomaticParticipantSettings {
  alias: string;
  role: Choice<'role'>;
  callType: Choice<'callType'>;
  keepConferenceAlive: Choice<'keepConferenceAlive'>;
  routing: Choice<'routing'>;
  /** Resource URI of the system location that places the call (or the notional source location for routing rules). */
  systemLocation: string | undefined;
}
