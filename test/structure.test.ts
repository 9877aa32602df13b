import { execFileSync, spawnSync } from 'node:child_process';
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

/**
 * The repository stands on its own: no tracked file points outside it, and
 * every documentation file, section (§) and quoted heading a file cites exists
 * in docs/.
 */
describe('documentation citations', () => {
  const DOCS = path.join(REPO_ROOT, 'docs');
  const OUTSIDE = path.posix.join('..', 'shared');
  /** `docs/NAME.md`, then (after a Markdown link's tail) any `§N`, `§N.N` or `§N–M`, then a quoted heading. */
  const CITATION = /(?<![\w/.-])docs\/([\w.-]+\.md)(?:`?\]\([^)]*\))?((?:[ \t\n,]*§[\d.]+(?:–[\d.]+)?)*)(?:\s*"([^"\n]+)")?/g;
  /** The same, inside docs/: a relative Markdown link to a sibling. */
  const LINK = /\]\(([\w.-]+\.md)\)((?:[ \t\n,]*§[\d.]+(?:–[\d.]+)?)*)(?:\s*"([^"\n]+)")?/g;
  /** A relative Markdown link to a .md file, from any Markdown file. */
  const MARKDOWN_LINK = /\]\((?!https?:)([^)\s#]+\.md)(?:#[^)]*)?\)/g;

  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '' && fs.existsSync(path.join(REPO_ROOT, file)))
    .map((file) => ({ file, text: fs.readFileSync(path.join(REPO_ROOT, file), 'utf8') }))
    // This file's own examples cite missing files on purpose.
    .filter(({ file, text }) => file !== 'test/structure.test.ts' && !text.includes('\0'));

  const headings = (doc: string): string[] => [...fs.readFileSync(path.join(DOCS, doc), 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((match) => match[1] as string);

  interface Citation {
    doc: string;
    sections: string[];
    heading: string | undefined;
  }

  function citationsIn(text: string, pattern: RegExp): Citation[] {
    return [...text.matchAll(pattern)].map((match) => ({
      doc: match[1] as string,
      sections: [...(match[2] ?? '').matchAll(/§([\d.]+)(?:–([\d.]+))?/g)].flatMap((s) => [s[1] as string, ...(s[2] === undefined ? [] : [s[2]])]),
      heading: match[3],
    }));
  }

  /** What a citation names that the docs do not hold. */
  function missing({ doc, sections, heading }: Citation): string[] {
    if (!fs.existsSync(path.join(DOCS, doc))) return [`docs/${doc}`];
    const titles = headings(doc);
    const absent = sections.filter((n) => !titles.some((title) => new RegExp(`^${n.replace(/\.$/, '').replaceAll('.', '\\.')}\\.?\\s`).test(title)));
    const headingAbsent = heading !== undefined && !titles.some((title) => title.includes(heading));
    return [...absent.map((n) => `docs/${doc} §${n}`), ...(headingAbsent ? [`docs/${doc} "${heading}"`] : [])];
  }

  function problemsOf(file: string, text: string): string[] {
    const inDocs = file.startsWith('docs/');
    const citations = [...citationsIn(text, CITATION), ...(inDocs ? citationsIn(text, LINK) : [])];
    const links = [...text.matchAll(MARKDOWN_LINK)].map((match) => match[1] as string);
    return [
      ...(text.includes(OUTSIDE) ? [`${OUTSIDE} (outside the repository)`] : []),
      ...citations.flatMap(missing),
      ...(file.endsWith('.md') ? links.filter((link) => !fs.existsSync(path.resolve(REPO_ROOT, path.dirname(file), link))).map((link) => `link ${link}`) : []),
    ];
  }

  it('docs/ holds the contract and the upstream facts', () => {
    expect(fs.readdirSync(DOCS)).toEqual(expect.arrayContaining(['README.md', 'contract.md', 'entra.md', 'genesys.md', 'jwt-validation.md', 'pexip.md']));
  });

  it('no file points outside the repository or cites documentation that is not there', () => {
    const problems = files.map(({ file, text }) => ({ file, problems: problemsOf(file, text) })).filter((entry) => entry.problems.length > 0);
    expect(problems).toEqual([]);
  });

  it('a citation of a missing file, section or heading, and a path outside the repository, are problems', () => {
    expect(problemsOf('src/x.ts', `see ${OUTSIDE}/spec/SPEC.md`)).toEqual([`${OUTSIDE} (outside the repository)`]);
    expect(problemsOf('src/x.ts', '(docs/nowhere.md §1)')).toEqual(['docs/nowhere.md']);
    expect(problemsOf('src/x.ts', '(docs/contract.md §4, §9; docs/jwt-validation.md §2.6, §1–7)')).toEqual(['docs/contract.md §9', 'docs/jwt-validation.md §7']);
    expect(problemsOf('src/x.ts', 'docs/contract.md §3 "The tag", docs/entra.md "No such heading"')).toEqual(['docs/entra.md "No such heading"']);
    expect(problemsOf('docs/x.md', '[pexip.md](pexip.md) §7 and [gone.md](gone.md)')).toEqual(['docs/pexip.md §7', 'docs/gone.md', 'link gone.md']);
    expect(problemsOf('README.md', '[`docs/pexip.md`](docs/pexip.md) §2 "Bulk"')).toEqual([]);
  });

  it('no file outside docs/ cites a documentation file by a bare name', () => {
    const names = ['SPEC.md', 'pexip-genesys.md', ...fs.readdirSync(DOCS).filter((name) => name !== 'README.md')];
    const bare = new RegExp(`(?<![\\w/.-])(?:${names.map((name) => name.replaceAll('.', '\\.')).join('|')})\\b|\\bSPEC §`);
    expect(files.filter(({ file, text }) => !file.startsWith('docs/') && bare.test(text)).map(({ file }) => file)).toEqual([]);
  });
});

describe('installation', () => {
  // swagger-ui-dist depends on @scarf/scarf, whose postinstall reports the install to scarf.sh unless a package in
  // the chain opts out (scarf-js README, "As a user of a package using Scarf, how can I opt out?"). Run as npm runs
  // it where install scripts run (INIT_CWD is the project), it must stop at our opt-out before building a report.
  it('@scarf/scarf’s postinstall finds the opt-out in package.json and reports nothing', () => {
    const run = spawnSync(process.execPath, ['report.js'], {
      cwd: path.join(REPO_ROOT, 'node_modules/@scarf/scarf'),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, INIT_CWD: REPO_ROOT, SCARF_VERBOSE: 'true' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(run.stderr).toContain('Scarf has been disabled via a package.json in the dependency chain');
    expect(run.stdout).not.toContain('Scarf payload');
  });
});
