import type { NewRoom } from '../../src/rooms/providers/provider.js';
import { TestClock } from '../support/clock.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { startTestGateway, useSharedStore, type TestGateway } from '../support/gateway.js';
import { PEXIP_PASSWORD, PEXIP_USER, pexipOAuthProvider, pexipProvider, type ProviderUnderTest } from '../support/providers.js';
import type { PexipStandIn } from '../stand-ins/pexip.js';

/**
 * The Pexip stand-in refuses what Pexip (tastypie) refuses — bodies it cannot
 * read, Content-Types it has no deserializer for, requests past the limit,
 * expired OAuth2 tokens, CharFields longer than Django counts — and the
 * gateway copes with each refusal it can meet.
 */
const shared = useSharedStore();
const API = '/api/admin/configuration/v1';
const BASIC = `Basic ${Buffer.from(`${PEXIP_USER}:${PEXIP_PASSWORD}`).toString('base64')}`;

let under: ProviderUnderTest;
let gw: TestGateway;

/** The stand-in keeps the gateway's time, so that what the gateway waits out (Retry-After, a token's life) passes for both. */
async function start(setUp: () => Promise<ProviderUnderTest> = () => pexipProvider(), env: Record<string, string> = {}): Promise<PexipStandIn> {
  const clock = new TestClock();
  under = await setUp();
  under.pexip!.now = () => clock.now();
  gw = await startTestGateway({ store: shared.store, clock, env: { POOL_TARGET_SIZE: '0', ...under.env, ...env } });
  return under.pexip!;
}
afterEach(async () => {
  await gw?.close();
  await under?.stop();
});

const room = (name: string): NewRoom => ({ name, pin: '1234', guestPin: '4321', tag: '', aliases: [name], automaticParticipant: undefined });
const send = (pexip: PexipStandIn, method: string, path: string, body: string | undefined, contentType: string | undefined) =>
  fetch(`${pexip.baseUrl}${API}${path}`, { method, headers: { authorization: BASIC, ...(contentType === undefined ? {} : { 'content-type': contentType }) }, body: body === undefined ? undefined : new TextEncoder().encode(body) });

describe('request bodies, as tastypie reads them', () => {
  test('an empty or unparseable body → 400 {"error": "Request is not valid JSON."}, and nothing is created or changed', async () => {
    const pexip = await start();
    await gw.gateway.provider.create(room('Kept'));
    const before = structuredClone([...pexip.conferences.values()]);
    for (const [method, path] of [['POST', '/conference/'], ['PATCH', '/conference/1/'], ['POST', '/automatic_participant/']]) {
      for (const body of ['', '{"description": "half', 'not json']) {
        const res = await send(pexip, method as string, path as string, body, 'application/json');
        expect({ method, body, status: res.status, answer: await res.json() }).toEqual({ method, body, status: 400, answer: { error: 'Request is not valid JSON.' } });
      }
    }
    expect([...pexip.conferences.values()]).toEqual(before);
    expect(pexip.participants.size).toBe(0);
  });

  test('a Content-Type with no deserializer → 415 with the canned error_message; none is read as JSON, and a parameter after ; is ignored', async () => {
    const pexip = await start();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'Application/JSON']) {
      const res = await send(pexip, 'POST', '/conference/', JSON.stringify({ name: 'Typed' }), type);
      expect({ type, status: res.status, answer: await res.json() }).toEqual({ type, status: 415, answer: { error_message: 'Sorry, this request could not be processed. Please try again later.' } });
    }
    expect(pexip.conferences.size).toBe(0);
    expect((await send(pexip, 'POST', '/conference/', JSON.stringify({ name: 'Typed' }), 'application/json; charset=utf-8')).status).toBe(201);
    expect((await send(pexip, 'POST', '/conference/', JSON.stringify({ name: 'Untyped' }), undefined)).status).toBe(201);
  });

  test('everything the gateway sends is JSON that Pexip reads: create, change, delete', async () => {
    const pexip = await start(undefined, { GENESYS_SIP_ADDRESS: 'queue@genesys.example.gov' });
    await gw.gateway.provider.create({ ...room('Sent'), automaticParticipant: gw.config.rooms.automaticParticipant });
    expect((await gw.http.patch('/room/Sent').set(gw.bearer()).send({ description: 'changed' })).status).toBe(202);
    expect(pexip.conferences.get(1)?.description).toBe('changed');
    const withBodies = pexip.calls.filter((c) => c.body !== '');
    expect(withBodies.map((c) => c.method).sort()).toEqual(['PATCH', 'POST', 'POST']);
    for (const call of withBodies) expect(call.headers['content-type']).toBe('application/json');
  });
});

