import { newPins, newRoomName } from '../../src/rooms/credentials.js';
import { maxUuiDataForTag, tagFromUuiData } from '../../src/rooms/tag.js';
import { startTestGateway } from '../support/gateway.js';

test('room names are 128-bit base64url strings, all distinct', () => {
  const names = Array.from({ length: 5000 }, () => newRoomName([]));
  expect(names.every((n) => /^[A-Za-z0-9_-]{22}$/.test(n))).toBe(true);
  expect(new Set(names).size).toBe(names.length);
});

test('room names never start with a persistent prefix', () => {
  const prefixes = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];
  expect(Array.from({ length: 2000 }, () => newRoomName(prefixes)).some((n) => prefixes.some((p) => n.startsWith(p)))).toBe(false);
});

test('PINs have the configured length and host ≠ guest', () => {
  for (let i = 0; i < 2000; i += 1) {
    const { pin, guestPin } = newPins(4);
    expect(pin).toMatch(/^\d{4}$/);
    expect(guestPin).toMatch(/^\d{4}$/);
    expect(guestPin).not.toBe(pin);
  }
});

test('PIN digits are uniform (chi-square, 9 degrees of freedom, p > 0.001)', () => {
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 5000; i += 1) {
    const { pin, guestPin } = newPins(10);
    for (const digit of pin + guestPin) counts[Number(digit)] = (counts[Number(digit)] ?? 0) + 1;
  }
  const expected = (5000 * 20) / 10;
  const chiSquare = counts.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
  expect(chiSquare).toBeLessThan(27.88);
});

test('the tag is <base>/<base64url(uuiData bytes)> (docs/contract.md §3 "The tag")', () => {
  expect(tagFromUuiData('3132333435362c373635343332', 'https://x.example/v')).toBe('https://x.example/v/MTIzNDU2LDc2NTQzMg');
  const base = 'https://idim.example.gov/verification';
  const longest = 'ab'.repeat(maxUuiDataForTag(base) / 2);
  expect(tagFromUuiData(longest, base).length).toBeLessThanOrEqual(250);
  expect(tagFromUuiData(`${longest}ab`, base).length).toBeGreaterThan(250);
});

test('with ALIAS_DOMAIN, a room is reachable as its name and as name@domain', async () => {
  const gw = await startTestGateway({ env: { ALIAS_DOMAIN: 'video.example.gov', POOL_TARGET_SIZE: '0' } });
  try {
    const res = await gw.http.post('/room/create?uuiData=01').set(gw.bearer());
    expect(res.body.aliases.map((a: { alias: string }) => a.alias)).toEqual([res.body.name, `${res.body.name}@video.example.gov`]);
    expect(new Set(res.body.aliases.map((a: { id: number }) => a.id)).size).toBe(2);
  } finally {
    await gw.close();
  }
});
