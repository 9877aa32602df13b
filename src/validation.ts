import type { z } from 'zod';

/** Where a value came from in the caller's request. */
export type InputLocation = 'path' | 'query' | 'body' | 'header';

export interface FieldError {
  in: InputLocation;
  /** The field, as the caller spelled it (dots for nested fields). */
  field: string;
  message: string;
}

/** Input that cannot be used as sent; `description` is safe to show the caller and names the fields. */
export class InvalidInput extends Error {
  constructor(readonly description: string, readonly errors: FieldError[]) {
    super(description);
    this.name = new.target.name;
  }
}

/** Input with fields this API does not know (docs/contract.md §2, PATCH /room/{room_name}). */
export class UnknownFields extends InvalidInput {}

/** Where a field is in a body, from its root (object keys and array positions). */
export type FieldPath = readonly (string | number)[];

/** A body field named twice in one object: which value was meant cannot be known (docs/jwt-validation.md §4 #30). */
export function repeatedField(path: FieldPath): FieldError {
  return { in: 'body', field: path.join('.').slice(0, 200), message: 'is given more than once in one object' };
}

/** A body that repeats a key in one object; `path` is the first repeat, from the body's root, ending with the key. */
export class RepeatedField extends InvalidInput {
  constructor(path: FieldPath) {
    const error = repeatedField(path);
    super(`The body names ${JSON.stringify(error.field)} more than once in one object; send each field once.`, [error]);
  }
}

/** Parses `input` with a zod schema or throws InvalidInput (UnknownFields when that is what is wrong) naming every bad field. */
export function validate<Schema extends z.ZodType>(schema: Schema, input: unknown, location: InputLocation): z.infer<Schema> {
  const result = check(schema, input, location);
  if (result.success) return result.data;
  const summary = result.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  if (result.unknownFields) throw new UnknownFields(`Remove the fields this endpoint does not accept. ${summary}`, result.errors);
  throw new InvalidInput(`Fix the request and send it again. ${summary}`, result.errors);
}

export type Checked<T> = { success: true; data: T } | { success: false; errors: FieldError[]; unknownFields: boolean };

/** Parses `input` with a zod schema; when it fails, every bad field in our words (for inputs refused one by one, as a bulk envelope's events are). */
export function check<Schema extends z.ZodType>(schema: Schema, input: unknown, location: InputLocation): Checked<z.infer<Schema>> {
  // With parse options each parse took ten times as long (measured, bench/README.md); our words are only needed for a refusal.
  const parsed = schema.safeParse(input);
  if (parsed.success) return { success: true, data: parsed.data };
  const { issues } = schema.safeParse(input, { error: plainWords }).error ?? parsed.error;
  return { success: false, errors: issues.flatMap((issue) => fieldErrors(issue, location)), unknownFields: issues.some((issue) => issue.code === 'unrecognized_keys') };
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

function fieldErrors(issue: z.core.$ZodIssue, location: InputLocation): FieldError[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ in: location, field: [...issue.path, key].join('.'), message: 'is not a field this endpoint accepts' }));
  }
  return [{ in: location, field: issue.path.join('.') || '(whole)', message: issue.message }];
}