describe('the request limit (1,000 requests / 60 s per Management Node)', () => {
  test('past the limit → 429 with Retry-After until the oldest request leaves the window; refused requests do not count', async () => {
    const pexip = await start();
    pexip.requestLimit = { requests: 3, windowMs: 10_000 };
    const list = () => send(pexip, 'GET', '/conference/', undefined, undefined);
    expect((await list()).status).toBe(200);
    gw.clock.advance(4_000);
    expect((await list()).status).toBe(200);
    expect((await list()).status).toBe(200);
    const refused = await list();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('6');
    gw.clock.advance(5_999);
    expect((await list()).status).toBe(429);
    gw.clock.advance(1);
    expect((await list()).status).toBe(200);
    expect((await list()).status).toBe(429);
    expect(pexip.limited).toBe(3);
  });

  test("the gateway waits out Pexip's Retry-After when it fits the request's deadline, and its request then succeeds", async () => {
    const pexip = await start(undefined, { REQUEST_DEADLINE_MS: '60000' });
    await gw.gateway.provider.create(room('Limited'));
    pexip.requestLimit = { requests: pexip.calls.length, windowMs: 30_000 };
    const res = await gw.http.get('/room/Limited').set(gw.bearer());
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('Limited');
    expect(pexip.limited).toBe(1);
    expect(gw.sleeps).toEqual([30_000]);
  });

  test('a create that meets the limit is not sent again blindly: 503 with Retry-After, and no room is half made', async () => {
    const pexip = await start();
    pexip.requestLimit = { requests: 0, windowMs: 60_000 };
    const res = await gw.http.post('/room/create?uuiData=01').set(gw.bearer());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('60');
    expectToMatchSpec(res);
    expect(pexip.count('POST', /./)).toBe(1);
    expect(pexip.conferences.size).toBe(0);
  });
});

describe('OAuth2 tokens expire', () => {
  test('a token Pexip lets lapse mid-run (its lifetime unannounced and shorter than the default) is refused 401, and the gateway signs in again once', async () => {
    const pexip = await start(pexipOAuthProvider);
    pexip.tokenLifetimeSeconds = 600;
    pexip.reportsTokenLifetime = false;
    await gw.gateway.provider.create(room('Lapsed'));
    expect(pexip.tokensIssued).toBe(1);
    gw.clock.advance(600_000);
    const lookupsBefore = pexip.count('GET', /name=Lapsed/);
    expect((await gw.gateway.provider.findByName('Lapsed'))?.name).toBe('Lapsed');
    expect(pexip.tokensIssued).toBe(2);
    expect(pexip.count('GET', /name=Lapsed/) - lookupsBefore).toBe(2);
    expect((await gw.http.get('/room/Lapsed').set(gw.bearer())).status).toBe(200);
    expect(pexip.tokensIssued).toBe(2);
  });

  test('an announced lifetime is honoured: the gateway takes a new token before Pexip refuses the old one', async () => {
    const pexip = await start(pexipOAuthProvider);
    pexip.tokenLifetimeSeconds = 600;
    await gw.gateway.provider.create(room('Renewed'));
    gw.clock.advance(600_000 - 59_000);
    expect((await gw.gateway.provider.findByName('Renewed'))?.name).toBe('Renewed');
    expect(pexip.tokensIssued).toBe(2);
    expect(pexip.calls.filter((c) => c.path.includes('name=Renewed'))).toHaveLength(1);
  });
});

describe('CharField lengths, counted as Django counts them (characters, not UTF-16 units)', () => {
  test('250 emoji fit a description; 251 are refused with the count in characters', async () => {
    const pexip = await start();
    const fits = await send(pexip, 'POST', '/conference/', JSON.stringify({ name: 'Long', description: '😀'.repeat(250) }), 'application/json');
    expect(fits.status).toBe(201);
    const over = await send(pexip, 'POST', '/conference/', JSON.stringify({ name: 'Longer', description: '😀'.repeat(251) }), 'application/json');
    expect(over.status).toBe(400);
    expect(await over.json()).toEqual({ conference: { description: ['Ensure this value has at most 250 characters (it has 251).'] } });
  });

  test('the gateway counts as Pexip does: a description or tag of 250 emoji is sent and stored, 251 are refused before Pexip', async () => {
    const pexip = await start();
    await gw.gateway.provider.create(room('Emoji'));
    const fits = await gw.http.patch('/room/Emoji').set(gw.bearer()).send({ description: '😀'.repeat(250), tag: '🎥'.repeat(250) });
    expect(fits.status).toBe(202);
    expect(pexip.conferences.get(1)).toMatchObject({ description: '😀'.repeat(250), tag: '🎥'.repeat(250) });
    for (const field of ['description', 'tag']) {
      const over = await gw.http.patch('/room/Emoji').set(gw.bearer()).send({ [field]: '😀'.repeat(251) });
      expect(over.status).toBe(400);
      expect(over.body.errors).toEqual([expect.objectContaining({ in: 'body', field })]);
      expectToMatchSpec(over);
    }
    expect(pexip.count('PATCH', /./)).toBe(1);
  });
});
