import { jest } from '@jest/globals';
import type { Buffer } from 'node:buffer';

/**
 * Every secret the gateway compares (the event sink's username and
 * passwords) is compared in constant time: as digests of one length, with
 * node:crypto's timingSafeEqual, every candidate whatever the first one gave.
 * node:crypto is wrapped (not our module) to see each comparison; a `===`
 * on the secrets, or a comparison that stops at the first mismatch, fails here.
 */
const actual = await import('node:crypto');
const compared: [Buffer, Buffer][] = [];
jest.unstable_mockModule('node:crypto', () => ({
  ...actual,
  default: actual,
  timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    compared.push([a as Buffer, b as Buffer]);
    return actual.timingSafeEqual(a, b);
  },
}));
const { secretsEqual } = await import('../../src/auth/secrets.js');
const { basicAuth, SINK_PASSWORD, SINK_USER, startTestGateway } = await import('../support/gateway.js');

beforeEach(() => {
  compared.length = 0;
});

test.each([
  ['equal', 'same:value', 'same:value', true],
  ['one character apart', 'same:value', 'same:valuf', false],
  ['of different lengths', 'short', 'a much longer secret value than the other'],
])('secrets %s are compared once, as two digests of one length, with timingSafeEqual', (_name, given, expected, equal = false) => {
  expect(secretsEqual(given as string, expected as string)).toBe(equal);
  expect(compared).toHaveLength(1);
  const [a, b] = compared[0]!;
  expect(a.length).toBe(32);
  expect(b.length).toBe(32);
});

test.each([
  ['the right credentials', SINK_USER, SINK_PASSWORD, 200],
  ['a wrong user', 'someone-else', SINK_PASSWORD, 401],
  ['a wrong password', SINK_USER, 'wrong-password-123', 401],
  ['both wrong', 'x', 'y', 401],
])('the event sink compares the username and every configured password in constant time, whatever matches (%s)', async (_name, user, password, status) => {
  const gw = await startTestGateway({ env: { EVENT_SINK_PASSWORD_NEXT: 'next:rotation-password' } });
  try {
    compared.length = 0;
    const res = await gw.http.post('/public/event_sink').set(basicAuth(user, password)).send({ node: 'n', seq: 1, version: 2, time: gw.clock.now() / 1000, event: 'eventsink_started', data: {} });
    expect(res.status).toBe(status);
    expect(compared).toHaveLength(3);
    for (const [a, b] of compared) expect([a.length, b.length]).toEqual([32, 32]);
  } finally {
    await gw.close();
  }
});
