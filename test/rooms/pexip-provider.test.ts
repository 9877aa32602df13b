import { CollectionDeleteRefused, PexipClient, type PexipSettings } from '../../src/rooms/providers/pexip-client.js';
import { pexipAuth } from '../../src/rooms/providers/pexip-auth.js';
import { InProcessBudget } from '../../src/rooms/providers/request-budget.js';
import type { NewRoom } from '../../src/rooms/providers/provider.js';
import { createLogger } from '../../src/logger.js';
import { loadConfig } from '../../src/config.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { basicAuth, SINK_PASSWORD, SINK_USER, startTestGateway, useSharedStore, type TestGateway } from '../support/gateway.js';
import { pexipOAuthProvider, pexipProvider, type ProviderUnderTest } from '../support/providers.js';

const shared = useSharedStore();
let under: ProviderUnderTest;
let gw: TestGateway;

afterEach(async () => {
  await gw?.close();
  await under?.stop();
});

async function start(env: Record<string, string> = {}, setUp: () => Promise<ProviderUnderTest> = () => pexipProvider()) {
  under = await setUp();
  gw = await startTestGateway({ store: shared.store, env: { POOL_TARGET_SIZE: '0', ...under.env, ...env } });
  return { pexip: under.pexip!, provider: gw.gateway.provider };
}
const room = (name: string): NewRoom => ({ name, pin: '1234', guestPin: '4321', tag: '', aliases: [name], automaticParticipant: undefined });

describe('requests', () => {
  test('every path ends with a slash and the create id comes from Location', async () => {
    const { pexip, provider } = await start({ GENESYS_SIP_ADDRESS: 'queue@genesys.example.gov', AUTOMATIC_PARTICIPANT_ROLE: 'chair', AUTOMATIC_PARTICIPANT_CALL_TYPE: 'video' });
    const created = await gw.http.post('/room/create?uuiData=01').set(gw.bearer());
    expect(created.status).toBe(200);
    expect(pexip.calls.every((c) => /\/(\?.*)?$/.test(c.path))).toBe(true);
    const stored = [...pexip.conferences.values()][0]!;
    expect(stored).toMatchObject({ name: created.body.name, allow_guests: true, service_type: 'conference', tag: created.body.tag });
    expect([...pexip.participants.values()].map((p) => p.conference)).toEqual([[stored.resource_uri]]);
    expect((await provider.findByName(created.body.name))?.id).toBe(stored.id);
  });

  test('the automatic participant is posted with a list of conference URIs, protocol sip and the configured role and call type', async () => {
    const { pexip } = await start({ GENESYS_SIP_ADDRESS: 'queue@genesys.example.gov', AUTOMATIC_PARTICIPANT_ROLE: 'chair', AUTOMATIC_PARTICIPANT_CALL_TYPE: 'video', AUTOMATIC_PARTICIPANT_KEEP_ALIVE: 'keep_conference_alive_if_multiple' });
    await gw.gateway.provider.create({ ...room('WithAdp'), automaticParticipant: gw.config.rooms.automaticParticipant });
    const posted = pexip.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/automatic_participant/')).map((c) => JSON.parse(c.body) as unknown);
    expect(posted).toEqual([
      expect.objectContaining({ alias: 'queue@genesys.example.gov', conference: [expect.stringMatching(/\/conference\/\d+\/$/)], protocol: 'sip', role: 'chair', call_type: 'video', keep_conference_alive: 'keep_conference_alive_if_multiple', routing: 'manual' }),
    ]);
  });

  test('lists follow meta.next across Pexip pages', async () => {
    const { pexip, provider } = await start();
    pexip.maxLimit = 3;
    for (let i = 0; i < 8; i += 1) await provider.create(room(`paged_${i}`));
    const page = await provider.list({ namePrefix: 'paged_', limit: 7, offset: 0 });
    expect(page.total).toBe(8);
    expect(page.rooms.map((r) => r.name)).toEqual(['paged_0', 'paged_1', 'paged_2', 'paged_3', 'paged_4', 'paged_5', 'paged_6']);
    expect(pexip.count('GET', /name__startswith=paged_/)).toBe(3);
  });
});

