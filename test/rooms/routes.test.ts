import { expectToMatchSpec } from '../support/openapi.js';
import { useGatewayPerTest, TAG_BASE_URL, type TestGateway } from '../support/gateway.js';

const UUI = '3132333435362c373635343332';
const TAG = `${TAG_BASE_URL}/MTIzNDU2LDc2NTQzMg`;
const shared = useGatewayPerTest();
let gw: TestGateway;

const start = async (env: Record<string, string> = {}) => {
  gw = await shared.start(env);
  await gw.gateway.pool.refill();
  return gw;
};
const auth = () => gw.bearer();

async function createRoom(uuiData = UUI) {
  const res = await gw.http.post(`/room/create?uuiData=${uuiData}`).set(auth());
  expect(res.status).toBe(200);
  return res.body as { name: string; id: number; guest_pin: string; tag: string };
}

describe('POST /room/create', () => {
  test('hands out a pooled room tagged from uuiData, without the host PIN', async () => {
    await start();
    const pooled = await gw.gateway.pool.counts();
    expect(pooled.ready).toBe(2);
    const res = await gw.http.post(`/room/create?uuiData=${UUI}`).set(auth());
    expect(res.status).toBe(200);
    expectToMatchSpec(res);
    expect(res.body.tag).toBe(TAG);
    expect(res.body).not.toHaveProperty('pin');
    expect(res.body.service_type).toBe('conference');
    expect(res.body.allow_guests).toBe(true);
    expect(res.body.guest_pin).toMatch(/^\d{6}$/);
    expect(res.body.aliases).toEqual([
      { id: expect.any(Number), alias: res.body.name, conference: `/api/admin/configuration/v1/conference/${res.body.id}/`, creation_time: expect.any(String), description: '' },
    ]);
    expect(gw.gateway.rooms.inlineCreations).toBe(0);
    const stored = await gw.http.get(`/room/${res.body.name}`).set(auth());
    expect(stored.body.tag).toBe(TAG);
  });

  test('accepts uuiData in a JSON body', async () => {
    await start();
    const res = await gw.http.post('/room/create').set(auth()).send({ uuiData: UUI });
    expect(res.status).toBe(200);
    expect(res.body.tag).toBe(TAG);
  });

  test('GET /room/create is a deprecated alias', async () => {
    await start();
    const res = await gw.http.get(`/room/create?uuiData=${UUI}`).set(auth());
    expect(res.status).toBe(200);
    expect(res.headers.deprecation).toBe('true');
    expect(res.body.tag).toBe(TAG);
    expectToMatchSpec(res);
  });

  test('refills the pool to its target in the background after a claim', async () => {
    await start();
    await createRoom();
    await gw.gateway.pool.refill();
    expect((await gw.gateway.pool.counts()).ready).toBe(2);
  });

  test('creates the room inline when the pool is empty, and counts it', async () => {
    await start({ POOL_TARGET_SIZE: '0' });
    const res = await gw.http.post(`/room/create?uuiData=${UUI}`).set(auth());
    expect(res.status).toBe(200);
    expect(res.body.tag).toBe(TAG);
    expect(gw.gateway.rooms.inlineCreations).toBe(1);
  });

  test('concurrent creates never hand out the same room', async () => {
    await start({ POOL_TARGET_SIZE: '5' });
    const names = await Promise.all(Array.from({ length: 12 }, () => createRoom().then((r) => r.name)));
    expect(new Set(names).size).toBe(12);
  });

  test.each([
    ['odd length', 'abc', /even number of hex digits/],
    ['not hex', 'zz11', /only hex digits/],
    ['too long', 'ab'.repeat(257), /too long: at most 512/],
    ['missing', '', /uuiData is required/],
  ])('uuiData %s → 400 naming the problem', async (_name, uuiData, message) => {
    await start();
    const res = await gw.http.post(`/room/create?uuiData=${uuiData}`).set(auth());
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'query', field: 'uuiData', message: expect.stringMatching(message) })]));
    expect(res.body.detail).toMatch(message);
    expectToMatchSpec(res);
  });

  test('uuiData both odd and not hex → both problems named', async () => {
    await start();
    const res = await gw.http.post('/room/create?uuiData=xyz').set(auth());
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/only hex digits/), expect.stringMatching(/even number/)]),
    );
  });

  test('uuiData too long for a Pexip tag with this base URL → 400 saying how much fits', async () => {
    await start();
    const res = await gw.http.post(`/room/create?uuiData=${'ab'.repeat(200)}`).set(auth());
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/at most \d+ hex characters fit/);
    expect(res.body.errors).toEqual([expect.objectContaining({ in: 'query', field: 'uuiData' })]);
  });

  test('uuiData too long in the body → 400 naming the body as where it was', async () => {
    await start();
    const res = await gw.http.post('/room/create').set(auth()).send({ uuiData: 'ab'.repeat(200) });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/at most \d+ hex characters fit/);
    expect(res.body.errors).toEqual([expect.objectContaining({ in: 'body', field: 'uuiData' })]);
  });

  test('uuiData given twice in the query → 400', async () => {
    await start();
    const res = await gw.http.post(`/room/create?uuiData=${UUI}&uuiData=${UUI}`).set(auth());
    expect(res.status).toBe(400);
  });

  test('without a token → 401, and nothing is claimed', async () => {
    await start();
    const res = await gw.http.post(`/room/create?uuiData=${UUI}`);
    expect(res.status).toBe(401);
    expect((await gw.gateway.pool.counts()).ready).toBe(2);
  });
});

