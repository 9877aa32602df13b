import { randomBytes, randomInt } from 'node:crypto';
import { isPersistent } from './persistent.js';

const NAME_BYTES = 16;
/**
 * The names newRoomName gives: 16 bytes in base64url are 22 characters, the
 * last carrying 4 bits and two zero bits (A, Q, g or w), which tells them
 * from most names a person would give. What adoption takes for the gateway's own.
 */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/** A random, unguessable room name: 128 bits, base64url (22 characters). */
export function newRoomName(persistentPrefixes: readonly string[]): string {
  for (;;) {
    const name = randomBytes(NAME_BYTES).toString('base64url');
    if (!isPersistent(name, persistentPrefixes)) return name;
  }
}

/** Host and guest PINs from a CSPRNG; `randomInt` draws each digit without modulo bias. */
export function newPins(length: number): { pin: string; guestPin: string } {
  const pin = digits(length);
  let guestPin = digits(length);
  while (guestPin === pin) guestPin = digits(length);
  return { pin, guestPin };
}

function digits(length: number): string {
  let pin = '';
  for (let i = 0; i < length; i += 1) pin += String(randomInt(10));
  return pin;
}
