import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { LOCAL_DEFAULTS } from '../config.js';
import http from 'node:http';

export interface LocalGenesys {
  apiBaseUrl: string;
  /** A token of an agent in the local allowed division, printed at start-up. */
  agentToken: string;
  close(): Promise<void>;
}

/** The local profile's Genesys Cloud: `users/me` knows one agent, in the local division. */
export async function startLocalGenesys(): Promise<LocalGenesys> {
  const agentToken = `local-agent-${randomBytes(12).toString('base64url')}`;
  const agent = JSON.stringify({
    id: 'local-agent',
    name: 'Local Agent',
    division: { id: LOCAL_DEFAULTS.division, name: 'Local division' },
    organization: { id: 'local-organization', name: 'Local' },
  });
  const server = http.createServer((req, res) => {
    const known = req.method === 'GET' && req.url?.startsWith('/api/v2/users/me') && req.headers.authorization === `Bearer ${agentToken}`;
    res.writeHead(known ? 200 : 401, { 'content-type': 'application/json' }).end(known ? agent : '{"status":401,"code":"bad.credentials"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    apiBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    agentToken,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
