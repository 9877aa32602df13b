import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../support/process.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { basicAuth, SINK_PASSWORD, SINK_USER, useGatewayPerTest } from '../support/gateway.js';

/** Event bodies Pexip publishes (sources in test/fixtures/upstream/README.md), replayed verbatim. */
const DIR = path.join(REPO_ROOT, 'test/fixtures/upstream/events');

interface Outcome {
  /** Events processed on first delivery (all of them: none is rejected). */
  accepted: number;
  /** Rooms queued for deletion, with the end time the event gave. */
  queued?: { room_name: string; ended_at_ms: number }[];
}

const OUTCOMES: Record<string, Outcome> = {
  'v1-eventsink_started.json': { accepted: 1 },
  'v1-conference_started.json': { accepted: 1 },
  'v1-conference_ended.json': { accepted: 1, queued: [{ room_name: 'meet.webapp', ended_at_ms: 1559898886582 }] },
  'v1-participant_connected.json': { accepted: 1 },
  'v1-participant_disconnected.json': { accepted: 1 },
  'v2-eventsink_started.json': { accepted: 1 },
  'v2-conference_started.json': { accepted: 1 },
  'v2-conference_updated.json': { accepted: 1 },
  'v2-conference_ended.json': { accepted: 1, queued: [{ room_name: 'meet.alice', ended_at_ms: 1747220597000 }] },
  'v2-participant_disconnected.json': { accepted: 1 },
  'v2-participant_media_stream_window.json': { accepted: 1 },
  'v2-participant_media_streams_destroyed.json': { accepted: 1 },
  'bulk-documented.json': { accepted: 1 },
  'bulk-wrapper-without-version-time.json': { accepted: 2 },
  'bulk-inner-without-version-time.json': { accepted: 2 },
  'bulk-of-documented-events.json': { accepted: 3, queued: [{ room_name: 'meet.alice', ended_at_ms: 1747220597000 }] },
};

const shared = useGatewayPerTest();

test('every fixture has a documented outcome', () => {
  expect(fs.readdirSync(DIR).sort()).toEqual(Object.keys(OUTCOMES).sort());
});

test.each(Object.entries(OUTCOMES))('%s → 200, processed once, redelivery acknowledged as a duplicate', async (file, outcome) => {
  const gw = await shared.start();
  const body = fs.readFileSync(path.join(DIR, file), 'utf8');
  const deliver = () => gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).set('Content-Type', 'application/json').send(body);

  const first = await deliver();
  expect(first.status).toBe(200);
  expect(first.body).toEqual({ status: 'ok', accepted: outcome.accepted, duplicates: 0, rejected: 0 });
  expectToMatchSpec(first);
  const { rows } = await shared.store.query<{ room_name: string; ended_at: Date }>('SELECT room_name, ended_at FROM deletion_queue ORDER BY room_name');
  expect(rows.map((r) => ({ room_name: r.room_name, ended_at_ms: new Date(r.ended_at).getTime() }))).toEqual(outcome.queued ?? []);

  expect((await deliver()).body).toEqual({ status: 'ok', accepted: 0, duplicates: outcome.accepted, rejected: 0 });
});
