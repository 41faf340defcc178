/**
 * The built-in scanner's scans, in memory: a queue that runs at most `concurrency` scans at once,
 * and the finished scans kept for their reports in an LRU bounded by count and by bytes (each
 * result's size as `sizeOf` counts it) that also forgets a finished scan `ttlMs` after it ended.
 * Nothing is persisted: a restart loses queued, running and finished scans
 * alike; a poll for one of them is then a 404, and the Wharf side fails (or retries) its task.
 */
import { randomUUID } from 'node:crypto';

/** Where a scan is: waiting for a slot, running, or finished with a result or an error. */
export type ScanState = 'queued' | 'running' | 'done' | 'failed';

/** One scan as the report endpoint sees it. */
export interface ScanEntry<Q, R> {
  id: string;
  request: Q;
  state: ScanState;
  result?: R;
  /** Why the scan failed (state `failed`). */
  error?: string;
  createdAt: number;
  finishedAt?: number;
  /** What a finished scan holds, by `sizeOf` (its error's length when it failed). */
  bytes?: number;
}

/** Options of a {@link ScanStore}. */
export interface ScanStoreOptions<Q, R> {
  /** Scans running at once. */
  concurrency: number;
  /** Runs one scan; its rejection's message becomes the scan's error. */
  run: (request: Q, signal: AbortSignal, id: string) => Promise<R>;
  /** Finished scans kept (least recently polled forgotten first); default 256. */
  maxFinished?: number;
  /**
   * Bytes the finished scans may hold together, as `sizeOf` counts them; default 32 MiB. The least
   * recently polled go first; the scan that just finished stays even when it alone is over.
   */
  maxFinishedBytes?: number;
  /** The bytes one result holds (default 0: only the count bounds the results). */
  sizeOf?: (result: R) => number;
  /** A finished scan is forgotten this long after it ended; default 10 minutes (Wharf fetches reports right away). */
  ttlMs?: number;
  /** Scans queued or running at once; one more is refused. Default 1000. */
  maxInFlight?: number;
  /** Called when a scan fails (for the log). */
  onFailed?: (id: string, err: unknown) => void;
  now?: () => number;
}

/** Thrown by `submit` when `maxInFlight` scans are already queued or running. */
export class ScanQueueFull extends Error {
  override readonly name = 'ScanQueueFull';
}

/** Scans in memory; see the file comment. */
export class ScanStore<Q, R> {
  private readonly entries = new Map<string, ScanEntry<Q, R>>();
  private readonly waiting: string[] = [];
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  /** Callers of `settled` waiting for a scan to finish, by id. */
  private readonly settling = new Map<string, Set<() => void>>();
  private readonly maxFinished: number;
  private readonly maxFinishedBytes: number;
  private finishedBytes = 0;
  private readonly ttlMs: number;
  private readonly maxInFlight: number;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: ScanStoreOptions<Q, R>) {
    this.maxFinished = opts.maxFinished ?? 256;
    this.maxFinishedBytes = opts.maxFinishedBytes ?? 32 * 1024 * 1024;
    this.ttlMs = opts.ttlMs ?? 10 * 60_000;
    this.maxInFlight = opts.maxInFlight ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Queues a scan and returns its id. Throws ScanQueueFull at the in-flight limit, or once closed. */
  submit(request: Q): string {
    if (this.closed) throw new ScanQueueFull('the scanner is shutting down');
    if (this.waiting.length + this.running.size >= this.maxInFlight) throw new ScanQueueFull(`the scanner has ${this.maxInFlight} scans queued or running; try again later`);
    const id = randomUUID();
    this.entries.set(id, { id, request, state: 'queued', createdAt: this.now() });
    this.waiting.push(id);
    this.sweep();
    this.pump();
    return id;
  }

  /** The scan `id`, or undefined when unknown or forgotten. A poll makes it the most recently used. */
  get(id: string): ScanEntry<Q, R> | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.finishedAt !== undefined && this.now() - e.finishedAt >= this.ttlMs) {
      this.forget(e);
      return undefined;
    }
    this.entries.delete(id);
    this.entries.set(id, e);
    return e;
  }

  /**
   * Resolves when the scan `id` is no longer queued or running (at once when it already is not, or
   * is unknown), after `ms`, when `signal` aborts, or when the store closes, whichever is first.
   * Never rejects; the caller reads the entry again.
   */
  settled(id: string, ms: number, signal?: AbortSignal): Promise<void> {
    const e = this.entries.get(id);
    if (!e || (e.state !== 'queued' && e.state !== 'running') || ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiters = this.settling.get(id) ?? new Set<() => void>();
      this.settling.set(id, waiters);
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        waiters.delete(done);
        if (waiters.size === 0 && this.settling.get(id) === waiters) this.settling.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      waiters.add(done);
    });
  }

  /** Counts and the bytes finished scans hold, for the log and tests. */
  stats(): { queued: number; running: number; finished: number; finishedBytes: number } {
    return { queued: this.waiting.length, running: this.running.size, finished: this.entries.size - this.waiting.length - this.running.size, finishedBytes: this.finishedBytes };
  }

  /** Refuses new scans, stops the running ones (they fail with "stopped") and waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    for (const id of this.waiting.splice(0)) this.finish(id, undefined, new Error('the scanner stopped before the scan started'));
    for (const r of this.running.values()) r.controller.abort(new Error('the scanner is shutting down'));
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.opts.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift();
      const e = id === undefined ? undefined : this.entries.get(id);
      if (!e) continue;
      e.state = 'running';
      const controller = new AbortController();
      const done = this.opts.run(e.request, controller.signal, e.id).then(
        (result) => this.finish(e.id, result, undefined),
        (err: unknown) => {
          this.opts.onFailed?.(e.id, err);
          this.finish(e.id, undefined, err);
        },
      );
      this.running.set(e.id, { controller, done });
    }
  }

  private finish(id: string, result: R | undefined, err: unknown): void {
    this.running.delete(id);
    const e = this.entries.get(id);
    if (e) {
      e.finishedAt = this.now();
      if (err === undefined) {
        e.state = 'done';
        e.result = result;
        e.bytes = result === undefined ? 0 : (this.opts.sizeOf?.(result) ?? 0);
      } else {
        e.state = 'failed';
        e.error = err instanceof Error ? err.message : String(err);
        e.bytes = e.error.length;
      }
      this.finishedBytes += e.bytes;
    }
    for (const wake of [...(this.settling.get(id) ?? [])]) wake();
    this.sweep(e);
    this.pump();
  }

  private forget(e: ScanEntry<Q, R>): void {
    if (!this.entries.delete(e.id)) return;
    this.finishedBytes -= e.bytes ?? 0;
  }

  /** Forgets expired finished scans, then the least recently used finished ones above the bounds (never `keep`). */
  private sweep(keep?: ScanEntry<Q, R>): void {
    const now = this.now();
    let finished = 0;
    for (const e of this.entries.values()) {
      if (e.finishedAt === undefined) continue;
      if (now - e.finishedAt >= this.ttlMs) this.forget(e);
      else finished++;
    }
    const over = (): boolean => finished > this.maxFinished || this.finishedBytes > this.maxFinishedBytes;
    if (!over()) return;
    for (const e of this.entries.values()) {
      if (!over()) break;
      if (e.finishedAt === undefined || e === keep) continue;
      this.forget(e);
      finished--;
    }
  }
}
