/**
 * Every value sent for a header (`name` in lower case), in order, from the
 * request's raw list. Node's `headersDistinct` gives the same but builds every
 * header's list for the sake of one.
 */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const sent = rawHeaders[i] as string;
    if (sent.length === name.length && sent.toLowerCase() === name) values.push(rawHeaders[i + 1] as string);
  }
  return values;
}
