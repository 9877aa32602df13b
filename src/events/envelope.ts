import { z } from 'zod';
import { isStorableText } from '../store/storable.js';
import { check, type Checked, type FieldError, type FieldPath, repeatedField } from '../validation.js';

/** Event types of the Pexip event sink API, v1 and v2 (docs/pexip.md §2). Others are accepted and counted as unknown. */
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
 * (a body with that many is rejected whole, whatever the rest holds).
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
 * The events the sink acts on (docs/contract.md §4) and the `data` fields it reads from them: given (null is
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
  /** Position of the event in the bulk envelope's `data`; absent when the whole body was rejected (a single event, or a malformed bulk envelope). */
  index?: number;
  errors: FieldError[];
}

/**
 * Why an event could not be processed (the `reason` of maxconf_events_rejected_total):
 * a field missing or unusable, a key repeated in one of its objects, or a bulk
 * envelope malformed itself (every event in it is lost).
 */
export type RejectionReason = 'invalid_event' | 'repeated_key' | 'invalid_envelope';

/** An event (or a whole body) the sink acknowledges without processing, and keeps for operators. */
export interface RejectedEvent extends Rejection {
  reason: RejectionReason;
  /** What was sent, as parsed (of a repeated key, the last value). */
  event: unknown;
  /** The `node` it names, if it names one as text. */
  node?: string;
}

export interface ReadEnvelope {
  events: SinkEvent[];
  rejected: RejectedEvent[];
}

/**
 * Reads a request body that is JSON: one event, or an `eventsink_bulk`
 * envelope. Nothing is refused: what cannot be processed (a single event
 * with an invalid field or a repeated key, a malformed bulk envelope, an
 * event in a bulk envelope that is invalid or repeats a key) is returned as a
 * rejection naming the fields, so that the rest is processed and Pexip, which
 * resends an unacknowledged event before the later ones of its node, is never
 * held up by one that can never succeed. `repeated`: where the body repeats a
 * key, each path ending with the key (see REPEATED_KEYS_READ).
 */
export function readEnvelope(body: unknown, repeated: readonly FieldPath[] = []): ReadEnvelope {
  if (!isBulk(body)) return readEvents([{ item: body, result: check(singleEvent, body, 'body'), repeat: repeated[0] }], {});
  const wrapper = check(bulkWrapper, body, 'body');
  const { own, byEvent } = bulkRepeats(repeated);
  if (!wrapper.success || own !== undefined) {
    const errors = [...(own === undefined ? [] : [repeatedField(own)]), ...fieldErrors(wrapper, '')];
    return { events: [], rejected: [{ reason: 'invalid_envelope', errors, event: body, ...nodeField(nodeOf(body)) }] };
  }
  const checked = wrapper.data.data.map((item, index) => ({ item, index, result: check(innerEvent, item, 'body'), repeat: byEvent.get(index) }));
  return readEvents(checked, { node: nodeOf(body), time: wrapper.data.time });
}

interface CheckedEvent {
  item: unknown;
  /** Its position in a bulk envelope. */
  index?: number;
  result: Checked<z.infer<typeof innerEvent>>;
  repeat: FieldPath | undefined;
}

/** The valid events, and the others as rejections; an event without a `time` or `node` takes its bulk envelope's. */
function readEvents(checked: readonly CheckedEvent[], envelope: { node?: string | undefined; time?: number | undefined }): ReadEnvelope {
  const events: SinkEvent[] = [];
  const rejected: RejectedEvent[] = [];
  for (const { item, index, result, repeat } of checked) {
    if (result.success && repeat === undefined) {
      events.push(toSinkEvent({ ...result.data, time: result.data.time ?? envelope.time }));
      continue;
    }
    const errors = [...(repeat === undefined ? [] : [repeatedField(repeat)]), ...fieldErrors(result, index === undefined ? '' : `data.${index}`)];
    const node = nodeOf(item) ?? envelope.node;
    rejected.push({ ...(index === undefined ? {} : { index }), errors, reason: repeat === undefined ? 'invalid_event' : 'repeated_key', event: item, ...nodeField(node) });
  }
  return { events, rejected };
}

/** A failed check's errors, with fields named from `prefix` (an event's place in the envelope). */
function fieldErrors(result: Checked<unknown>, prefix: string): FieldError[] {
  if (result.success) return [];
  if (prefix === '') return result.errors;
  return result.errors.map((error) => ({ ...error, field: `${prefix}${error.field === '(whole)' ? '' : `.${error.field}`}` }));
}

/**
 * Where a bulk envelope repeats keys: in its events (the first repeat of
 * each), or in its own fields (`own`, the first such: the whole envelope is
 * rejected, as which value was meant cannot be known).
 */
function bulkRepeats(repeated: readonly FieldPath[]): { own?: FieldPath; byEvent: Map<number, FieldPath> } {
  const byEvent = new Map<number, FieldPath>();
  // The walk stopped there: what it did not read may repeat the envelope's own fields.
  if (repeated.length >= REPEATED_KEYS_READ.limit) return { own: repeated[0] as FieldPath, byEvent };
  for (const path of repeated) {
    const index = path[1];
    if (path[0] !== 'data' || typeof index !== 'number' || path.length < 3) return { own: path, byEvent };
    byEvent.set(index, path);
  }
  return { byEvent };
}

function toSinkEvent({ node, seq, time, event, data: eventData }: z.infer<typeof innerEvent>): SinkEvent {
  return { node, seq, event, data: eventData, ...(time === undefined ? {} : { time }) };
}

function isBulk(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { event?: unknown }).event === BULK_EVENT;
}

function nodeOf(value: unknown): string | undefined {
  const node = typeof value === 'object' && value !== null ? (value as { node?: unknown }).node : undefined;
  return typeof node === 'string' ? node : undefined;
}

function nodeField(node: string | undefined): { node?: string } {
  return node === undefined ? {} : { node };
}
