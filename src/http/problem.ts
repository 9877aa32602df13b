import type { FieldError } from '../validation.js';

/** An RFC 9457 problem: what went wrong and how to fix it. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail: string,
    readonly extras: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }

  get type(): string {
    return `urn:maxconf:problem:${this.slug}`;
  }

  body(instance?: string): Record<string, unknown> {
    return {
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(instance === undefined ? {} : { instance }),
      ...(this.extras.errors === undefined ? {} : { errors: this.extras.errors }),
    };
  }
}

export const notFound = (detail: string) => new HttpProblem(404, 'not-found', 'Not Found', detail);

/**
 * A header the client sent more than once (credentials, Host, Content-Type).
 * Node keeps only the first of repeated `Authorization` headers and joins
 * repeated custom ones with ", ", so repeats are only visible in the raw
 * header list; which copy a proxy or we would believe is ambiguous.
 */
export function repeatedHeader(name: string): HttpProblem {
  return new HttpProblem(400, 'repeated-header', 'Bad Request', `Send exactly one ${name} header; this request has several.`, {
    errors: [{ in: 'header', field: name, message: 'must be sent once' }],
  });
}
