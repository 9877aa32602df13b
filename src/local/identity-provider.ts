import { generateKeyPairSync, randomUUID, type JsonWebKey } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { importJWK, SignJWT } from 'jose';
import type { GatewayConfig } from '../config.js';
import http from 'node:http';

/**
 * The local profile's stand-in for Entra ID: a signing key kept in the data
 * directory and a loopback JWKS endpoint serving its public half, so that
 * local tokens go through the same remote-JWKS validation as production ones.
 */
export interface LocalSigningKey {
  kid: string;
  privateJwk: JsonWebKey;
  publicJwk: JsonWebKey;
}

export function loadOrCreateLocalSigningKey(dataDir: string): LocalSigningKey {
  const file = path.join(dataDir, 'local-signing-key.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as LocalSigningKey;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key: LocalSigningKey = {
    kid: `local-${randomUUID()}`,
    privateJwk: privateKey.export({ format: 'jwk' }),
    publicJwk: publicKey.export({ format: 'jwk' }),
  };
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
  return key;
}

export interface LocalIdentityProvider {
  jwksUri: string;
  close(): Promise<void>;
}

export async function startLocalIdentityProvider(key: LocalSigningKey): Promise<LocalIdentityProvider> {
  const jwks = JSON.stringify({ keys: [{ ...key.publicJwk, kid: key.kid, use: 'sig', alg: 'RS256' }] });
  const server = http.createServer((req, res) => {
    const found = req.method === 'GET' && req.url === '/discovery/v2.0/keys';
    res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' }).end(found ? jwks : '{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    jwksUri: `http://127.0.0.1:${port}/discovery/v2.0/keys`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface LocalTokenOptions {
  version: '1.0' | '2.0';
  roles: string[];
  lifetimeSeconds: number;
}

/** An app-only access token shaped like Entra's, for the first accepted client ID. */
export async function mintLocalToken(key: LocalSigningKey, config: GatewayConfig, options: LocalTokenOptions): Promise<string> {
  const { tenantId, clientIds } = config.entra;
  const clientId = clientIds[0] as string;
  const v2 = options.version === '2.0';
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    tid: tenantId,
    ver: options.version,
    idtyp: 'app',
    oid: randomUUID(),
    roles: options.roles,
    ...(v2 ? { azp: clientId } : { appid: clientId }),
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .setIssuer(v2 ? `https://login.microsoftonline.com/${tenantId}/v2.0` : `https://sts.windows.net/${tenantId}/`)
    .setAudience(v2 ? clientId : `api://${clientId}`)
    .setSubject(randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + options.lifetimeSeconds)
    .sign(await importJWK({ ...key.privateJwk, alg: 'RS256' } as Parameters<typeof importJWK>[0], 'RS256'));
}
