import { MAX_USER_ANSWER_BYTES } from '../src/auth/genesys-agents.js';
import { MAX_JWKS_BYTES } from '../src/auth/signing-keys.js';
import { MAX_TOKEN_ANSWER_BYTES } from '../src/rooms/providers/pexip-auth.js';
import { MAX_ANSWER_BYTES } from '../src/rooms/providers/pexip-client.js';
import { EntraStandIn } from './stand-ins/entra.js';
import { ALLOWED_DIVISION, GenesysStandIn } from './stand-ins/genesys.js';
import type { PexipStandIn } from './stand-ins/pexip.js';
import { startTestGateway, type TestGateway, useSharedStore } from './support/gateway.js';
import { expectToMatchSpec } from './support/openapi.js';
import { pexipOAuthProvider, pexipProvider, type ProviderUnderTest } from './support/providers.js';

/**
 * Every upstream answer is read up to a limit of its own (the Pexip
 * Management API, Pexip's token endpoint, Genesys users/me, Entra's key
 * set). Each oversized answer here is valid JSON that would be accepted
 * whole (its padding is white space or an unknown field), so only the limit
 * turns it into our 502/503; a control just under the limit is accepted.
 */
const shared = useSharedStore();
let gw: TestGateway | undefined;
let under: ProviderUnderTest | undefined;
const standIns: { stop(): Promise<void> }[] = [];

afterEach(async () => {
  await gw?.close();
  await under?.stop();
  await Promise.all(standIns.splice(0).map((s) => s.stop()));
  gw = undefined;
  under = undefined;
});

async function withPexip(provider: () => Promise<ProviderUnderTest>): Promise<PexipStandIn> {
  under = await provider();
  // Every read reaches Pexip.
  gw = await startTestGateway({ store: shared.store, env: { POOL_TARGET_SIZE: '0', ROOM_CACHE_TTL_SECONDS: '0', ...under.env } });
  return under.pexip as PexipStandIn;
}

test('a Management API answer over its limit (sent chunked, no Content-Length) → 502 naming Pexip; the gateway goes on serving', async () => {
  const pexip = await withPexip(() => pexipProvider());
  await gw!.gateway.provider.create({ name: 'Large', pin: '1234', guestPin: '4321', tag: '', aliases: ['Large'], automaticParticipant: undefined });
  pexip.faults.push({ kind: 'padded', padding: MAX_ANSWER_BYTES - 64 * 1024 });
  expect((await gw!.http.get('/room/Large').set(gw!.bearer())).status).toBe(200);
  pexip.faults.push({ kind: 'padded', padding: MAX_ANSWER_BYTES });
  const res = await gw!.http.get('/room/Large').set(gw!.bearer());
  expect(res.status).toBe(502);
  expect(res.body).toMatchObject({ type: 'urn:maxconf:problem:pexip-unavailable', detail: 'Pexip answered with more than the gateway reads; retry later.' });
  expectToMatchSpec(res);
  expect((await gw!.http.get('/room/Large').set(gw!.bearer())).status).toBe(200);
});

test("a token answer over its limit from Pexip's OAuth2 endpoint → 502 naming Pexip", async () => {
  const pexip = await withPexip(pexipOAuthProvider);
  pexip.tokenAnswerPadding = MAX_TOKEN_ANSWER_BYTES;
  const res = await gw!.http.get('/room/Anything').set(gw!.bearer());
  expect(res.status).toBe(502);
  expect(res.body.type).toBe('urn:maxconf:problem:pexip-unavailable');
  expect(pexip.tokensIssued).toBe(1);
  pexip.tokenAnswerPadding = 1000;
  expect((await gw!.http.get('/room/Anything').set(gw!.bearer())).status).toBe(404);
});

test('a Genesys users/me answer over its limit → 503, the agent neither accepted nor refused', async () => {
  const genesys = await new GenesysStandIn().start();
  standIns.push(genesys);
  gw = await startTestGateway({ store: shared.store, genesys });
  const user = (padding: number) => ({ kind: 'body' as const, body: { id: 'agent-large', division: { id: ALLOWED_DIVISION }, note: 'x'.repeat(padding) } });
  const lookup = (token: string) => gw!.http.get('/public/room/NotHandedOut').set('x-auth-token', token);
  expect((await lookup(genesys.behave('token-just-under', user(MAX_USER_ANSWER_BYTES - 1024)))).status).toBe(404);
  const res = await lookup(genesys.behave('token-too-large', user(MAX_USER_ANSWER_BYTES)));
  expect(res.status).toBe(503);
  expect(res.body.type).toBe('urn:maxconf:problem:genesys-unavailable');
  expectToMatchSpec(res);
});

test("a key set over its limit is not loaded: tokens get 503 (our outage), not 401, until Entra's answer fits again", async () => {
  const entra = await new EntraStandIn().start();
  standIns.push(entra);
  entra.behaviour = 'padded';
  entra.padding = MAX_JWKS_BYTES;
  gw = await startTestGateway({ store: shared.store, entra });
  expect(gw.gateway.signingKeys.loaded).toBe(false);
  const res = await gw.http.get('/rooms').set(gw.bearer());
  expect(res.status).toBe(503);
  expect(res.body.type).toBe('urn:maxconf:problem:signing-keys-unavailable');
  expect(res.headers['retry-after']).toBeDefined();
  entra.padding = MAX_JWKS_BYTES - 16 * 1024;
  expect(await gw.gateway.signingKeys.refresh()).toBe(true);
  expect((await gw.http.get('/rooms').set(gw.bearer())).status).toBe(200);
});
