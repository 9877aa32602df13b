import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import type { NewRoom } from '../../src/rooms/providers/provider.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { startTestGateway, useSharedStore, type TestGateway } from '../support/gateway.js';
import { PEXIP_PASSWORD, PEXIP_USER, pexipProvider, type ProviderUnderTest } from '../support/providers.js';
import { REPO_ROOT } from '../support/process.js';

/**
 * The gateway against a stand-in that enforces Pexip's documented rules
 * (test/stand-ins/pexip.ts cites each), and the published Management API
 * bodies in test/fixtures/upstream/pexip/ replayed through it.
 */
const shared = useSharedStore();
const SIP = 'queue@genesys.example.gov';
const API = '/api/admin/configuration/v1';
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test/fixtures/upstream/pexip', name), 'utf8')) as Record<string, unknown>;

let under: ProviderUnderTest;
let gw: TestGateway;

async function start(env: Record<string, string> = {}) {
  under = await pexipProvider();
  gw = await startTestGateway({ store: shared.store, env: { POOL_TARGET_SIZE: '0', ...under.env, ...env } });
  return under.pexip!;
}
afterEach(async () => {
  await gw?.close();
  await under?.stop();
});

const room = (name: string, automaticParticipant: NewRoom['automaticParticipant']): NewRoom => ({ name, pin: '123456', guestPin: '654321', tag: '', aliases: [name], automaticParticipant });
const postedParticipants = (pexip: NonNullable<ProviderUnderTest['pexip']>) =>
  pexip.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/automatic_participant/')).map((c) => JSON.parse(c.body) as Record<string, unknown>);

const post = (pexip: NonNullable<ProviderUnderTest['pexip']>, collection: string, body: unknown) =>
  fetch(`${pexip.baseUrl}${API}/${collection}/`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${PEXIP_USER}:${PEXIP_PASSWORD}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('the automatic participant on an enforcing Management API', () => {
  test('the default configuration creates it (guest, manual routing, no location: Pexip picks), and every room route answers real shapes', async () => {
    const pexip = await start({ GENESYS_SIP_ADDRESS: SIP });
    const created = await gw.http.post('/room/create?uuiData=3132').set(gw.bearer());
    expect(created.status).toBe(200);
    expectToMatchSpec(created);
    const [posted] = postedParticipants(pexip);
    expect(posted).toEqual({
      alias: SIP,
      conference: [`${API}/conference/${created.body.id}/`],
      description: expect.any(String),
      protocol: 'sip',
      role: 'guest',
      call_type: 'audio',
      keep_conference_alive: 'keep_conference_alive_never',
      routing: 'manual',
    });

    const name = created.body.name as string;
    const full = await gw.http.get(`/room/${name}?constrained_attributes=false`).set(gw.bearer());
    expect(full.status).toBe(200);
    expectToMatchSpec(full);
    expect(full.body.automatic_participants).toEqual([expect.objectContaining({ alias: SIP, role: 'guest', routing: 'manual', system_location: null })]);
    expect(full.body.creation_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);

    for (const url of [`/room/${name}`, '/rooms?limit=10', '/rooms?limit=10&constrained_attributes=false']) {
      const res = await gw.http.get(url).set(gw.bearer());
      expect(res.status).toBe(200);
      expectToMatchSpec(res);
    }
    const agent = await gw.http.get(`/public/room/${name}`).set('x-auth-token', gw.genesys.agent('fidelity-agent'));
    expect(agent.status).toBe(200);
    expectToMatchSpec(agent);
    const patched = await gw.http.patch(`/room/${name}`).set(gw.bearer()).send({ pin: '24681357', participant_limit: 3 });
    expect(patched.status).toBe(202);
    expectToMatchSpec(patched);
    const deleted = await gw.http.delete(`/room/${name}`).set(gw.bearer());
    expect(deleted.status).toBe(204);
    expectToMatchSpec(deleted);
  });

  const choices: [string, string, string][] = [
    ['AUTOMATIC_PARTICIPANT_ROLE', 'guest', 'role'],
    ['AUTOMATIC_PARTICIPANT_ROLE', 'chair', 'role'],
    ['AUTOMATIC_PARTICIPANT_ROUTING', 'manual', 'routing'],
    ['AUTOMATIC_PARTICIPANT_ROUTING', 'routing_rule', 'routing'],
    ['AUTOMATIC_PARTICIPANT_CALL_TYPE', 'video', 'call_type'],
    ['AUTOMATIC_PARTICIPANT_CALL_TYPE', 'video-only', 'call_type'],
    ['AUTOMATIC_PARTICIPANT_CALL_TYPE', 'audio', 'call_type'],
    ['AUTOMATIC_PARTICIPANT_KEEP_ALIVE', 'keep_conference_alive', 'keep_conference_alive'],
    ['AUTOMATIC_PARTICIPANT_KEEP_ALIVE', 'keep_conference_alive_if_multiple', 'keep_conference_alive'],
    ['AUTOMATIC_PARTICIPANT_KEEP_ALIVE', 'keep_conference_alive_never', 'keep_conference_alive'],
    ['AUTOMATIC_PARTICIPANT_SYSTEM_LOCATION', `${API}/system_location/1/`, 'system_location'],
  ];

  test('each allowed choice is accepted by Pexip and comes back on the room', async () => {
    const pexip = await start();
    for (const [index, [variable, value, field]] of choices.entries()) {
      const configured = loadConfig({ GENESYS_SIP_ADDRESS: SIP, [variable]: value }).rooms.automaticParticipant;
      const created = await gw.gateway.provider.create(room(`choice_${index}`, configured));
      expect([variable, created.automatic_participants.map((p) => (p as unknown as Record<string, unknown>)[field])]).toEqual([variable, [value]]);
    }
    expect(postedParticipants(pexip)).toHaveLength(choices.length);
  });

  test('a system location Pexip does not know is refused by Pexip: 502 naming Pexip, and no half-made room is left behind', async () => {
    const pexip = await start({ GENESYS_SIP_ADDRESS: SIP, AUTOMATIC_PARTICIPANT_SYSTEM_LOCATION: `${API}/system_location/9/` });
    const res = await gw.http.post('/room/create?uuiData=3132').set(gw.bearer());
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.detail).toMatch(/Pexip answered 400 when asked to add the automatic participant/);
    expectToMatchSpec(res);
    expect(pexip.conferences.size).toBe(0);
  });
});

