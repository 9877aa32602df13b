import { BULK_ROLE_OFF, loadConfig } from '../../src/config.js';
import { DEFAULT_BULK_ROLE } from '../../src/auth/entra-apps.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { useGatewayPerTest } from '../support/gateway.js';

/** Issue 12 item 5: deleting rooms by prefix is destructive, so outside local it needs an app role unless explicitly opted out. */
const gateways = useGatewayPerTest();

describe('bulk operations outside local', () => {
  test(`ENTRA_BULK_ROLE unset: bulk creation and bulk deletion need the "${DEFAULT_BULK_ROLE}" app role`, async () => {
    // Blank counts as unset: the deployed default applies.
    const gw = await gateways.start({ ENTRA_BULK_ROLE: '' });
    const without = gw.bearer();
    const refused = await gw.http.delete('/rooms?name_prefix=room').set(without);
    expect(refused.status).toBe(403);
    expect(refused.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
    expect(refused.body.detail).toContain(DEFAULT_BULK_ROLE);
    expectToMatchSpec(refused);
    expect((await gw.http.post('/rooms/bulk').set(without).send({ count: 1 })).status).toBe(403);

    const withRole = gw.bearer({ claims: { roles: [DEFAULT_BULK_ROLE] } });
    expect((await gw.http.delete('/rooms?name_prefix=room').set(withRole)).status).toBe(200);
    expect((await gw.http.post('/rooms/bulk').set(withRole).send({ count: 1 })).status).toBe(202);
    await gw.gateway.bulkJobs.idle();
  });

  test(`ENTRA_BULK_ROLE=${BULK_ROLE_OFF} opts out: any accepted token may use them`, async () => {
    const gw = await gateways.start({ ENTRA_BULK_ROLE: BULK_ROLE_OFF });
    expect((await gw.http.delete('/rooms?name_prefix=room').set(gw.bearer())).status).toBe(200);
  });

  test('another role name replaces the default', async () => {
    const gw = await gateways.start({ ENTRA_BULK_ROLE: 'Rooms.Operator' });
    expect((await gw.http.delete('/rooms?name_prefix=room').set(gw.bearer({ claims: { roles: [DEFAULT_BULK_ROLE] } }))).status).toBe(403);
    expect((await gw.http.delete('/rooms?name_prefix=room').set(gw.bearer({ claims: { roles: ['Rooms.Operator'] } }))).status).toBe(200);
  });
});

test.each([
  ['edge', DEFAULT_BULK_ROLE],
  ['test', DEFAULT_BULK_ROLE],
  ['prod', DEFAULT_BULK_ROLE],
  ['local', undefined],
] as const)('the %s profile defaults the bulk role to %s', (profile, role) => {
  const deployed = { ROOM_TAG_BASE_URL: 'https://idim.example.gov/v', GENESYS_ALLOWED_DIVISIONS: 'd', EVENT_SINK_USERNAME: 'pexip', EVENT_SINK_PASSWORD: 'a-long-sink-password', ROOM_PROVIDER: 'embedded' };
  expect(loadConfig({ MAXCONF_ENV: profile, ...deployed }).entra.bulkRole).toBe(role);
});
