import fs from 'node:fs';
import path from 'node:path';
import { CLIENT_IDS, MAXCONF_TENANT_ID } from '../../src/auth/entra-apps.js';
import { signRaw } from '../stand-ins/entra.js';
import { expectToMatchSpec } from '../support/openapi.js';
import { useGatewayPerTest, type TestGateway } from '../support/gateway.js';

/**
 * Issue 11 item 5: claim sets and Genesys bodies as the real systems publish
 * them (test/fixtures/upstream/, sources in its README), replayed through the
 * real gateway with the outcome our rules (docs/jwt-validation.md, docs/contract.md §5) give.
 */
const FIXTURES = path.resolve('test/fixtures/upstream');
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as Record<string, unknown>;
const gateways = useGatewayPerTest();

/** Re-signs a published claim set with the test issuer, moving its times to now (lifetime kept). */
function resign(gw: TestGateway, claims: Record<string, unknown>): string {
  const now = Math.floor(gw.clock.now() / 1000);
  const { iat, exp } = claims as { iat: number; exp: number };
  const shifted = { ...claims, iat: now, nbf: now, exp: now + (exp - iat) };
  const header = { typ: 'JWT', alg: 'RS256', kid: gw.entra.signingKey.kid, ...(claims.ver === '1.0' ? { x5t: gw.entra.signingKey.kid } : {}) };
  return signRaw(JSON.stringify(header), JSON.stringify(shifted), gw.entra.signingKey.privateKey);
}

/**
 * Audiences naming a Microsoft resource by URL (the v1 form of a Graph token). Like a client ID GUID, such an
 * audience names the resource the token was issued for, never our API, so the replay maps it to our client ID
 * (README "Entra ID"); it is never added to ENTRA_AUDIENCES.
 */
const MICROSOFT_RESOURCE_AUDIENCES = new Set(['https://graph.microsoft.com']);

/** The published set with its tenant, client and caller replaced by the test deployment's (README "Entra ID"). */
function inOurTenant(claims: Record<string, unknown>): Record<string, unknown> {
  const v1 = claims.ver === '1.0';
  const resourceAudience = typeof claims.aud === 'string' && (!claims.aud.includes('://') || MICROSOFT_RESOURCE_AUDIENCES.has(claims.aud));
  return {
    ...claims,
    tid: MAXCONF_TENANT_ID,
    iss: v1 ? `https://sts.windows.net/${MAXCONF_TENANT_ID}/` : `https://login.microsoftonline.com/${MAXCONF_TENANT_ID}/v2.0`,
    ...(resourceAudience ? { aud: CLIENT_IDS.dev } : {}),
    ...(v1 ? { appid: CLIENT_IDS.dev } : { azp: CLIENT_IDS.dev }),
  };
}

const ENTRA_FIXTURES = fs.readdirSync(path.join(FIXTURES, 'entra')).map((file) => `entra/${file}`);

