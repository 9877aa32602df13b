import { z } from 'zod';
import { requiredMessage, text, trueOrFalse, wholeNumber } from '../fields.js';
import { MAX_TAG_LENGTH, MAX_UUI_DATA_LENGTH } from '../../rooms/tag.js';

/** Room names in paths are opaque: 1–100 of A-Z a-z 0-9 _ - (docs/contract.md §2). */
export const ROOM_NAME = /^[A-Za-z0-9_-]{1,100}$/;
const ROOM_NAME_FORMAT = '1-100 characters of A-Z, a-z, 0-9, _ and -';

export const roomNameParams = z.object({ room_name: text('room_name', ROOM_NAME_FORMAT, { pattern: ROOM_NAME }) });

export const bulkJobParams = z.object({
  job_id: text('job_id', 'the UUID that POST /rooms/bulk returned', { pattern: z.regexes.uuid() }),
});

const booleanFlag = (field: string) =>
  text(field, 'true or false', { pattern: /^(true|false|1|0)$/i }).transform((value) => /^(true|1)$/i.test(value));

const UUI_DATA_FORMAT = `the hex-encoded user-to-user data of the call (an even number of hex digits, at most ${MAX_UUI_DATA_LENGTH})`;

/** Said for a missing or empty uuiData, wherever it was looked for. */
export const UUI_DATA_REQUIRED = `${requiredMessage('uuiData', UUI_DATA_FORMAT)}; give it in the URL (?uuiData=<hex>) or as the JSON body {"uuiData": "<hex>"}`;

export const uuiData = text('uuiData', UUI_DATA_FORMAT)
  .min(1, UUI_DATA_REQUIRED)
  .superRefine((value, ctx) => {
    if (value.length > MAX_UUI_DATA_LENGTH) {
      ctx.addIssue({ code: 'custom', message: `uuiData is too long: at most ${MAX_UUI_DATA_LENGTH} hex characters, got ${value.length}` });
    }
    if (!/^[0-9A-Fa-f]*$/.test(value)) ctx.addIssue({ code: 'custom', message: 'uuiData must contain only hex digits (0-9, a-f, A-F)' });
    if (value.length % 2 !== 0) ctx.addIssue({ code: 'custom', message: 'uuiData must have an even number of hex digits (two per byte)' });
  });

/** `uuiData` in the query string; the route reads the body's only when the query has none. */
export const createRoomQuery = z.object({ uuiData }).loose();

export const createRoomBody = z.strictObject(
  { uuiData: uuiData.optional() },
  { error: 'send a JSON object {"uuiData": "<hex>"}, or no body and uuiData in the query' },
);

const constrainedAttributes = booleanFlag('constrained_attributes').default(true);

export const getRoomQuery = z.object({ constrained_attributes: constrainedAttributes }).loose();

const namePrefix = text('name_prefix', ROOM_NAME_FORMAT, { pattern: ROOM_NAME });

/** A whole number in the query string, bounded as its body counterpart would be. */
const integerText = (field: string, min: number, max: number) =>
  text(field, `a whole number from ${min} to ${max}`, { pattern: /^\d{1,9}$/ })
    .transform(Number)
    .pipe(wholeNumber(field, min, max));

export const listRoomsQuery = z
  .object({
    constrained_attributes: constrainedAttributes,
    name_prefix: namePrefix.optional(),
    limit: integerText('limit', 1, 500).default(100),
    offset: integerText('offset', 0, 100_000_000).default(0),
  })
  .loose();

export const deleteRoomsQuery = z.object({ name_prefix: namePrefix }).loose();

const pin = (field: string) => text(field, '4-20 digits, optionally ending in #', { pattern: /^\d{4,20}#?$/ });
const ROOM_CHANGES = 'pin, guest_pin, tag, description, participant_limit, allow_guests';

export const roomChangesBody = z
  .strictObject(
    {
      pin: pin('pin').optional(),
      guest_pin: pin('guest_pin').optional(),
      tag: text('tag', `text of at most ${MAX_TAG_LENGTH} characters`, { maxLength: MAX_TAG_LENGTH }).optional(),
      description: text('description', 'text of at most 250 characters', { maxLength: 250 }).optional(),
      participant_limit: wholeNumber('participant_limit', 0, 1_000_000).optional(),
      allow_guests: trueOrFalse('allow_guests').optional(),
    },
    { error: `send a JSON object with the fields to change: any of ${ROOM_CHANGES}` },
  )
  .refine((changes) => Object.keys(changes).length > 0, `send at least one of ${ROOM_CHANGES}`)
  .refine((c) => c.pin === undefined || c.guest_pin === undefined || c.pin !== c.guest_pin, {
    message: 'pin and guest_pin must differ',
    path: ['guest_pin'],
  });

export const bulkCreateBody = z.strictObject({ count: wholeNumber('count', 1, 500) }, { error: 'send a JSON object {"count": n} with n from 1 to 500' });