describe('what the stand-in refuses, as Pexip (tastypie) does', () => {
  test('an automatic participant with role host and routing auto (what the gateway used to send) → 400 per field', async () => {
    const pexip = await start();
    const conference = await gw.gateway.provider.create(room('Target', undefined));
    const res = await post(pexip, 'automatic_participant', { alias: SIP, conference: [conference.resource_uri], protocol: 'sip', role: 'host', routing: 'auto', call_type: 'audio', keep_conference_alive: 'keep_conference_alive_never' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      automatic_participant: {
        role: ['Select a valid choice. host is not one of the available choices.'],
        routing: ['Select a valid choice. auto is not one of the available choices.'],
      },
    });
  });

  test.each([
    ['a name of 251 characters', { name: 'x'.repeat(251) }, 'name'],
    ['a PIN with a letter', { name: 'BadPin', pin: '12a4' }, 'pin'],
    ['a PIN of 3 digits', { name: 'ShortPin', pin: '123' }, 'pin'],
    ['equal PINs', { name: 'SamePins', allow_guests: true, pin: '1234', guest_pin: '1234' }, 'guest_pin'],
    ['a guest PIN without a PIN', { name: 'GuestOnly', guest_pin: '1234' }, 'guest_pin'],
    ['guests without a PIN', { name: 'GuestsNoPin', allow_guests: true }, 'pin'],
    ['a tag of 251 characters', { name: 'LongTag', tag: 't'.repeat(251) }, 'tag'],
    ['an unknown service type', { name: 'Kind', service_type: 'vmr' }, 'service_type'],
    ['a negative participant limit', { name: 'Limit', participant_limit: -1 }, 'participant_limit'],
  ])('a conference with %s → 400 naming it', async (_what, body, field) => {
    const pexip = await start();
    const res = await post(pexip, 'conference', body);
    expect(res.status).toBe(400);
    expect(Object.keys(((await res.json()) as { conference: Record<string, unknown> }).conference)).toEqual([field]);
    expect(pexip.conferences.size).toBe(0);
  });

  test('an alias already used by another VMR → 400', async () => {
    const pexip = await start();
    await gw.gateway.provider.create(room('First', undefined));
    const res = await post(pexip, 'conference', { name: 'Second', aliases: [{ alias: 'First' }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ conference_alias: { alias: ['Conference alias with this Alias already exists.'] } });
  });
});

describe("Pexip's PIN rules on PATCH /room/{room_name}", () => {
  test("a change Pexip would refuse is a 409 naming the field, not a 502, and never reaches Pexip", async () => {
    const pexip = await start();
    await gw.gateway.provider.create(room('Pins', undefined));
    const same = await gw.http.patch('/room/Pins').set(gw.bearer()).send({ guest_pin: '123456' });
    expect(same.status).toBe(409);
    expect(same.body.errors).toEqual([{ in: 'body', field: 'guest_pin', message: expect.stringMatching(/differ/) }]);
    expect(same.text).not.toContain('123456');
    expectToMatchSpec(same);
    pexip.seed({ ...fixture('conference.json'), name: 'NoPin', id: 900, resource_uri: `${API}/conference/900/` });
    const guestsWithoutPin = await gw.http.patch('/room/NoPin').set(gw.bearer()).send({ allow_guests: true });
    expect(guestsWithoutPin.status).toBe(409);
    expect(guestsWithoutPin.body.errors).toEqual([{ in: 'body', field: 'pin', message: expect.any(String) }]);
    expect(pexip.count('PATCH', /./)).toBe(0);
    expect((await gw.http.patch('/room/NoPin').set(gw.bearer()).send({ pin: '2468', allow_guests: true })).status).toBe(202);
  });
});

describe('201 Location', () => {
  test.each(['absolute', 'relative'] as const)('Location written %s gives the new object id', async (style) => {
    const pexip = await start({ GENESYS_SIP_ADDRESS: SIP });
    pexip.locationStyle = style;
    const probe = await post(pexip, 'conference', { name: 'Probe' });
    expect(probe.headers.get('location')).toBe(`${style === 'absolute' ? pexip.baseUrl : ''}${API}/conference/1/`);
    const created = await gw.gateway.provider.create(room('Located', gw.config.rooms.automaticParticipant));
    expect(created.id).toBe(2);
    expect(created.automatic_participants).toHaveLength(1);
  });
});

describe('published Management API bodies', () => {
  test('a published VMR (nested aliases and automatic participants, zone-less times) is read and passed through as Pexip wrote it', async () => {
    const pexip = await start();
    const conference = fixture('conference.json');
    pexip.seed(conference);
    const full = await gw.http.get(`/room/${conference.name as string}?constrained_attributes=false`).set(gw.bearer());
    expect(full.status).toBe(200);
    expect(full.body).toEqual(conference);
    expectToMatchSpec(full);
    const constrained = await gw.http.get(`/room/${conference.name as string}`).set(gw.bearer());
    expect(constrained.status).toBe(200);
    expectToMatchSpec(constrained);
  });

  test('a published list page (meta/objects) is walked and every object parsed', async () => {
    const pexip = await start();
    const page = fixture('conference-list.json') as { meta: Record<string, unknown>; objects: Record<string, unknown>[] };
    for (const object of page.objects) pexip.seed(object);
    const listed = await gw.gateway.provider.list({ namePrefix: 'VMR_', limit: 10, offset: 0 });
    expect(listed.rooms).toEqual(page.objects);
    expect(listed.total).toBe(page.objects.length);
    const res = await gw.http.get('/rooms?name_prefix=VMR_&constrained_attributes=false').set(gw.bearer());
    expect(res.status).toBe(200);
    expect(res.body).toEqual(page.objects);
    expectToMatchSpec(res);
  });

  test("the stand-in's objects and list envelope have the published shapes", async () => {
    const pexip = await start({ GENESYS_SIP_ADDRESS: SIP });
    const created = await gw.gateway.provider.create(room('Shaped', gw.config.rooms.automaticParticipant));
    const keys = (o: unknown) => Object.keys(o as object).sort();
    const published = fixture('conference.json') as { aliases: unknown[]; automatic_participants: unknown[] };
    expect(keys(created)).toEqual(expect.arrayContaining(keys(published)));
    expect(keys(created.aliases[0])).toEqual(keys(published.aliases[0]));
    const publishedParticipant = (fixture('automatic-participant-list.json') as { objects: unknown[] }).objects[0];
    expect(keys([...pexip.participants.values()][0])).toEqual(keys(publishedParticipant));
    const envelope = (await (await fetch(`${pexip.baseUrl}${API}/conference/`, { headers: { authorization: `Basic ${Buffer.from(`${PEXIP_USER}:${PEXIP_PASSWORD}`).toString('base64')}` } })).json()) as { meta: unknown };
    expect(keys(envelope)).toEqual(keys(fixture('conference-list.json')));
    expect(keys(envelope.meta)).toEqual(keys(fixture('conference-list.json').meta));
  });
});
