import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, withDotEnv } from '../config.js';
import { mintLocalToken, type LocalSigningKey } from './identity-provider.js';

const USAGE = `Usage: npm run -s token [-- --v1] [-- --role=NAME ...]
Prints an access token the local gateway (MAXCONF_ENV unset or local) accepts, valid for one hour.
  --v1          an Entra v1.0 token instead of v2.0
  --role=NAME   add an app role to the token's roles claim (repeatable)
  --help        this text
`;

/** A command-line mistake: the usage on stderr, exit status 2. */
class UsageError extends Error {}

/** `npm run token [-- --v1] [-- --role=NAME]`: prints an access token the local gateway accepts. */
async function tokenCommand(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const unknown = args.filter((a) => a !== '--v1' && !/^--role=.+/.test(a));
  if (unknown.length > 0) throw new UsageError(`unknown option ${unknown.map((a) => `'${a}'`).join(', ')}`);
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
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n${USAGE}`);
    process.exit(2);
  }
  process.stderr.write(`${error instanceof ConfigError ? error.message : (error as Error).message}\n`);
  process.exit(1);
}
