import type { Conference } from '../../src/rooms/conference.js';
import { RoomAlreadyExists, RoomNotFound, type NewRoom, type RoomProvider } from '../../src/rooms/providers/provider.js';
import { basicAuth, SINK_PASSWORD, SINK_USER, startTestGateway, useSharedStore, type TestGateway } from '../support/gateway.js';
import { embeddedProvider, pexipProvider, type ProviderUnderTest } from '../support/providers.js';

/**
 * One contract, two providers (docs/contract.md §3): the same cases run against the
 * embedded provider and against the Pexip provider talking to the stand-in.
 */
const shared = useSharedStore();
/** Pexip writes timestamps in UTC with microseconds and no zone: `2017-05-11T22:02:05.848612`. */
const PEXIP_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;

describe.each([
  ['embedded', embeddedProvider],
  ['pexip', () => pexipProvider()],
])('%s provider', (_name, setUp) => {
  let under: ProviderUnderTest;
  let gw: TestGateway;
  let provider: RoomProvider;

  beforeEach(async () => {
    under = await setUp();
    gw = await startTestGateway({ store: shared.store, env: { POOL_TARGET_SIZE: '0', GENESYS_SIP_ADDRESS: 'queue@genesys.example.gov', ...under.env } });
    provider = gw.gateway.provider;
  });
  afterEach(async () => {
    await gw.close();
    await under.stop();
  });

  const room = (name: string, extra: Partial<NewRoom> = {}): NewRoom => ({
    name,
    pin: '123456',
    guestPin: '654321',
    tag: 'https://idim.example.gov/v/AQI',
    aliases: [name, `${name}@video.example.gov`],
    automaticParticipant: { alias: 'queue@genesys.example.gov', role: 'guest', callType: 'audio', keepConferenceAlive: 'keep_conference_alive_never', routing: 'manual', systemLocation: undefined },
    ...extra,
  });

  test('create returns the Pexip shape, ids and URIs', async () => {
    const created = await provider.create(room('ContractA'));
    expect(provider.kind).toBe(under.name);
    expect(created).toMatchObject({
      id: expect.any(Number),
      resource_uri: `/api/admin/configuration/v1/conference/${created.id}/`,
      name: 'ContractA',
      service_type: 'conference',
      allow_guests: true,
      pin: '123456',
      guest_pin: '654321',
      tag: 'https://idim.example.gov/v/AQI',
      call_type: 'video',
      participant_limit: null,
    });
    expect(created.aliases.map((a) => a.alias)).toEqual(['ContractA', 'ContractA@video.example.gov']);
    for (const alias of created.aliases) {
      expect(alias).toEqual({ id: expect.any(Number), alias: alias.alias, conference: created.resource_uri, creation_time: expect.stringMatching(PEXIP_TIMESTAMP), description: '' });
    }
    expect(created.creation_time).toMatch(PEXIP_TIMESTAMP);
    expect(created.automatic_participants).toEqual([
      {
        id: expect.any(Number),
        resource_uri: expect.stringMatching(/^\/api\/admin\/configuration\/v1\/automatic_participant\/\d+\/$/),
        alias: 'queue@genesys.example.gov',
        description: expect.any(String),
        protocol: 'sip',
        role: 'guest',
        call_type: 'audio',
        keep_conference_alive: 'keep_conference_alive_never',
        routing: 'manual',
        system_location: null,
        creation_time: expect.stringMatching(PEXIP_TIMESTAMP),
        dtmf_sequence: '',
        presentation_url: '',
        remote_display_name: '',
        streaming: false,
      },
    ]);
  });

  test('without a SIP address no automatic participant is added', async () => {
    expect((await provider.create(room('NoDialOut', { automaticParticipant: undefined }))).automatic_participants).toEqual([]);
  });

  test('findByName returns the room, or nothing', async () => {
    const created = await provider.create(room('ContractB'));
    expect(await provider.findByName('ContractB')).toEqual(created);
    expect(await provider.findByName('Nobody')).toBeUndefined();
  });

  test('a second room with the same name is refused', async () => {
    await provider.create(room('Twice'));
    await expect(provider.create(room('Twice'))).rejects.toBeInstanceOf(RoomAlreadyExists);
  });

  test('list pages with limit and offset, filters by prefix (literally), and reports the total', async () => {
    for (const name of ['batch_1', 'batch_2', 'batch_3', 'batchX4', 'other']) await provider.create(room(name, { automaticParticipant: undefined }));
    const all = await provider.list({ namePrefix: undefined, limit: 100, offset: 0 });
    expect(all.total).toBe(5);
    const prefixed = await provider.list({ namePrefix: 'batch_', limit: 2, offset: 0 });
    expect(prefixed.total).toBe(3);
    expect(prefixed.rooms.map((r) => r.name)).toEqual(['batch_1', 'batch_2']);
    expect((await provider.list({ namePrefix: 'batch_', limit: 2, offset: 2 })).rooms.map((r) => r.name)).toEqual(['batch_3']);
    expect((await provider.list({ namePrefix: 'zzz', limit: 10, offset: 0 })).rooms).toEqual([]);
  });

  test('update changes the room; a missing room is RoomNotFound', async () => {
    const created = await provider.create(room('ContractC'));
    await provider.update(created.id, { description: 'changed', participant_limit: 4, tag: 'new-tag' });
    expect(await provider.findByName('ContractC')).toMatchObject({ description: 'changed', participant_limit: 4, tag: 'new-tag' });
    await expect(provider.update(999_999, { description: 'x' })).rejects.toBeInstanceOf(RoomNotFound);
  });

  test('delete removes the room; deleting it again is "gone", not an error', async () => {
    const created = await provider.create(room('ContractD'));
    expect(await provider.delete(created.id)).toBe('deleted');
    expect(await provider.findByName('ContractD')).toBeUndefined();
    expect(await provider.delete(created.id)).toBe('gone');
  });

  describe('through the gateway', () => {
    test('pool refill, pooled create and the agent lookup', async () => {
      const gateway = await startTestGateway({ store: shared.store, entra: gw.entra, env: { ...under.env, POOL_TARGET_SIZE: '3' } });
      try {
        await gateway.gateway.pool.refill();
        expect((await gateway.gateway.pool.counts()).ready).toBe(3);
        const created = await gateway.http.post('/room/create?uuiData=3132').set(gateway.bearer());
        expect(created.status).toBe(200);
        expect(created.body.tag).toBe('https://idim.example.gov/verification/MTI');
        expect(((await gateway.gateway.provider.findByName(created.body.name)) as Conference).tag).toBe(created.body.tag);
        expect(gateway.gateway.rooms.inlineCreations).toBe(0);
      } finally {
        await gateway.close();
      }
    });

    test('bulk create fills the pool; bulk delete by prefix removes them', async () => {
      const job = await gw.http.post('/rooms/bulk').set(gw.bearer()).send({ count: 4 });
      expect(job.status).toBe(202);
      await gw.gateway.bulkJobs.idle();
      expect((await gw.http.get(`/rooms/bulk/${job.body.job_id}`).set(gw.bearer())).body).toMatchObject({ status: 'completed', created: 4 });
      expect((await gw.gateway.pool.counts()).ready).toBe(4);
      await provider.create(room('keepme', { automaticParticipant: undefined }));
      const names = (await gw.http.get('/rooms').set(gw.bearer())).body.map((r: { name: string }) => r.name) as string[];
      let deleted = 0;
      for (const prefix of new Set(names.filter((n) => n !== 'keepme').map((n) => n.slice(0, 1)))) {
        if ('keepme'.startsWith(prefix)) continue;
        deleted += (await gw.http.delete(`/rooms?name_prefix=${prefix}`).set(gw.bearer())).body.deleted as number;
      }
      const left = (await gw.http.get('/rooms').set(gw.bearer())).body.map((r: { name: string }) => r.name) as string[];
      expect(left).toContain('keepme');
      expect(deleted).toBe(names.length - left.length);
      if (under.pexip) expect(under.pexip.count('DELETE', /\/conference\/$/)).toBe(0);
    });

    test('garbage collection deletes a room whose conference ended', async () => {
      const created = (await gw.http.post('/room/create?uuiData=0102').set(gw.bearer())).body as { name: string };
      const res = await gw.http
        .post('/public/event_sink')
        .set(basicAuth(SINK_USER, SINK_PASSWORD))
        .send({ node: '10.0.0.1', seq: 1, version: 2, time: gw.clock.now() / 1000, event: 'conference_ended', data: { name: created.name } });
      expect(res.status).toBe(200);
      gw.clock.advance(600_000);
      expect(await gw.gateway.garbageCollector.runOnce()).toMatchObject({ deleted: 1 });
      expect(await provider.findByName(created.name)).toBeUndefined();
    });
  });
});
