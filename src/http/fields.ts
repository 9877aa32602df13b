import { z } from 'zod';
import { isStorableText } from '../store/storable.js';

/** The message for a field that is missing or of the wrong type, saying what it should be. */
function typeMessage(field: string, format: string) {
  return (issue: { input?: unknown }): string => {
    if (issue.input === undefined) return `${field} is required: ${format}`;
    if (Array.isArray(issue.input)) return `${field} must be one value, not a list: ${format}`;
    return `${field} must be ${format}`;
  };
}

export interface TextRules {
  pattern?: RegExp;
  maxLength?: number;
}

/**
 * A string field of a request. Text the store cannot hold is refused before
 * any other check, on every route; each message names the field and says
 * what it must be (`format`).
 */
export function text(field: string, format: string, { pattern, maxLength }: TextRules = {}): z.ZodString {
  let schema = z
    .string({ error: typeMessage(field, format) })
    .refine(isStorableText, { abort: true, error: `${field} must not contain NUL characters or unpaired UTF-16 surrogates` });
  if (pattern !== undefined) schema = schema.regex(pattern, `${field} must be ${format}`);
  if (maxLength !== undefined) schema = schema.max(maxLength, `${field} must be ${format}`);
  return schema;
}

/** A whole number in [min, max]: bounds the store and `Date` can hold are the caller's to choose. */
export function wholeNumber(field: string, min: number, max: number): z.ZodNumber {
  const format = `a whole number from ${min} to ${max}`;
  return z.number({ error: typeMessage(field, format) }).refine((n) => Number.isInteger(n) && n >= min && n <= max, `${field} must be ${format}`);
}

export function trueOrFalse(field: string): z.ZodBoolean {
  return z.boolean({ error: typeMessage(field, 'true or false') });
}

export const requiredMessage = (field: string, format: string): string => typeMessage(field, format)({});
