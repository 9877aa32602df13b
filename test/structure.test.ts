import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './support/process.js';

/**
 * Imports run one way: http → auth / rooms / events → store. The units at the
 * top of src/ either compose the app (and may import anything) or are shared
 * by every layer (and import only each other).
 */
const COMPOSITION = new Set(['main.ts', 'gateway.ts', 'config.ts', 'config-reference.ts', 'config-reference-command.ts', 'embedded-template-command.ts', 'gc-command.ts', 'adopt-command.ts']);
const MAY_IMPORT: Record<string, readonly string[]> = {
  composition: ['*'],
  local: ['*'],
  http: ['http', 'auth', 'rooms', 'events', 'tracing', 'store', 'shared'],
  auth: ['auth', 'shared'],
  rooms: ['rooms', 'store', 'shared'],
  events: ['events', 'store', 'shared'],
  tracing: ['tracing', 'store', 'shared'],
  store: ['store', 'shared'],
  shared: ['shared'],
};

const SRC = path.join(REPO_ROOT, 'src');

function areaOf(file: string): string {
  const [first, ...rest] = file.split(path.sep);
  if (rest.length > 0) return first as string;
  return COMPOSITION.has(first as string) ? 'composition' : 'shared';
}

/** Relative imports of a source file (static, re-exports and dynamic), as paths under src/. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(SRC, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) => match[1] as string);
  return specifiers.map((specifier) => path.relative(SRC, path.resolve(path.dirname(path.join(SRC, file)), specifier)).replace(/\.js$/, '.ts'));
}

const sources = fs.readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));

it('every area of src/ has a rule', () => {
  expect(sources.map(areaOf).filter((area) => MAY_IMPORT[area] === undefined)).toEqual([]);
});

/** The imports of `file` its layer may not make. */
function crossings(file: string, imports: string[]): string[] {
  const allowed = MAY_IMPORT[areaOf(file)] ?? [];
  return allowed.includes('*') ? [] : imports.filter((target) => !allowed.includes(areaOf(target)));
}

it.each(sources)('%s imports only from its own layer and those below', (file) => {
  expect(crossings(file, importsOf(file))).toEqual([]);
});

it('an import upwards, sideways or from a shared unit into a domain is a crossing', () => {
  const at = (...parts: string[]) => path.join(...parts);
  expect(crossings(at('store', 'embedded.ts'), [at('http', 'server.ts'), at('store', 'store.ts'), 'clock.ts'])).toEqual([at('http', 'server.ts')]);
  expect(crossings(at('events', 'sink.ts'), [at('rooms', 'retirement', 'deletion-queue.ts')])).toHaveLength(1);
  expect(crossings('clock.ts', [at('auth', 'guard.ts')])).toHaveLength(1);
  expect(importsOf(at('events', 'sink.ts'))).toContain(at('store', 'store.ts'));
});
