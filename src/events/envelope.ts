import { z } from 'zod';

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

const header = {
  node: z.string().min(1, 'node is the sending node address').max(255),
  seq: z.number().int('seq must be a whole number').min(0, 'seq must not be negative'),
  version: z.union([z.literal(1), z.literal(2)], { error: 'version must be 1 or 2' }),
  time: z.number({ error: 'time must be a Unix time in seconds' }).refine(Number.isFinite, 'time must be finite').refine((t) => t >= 0, 'time must not be negative'),
  event: z.string().min(1, 'event names the event type').max(100),
};

/** One event. Unknown `data` fields are kept: Pexip may add fields at any version. */
export const eventEnvelope = z.object({
  ...header,
  data: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())], { error: 'data must be an object' }),
});

export const bulkEnvelope = z.object({
  ...header,
  event: z.literal(BULK_EVENT),
  data: z.array(eventEnvelope, { error: 'data of eventsink_bulk must be a list of envelopes' }).max(MAX_BULK_EVENTS, `at most ${MAX_BULK_EVENTS} events per envelope`),
});

export type EventEnvelope = z.infer<typeof eventEnvelope>;

export function isBulk(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { event?: unknown }).event === BULK_EVENT;
}
