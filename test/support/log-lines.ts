import { Writable } from 'node:stream';

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
