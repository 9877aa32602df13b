import fs from 'node:fs';
import path from 'node:path';
import * as semconv from '@opentelemetry/semantic-conventions';
import * as ours from '../../src/tracing/attributes.js';
import { REPO_ROOT } from '../support/process.js';

/** The attribute keys the gateway spells itself are OpenTelemetry's own, as its semantic-conventions package defines them. */
it.each(Object.entries(ours))('%s is the semantic-conventions constant of the same name', (name, key) => {
  expect((semconv as Record<string, unknown>)[name]).toBe(key);
});

it('no module but the tracing SDK set-up (src/tracing/setup.ts) imports the semantic-conventions package', () => {
  const src = path.join(REPO_ROOT, 'src');
  const importers = fs
    .readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && fs.readFileSync(path.join(src, file), 'utf8').includes("from '@opentelemetry/semantic-conventions'"));
  expect(importers).toEqual([path.join('tracing', 'setup.ts')]);
});