describe('GET /room/{room_name}', () => {
  test('constrained by default, with the host PIN', async () => {
    await start();
    const { name } = await createRoom();
    const res = await gw.http.get(`/room/${name}`).set(auth());
    expect(res.status).toBe(200);
    expectToMatchSpec(res);
    expect(Object.keys(res.body).sort()).toEqual(['aliases', 'allow_guests', 'guest_pin', 'id', 'name', 'pin', 'service_type', 'tag']);
    expect(res.body.pin).toMatch(/^\d{6}$/);
    expect(res.body.pin).not.toBe(res.body.guest_pin);
  });

  test('constrained_attributes=false → the full Pexip object', async () => {
    await start({ GENESYS_SIP_ADDRESS: 'queue@genesys.example.gov' });
    const { name, id } = await createRoom();
    const res = await gw.http.get(`/room/${name}?constrained_attributes=false`).set(auth());
    expect(res.status).toBe(200);
    expectToMatchSpec(res);
    expect(res.body).toMatchObject({
      id,
      name,
      resource_uri: `/api/admin/configuration/v1/conference/${id}/`,
      call_type: 'video',
      participant_limit: null,
      max_callrate_in: null,
    });
    expect(res.body.automatic_participants).toEqual([
      expect.objectContaining({ resource_uri: expect.stringMatching(/^\/api\/admin\/configuration\/v1\/automatic_participant\/\d+\/$/), role: 'guest', routing: 'manual' }),
    ]);
  });

  test('unknown room → 404 problem', async () => {
    await start();
    const res = await gw.http.get('/room/NoSuchRoom').set(auth());
    expect(res.status).toBe(404);
    expect(res.body.detail).toMatch(/No room named NoSuchRoom/);
    expectToMatchSpec(res);
  });

  test.each(['a.b', 'x'.repeat(101), 'na%20me', 'name%2Fother'])('invalid name %s → 400', async (name) => {
    await start();
    const res = await gw.http.get(`/room/${name}`).set(auth());
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ in: 'path', field: 'room_name' });
  });

  test('constrained_attributes=maybe → 400', async () => {
    await start();
    const { name } = await createRoom();
    expect((await gw.http.get(`/room/${name}?constrained_attributes=maybe`).set(auth())).status).toBe(400);
  });
});

