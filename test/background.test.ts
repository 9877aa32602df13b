import { BackgroundLoop } from '../src/background.js';
import { waitUntil } from './support/process.js';

/** A loop whose step runs until the test releases it, and whose next step would come a minute later. */
function heldLoop() {
  let steps = 0;
  let release = () => undefined as void;
  const loop = new BackgroundLoop({
    step: () => {
      steps += 1;
      return new Promise<void>((resolve) => (release = resolve));
    },
    nextDelayMs: () => 60_000,
    onError: () => undefined,
  });
  return { loop, steps: () => steps, release: () => release() };
}

it('starting a loop that is already running runs no second step beside the first', async () => {
  const held = heldLoop();
  const first = held.loop.start();
  const second = held.loop.start();
  expect(held.steps()).toBe(1);
  held.release();
  await Promise.all([first, second]);
  await held.loop.stop();
  expect(held.steps()).toBe(1);
});

it('a stopped loop starts again', async () => {
  const held = heldLoop();
  const first = held.loop.start();
  held.release();
  await first;
  await held.loop.stop();
  const again = held.loop.start();
  expect(held.steps()).toBe(2);
  held.release();
  await again;
  await held.loop.stop();
});

it('starting again before a stop has settled runs no second step beside the one under way', async () => {
  const held = heldLoop();
  const first = held.loop.start();
  const stopping = held.loop.stop();
  const again = held.loop.start();
  expect(held.steps()).toBe(1);
  held.release();
  await Promise.all([first, stopping, again]);
  expect(held.steps()).toBe(1);
  await held.loop.stop();
});

it('starting twice with a first delay schedules one first step', async () => {
  const held = heldLoop();
  await held.loop.start(0);
  await held.loop.start(0);
  // Timers of one delay fire in the order they were set, in one pass: once the first step has run, a second one scheduled beside it has too.
  await waitUntil(() => held.steps() > 0, 'the first step');
  expect(held.steps()).toBe(1);
  held.release();
  await held.loop.stop();
});
