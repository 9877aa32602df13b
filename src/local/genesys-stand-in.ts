import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { LOCAL_DEFAULTS } from '../config.js';
import http from 'node:http';

export interface LocalGenesys {
  apiBaseUrl: string;
  /** A token of an agent in the local allowed division, printed at start-up; kept in the data directory, so the same at every start. */
  agentToken: string;
  close(): Promise<void>;
}

/** The local profile's Genesys Cloud: `users/me` knows one agent, in the local division. */
export async function startLocalGenesys(dataDir: string): Promise<LocalGenesys> {
  const agentToken = loadOrCreateAgentToken(dataDir);
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

function loadOrCreateAgentToken(dataDir: string): string {
  const file = path.join(dataDir, 'local-agent-token');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const token = `local-agent-${randomBytes(12).toString('base64url')}`;
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}