describe('the collection-DELETE guard', () => {
  test('a DELETE on a list URL is refused before it is sent (the stand-in, like Pexip, would delete every VMR)', async () => {
    const { pexip, provider } = await start();
    await provider.create(room('Survivor1'));
    await provider.create(room('Survivor2'));
    const config = loadConfig({ ROOM_PROVIDER: 'pexip', PEXIP_BASE_URL: pexip.baseUrl, PEXIP_USERNAME: 'gateway-api', PEXIP_PASSWORD: 'pexip:api:password' }).roomProvider as PexipSettings & { kind: 'pexip' };
    const client = new PexipClient(config, pexipAuth(config, globalThis.fetch, gw.clock), new InProcessBudget({ perWindow: 100, windowMs: 60_000 }, gw.clock, async () => undefined), globalThis.fetch, async () => undefined, createLogger('silent'), gw.clock);
    for (const path of ['/api/admin/configuration/v1/conference/', '/api/admin/configuration/v1/conference/?name=x', '/api/admin/configuration/v1/conference/7', '/api/admin/configuration/v1/conference/../']) {
      await expect(client.request('DELETE', path, { priority: 'interactive' })).rejects.toBeInstanceOf(CollectionDeleteRefused);
    }
    expect(pexip.count('DELETE', /./)).toBe(0);
    expect(pexip.conferences.size).toBe(2);

    const unguarded = await fetch(`${pexip.baseUrl}/api/admin/configuration/v1/conference/`, { method: 'DELETE', headers: { authorization: `Basic ${Buffer.from('gateway-api:pexip:api:password').toString('base64')}` } });
    expect(unguarded.status).toBe(204);
    expect(pexip.conferences.size).toBe(0);
  });
});

