/**
 * WAL checkpoints off the main thread. SQLite's automatic checkpoint runs inside a COMMIT on the
 * connection that crosses 1000 WAL pages: it copies pages into the database file and fsyncs it,
 * blocking Node's event loop. openDatabase() turns it off (`wal_autocheckpoint = 0`) and starts a
 * Checkpointer: a worker thread (checkpoint-worker.ts) with its own connection that checkpoints
 * periodically, restarts the WAL once it passes a limit and truncates it when writes pause.
 * Checkpoints do not change what is durable: a committed transaction is in the WAL, and the WAL
 * is replayed on open after a crash.
 *
 * The worker starts only once the WAL file first reaches `startBytes` (openDatabase: 4 MiB, about
 * where SQLite's own checkpoint would have run), so short-lived processes and tests that write
 * little never pay for a thread. If the worker cannot start or dies, `onFailure` is called once
 * (openDatabase then gives the checkpoints back to SQLite) and the error is logged. The worker
 * never keeps the process alive.
 */
import { statSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../platform/index.ts';

/** Where the checkpointer reports problems; a pino Logger fits. */
export interface DbLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Settings passed to the worker thread. */
export interface CheckpointWorkerData {
  path: string;
  intervalMs: number;
  walLimitBytes: number;
  /** A WAL file larger than this is truncated once a tick passes without writes. */
  idleTruncateBytes: number;
  /** How long a RESTART or TRUNCATE checkpoint waits for the writer lock and for readers. */
  busyTimeoutMs: number;
}

/** Messages from the worker thread to the main thread. */
export type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'checkpoint'; mode: 'RESTART' | 'TRUNCATE'; done: boolean; ms: number }
  | { kind: 'error'; message: string; code: string | undefined; failures: number };

/** Options of {@link Checkpointer.start}. */
export interface CheckpointerOptions {
  /** The SQLite database file (already created, in WAL mode). */
  path: string;
  /** Time between two checkpoints, in milliseconds. */
  intervalMs: number;
  /** WAL size past which the worker restarts it (taking the writer lock briefly); when writes pause, a WAL file larger than this or 4 MiB is truncated. */
  walLimitBytes: number;
  /** WAL file size at which the worker starts (0: at once); until then a stat every interval. */
  startBytes?: number;
  /** How long a RESTART or TRUNCATE checkpoint may wait for the writer lock (default 200 ms). */
  busyTimeoutMs?: number;
  logger: DbLogger;
  /** Called at most once when the worker fails to start or dies before stop(). */
  onFailure: (err: Error) => void;
}

/** What the worker has done so far (tests, diagnostics). */
export interface CheckpointerStats {
  /** RESTART checkpoints that completed (the WAL had passed its limit). */
  restarts: number;
  /** TRUNCATE checkpoints that completed (writes had paused and the WAL file was large). */
  truncates: number;
  /** RESTART or TRUNCATE checkpoints that could not finish (writer lock or readers busy); retried. */
  busy: number;
  /** Longest RESTART or TRUNCATE, in milliseconds (writers wait for it; includes the wait for the lock). */
  maxLockedMs: number;
  /** Errors reported by the worker (each is logged). */
  errors: number;
}

const stopTimeoutMs = 5000;

/** Starts the worker (src/platform/module-worker.ts: the .ts entry under tsx, the .js one in dist/). */
function spawnWorker(data: CheckpointWorkerData): Worker {
  return startModuleWorker(import.meta.url, 'checkpoint-worker', data);
}

/** The main thread's handle on the checkpoint worker. */
export class Checkpointer {
  /** Counters of the worker's work, updated from its messages. */
  readonly stats: CheckpointerStats = { restarts: 0, truncates: 0, busy: 0, maxLockedMs: 0, errors: 0 };
  private worker: Worker | undefined;
  private exited: Promise<void> = Promise.resolve();
  private watch: NodeJS.Timeout | undefined;
  private stopping = false;
  private failed = false;

  private constructor(private readonly opts: CheckpointerOptions) {}

  /**
   * Starts checkpointing the database file at `opts.path`: the worker starts once the WAL file
   * reaches `opts.startBytes` (a stat of the file every interval until then), at once if 0.
   */
  static start(opts: CheckpointerOptions): Checkpointer {
    const c = new Checkpointer(opts);
    const startBytes = opts.startBytes ?? 0;
    if (startBytes <= 0) c.spawn();
    else {
      c.watch = setInterval(() => {
        if (walFileSize(opts.path) >= startBytes) c.spawn();
      }, opts.intervalMs);
      c.watch.unref();
    }
    return c;
  }

  /** True once the worker thread has been started. */
  get running(): boolean {
    return this.worker !== undefined;
  }

  private spawn(): void {
    if (this.watch) clearInterval(this.watch);
    this.watch = undefined;
    if (this.worker || this.stopping) return;
    const data: CheckpointWorkerData = {
      path: this.opts.path,
      intervalMs: this.opts.intervalMs,
      walLimitBytes: this.opts.walLimitBytes,
      idleTruncateBytes: Math.min(this.opts.walLimitBytes, 4 * 1024 * 1024),
      busyTimeoutMs: this.opts.busyTimeoutMs ?? 200,
    };
    let worker: Worker;
    try {
      worker = spawnWorker(data);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.worker = worker;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.stopping) this.fail(new Error(`checkpoint worker exited unexpectedly (code ${code})`));
    });
    worker.unref();
  }

  private onMessage(m: WorkerMessage): void {
    if (m.kind === 'checkpoint') {
      if (!m.done) this.stats.busy++;
      else if (m.mode === 'RESTART') this.stats.restarts++;
      else this.stats.truncates++;
      this.stats.maxLockedMs = Math.max(this.stats.maxLockedMs, m.ms);
    } else if (m.kind === 'error') {
      this.stats.errors++;
      this.opts.logger.warn({ err: { message: m.message, code: m.code }, failures: m.failures, path: this.opts.path }, 'WAL checkpoint failed; retrying');
    }
  }

  private fail(err: Error): void {
    if (this.failed || this.stopping) return;
    this.failed = true;
    this.opts.logger.error({ err, path: this.opts.path }, 'WAL checkpoint worker failed; SQLite checkpoints on the main thread again');
    this.opts.onFailure(err);
  }

  /** Stops the worker (it closes its connection) and waits for it to exit. Idempotent. */
  async stop(): Promise<void> {
    if (this.watch) clearInterval(this.watch);
    this.watch = undefined;
    const worker = this.worker;
    if (!this.stopping && worker) {
      // Keep the event loop alive until the worker is gone, or the caller's next step never runs.
      worker.ref();
      worker.postMessage('stop');
    }
    this.stopping = true;
    if (!worker) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), stopTimeoutMs)));
    const outcome = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') await worker.terminate();
  }
}

/** Size of the WAL file next to the database at `path`; 0 when there is none. */
export function walFileSize(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}
