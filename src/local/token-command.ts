import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, withDotEnv } from '../config.js';
import { mintLocalToken, type LocalSigningKey } from './identity-provider.js';

/** `npm run token [-- --v1] [-- --role=NAME]`: prints an access token the local gateway accepts. */
async function tokenCommand(args: string[]): Promise<void> {
  const config = loadConfig(withDotEnv(process.env));
  if (config.profile !== 'local') throw new Error('npm run token mints tokens for the local profile only');
  const file = path.join(config.store.dataDir, 'local-signing-key.json');
  if (!fs.existsSync(file)) throw new Error(`no local signing key in ${config.store.dataDir}: start the gateway once with npm start`);
  const key = JSON.parse(fs.readFileSync(file, 'utf8')) as LocalSigningKey;
  const roles = args.filter((a) => a.startsWith('--role=')).map((a) => a.slice('--role='.length));
  if (config.entra.bulkRole !== undefined && !roles.includes(config.entra.bulkRole)) roles.push(config.entra.bulkRole);
  const token = await mintLocalToken(key, config, { version: args.includes('--v1') ? '1.0' : '2.0', roles, lifetimeSeconds: 3600 });
  process.stdout.write(`${token}\n`);
}

try {
  await tokenCommand(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : (error as Error).message}\n`);
  process.exit(1);
}
