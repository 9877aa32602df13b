import { z } from 'zod';
import { MAX_UUI_DATA_LENGTH } from './tag.js';

/** Room names in paths are opaque: 1–100 of A-Z a-z 0-9 _ - (SPEC §2). */
export const ROOM_NAME = /^[A-Za-z0-9_-]{1,100}$/;
const single = (message: string) => z.string({ error: message });

export const roomNameParams = z.object({
  room_name: single('give the room name in the path').regex(ROOM_NAME, 'a room name is 1-100 characters of A-Z, a-z, 0-9, _ and -'),
});

export const bulkJobParams = z.object({
  job_id: single('give the job id in the path').uuid('a bulk job id is the UUID that POST /rooms/bulk returned'),
});

const booleanFlag = single('give true or false once')
  .regex(/^(true|false|1|0)$/i, 'use true or false')
  .transform((value) => /^(true|1)$/i.test(value));

export const uuiData = single('uuiData must be a single string of hex digits')
  .min(1, 'uuiData is required: the hex-encoded user-to-user data of the call')
  .superRefine((value, ctx) => {
    if (value.length > MAX_UUI_DATA_LENGTH) {
      ctx.addIssue({ code: 'custom', message: `uuiData is too long: at most ${MAX_UUI_DATA_LENGTH} hex characters, got ${value.length}` });
    }
    if (!/^[0-9A-Fa-f]*$/.test(value)) ctx.addIssue({ code: 'custom', message: 'uuiData must contain only hex digits (0-9, a-f, A-F)' });
    if (value.length % 2 !== 0) ctx.addIssue({ code: 'custom', message: 'uuiData must have an even number of hex digits (two per byte)' });
  });

/** `uuiData` in the query string, or in a JSON body when the query has none. */
export const createRoomInput = z.object({ uuiData });

export const createRoomBody = z.object({ uuiData: uuiData.optional() }).loose();

export const getRoomQuery = z.object({ constrained_attributes: booleanFlag.optional() }).loose();

const namePrefix = single('name_prefix must be given once').regex(ROOM_NAME, 'a name prefix is 1-100 characters of A-Z, a-z, 0-9, _ and -');

const integerText = (name: string, min: number, max: number) =>
  single(`${name} must be given once`)
    .regex(/^\d{1,9}$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`);

export const listRoomsQuery = z
  .object({
    constrained_attributes: booleanFlag.optional(),
    name_prefix: namePrefix.optional(),
    limit: integerText('limit', 1, 500).optional(),
    offset: integerText('offset', 0, 100_000_000).optional(),
  })
  .loose();

export const deleteRoomsQuery = z.object({ name_prefix: namePrefix }).loose();

const pin = z.string().regex(/^\d{4,20}#?$/, 'a PIN is 4-20 digits, optionally ending in #');

export const roomChangesBody = z
  .strictObject({
    pin: pin.optional(),
    guest_pin: pin.optional(),
    tag: z.string().max(250, 'a tag is at most 250 characters').optional(),
    description: z.string().max(250, 'a description is at most 250 characters').optional(),
    participant_limit: z.number().int('participant_limit must be a whole number').min(0).max(1_000_000).optional(),
    allow_guests: z.boolean().optional(),
  })
  .refine((changes) => Object.keys(changes).length > 0, 'send at least one of pin, guest_pin, tag, description, participant_limit, allow_guests')
  .refine((c) => c.pin === undefined || c.guest_pin === undefined || c.pin !== c.guest_pin, {
    message: 'pin and guest_pin must differ',
    path: ['guest_pin'],
  });

export const bulkCreateBody = z.strictObject({
  count: z.number({ error: 'count must be a number' }).int('count must be a whole number').min(1, 'count must be at least 1').max(500, 'count must be at most 500'),
});
