import { z } from 'zod';
import { isStorableText } from '../store/storable.js';
import { check, type FieldError, type FieldPath, RepeatedField, repeatedField, validate } from '../validation.js';

/** Event types of the Pexip event sink API, v1 and v2 (pexip-genesys.md A.2). Others are accepted and counted as unknown. */
export const KNOWN_EVENTS = new Set([
  'eventsink_started',
  'eventsink_updated',
  'eventsink_stopped',
  'eventsink_ended',
  'conference_started',
  'conference_updated',
  'conference_ended',
  'participant_connected',
  'participant_updated',
  'participant_disconnected',
  'participant_media_stream_window',
  'participant_media_streams_destroyed',
]);

export const BULK_EVENT = 'eventsink_bulk';
/** Pexip batches events; this bounds one envelope's list. */
export const MAX_BULK_EVENTS = 10_000;
/**
 * The repeated keys readEnvelope needs: the first in each event of a bulk
 * envelope (`data.N`), up to one more than a valid envelope holds events
 * (a body with that many is refused whatever the rest holds).
 */
export const REPEATED_KEYS_READ = { depth: 2, limit: MAX_BULK_EVENTS + 1 };
/** Rejected inner events described in one answer at most (the count covers them all). */
export const MAX_REJECTIONS_DESCRIBED = 100;
/** 9999-12-31T23:59:59Z: the last Unix time both `Date` and the store's timestamps hold. */
const MAX_UNIX_SECONDS = 253_402_300_799;

const storableText = z.string().refine(isStorableText, 'must not contain NUL characters or unpaired UTF-16 surrogates');

const unixTime = z.number({ error: 'must be a Unix time in seconds' }).min(0, 'must not be before 1970').max(MAX_UNIX_SECONDS, 'must be before the year 10000');

const version = z.union([z.literal(1), z.literal(2)], { error: 'version must be 1 or 2' });

/** The `data` fields the sink stores, checked when they have the type it uses (other types are ignored). */
const storedFields: [field: string, type: 'string' | 'number', schema: z.ZodType][] = [
  ['name', 'string', storableText],
  ['conference', 'string', storableText],
  ['end_time', 'number', unixTime],
];

/**
 * `data` as Pexip sends it: an object (the docs say "array"; both are taken). Unknown fields are
 * kept, since Pexip may add fields at any version; a stored field's value must fit the store.
 */
const data = z
  .union([z.record(z.string(), z.unknown()), z.array(z.unknown())], { error: 'data must be an object' })
  .superRefine((value, ctx) => {
    if (Array.isArray(value)) return;
    for (const [field, type, schema] of storedFields) {
      if (typeof value[field] !== type) continue;
      for (const issue of schema.safeParse(value[field]).error?.issues ?? []) ctx.addIssue({ code: 'custom', path: [field], message: issue.message });
    }
  });

/** A VMR's name as Pexip stores it (pexip/terraform-provider-pexip resource_infinity_conference.go: name LengthAtMost(250)). */
const MAX_ROOM_NAME_LENGTH = 250;
const roomName = z.string({ error: 'must be text' }).min(1, 'must not be empty').max(MAX_ROOM_NAME_LENGTH, `must be at most ${MAX_ROOM_NAME_LENGTH} characters, as a Pexip room name is`);

/**
 * The events the sink acts on (SPEC §4) and the `data` fields it reads from them: given (null is
 * taken as absent), they must be what it reads, or the sink would pass over them and the room
 * would never be queued for deletion or have its deletion cancelled. Other events keep any shape.
 */
const ROOM_EVENTS = new Set(['conference_ended', 'conference_started', 'participant_connected']);
const roomFields = z.object({ name: roomName.nullish(), conference: roomName.nullish(), end_time: z.number({ error: 'must be a number' }).nullish() });

function checkRoomFields(event: { event: string; data: Record<string, unknown> | unknown[] }, ctx: z.RefinementCtx): void {
  if (!ROOM_EVENTS.has(event.event) || Array.isArray(event.data)) return;
  for (const issue of roomFields.safeParse(event.data).error?.issues ?? []) ctx.addIssue({ code: 'custom', path: ['data', ...issue.path], message: issue.message });
}

