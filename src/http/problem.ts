import type { z } from 'zod';

export interface FieldError {
  /** Where the bad value was: path, query, body or header. */
  in: 'path' | 'query' | 'body' | 'header';
  /** The field, as the caller spelled it (dots for nested fields). */
  field: string;
  message: string;
}

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
 * Parses `input` with a zod schema or throws a problem naming every bad field:
 * 422 when the input has fields this API does not know (SPEC §2 PATCH), 400
 * otherwise.
 */
export function validate<Schema extends z.ZodType>(schema: Schema, input: unknown, location: FieldError['in']): z.infer<Schema> {
  const result = schema.safeParse(input, { error: plainWords });
  if (result.success) return result.data;
  const errors = result.error.issues.flatMap((issue) => fieldErrors(issue, location));
  const hasUnknownFields = result.error.issues.some((issue) => issue.code === 'unrecognized_keys');
  const summary = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  return hasUnknownFields
    ? problemThrow(new HttpProblem(422, 'unknown-fields', 'Unprocessable Content', `Remove the fields this endpoint does not accept. ${summary}`, { errors }))
    : problemThrow(new HttpProblem(400, 'invalid-request', 'Bad Request', `Fix the request and send it again. ${summary}`, { errors }));
}

/**
 * Words for a check that its schema left without a message, so that no
 * validator's own phrasing reaches a caller; the field is named beside it.
 */
function plainWords(issue: z.core.$ZodRawIssue): string {
  const unit = (origin: unknown) => (origin === 'string' ? ' characters long' : origin === 'array' ? ' items long' : '');
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
    case 'too_small':
      return `must be at least ${issue.minimum}${unit(issue.origin)}`;
    case 'too_big':
      return `must be at most ${issue.maximum}${unit(issue.origin)}`;
    default:
      return 'has a value this endpoint does not accept; see /docs for its format';
  }
}

function fieldErrors(issue: z.core.$ZodIssue, location: FieldError['in']): FieldError[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ in: location, field: [...issue.path, key].join('.'), message: 'is not a field this endpoint accepts' }));
  }
  return [{ in: location, field: issue.path.join('.') || '(whole)', message: issue.message }];
}

function problemThrow(problem: HttpProblem): never {
  throw problem;
}
