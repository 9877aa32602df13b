import type { IncomingMessage } from 'node:http';
import { HttpProblem } from '../http/problem.js';

/**
 * A 400 problem when the client sent a header more than once (credentials, Host, Content-Type).
 * Node keeps only the first of repeated `Authorization` headers and joins
 * repeated custom ones with ", ", so repeats are only visible in
 * `headersDistinct`; which copy a proxy or we would believe is ambiguous.
 */
export function repeatedHeader(req: IncomingMessage, name: string): HttpProblem | undefined {
  if ((req.headersDistinct[name]?.length ?? 0) <= 1) return undefined;
  return new HttpProblem(400, 'repeated-header', 'Bad Request', `Send exactly one ${name} header; this request has several.`, {
    errors: [{ in: 'header', field: name, message: 'must be sent once' }],
  });
}