describe('Entra ID claim sets', () => {
  test('the README lists every fixture', () => {
    const readme = fs.readFileSync(path.join(FIXTURES, 'README.md'), 'utf8');
    for (const name of [...ENTRA_FIXTURES, ...fs.readdirSync(path.join(FIXTURES, 'genesys')).map((file) => `genesys/${file}`)]) {
      expect(readme).toContain(`\`${name}\``);
    }
  });

  test.each(ENTRA_FIXTURES)('%s as published (another tenant and application) → 401 invalid_token', async (name) => {
    const gw = await gateways.start();
    const res = await gw.http.get('/rooms').set('Authorization', `Bearer ${resign(gw, fixture(name))}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
  });

  test.each(['entra/v1-delegated-scp.json', 'entra/v2-delegated-scp.json', 'entra/v1-delegated-idtyp-user-wids-xms.json'])('%s in our tenant: a delegated token (scp) → 403 insufficient_scope: IDIM uses client credentials', async (name) => {
    const gw = await gateways.start();
    const res = await gw.http.get('/rooms').set('Authorization', `Bearer ${resign(gw, inOurTenant(fixture(name)))}`);
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
    expectToMatchSpec(res);
  });

  test('entra/v2-app-only-no-roles.json in our tenant: accepted (no idtyp, no scp is app-only); bulk deletion needs its role → 403', async () => {
    const gw = await gateways.start({ ENTRA_BULK_ROLE: '' });
    const token = `Bearer ${resign(gw, inOurTenant(fixture('entra/v2-app-only-no-roles.json')))}`;
    expect((await gw.http.get('/rooms').set('Authorization', token)).status).toBe(200);
    expect((await gw.http.delete('/rooms?name_prefix=room').set('Authorization', token)).status).toBe(403);
  });

  test.each([
    ['entra/v1-app-only-no-oid-sub-xms-tdbr.json', 'no oid/sub, no idtyp, xms_tdbr'],
    ['entra/v1-app-only-idtyp-wids-xms.json', 'idtyp "app", wids, xms_idrel/xms_tcdt/xms_tdbr'],
    ['entra/v1-app-only-idtyp-graph-url-aud.json', 'idtyp "app", xms_tcdt, aud https://graph.microsoft.com'],
    ['entra/v2-app-only-idtyp-xms-blueprint.json', 'v2, idtyp "app", azpacr "1", xms_act_fct/xms_ficinfo/xms_ftd/xms_idrel/xms_sub_fct'],
    ['entra/v2-app-only-idtyp-xms-agent-identity.json', 'v2, idtyp "app", azpacr "2", xms_par_app_azp naming another application'],
  ])('%s in our tenant (%s): accepted as app-only; its other claims grant nothing, bulk deletion needs its role → 403', async (name) => {
    const gw = await gateways.start({ ENTRA_BULK_ROLE: '' });
    const token = `Bearer ${resign(gw, inOurTenant(fixture(name)))}`;
    const listed = await gw.http.get('/rooms').set('Authorization', token);
    expect(listed.status).toBe(200);
    expectToMatchSpec(listed);
    const bulk = await gw.http.delete('/rooms?name_prefix=room').set('Authorization', token);
    expect(bulk.status).toBe(403);
    expect(bulk.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
  });

  test.each([
    'entra/v1-app-only-no-oid-sub-xms-tdbr.json',
    'entra/v1-app-only-idtyp-wids-xms.json',
    'entra/v1-app-only-idtyp-graph-url-aud.json',
    'entra/v2-app-only-idtyp-xms-blueprint.json',
  ])(
    '%s in our tenant but still for the resource it was issued for (aud kept) → 401 invalid_token',
    async (name) => {
      const gw = await gateways.start();
      const published = fixture(name);
      const claims = { ...inOurTenant(published), aud: published.aud };
      const res = await gw.http.get('/rooms').set('Authorization', `Bearer ${resign(gw, claims)}`);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
      expect(res.headers['www-authenticate']).toContain('The access token was not issued for this API.');
    },
  );

  test('entra/v2-app-only-roles.json in our tenant: its app role is honoured', async () => {
    const gw = await gateways.start({ ENTRA_BULK_ROLE: 'Vessel.Write', ENTRA_REQUIRED_ROLE: 'Vessel.Write' });
    const token = `Bearer ${resign(gw, inOurTenant(fixture('entra/v2-app-only-roles.json')))}`;
    expect((await gw.http.get('/rooms').set('Authorization', token)).status).toBe(200);
    expect((await gw.http.delete('/rooms?name_prefix=room').set('Authorization', token)).status).toBe(200);
  });

  describe('entra/v1-app-only-app-id-uri.json: a v1 token whose aud is the App ID URI it was requested for', () => {
    const claims = () => inOurTenant(fixture('entra/v1-app-only-app-id-uri.json'));

    test('accepted when ENTRA_AUDIENCES lists that URI', async () => {
      const gw = await gateways.start({ ENTRA_AUDIENCES: String(claims().aud) });
      expect((await gw.http.get('/rooms').set('Authorization', `Bearer ${resign(gw, claims())}`)).status).toBe(200);
    });

    test('refused (401) when it does not', async () => {
      const gw = await gateways.start();
      expect((await gw.http.get('/rooms').set('Authorization', `Bearer ${resign(gw, claims())}`)).status).toBe(401);
    });
  });
});

describe('Genesys Cloud user bodies, served to the agent lookup', () => {
  async function lookUp(gw: TestGateway, body: unknown) {
    const created = await gw.http.post('/room/create?uuiData=3132333435362c373635343332').set(gw.bearer());
    expect(created.status).toBe(200);
    const token = gw.genesys.behave(`agent-${created.body.name}`, { kind: 'body', body });
    return gw.http.get(`/public/room/${created.body.name}`).set('x-auth-token', token);
  }

  test.each(['genesys/user-get-cli-json.json', 'genesys/user-get-cli-yaml.json'])('%s: an agent in an allowed division gets the room', async (name) => {
    const body = fixture(name) as { division: { id: string } };
    const gw = await gateways.start({ GENESYS_ALLOWED_DIVISIONS: body.division.id });
    const res = await lookUp(gw, body);
    expect(res.status).toBe(200);
    expectToMatchSpec(res);
  });

  test('genesys/user-get-cli-json.json: outside the allowed divisions → 403', async () => {
    const gw = await gateways.start({ GENESYS_ALLOWED_DIVISIONS: 'another-division' });
    expect((await lookUp(gw, fixture('genesys/user-get-cli-json.json'))).status).toBe(403);
  });

  test('genesys/user-get-cli-json.json: no organization expanded while GENESYS_ORGANIZATION_ID is set → 403', async () => {
    const body = fixture('genesys/user-get-cli-json.json') as { division: { id: string } };
    const gw = await gateways.start({ GENESYS_ALLOWED_DIVISIONS: body.division.id, GENESYS_ORGANIZATION_ID: 'org-maxconf' });
    expect((await lookUp(gw, body)).status).toBe(403);
  });

  test('genesys/users-me-expand-station-webrtc-sdk.json: a user without a division → 403, never 5xx', async () => {
    const gw = await gateways.start();
    const res = await lookUp(gw, fixture('genesys/users-me-expand-station-webrtc-sdk.json'));
    expect(res.status).toBe(403);
    expectToMatchSpec(res);
  });
});
