import { loadConfig } from '../../src/config.js';
import { CLIENT_IDS } from '../../src/auth/entra-apps.js';
import { useGatewayPerTest } from '../support/gateway.js';

/**
 * Issue 11 item 6: a v1 token's `aud` is the App ID URI the caller asked for
 * (docs/entra.md "Token versions"; docs/jwt-validation.md §1.1), which need not be
 * api://{client_id}. ENTRA_AUDIENCES lists such URIs.
 */
const APP_ID_URI = 'https://maxconf.example.gov/gateway';
const gateways = useGatewayPerTest();

test('a v1 token whose aud is a configured App ID URI is accepted; {client_id} and api://{client_id} still are', async () => {
  const gw = await gateways.start({ ENTRA_AUDIENCES: `${APP_ID_URI}, api://maxconf-other` });
  for (const aud of [APP_ID_URI, 'api://maxconf-other', `api://${CLIENT_IDS.dev}`, CLIENT_IDS.dev]) {
    expect((await gw.http.get('/rooms').set(gw.bearer({ version: '1.0', claims: { aud } }))).status).toBe(200);
  }
});

test.each([
  ['not configured', {}],
  ['configured, compared exactly (trailing slash)', { ENTRA_AUDIENCES: APP_ID_URI }],
])('an App ID URI audience %s is refused (401 invalid_token)', async (_name, env) => {
  const gw = await gateways.start(env);
  const aud = 'ENTRA_AUDIENCES' in env ? `${APP_ID_URI}/` : APP_ID_URI;
  const res = await gw.http.get('/rooms').set(gw.bearer({ version: '1.0', claims: { aud } }));
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
});

test.each(['not-a-uri', CLIENT_IDS.dev, 'api://'])('ENTRA_AUDIENCES=%s is refused at start-up', (value) => {
  expect(() => loadConfig({ ENTRA_AUDIENCES: value })).toThrow(/ENTRA_AUDIENCES: entry 1: must be an App ID URI/);
});
