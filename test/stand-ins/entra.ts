import { createSign, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import http from 'node:http';
import { LoopbackServer } from './loopback-server.js';
import { CLIENT_IDS, MAXCONF_TENANT_ID } from '../../src/auth/entra-apps.js';

/** One RSA key pair as an issuer holds it. */
export interface IssuerKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: Record<string, unknown>;
}

export function newIssuerKey(kid = `kid-${randomUUID()}`, modulusLength = 2048): IssuerKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return { kid, privateKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, kty: 'RSA', use: 'sig' } };
}

export type JwksBehaviour = 'serve' | 'slow' | 'fail-500' | 'fail-503' | 'hang' | 'garbage' | 'redirect' | 'padded';

/** Where the 'redirect' behaviour points: a key set that a client following redirects would load. */
const MOVED_KEYS = '/moved/keys';

/**
 * Entra ID's JWKS endpoint as the gateway sees it: serves the published keys,
 * can rotate them, fail (5xx, garbage, redirect), answer slowly (`slowMs`) or
 * hang, and counts fetches.
 */
export class EntraStandIn extends LoopbackServer {
  published: IssuerKey[];
  behaviour: JwksBehaviour = 'serve';
  fetches = 0;
  slowMs = 10_000;
  /** With behaviour 'padded': spaces served after the key set (still valid JSON). */
  padding = 0;
  /** Extra JWKs served verbatim (keys of other types or algorithms). */
  extraJwks: Record<string, unknown>[] = [];

  constructor(readonly tenantId = MAXCONF_TENANT_ID, initial: IssuerKey[] = [newIssuerKey(), newIssuerKey()]) {
    super();
    this.published = initial;
  }

  get signingKey(): IssuerKey {
    return this.published[0] as IssuerKey;
  }

  get jwksUri(): string {
    return `${this.baseUrl}/${this.tenantId}/discovery/v2.0/keys`;
  }

  /** Publishes a new key first (Entra's order is meaningless) and optionally retires the old ones. */
  rotate(options: { retireOld: boolean }): IssuerKey {
    const next = newIssuerKey();
    this.published = options.retireOld ? [next] : [next, ...this.published];
    return next;
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.url === MOVED_KEYS) {
      this.serve(res);
      return;
    }
    if (req.url !== `/${this.tenantId}/discovery/v2.0/keys`) {
      res.writeHead(404).end();
      return;
    }
    this.fetches += 1;
    switch (this.behaviour) {
      case 'serve':
        this.serve(res);
        return;
      case 'slow':
        this.hanging.add(res);
        setTimeout(() => {
          this.hanging.delete(res);
          if (!res.destroyed) this.serve(res);
        }, this.slowMs).unref();
        return;
      case 'fail-500':
        res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>Internal error at login.microsoftonline.com</h1>');
        return;
      case 'fail-503':
        res.writeHead(503, { 'retry-after': '30' }).end();
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [');
        return;
      case 'redirect':
        res.writeHead(302, { location: `${this.baseUrl}${MOVED_KEYS}` }).end();
        return;
      case 'hang':
        this.hanging.add(res);
        return;
      case 'padded':
        this.serve(res, ' '.repeat(this.padding));
        return;
    }
  }

  private serve(res: http.ServerResponse, after = ''): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [...this.published.map((k) => k.publicJwk), ...this.extraJwks] }) + after);
  }
}

export interface TokenClaims {
  [claim: string]: unknown;
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** Signs exactly the header and payload text given (RS256), so tests can craft hostile tokens. */
export function signRaw(headerJson: string, payloadJson: string, key: KeyObject): string {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  const signature = createSign('RSA-SHA256').update(input).sign(key).toString('base64url');
  return `${input}.${signature}`;
}

export interface MintOptions {
  key?: IssuerKey;
  header?: Record<string, unknown>;
  /** Claims to add or override; `undefined` removes a claim. */
  claims?: TokenClaims;
  version?: '1.0' | '2.0';
  now?: number;
}

/** A valid app-only Entra access token (v2 by default) for the stand-in's tenant and the edge client ID. */
export function mintToken(standIn: EntraStandIn, options: MintOptions = {}): string {
  const key = options.key ?? standIn.signingKey;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const clientId = CLIENT_IDS.dev;
  const v2 = (options.version ?? '2.0') === '2.0';
  const base: TokenClaims = {
    aud: v2 ? clientId : `api://${clientId}`,
    iss: v2 ? `https://login.microsoftonline.com/${standIn.tenantId}/v2.0` : `https://sts.windows.net/${standIn.tenantId}/`,
    iat: now,
    nbf: now,
    exp: now + 3600,
    tid: standIn.tenantId,
    oid: randomUUID(),
    sub: randomUUID(),
    idtyp: 'app',
    roles: [],
    ver: v2 ? '2.0' : '1.0',
    ...(v2 ? { azp: clientId, azpacr: '1' } : { appid: clientId, appidacr: '1' }),
    uti: randomUUID(),
  };
  const claims = Object.fromEntries(Object.entries({ ...base, ...options.claims }).filter(([, v]) => v !== undefined));
  const header = Object.fromEntries(
    Object.entries({ typ: 'JWT', alg: 'RS256', kid: key.kid, ...options.header }).filter(([, v]) => v !== undefined),
  );
  return signRaw(JSON.stringify(header), JSON.stringify(claims), key.privateKey);
}