const header = {
  node: storableText.min(1, 'node is the sending node address').max(255),
  seq: z.number().int('seq must be a whole number').min(0, 'seq must not be negative'),
  event: storableText.min(1, 'event names the event type').max(100),
};

/** One event as Pexip posts it on its own. */
const singleEvent = z.object({ ...header, version, time: unixTime, data }).superRefine(checkRoomFields);

/** An event inside `eventsink_bulk`: `version` and `time` may be missing, and then the envelope's apply. */
const innerEvent = z.object({ ...header, version: version.optional(), time: unixTime.optional(), data }).superRefine(checkRoomFields);

const bulkWrapper = z.object({
  event: z.literal(BULK_EVENT),
  version: version.optional(),
  time: unixTime.optional(),
  data: z.array(z.unknown(), { error: 'data of eventsink_bulk must be a list of envelopes' }).max(MAX_BULK_EVENTS, `at most ${MAX_BULK_EVENTS} events per envelope`),
});

/** An event ready for the sink; `time` is absent only when neither the event nor its bulk envelope had one. */
export interface SinkEvent {
  node: string;
  seq: number;
  time?: number;
  event: string;
  data: Record<string, unknown> | unknown[];
}

export interface Rejection {
  /** Position of the event in the envelope's `data`. */
  index: number;
  errors: FieldError[];
}

export interface ReadEnvelope {
  events: SinkEvent[];
  rejected: Rejection[];
}

/**
 * Reads a request body: one event, or an `eventsink_bulk` envelope. A malformed body or
 * single event throws InvalidInput naming the fields. In a bulk envelope each inner event
 * stands alone: an invalid one, or one that repeats a key, is returned as a rejection, so
 * that the valid ones are processed and Pexip is never asked to resend a batch that can
 * never succeed.
 */
/** `repeated`: where the body repeats a key, each path ending with the key (see REPEATED_KEYS_READ). */
export function readEnvelope(body: unknown, repeated: readonly FieldPath[] = []): ReadEnvelope {
  const repeatedIn = repeatsByEvent(body, repeated);
  if (!isBulk(body)) return { events: [toSinkEvent(validate(singleEvent, body, 'body'))], rejected: [] };
  const wrapper = validate(bulkWrapper, body, 'body');
  const events: SinkEvent[] = [];
  const rejected: Rejection[] = [];
  wrapper.data.forEach((item, index) => {
    const repeat = repeatedIn.get(index);
    const result = check(innerEvent, item, 'body');
    if (result.success && repeat === undefined) {
      events.push(toSinkEvent({ ...result.data, time: result.data.time ?? wrapper.time }));
      return;
    }
    const invalid = result.success ? [] : result.errors.map((error) => ({ ...error, field: `data.${index}${error.field === '(whole)' ? '' : `.${error.field}`}` }));
    rejected.push({ index, errors: [...(repeat === undefined ? [] : [repeatedField(repeat)]), ...invalid] });
  });
  return { events, rejected };
}

/** The bulk envelope's events that repeat a key, with the first repeat of each; a repeat anywhere else refuses the body. */
function repeatsByEvent(body: unknown, repeated: readonly FieldPath[]): Map<number, FieldPath> {
  // The walk stopped there: what it did not read may repeat the envelope's own fields.
  if (repeated.length >= REPEATED_KEYS_READ.limit) throw new RepeatedField(repeated[0] as FieldPath);
  const byEvent = new Map<number, FieldPath>();
  for (const path of repeated) {
    const index = path[1];
    if (!isBulk(body) || path[0] !== 'data' || typeof index !== 'number' || path.length < 3) throw new RepeatedField(path);
    byEvent.set(index, path);
  }
  return byEvent;
}

function toSinkEvent({ node, seq, time, event, data: eventData }: z.infer<typeof innerEvent>): SinkEvent {
  return { node, seq, event, data: eventData, ...(time === undefined ? {} : { time }) };
}

function isBulk(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { event?: unknown }).event === BULK_EVENT;
}