describe('authentication to Pexip', () => {
  test('HTTP Basic: wrong credentials → 502 problem naming Pexip, its body not passed through', async () => {
    await start({ PEXIP_PASSWORD: 'not-the-password' });
    const res = await gw.http.post('/room/create?uuiData=01').set(gw.bearer());
    expect(res.status).toBe(502);
    expect(res.body.type).toBe('urn:maxconf:problem:pexip-unavailable');
    expect(res.body.detail).toMatch(/Pexip refused the gateway's credentials/);
    expectToMatchSpec(res);
  });

  test('OAuth2: one token (ES256 client assertion) serves many requests until shortly before it expires', async () => {
    const { pexip, provider } = await start({}, pexipOAuthProvider);
    for (let i = 0; i < 5; i += 1) await provider.create(room(`oauth_${i}`));
    expect(pexip.tokensIssued).toBe(1);
    gw.clock.advance(3600_000 - 59_000);
    await provider.findByName('oauth_0');
    expect(pexip.tokensIssued).toBe(2);
  });

  test('OAuth2: a token Pexip no longer accepts is refreshed once and the request retried', async () => {
    const { pexip, provider } = await start({}, pexipOAuthProvider);
    await provider.create(room('before'));
    pexip.revokeTokens();
    expect(await provider.findByName('before')).toBeDefined();
    expect(pexip.tokensIssued).toBe(2);
  });

  test('OAuth2: a refused client assertion → 502, without a retry storm', async () => {
    const oauth = await pexipOAuthProvider();
    const other = await pexipOAuthProvider();
    await other.stop();
    under = oauth;
    gw = await startTestGateway({ store: shared.store, env: { POOL_TARGET_SIZE: '0', ...oauth.env, PEXIP_OAUTH_PRIVATE_KEY: other.env.PEXIP_OAUTH_PRIVATE_KEY as string } });
    const res = await gw.http.get('/room/anything').set(gw.bearer());
    expect(res.status).toBe(502);
    expect(oauth.pexip!.count('POST', /\/oauth\/token\/$/)).toBe(1);
  });
});

describe('resilience', () => {
  test('429 with Retry-After is honoured, then the request succeeds', async () => {
    const { pexip, provider } = await start();
    await provider.create(room('Busy'));
    pexip.faults.push({ kind: 'status', status: 429, retryAfter: '7' });
    expect(await provider.findByName('Busy')).toBeDefined();
    expect(gw.sleeps).toEqual([7000]);
  });

  test('502, 503 and 504 are retried, each delay within its backoff ceiling', async () => {
    const { pexip, provider } = await start({ PEXIP_MAX_RETRIES: '3' });
    await provider.create(room('Flaky'));
    pexip.faults.push({ kind: 'status', status: 502 }, { kind: 'status', status: 503 }, { kind: 'status', status: 504 });
    expect(await provider.findByName('Flaky')).toBeDefined();
    expect(gw.sleeps).toHaveLength(3);
    expect(gw.sleeps[0]).toBeLessThanOrEqual(250);
    expect(gw.sleeps[1]).toBeLessThanOrEqual(500);
    expect(gw.sleeps[2]).toBeLessThanOrEqual(1000);
  });

  test('the backoff grows and is fully jittered: over 30 runs of 10 retries, each retry\'s delays fall in both halves of its ceiling', async () => {
    const { pexip, provider } = await start({ PEXIP_MAX_RETRIES: '10' });
    await provider.create(room('Flaky'));
    const runs: number[][] = [];
    for (let run = 0; run < 30; run += 1) {
      gw.sleeps.length = 0;
      pexip.faults.push(...Array.from({ length: 10 }, (_, i) => ({ kind: 'status' as const, status: [502, 503, 504][i % 3]! })));
      expect(await provider.findByName('Flaky')).toBeDefined();
      runs.push([...gw.sleeps]);
    }
    // Full jitter: a delay is uniform between 0 and min(10 s, 250 ms doubled each retry). Each half of a ceiling is missed by
    // all 30 runs with probability 2^-30, so these bounds fail only when the delays are not drawn so.
    // Above half its ceiling: while the ceiling doubles, above every delay the retry before could have had.
    // Below half its ceiling: the delays are spread, not all at (or near) the ceiling.
    expect(runs.map((delays) => delays.length)).toEqual(Array(30).fill(10));
    const ceilings = [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000];
    const seen = ceilings.map((ceiling, retry) => {
      const delays = runs.map((run) => run[retry]!);
      return { retry, ceiling, withinCeiling: delays.every((delay) => delay >= 0 && delay <= ceiling), aboveHalf: delays.some((delay) => delay > ceiling / 2), belowHalf: delays.some((delay) => delay < ceiling / 2) };
    });
    expect(seen).toEqual(ceilings.map((ceiling, retry) => ({ retry, ceiling, withinCeiling: true, aboveHalf: true, belowHalf: true })));
  });

  test('a request that hangs times out and is retried', async () => {
    const { pexip, provider } = await start({ PEXIP_TIMEOUT_MS: '200' });
    await provider.create(room('Slow'));
    pexip.faults.push({ kind: 'hang' });
    expect(await provider.findByName('Slow')).toBeDefined();
    expect(gw.sleeps).toHaveLength(1);
  });

  test('when retries run out → 503 problem naming Pexip, with Retry-After; the body never reaches the caller', async () => {
    const { pexip } = await start({ PEXIP_MAX_RETRIES: '2' });
    pexip.faults.push(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 503, retryAfter: '3' })));
    const res = await gw.http.get('/room/SomeRoom').set(gw.bearer());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.body.detail).toBe('Pexip answered 503; retry shortly.');
    expect(res.text).not.toMatch(/internal error detail/);
    expectToMatchSpec(res);
  });

  test('Pexip unreachable → 503', async () => {
    const { pexip } = await start({ PEXIP_MAX_RETRIES: '1' });
    await pexip.stop();
    const res = await gw.http.get('/room/SomeRoom').set(gw.bearer());
    expect(res.status).toBe(503);
    expect(res.body.detail).toBe('Pexip cannot be reached; retry shortly.');
    await pexip.start();
  });

  test('a room missing on Pexip → 404', async () => {
    await start();
    expect((await gw.http.get('/room/NotOnPexip').set(gw.bearer())).status).toBe(404);
    expect((await gw.http.patch('/room/NotOnPexip').set(gw.bearer()).send({ description: 'x' })).status).toBe(404);
  });

  test('PATCH is retried (idempotent)', async () => {
    const { pexip, provider } = await start();
    const created = await provider.create(room('PatchMe'));
    pexip.faults.push({ kind: 'status', status: 503 });
    await provider.update(created.id, { description: 'after retry' });
    expect(pexip.conferences.get(created.id)?.description).toBe('after retry');
  });

  test('a create whose answer was lost is not sent again: it is found by name', async () => {
    const { pexip, provider } = await start();
    pexip.faults.push({ kind: 'apply-then-fail', status: 502 });
    const created = await provider.create(room('LostAnswer'));
    expect(created.name).toBe('LostAnswer');
    expect(pexip.count('POST', /\/conference\/$/)).toBe(1);
    expect(pexip.conferences.size).toBe(1);
  });

  test('a create that failed without happening is sent again after checking by name', async () => {
    const { pexip, provider } = await start();
    pexip.faults.push({ kind: 'status', status: 503 });
    await provider.create(room('SecondTry'));
    expect(pexip.count('POST', /\/conference\/$/)).toBe(2);
    expect(pexip.count('GET', /name=SecondTry/)).toBeGreaterThanOrEqual(1);
    expect(pexip.conferences.size).toBe(1);
  });

  test('the request budget holds background work under the per-minute limit by waiting for room', async () => {
    const { pexip, provider } = await start({ PEXIP_REQUESTS_PER_MINUTE: '5' });
    for (let i = 0; i < 5; i += 1) await provider.findByName(`budget_${i}`);
    expect((await gw.http.post('/rooms/bulk').set(gw.bearer()).send({ count: 1 })).status).toBe(202);
    await gw.gateway.bulkJobs.idle();
    expect(gw.sleeps).toHaveLength(1);
    expect(gw.sleeps[0]).toBeGreaterThan(55_000);
    expect(gw.sleeps[0]).toBeLessThanOrEqual(60_000);
    expect(pexip.conferences.size).toBe(1);
  });

  test('a request that cannot fit the budget in time → 503 rather than waiting for minutes', async () => {
    await start({ PEXIP_REQUESTS_PER_MINUTE: '1' });
    await gw.http.get('/room/First').set(gw.bearer());
    const res = await gw.http.get('/room/Second').set(gw.bearer());
    expect(res.status).toBe(503);
    expect(res.body.detail).toMatch(/request budget/);
  });
});

