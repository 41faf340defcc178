/** The replication speed limit: a token bucket that holds a transfer to Harbor's `speed` in KB/s. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Throttle, throttle } from './throttle.ts';

/** Streams `total` bytes in 16 KiB chunks through `t`; returns the bytes out and the elapsed ms. */
async function timeThrough(t: Throttle, total: number): Promise<{ bytes: Buffer; ms: number }> {
  const input = Buffer.alloc(total, 7);
  const chunks: Buffer[] = [];
  const start = performance.now();
  await pipeline(
    Readable.from((function* () {
      for (let i = 0; i < total; i += 16384) yield input.subarray(i, i + 16384);
    })()),
    t,
    async function (source: AsyncIterable<Buffer>) {
      for await (const c of source) chunks.push(c);
    },
  );
  return { bytes: Buffer.concat(chunks), ms: performance.now() - start };
}

describe('throttle', () => {
  it('gives no transform for speed 0 (unlimited)', () => {
    assert.equal(throttle(0), null);
    assert.equal(throttle(-1), null);
    assert.ok(throttle(1) instanceof Throttle);
  });

  it('holds 64 KiB at 32 KB/s to about two seconds, bytes unchanged', async () => {
    const t = throttle(32);
    assert.ok(t);
    const { bytes, ms } = await timeThrough(t, 64 * 1024);
    assert.equal(bytes.length, 64 * 1024);
    assert.ok(bytes.every((b) => b === 7));
    // A quarter-second bucket starts full: (64 - 8) KiB / 32 KiB/s = 1.75 s at least.
    assert.ok(ms >= 1600, `took ${ms} ms`);
    assert.ok(ms < 6000, `took ${ms} ms`);
  });

  it('passes a large chunk fast at a high rate', async () => {
    const { ms } = await timeThrough(new Throttle(64 * 1024 * 1024), 1024 * 1024);
    assert.ok(ms < 1000, `took ${ms} ms`);
  });

  it('stops its timer when destroyed', async () => {
    const t = new Throttle(1024);
    t.write(Buffer.alloc(10_000));
    t.destroy();
    await new Promise((r) => setImmediate(r));
    assert.ok(t.destroyed);
  });
});
