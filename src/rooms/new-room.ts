import type { RoomSettings } from './settings.js';
import { newPins, newRoomName } from './credentials.js';
import type { NewRoom } from './providers/provider.js';

/** Everything a new VMR gets (docs/contract.md §3 "A new room"); pooled rooms get their tag when claimed. */
export function newRoom(rooms: RoomSettings, tag: string): NewRoom {
  const name = newRoomName(rooms.persistentPrefixes);
  const { pin, guestPin } = newPins(rooms.pinLength);
  const aliases = rooms.aliasDomain ? [name, `${name}@${rooms.aliasDomain}`] : [name];
  return { name, pin, guestPin, tag, aliases, automaticParticipant: rooms.automaticParticipant };
}
