import { generateKeyPairSync } from 'node:crypto';
import { PexipStandIn } from '../stand-ins/pexip.js';

export const PEXIP_USER = 'gateway-api';
export const PEXIP_PASSWORD = 'pexip:api:password';

/** Environment selecting each provider; the Pexip one points at a running stand-in. */
export interface ProviderUnderTest {
  name: 'embedded' | 'pexip';
  env: Record<string, string>;
  pexip: PexipStandIn | undefined;
  stop(): Promise<void>;
}

export async function embeddedProvider(): Promise<ProviderUnderTest> {
  return { name: 'embedded', env: { ROOM_PROVIDER: 'embedded' }, pexip: undefined, stop: async () => undefined };
}

/** The settings for the Pexip provider on `pexip`, signed in with HTTP Basic, rooms usable at once. */
export function pexipEnvironment(pexip: PexipStandIn): Record<string, string> {
  return { ROOM_PROVIDER: 'pexip', PEXIP_BASE_URL: pexip.baseUrl, PEXIP_USERNAME: PEXIP_USER, PEXIP_PASSWORD: PEXIP_PASSWORD, PEXIP_REPLICATION_DELAY_SECONDS: '0' };
}

export async function pexipProvider(extra: Record<string, string> = {}): Promise<ProviderUnderTest> {
  const pexip = await new PexipStandIn({ basic: { username: PEXIP_USER, password: PEXIP_PASSWORD } }).start();
  return {
    name: 'pexip',
    env: { ...pexipEnvironment(pexip), ...extra },
    pexip,
    stop: () => pexip.stop(),
  };
}

/** A Pexip stand-in that only accepts OAuth2 (ES256 client assertion), and the settings to use it. */
export async function pexipOAuthProvider(): Promise<ProviderUnderTest & { clientId: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const clientId = 'maxconf-gateway-client';
  const pexip = await new PexipStandIn({ oauth: { clientId, publicKey } }).start();
  return {
    name: 'pexip',
    clientId,
    env: {
      ROOM_PROVIDER: 'pexip',
      PEXIP_BASE_URL: pexip.baseUrl,
      PEXIP_AUTH: 'oauth2',
      PEXIP_OAUTH_CLIENT_ID: clientId,
      PEXIP_OAUTH_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().replace(/\n/g, '\\n'),
      PEXIP_REPLICATION_DELAY_SECONDS: '0',
    },
    pexip,
    stop: () => pexip.stop(),
  };
}
