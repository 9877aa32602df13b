/**
 * Renders the README's configuration reference from `.env.example`, whose
 * variables a test holds equal to the zod schema's: each variable with the
 * comment lines above it, grouped under the file's `# --- Group ---` headers.
 */
export interface DocumentedVariable {
  group: string;
  name: string;
  description: string;
}

export function readEnvExample(text: string): DocumentedVariable[] {
  const variables: DocumentedVariable[] = [];
  let group = 'General';
  let comments: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const header = /^# -+ (.+?) -+$/.exec(line);
    const variable = /^#?\s?([A-Z][A-Z0-9_]+)=/.exec(line);
    if (header?.[1]) {
      group = header[1];
      comments = [];
    } else if (variable?.[1]) {
      if (!variables.some((v) => v.name === variable[1])) variables.push({ group, name: variable[1], description: comments.join(' ') });
      comments = [];
    } else if (line.startsWith('#')) {
      comments.push(line.replace(/^#\s?/, ''));
    } else if (line === '') {
      comments = [];
    }
  }
  return variables;
}

export function renderConfigTable(text: string): string {
  const groups = new Map<string, DocumentedVariable[]>();
  for (const variable of readEnvExample(text)) groups.set(variable.group, [...(groups.get(variable.group) ?? []), variable]);
  const sections = [...groups].map(([group, variables]) =>
    [`**${group}**`, '', '| variable | meaning, default and profiles |', '|---|---|', ...variables.map((v) => `| \`${v.name}\` | ${v.description.replace(/\|/g, '\\|') || '—'} |`)].join('\n'),
  );
  return sections.join('\n\n');
}

export const TABLE_START = '<!-- configuration table: generated from .env.example by `npm run docs:config` -->';
export const TABLE_END = '<!-- end of configuration table -->';

/** The README with its configuration table replaced by a fresh rendering. */
export function withConfigTable(readme: string, envExample: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error('the README has no configuration table markers');
  return `${readme.slice(0, start + TABLE_START.length)}\n\n${renderConfigTable(envExample)}\n\n${readme.slice(end)}`;
}
