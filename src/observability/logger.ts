/**
 * The process's logger and where its lines go. Logging must never stop the registry: a log file on
 * a full disk, a closed pipe or a reader that stops reading loses log lines, never requests.
 *
 * pino's default destination (sonic-boom on fd 1) does neither: a failed write (ENOSPC) is emitted
 * as an 'error' no one can handle, which ends the process, and the exit hook that flushes the rest
 * retries the failed write every 100 ms forever, blocking the event loop: the process then neither
 * serves nor exits until the disk has room again. {@link LogDestination} writes instead without
 * ever throwing or emitting errors: a line it cannot write is dropped and counted
 * (`wharf_log_lines_dropped_total`), and the next line tries again.
 */
import { write as fsWrite, writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { pino, type Logger } from 'pino';

/** Bytes of log lines held while a write is in flight or the reader is slow; lines beyond it are dropped. */
const defaultMaxQueuedBytes = 4 * 1024 * 1024;
/** Wait before writing again to a pipe that answered EAGAIN (its reader is behind). */
const busyRetryMs = 20;
/** How long the exit flush waits, at most, for a pipe whose reader is behind. */
const exitFlushBudgetMs = 1000;

/** Options of {@link LogDestination}. */
export interface LogDestinationOptions {
  /** Bytes held in memory at most before new lines are dropped (default 4 MiB). */
  maxQueuedBytes?: number;
  /** Flush what is queued when the process exits (default: true on the main thread). */
  flushOnExit?: boolean;
}

/**
 * A pino destination that writes lines to a file descriptor asynchronously, in order, and drops
 * (and counts) what it cannot write instead of throwing, emitting 'error' or retrying forever.
 */
export class LogDestination {
  private queue: string[] = [];
  private queuedBytes = 0;
  private writing = false;
  private waiters: Array<() => void> = [];
  private dropped = 0;
  private readonly maxQueuedBytes: number;
  /** The last write error (ENOSPC, EPIPE, ...) since the last successful write; null when writes succeed. */
  lastError: NodeJS.ErrnoException | null = null;

  constructor(
    readonly fd: number,
    opts: LogDestinationOptions = {},
  ) {
    this.maxQueuedBytes = opts.maxQueuedBytes ?? defaultMaxQueuedBytes;
    if (opts.flushOnExit ?? isMainThread) process.once('exit', () => this.flushSync());
  }

  /** Lines dropped so far (could not be written, or arrived while the queue was full). */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Queues one line (pino calls this); never throws. */
  write(line: string): boolean {
    const bytes = Buffer.byteLength(line);
    if (this.queuedBytes + bytes > this.maxQueuedBytes) {
      this.dropped += 1;
      return true;
    }
    this.queue.push(line);
    this.queuedBytes += bytes;
    if (!this.writing) this.writeQueued();
    return true;
  }

  /** Calls `cb` once everything queued so far was written or dropped (pino's `logger.flush(cb)`). */
  flush(cb?: (err?: Error) => void): void {
    if (!this.writing && this.queue.length === 0) {
      cb?.();
      return;
    }
    this.waiters.push(() => cb?.());
  }

  /**
   * Writes what is queued synchronously (at exit): each chunk is tried once, a pipe that is behind
   * for at most a second; whatever fails is dropped. A write still in flight finishes on its own.
   */
  flushSync(): void {
    const lines = this.take();
    if (lines.count === 0) return;
    let buf = lines.buf;
    const deadline = Date.now() + exitFlushBudgetMs;
    while (buf.length > 0) {
      try {
        buf = buf.subarray(writeSync(this.fd, buf));
      } catch (err) {
        if (errnoCode(err) === 'EAGAIN' && Date.now() < deadline) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, busyRetryMs);
          continue;
        }
        this.dropped += lines.count;
        return;
      }
    }
  }

  /** Everything queued, as one buffer, and how many lines it holds; empties the queue. */
  private take(): { buf: Buffer; count: number } {
    const count = this.queue.length;
    const buf = Buffer.from(this.queue.join(''));
    this.queue = [];
    this.queuedBytes = 0;
    return { buf, count };
  }

  private writeQueued(): void {
    const { buf, count } = this.take();
    if (count === 0) {
      this.writing = false;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
      return;
    }
    this.writing = true;
    this.writeChunk(buf, count);
  }

  private writeChunk(buf: Buffer, count: number): void {
    fsWrite(this.fd, buf, 0, buf.length, null, (err, n) => {
      if (err) {
        if (err.code === 'EAGAIN') {
          // The pipe's reader is behind: try again shortly (new lines queue up to the cap meanwhile).
          setTimeout(() => this.writeChunk(buf, count), busyRetryMs).unref();
          return;
        }
        // ENOSPC, EPIPE, EIO, EBADF...: these lines are lost; the next ones try again.
        this.lastError = err;
        this.dropped += count;
        this.writeQueued();
        return;
      }
      if (n < buf.length) {
        this.writeChunk(buf.subarray(n), count);
        return;
      }
      this.lastError = null;
      this.writeQueued();
    });
  }
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

let stdoutDestination: LogDestination | null = null;

/** The destination for this thread's standard output (one per thread: they share fd 1). */
export function stdoutLog(): LogDestination {
  stdoutDestination ??= new LogDestination(1);
  return stdoutDestination;
}

/** Wharf's logger: JSON lines at `level` to `destination` (standard output by default). */
export function createLogger(level: string, opts: { base?: Record<string, unknown>; destination?: LogDestination } = {}): Logger {
  return pino({ level, base: { service: 'wharf', ...opts.base } }, opts.destination ?? stdoutLog());
}