describe('PATCH /room/{room_name}', () => {
  test('202 without a body, and the change is stored', async () => {
    await start();
    const { name } = await createRoom();
    const res = await gw.http.patch(`/room/${name}`).set(auth()).send({ description: 'Session 42', participant_limit: 3, pin: '12345678', guest_pin: '87654321' });
    expect(res.status).toBe(202);
    expect(res.text).toBe('');
    expectToMatchSpec(res);
    const full = await gw.http.get(`/room/${name}?constrained_attributes=false`).set(auth());
    expect(full.body).toMatchObject({ description: 'Session 42', participant_limit: 3, pin: '12345678', guest_pin: '87654321' });
  });

  test('unknown fields → 422 naming them', async () => {
    await start();
    const { name } = await createRoom();
    const res = await gw.http.patch(`/room/${name}`).set(auth()).send({ description: 'x', service_type: 'lecture', owner: 'me' });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['owner', 'service_type']);
    expectToMatchSpec(res);
  });

  test.each([
    [{ pin: '12' }, 'pin'],
    [{ participant_limit: -1 }, 'participant_limit'],
    [{ allow_guests: 'yes' }, 'allow_guests'],
    [{ pin: '1234', guest_pin: '1234' }, 'guest_pin'],
    [{}, '(whole)'],
  ])('invalid change %j → 400 naming %s', async (body, field) => {
    await start();
    const { name } = await createRoom();
    const res = await gw.http.patch(`/room/${name}`).set(auth()).send(body);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  test('no body → 400; a non-JSON body → 415', async () => {
    await start();
    const { name } = await createRoom();
    expect((await gw.http.patch(`/room/${name}`).set(auth())).status).toBe(400);
    const res = await gw.http.patch(`/room/${name}`).set(auth()).set('Content-Type', 'text/plain').send('description=x');
    expect(res.status).toBe(415);
    expectToMatchSpec(res);
  });

  test('unknown room → 404', async () => {
    await start();
    expect((await gw.http.patch('/room/NoSuchRoom').set(auth()).send({ description: 'x' })).status).toBe(404);
  });
});

describe('DELETE /room/{room_name}', () => {
  test('204, then 404', async () => {
    await start();
    const { name } = await createRoom();
    const res = await gw.http.delete(`/room/${name}`).set(auth());
    expect(res.status).toBe(204);
    expectToMatchSpec(res);
    expect((await gw.http.get(`/room/${name}`).set(auth())).status).toBe(404);
    const again = await gw.http.delete(`/room/${name}`).set(auth());
    expect(again.status).toBe(404);
    expectToMatchSpec(again);
  });

  test('deleting a pooled room also drops it from the pool', async () => {
    await start();
    const pooled = await gw.http.get('/rooms').set(auth());
    const name = pooled.body[0].name as string;
    expect((await gw.http.delete(`/room/${name}`).set(auth())).status).toBe(204);
    expect((await gw.gateway.pool.counts()).ready).toBe(1);
  });
});

describe('GET /rooms', () => {
  test('paginates with limit and offset and reports X-Total-Count', async () => {
    await start({ POOL_TARGET_SIZE: '0' });
    for (let i = 0; i < 5; i += 1) await createRoom();
    const first = await gw.http.get('/rooms?limit=2').set(auth());
    expect(first.status).toBe(200);
    expectToMatchSpec(first);
    expect(first.headers['x-total-count']).toBe('5');
    expect(first.body).toHaveLength(2);
    const last = await gw.http.get('/rooms?limit=2&offset=4').set(auth());
    expect(last.body).toHaveLength(1);
    const names = new Set([...first.body, ...(await gw.http.get('/rooms?limit=2&offset=2').set(auth())).body, ...last.body].map((r: { name: string }) => r.name));
    expect(names.size).toBe(5);
  });

  test('filters by name_prefix (underscore is literal, not a wildcard)', async () => {
    await start({ POOL_TARGET_SIZE: '0' });
    await createRoom();
    await seedRoom('test_kiosk1');
    await seedRoom('testXkiosk2');
    const res = await gw.http.get('/rooms?name_prefix=test_').set(auth());
    expect(res.body.map((r: { name: string }) => r.name)).toEqual(['test_kiosk1']);
    expect(res.headers['x-total-count']).toBe('1');
  });

  test('constrained_attributes=false lists full objects', async () => {
    await start();
    const res = await gw.http.get('/rooms?constrained_attributes=false').set(auth());
    expectToMatchSpec(res);
    expect(res.body[0]).toHaveProperty('resource_uri');
  });

  test.each(['limit=0', 'limit=501', 'limit=ten', 'offset=-1', 'name_prefix=a.b'])('%s → 400', async (query) => {
    await start();
    const res = await gw.http.get(`/rooms?${query}`).set(auth());
    expect(res.status).toBe(400);
    expectToMatchSpec(res);
  });
});

describe('bulk creation', () => {
  test('202 with a job id; the job fills the pool and reports completion', async () => {
    await start({ POOL_TARGET_SIZE: '0' });
    const res = await gw.http.post('/rooms/bulk').set(auth()).send({ count: 7 });
    expect(res.status).toBe(202);
    expectToMatchSpec(res);
    expect(res.body).toEqual({ job_id: expect.any(String), count: 7 });
    expect(res.headers.location).toBe(`/rooms/bulk/${res.body.job_id}`);
    await gw.gateway.bulkJobs.idle();
    const job = await gw.http.get(res.headers.location as string).set(auth());
    expect(job.status).toBe(200);
    expectToMatchSpec(job);
    expect(job.body).toMatchObject({ job_id: res.body.job_id, count: 7, created: 7, failed: 0, status: 'completed' });
    expect((await gw.gateway.pool.counts()).ready).toBe(7);
  });

  test.each([{ count: 0 }, { count: 501 }, { count: 1.5 }, { count: '3' }, []])('invalid body %j → 400', async (body) => {
    await start();
    const res = await gw.http.post('/rooms/bulk').set(auth()).send(body);
    expect(res.status).toBe(400);
  });

  test('unknown fields → 422', async () => {
    await start();
    expect((await gw.http.post('/rooms/bulk').set(auth()).send({ count: 1, prefix: 'x' })).status).toBe(422);
  });

  test('unknown job → 404; malformed job id → 400', async () => {
    await start();
    expect((await gw.http.get('/rooms/bulk/3f1c2b7e-2d7a-4c55-9d8e-0b6f0f5f8a11').set(auth())).status).toBe(404);
    expect((await gw.http.get('/rooms/bulk/not-a-uuid').set(auth())).status).toBe(400);
  });

  test('with a bulk role configured, bulk operations need it', async () => {
    await start({ ENTRA_BULK_ROLE: 'Rooms.Bulk' });
    expect((await gw.http.post('/rooms/bulk').set(auth()).send({ count: 1 })).status).toBe(403);
    expect((await gw.http.delete('/rooms?name_prefix=x').set(auth())).status).toBe(403);
    const withRole = gw.bearer({ claims: { roles: ['Rooms.Bulk'] } });
    expect((await gw.http.post('/rooms/bulk').set(withRole).send({ count: 1 })).status).toBe(202);
    expect((await gw.http.delete('/rooms?name_prefix=x').set(withRole)).status).toBe(200);
    await gw.gateway.bulkJobs.idle();
  });
});

describe('DELETE /rooms?name_prefix=', () => {
  test('deletes matching rooms and drops them from the pool; persistent rooms survive', async () => {
    await start({ POOL_TARGET_SIZE: '0' });
    await seedRoom('batch_1');
    await seedRoom('batch_2');
    await seedRoom('other_1');
    const res = await gw.http.delete('/rooms?name_prefix=batch_').set(auth());
    expect(res.status).toBe(200);
    expectToMatchSpec(res);
    expect(res.body).toEqual({ deleted: 2 });
    const left = await gw.http.get('/rooms').set(auth());
    expect(left.body.map((r: { name: string }) => r.name)).toEqual(['other_1']);
  });

  test('a broad prefix never deletes persistent rooms; naming the persistent prefix does', async () => {
    await start({ POOL_TARGET_SIZE: '0' });
    await seedRoom('test_kiosk');
    await seedRoom('vkiosk_lobby');
    await seedRoom('temp_1');
    expect((await gw.http.delete('/rooms?name_prefix=t').set(auth())).body).toEqual({ deleted: 1 });
    expect((await gw.http.delete('/rooms?name_prefix=v').set(auth())).body).toEqual({ deleted: 0 });
    expect((await gw.http.delete('/rooms?name_prefix=test_').set(auth())).body).toEqual({ deleted: 1 });
    const left = await gw.http.get('/rooms').set(auth());
    expect(left.body.map((r: { name: string }) => r.name)).toEqual(['vkiosk_lobby']);
  });

  test('deletes pooled rooms and removes them from the pool', async () => {
    await start();
    const names = (await gw.http.get('/rooms').set(auth())).body.map((r: { name: string }) => r.name) as string[];
    const prefix = (names[0] as string).slice(0, 3);
    const res = await gw.http.delete(`/rooms?name_prefix=${prefix}`).set(auth());
    expect(res.body.deleted).toBeGreaterThanOrEqual(1);
    const counts = await gw.gateway.pool.counts();
    expect(counts.ready).toBe(names.filter((n) => !n.startsWith(prefix)).length);
  });

  test.each(['', 'name_prefix=', 'name_prefix=a%2A'])('missing or invalid prefix (%s) → 400', async (query) => {
    await start();
    const res = await gw.http.delete(`/rooms?${query}`).set(auth());
    expect(res.status).toBe(400);
    expectToMatchSpec(res);
  });
});

/** A room with a chosen name, created through the same provider the gateway uses. */
async function seedRoom(name: string): Promise<void> {
  const { EmbeddedRoomProvider } = await import('../../src/rooms/providers/embedded.js');
  await new EmbeddedRoomProvider(shared.store, gw.clock).create({ name, pin: '1234', guestPin: '5678', tag: '', aliases: [name], automaticParticipant: undefined });
}