describe('room read cache', () => {
  const lookups = (pexip: { count(m: string, p: RegExp): number }, name: string) => pexip.count('GET', new RegExp(`name=${name}`));

  test('repeated reads (private and agent) make one Pexip lookup within the TTL, then look again', async () => {
    const { pexip, provider } = await start({ ROOM_CACHE_TTL_SECONDS: '5' });
    const { name } = (await gw.http.post('/room/create?uuiData=0102').set(gw.bearer())).body as { name: string };
    const agent = gw.genesys.agent('cache-agent');
    for (let i = 0; i < 3; i += 1) expect((await gw.http.get(`/room/${name}`).set(gw.bearer())).status).toBe(200);
    expect((await gw.http.get(`/public/room/${name}`).set('x-auth-token', agent)).status).toBe(200);
    expect(lookups(pexip, name)).toBe(1);
    gw.clock.advance(5000);
    await gw.http.get(`/room/${name}`).set(gw.bearer());
    expect(lookups(pexip, name)).toBe(2);
  });

  test("this gateway's own changes are seen at once: PATCH, DELETE", async () => {
    const { provider } = await start({ ROOM_CACHE_TTL_SECONDS: '60' });
    await provider.create(room('Changing'));
    await gw.http.get('/room/Changing').set(gw.bearer());
    expect((await gw.http.patch('/room/Changing').set(gw.bearer()).send({ pin: '24681357' })).status).toBe(202);
    expect((await gw.http.get('/room/Changing').set(gw.bearer())).body.pin).toBe('24681357');
    expect((await gw.http.delete('/room/Changing').set(gw.bearer())).status).toBe(204);
    expect((await gw.http.get('/room/Changing').set(gw.bearer())).status).toBe(404);
  });

  test('a room garbage collection deleted is gone from the cache at once', async () => {
    await start({ ROOM_CACHE_TTL_SECONDS: '300' });
    const { name } = (await gw.http.post('/room/create?uuiData=0102').set(gw.bearer())).body as { name: string };
    await gw.http.get(`/room/${name}`).set(gw.bearer());
    await gw.http.post('/public/event_sink').set(basicAuth(SINK_USER, SINK_PASSWORD)).send({ node: 'n', seq: 1, version: 2, time: gw.clock.now() / 1000, event: 'conference_ended', data: { name } });
    gw.clock.advance(600_000);
    expect((await gw.gateway.garbageCollector.runOnce()).deleted).toBe(1);
    expect((await gw.http.get(`/room/${name}`).set(gw.bearer())).status).toBe(404);
  });

  test('a change made elsewhere shows within the TTL; ROOM_CACHE_TTL_SECONDS=0 turns the cache off', async () => {
    const { pexip, provider } = await start({ ROOM_CACHE_TTL_SECONDS: '0' });
    const created = await provider.create(room('Uncached'));
    await gw.http.get('/room/Uncached').set(gw.bearer());
    pexip.conferences.get(created.id)!.pin = '99887766';
    expect((await gw.http.get('/room/Uncached').set(gw.bearer())).body.pin).toBe('99887766');
    expect(lookups(pexip, 'Uncached')).toBe(2);
  });
});

describe('replication delay', () => {
  test('a pooled room is handed out only after the replication delay; until then creation is inline and counted', async () => {
    await start({ POOL_TARGET_SIZE: '1', PEXIP_REPLICATION_DELAY_SECONDS: '90' });
    await gw.gateway.pool.refill();
    expect(await gw.gateway.pool.counts()).toMatchObject({ ready: 0, waiting: 1 });
    const early = await gw.http.post('/room/create?uuiData=01').set(gw.bearer());
    expect(early.status).toBe(200);
    expect(gw.gateway.rooms.inlineCreations).toBe(1);
    gw.clock.advance(90_000);
    expect((await gw.gateway.pool.counts()).ready).toBe(1);
    const pooled = await gw.http.post('/room/create?uuiData=02').set(gw.bearer());
    expect(pooled.status).toBe(200);
    expect(gw.gateway.rooms.inlineCreations).toBe(1);
  });
});
