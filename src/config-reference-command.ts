import fs from 'node:fs';
import { withConfigTable } from './config-reference.js';

/** `npm run docs:config`: rewrites the README's configuration table from .env.example. */
const readme = fs.readFileSync('README.md', 'utf8');
fs.writeFileSync('README.md', withConfigTable(readme, fs.readFileSync('.env.example', 'utf8')));
process.stdout.write('README.md configuration table updated from .env.example\n');
