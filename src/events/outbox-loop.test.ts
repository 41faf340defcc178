import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Outbox } from './outbox.ts';
import { OutboxLoop } from './outbox-loop.ts';

const silent = pino({ level: 'silent' });

/** A loop whose rounds record their start times and take `roundMs`; `overlap` counts rounds that ran at once. */
function recorder(coalesceMs: number, roundMs = 0) {
  const outbox = new Outbox();
  const starts: number[] = [];
  let active = 0;
  let overlap = 0;
  const loop = new OutboxLoop({
    outbox,
    pollMs: 60_000,
    coalesceMs,
    logger: silent,
    failureMessage: 'round failed',
    round: async () => {
      if (++active > 1) overlap++;
      starts.push(performance.now());
      if (roundMs > 0) await sleep(roundMs);
      active--;
    },
  });
  const wake = () => outbox.signal.emit('appended');
  return { loop, starts, wake, overlaps: () => overlap };
}

test('an idle loop starts a round at once on the first wake-up', async () => {
  const r = recorder(300);
  r.loop.start();
  await sleep(400); // longer than the window: the loop is idle
  const t0 = performance.now();
  r.wake();
  await sleep(20);
  await r.loop.stop();
  assert.equal(r.starts.length, 2, 'the start round and the wake-up round');
  assert.ok((r.starts[1] ?? Infinity) - t0 < 15, `the round started ${Math.round((r.starts[1] ?? Infinity) - t0)} ms after the wake-up`);
});

test('wake-ups within the window of the last round start one round when the window ends', async () => {
  const r = recorder(300);
  r.loop.start(); // round 1 at once
  await sleep(10);
  for (let i = 0; i < 20; i++) r.wake(); // a burst of appends within the window
  await sleep(40);
  assert.equal(r.starts.length, 1, 'the burst waits for the window');
  await sleep(350);
  await r.loop.stop();
  assert.equal(r.starts.length, 2, 'the whole burst is one round');
  const gap = (r.starts[1] ?? 0) - (r.starts[0] ?? 0);
  assert.ok(gap >= 299, `the second round started ${gap.toFixed(1)} ms after the first`);
});

test('never two rounds at once; a wake-up during a round runs one more after it', async () => {
  const r = recorder(5, 30);
  r.loop.start();
  await sleep(5);
  for (let i = 0; i < 10; i++) {
    r.wake();
    await sleep(3);
  }
  await sleep(150);
  await r.loop.stop();
  assert.equal(r.overlaps(), 0);
  assert.ok(r.starts.length >= 2 && r.starts.length < 10, `fewer rounds than wake-ups (rounds: ${r.starts.length})`);
});

test('stop() cancels a scheduled round and waits for the running one', async () => {
  const r = recorder(200, 20);
  r.loop.start();
  await sleep(30); // the first round has ended
  r.wake(); // scheduled for the end of the window
  await r.loop.stop();
  await sleep(250);
  assert.equal(r.starts.length, 1, 'the scheduled round never ran');
  r.wake();
  await sleep(10);
  assert.equal(r.starts.length, 1, 'a stopped loop ignores wake-ups');
});
