import { ConfigError, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startTestGateway, useGatewayPerTest, type TestGateway } from '../support/gateway.js';
import { logLines } from '../support/log-lines.js';

/**
 * Issue 12 item 5: the failure limiter believes X-Forwarded-For only on
 * connections from configured proxies (TRUST_PROXY_ADDRESSES). The test
 * client connects from 127.0.0.1; with `loopback` listed it plays APIM.
 */
const gateways = useGatewayPerTest({ AUTH_FAILURE_LIMIT: '3' });

async function failThrice(gw: TestGateway, forwardedFor: (i: number) => string): Promise<void> {
  for (let i = 0; i < 3; i += 1) {
    expect((await gw.http.get('/rooms').set('Authorization', 'Bearer bad.token.x').set('X-Forwarded-For', forwardedFor(i))).status).toBe(401);
  }
}
const statusFrom = async (gw: TestGateway, forwardedFor: string) => (await gw.http.get('/rooms').set(gw.bearer()).set('X-Forwarded-For', forwardedFor)).status;

describe('reached directly, X-Forwarded-For cannot choose the client address', () => {
  test('no proxies configured: a rotating X-Forwarded-For does not escape the limiter', async () => {
    const gw = await gateways.start();
    await failThrice(gw, (i) => `198.51.100.${i}`);
    expect(await statusFrom(gw, '203.0.113.99')).toBe(429);
  });

  test('proxies configured (APIM subnet), caller not among them: a rotating X-Forwarded-For does not escape the limiter', async () => {
    const gw = await gateways.start({ TRUST_PROXY_ADDRESSES: '10.20.0.0/27, 10.30.0.4' });
    await failThrice(gw, (i) => `198.51.100.${i}`);
    expect(await statusFrom(gw, '203.0.113.99')).toBe(429);
  });
});

describe('through a configured proxy', () => {
  test('the address the proxy saw is the client: another client is not limited, the same one is', async () => {
    const gw = await gateways.start({ TRUST_PROXY_ADDRESSES: 'loopback' });
    await failThrice(gw, () => '198.51.100.7');
    expect(await statusFrom(gw, '203.0.113.99')).toBe(200);
    expect(await statusFrom(gw, '198.51.100.7')).toBe(429);
  });

  test('a caller writing its own X-Forwarded-For through the proxy (the proxy appends the real address) still cannot escape', async () => {
    const gw = await gateways.start({ TRUST_PROXY_ADDRESSES: 'loopback' });
    await failThrice(gw, (i) => `192.0.2.${i}, 198.51.100.7`);
    expect(await statusFrom(gw, '192.0.2.200, 198.51.100.7')).toBe(429);
  });
});

describe('a proxy left out of TRUST_PROXY_ADDRESSES is pointed out in the log', () => {
  const WARNING = /^X-Forwarded-For came from an address TRUST_PROXY_ADDRESSES does not name/;

  async function warningsAfter(env: Record<string, string>, requests: number): Promise<Record<string, unknown>[]> {
    const { lines, stream: capture } = logLines();
    const gw = await startTestGateway({ store: gateways.store, env, logger: createLogger('info', capture) });
    try {
      for (let i = 0; i < requests; i += 1) expect((await gw.http.get('/public/health').set('X-Forwarded-For', `198.51.100.${i}`)).status).toBe(200);
      await gw.http.get('/public/health');
    } finally {
      await gw.close();
    }
    return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => WARNING.test(String(l.msg)));
  }

  test('none configured: one warning naming the sender, however many requests', async () => {
    const warnings = await warningsAfter({}, 3);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, requestId: expect.any(String), sender: expect.stringMatching(/127\.0\.0\.1/) });
    expect(JSON.stringify(warnings)).not.toContain('198.51.100');
  });

  test('the sender is a listed proxy: no warning', async () => {
    expect(await warningsAfter({ TRUST_PROXY_ADDRESSES: 'loopback' }, 3)).toEqual([]);
  });
});

describe('configuration', () => {
  const load = (env: Record<string, string>) => () => loadConfig({ MAXCONF_ENV: 'local', ...env });

  test.each(['loopback', 'linklocal,uniquelocal', '10.0.0.1', '10.20.0.0/27', '10.20.0.0/255.255.255.224', '2001:db8::/32', '::1'])('%s is accepted', (value) => {
    expect(load({ TRUST_PROXY_ADDRESSES: value })().http.trustProxyAddresses.length).toBeGreaterThan(0);
  });

  test.each(['everyone', '10.0.0.300', '10.0.0.0/33', '2001:db8::/129', '10.0.0.0/8/8', '1'])('%s is refused, naming the variable', (value) => {
    expect(load({ TRUST_PROXY_ADDRESSES: value })).toThrow(/TRUST_PROXY_ADDRESSES: entry 1: must be loopback, linklocal, uniquelocal, an IP address or a CIDR range/);
  });

  test('TRUST_PROXY_HOPS is refused with what replaces it, rather than silently ignored', () => {
    expect(load({ TRUST_PROXY_HOPS: '1' })).toThrow(ConfigError);
    expect(load({ TRUST_PROXY_HOPS: '1' })).toThrow(/TRUST_PROXY_HOPS: no longer read; .*TRUST_PROXY_ADDRESSES/);
  });
});
