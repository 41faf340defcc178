/**
 * A speed limit for replication transfers: a Transform that passes bytes through no faster than a
 * rate, measured with a token bucket. Harbor's policy `speed` is in KB/s (1 KB = 1024 bytes);
 * 0 or less means no limit, and then {@link throttle} gives no transform at all.
 *
 * The bucket holds at most a quarter of a second of traffic (at least 1 KiB), so a transfer never
 * bursts much above the rate; a chunk larger than the bucket is passed on in bucket-sized pieces.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Passes bytes through at no more than `bytesPerSecond`. */
export class Throttle extends Transform {
  private readonly capacity: number;
  private tokens: number;
  private last = performance.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly bytesPerSecond: number) {
    super();
    if (!(bytesPerSecond > 0)) throw new RangeError('a throttle needs a positive rate');
    this.capacity = Math.max(1024, Math.floor(bytesPerSecond / 4));
    this.tokens = this.capacity;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.send(chunk, 0, cb);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    cb(err);
  }

  /** Pushes `chunk` from `offset` on as tokens allow, then calls `cb`. */
  private send(chunk: Buffer, offset: number, cb: TransformCallback): void {
    while (offset < chunk.length) {
      this.refill();
      const piece = Math.min(chunk.length - offset, this.capacity);
      if (this.tokens < piece) {
        const waitMs = Math.ceil(((piece - this.tokens) / this.bytesPerSecond) * 1000);
        this.timer = setTimeout(() => {
          this.timer = null;
          if (!this.destroyed) this.send(chunk, offset, cb);
        }, waitMs);
        return;
      }
      this.tokens -= piece;
      this.push(chunk.subarray(offset, offset + piece));
      offset += piece;
    }
    cb();
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
  }
}

/** A throttle for Harbor's `speed` (KB/s), or null when it is 0 (unlimited). */
export function throttle(speedKBs: number): Throttle | null {
  return speedKBs > 0 ? new Throttle(speedKBs * 1024) : null;
}
