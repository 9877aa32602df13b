import type { AutomaticParticipantSettings } from './automatic-participant.js';

/** The rooms module's settings (`POOL_*`, `ROOM_*`, …), in milliseconds. */
export interface RoomSettings {
  /** How long a room read may be served from memory; 0 turns the read cache off. */
  readCacheTtlMs: number;
  poolTargetSize: number;
  poolMaintenanceIntervalMs: number;
  claimLeaseMs: number;
  pinLength: number;
  tagBaseUrl: string;
  aliasDomain: string | undefined;
  persistentPrefixes: string[];
  automaticParticipant: AutomaticParticipantSettings | undefined;
}
