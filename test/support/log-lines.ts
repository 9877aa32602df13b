import { Writable } from 'node:stream';
import { waitUntil } from './process.js';

/** A stream for a logger under test that keeps each line written to it (pino writes one JSON object a line). */
export function logLines(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter((l) => l.length > 0));
      done();
    },
  });
  return { lines, stream };
}

/**
 * Waits until each response's own request line (found by the `x-request-id` it was answered with) is in `lines`:
 * the line is written when the response closes, which can come after the client has read it. A negative
 * assertion on the logs made after this has seen every line these requests wrote, instead of whatever a sleep let in.
 */
export async function waitForRequestLines(lines: string[], responses: { headers: Record<string, string> }[]): Promise<void> {
  const ids = responses.map((res) => res.headers['x-request-id']);
  if (ids.some((id) => id === undefined)) throw new Error('a response without x-request-id: its log line cannot be waited for');
  const logged = () => new Set(lines.map((l) => (JSON.parse(l) as { req?: { id?: string } }).req?.id));
  await waitUntil(() => {
    const seen = logged();
    return ids.every((id) => seen.has(id));
  }, `the request lines of ${ids.join(', ')}`, 10_000);
}
