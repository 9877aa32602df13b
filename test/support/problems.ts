/** Phrases of zod's own messages (zod v4 locales/en): a caller must read our words instead. */
export const VALIDATOR_PHRASES = /Invalid (input|string|number|UUID|option|element|key|union|format|value)|Too (small|big)|Unrecognized keys?|expected [a-z]+, received|must match pattern/;

interface ProblemResponse {
  status: number;
  headers: Record<string, string>;
  body: { type?: unknown; title?: unknown; status?: unknown; detail?: unknown; errors?: { in: string; field: string; message: string }[] };
}

/** A 4xx answered as problem+json in our own words: no validator phrasing in `detail` or in any field message. */
export function expectOurProblem(res: ProblemResponse, status?: number): void {
  if (status !== undefined) expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: expect.stringMatching(/^urn:maxconf:problem:/), title: expect.any(String), status: res.status, detail: expect.any(String) });
  const words = [res.body.detail, ...(res.body.errors ?? []).map((e) => e.message)].join('\n');
  if (VALIDATOR_PHRASES.test(words)) throw new Error(`a validator's phrasing reached the caller: ${words}`);
}
