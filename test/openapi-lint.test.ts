import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lint, loadConfig, type NormalizedProblem } from '@redocly/openapi-core';
import { OPENAPI_PATH } from '../src/http/docs.js';

/**
 * openapi.yaml passes Redocly's lint with the rules in redocly.yaml (recommended-strict: every problem an
 * error) and the exceptions in .redocly.lint-ignore.yaml, and nothing else: a clean run prints nothing.
 * The lint is @redocly/openapi-core, the library Redocly's CLI runs, called here so that a problem fails
 * this test with its rule and place (the CLI 2.x also prints an unconditional Node.js 20 notice).
 */
const CONFIG_PATH = path.resolve(path.dirname(OPENAPI_PATH), 'redocly.yaml');

async function problemsIn(ref: string): Promise<NormalizedProblem[]> {
  const config = await loadConfig({ configPath: CONFIG_PATH });
  const problems = await lint({ ref, config });
  return problems.map((p) => config.addProblemToIgnore(p)).filter((p) => !(p as { ignored?: boolean }).ignored);
}

const describeProblem = (p: NormalizedProblem) =>
  `${p.severity} ${p.ruleId} at ${p.location.map((l) => l.pointer ?? '').join(', ')}: ${p.message}`;

describe('openapi.yaml lint', () => {
  it('has no problem under recommended-strict and the ignore file', async () => {
    const problems = await problemsIn(OPENAPI_PATH);
    expect(problems.map(describeProblem)).toEqual([]);
  });

  it('reports an example that does not match its schema (the lint bites)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maxconf-lint-'));
    try {
      const broken = path.join(dir, 'openapi.yaml');
      const source = fs.readFileSync(OPENAPI_PATH, 'utf8');
      const planted = source.replace(/(\n\s+service_type: )conference\b/, '$1not-a-service-type');
      expect(planted).not.toBe(source);
      fs.writeFileSync(broken, planted);
      const problems = await problemsIn(broken);
      expect(problems.map((p) => p.ruleId)).toContain('no-invalid-media-type-examples');
      expect(problems.every((p) => p.severity === 'error')).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
