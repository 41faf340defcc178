/**
 * The delivery thread: the outbox consumers (webhook dispatcher, audit writer) and the delivery
 * worker run in a `worker_threads` Worker (./delivery-thread-worker.ts), so that HTTP traffic on the main
 * thread (manifest PUTs by the hundred per second) never holds up deliveries, and deliveries never
 * hold up requests. The thread opens its own SQLite connection to the same file (WAL: readers and
 * one writer at a time; every write transaction starts with BEGIN IMMEDIATE and waits in the busy
 * handler), and builds its own Outbox, logger, Metrics, WebhookEngine and consumers from the
 * plain config object. Nothing but plain data crosses the thread boundary.
 *
 * Wake-ups: the main thread's `outbox.signal` 'appended' becomes one message per event-loop turn at
 * most; the thread's own Outbox then emits 'appended' and its loops run. `wakeWorker()` (after a
 * redelivery) wakes the thread's delivery worker. The loops also poll, so a lost message only
 * delays. Each message carries the current `external_url` (it may be set after start, e.g. once
 * the port is known), which payloads embed.
 *
 * Metrics: the main thread asks for the thread's `getMetricsAsJSON()` by message; Metrics.render()
 * sums it with its own. Lifecycle: start() resolves when the thread is ready; stop() asks it to
 * stop (the engine's grace for attempts in flight, the audit writer, its connection) and waits,
 * terminating it after a timeout. A thread that exits unexpectedly is logged and started again
 * after a delay that grows while it keeps dying. The thread never keeps the process alive.
 */
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../platform/index.ts';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Outbox } from '../events/index.ts';
import type { Metrics, MetricsJson } from '../observability/index.ts';
import type { WriteLock } from '../db/index.ts';

/** What the main thread passes to the thread at start. */
export interface DeliveryThreadData {
  config: Config;
  /** The buffer of the process's {@link WriteLock}, shared with the thread. */
  writeLock: SharedArrayBuffer | undefined;
}

/** Messages from the main thread to the delivery thread. */
export type ToDeliveryThread =
  | { kind: 'appended'; externalUrl: string }
  | { kind: 'wake-worker'; externalUrl: string }
  | { kind: 'metrics'; id: number }
  | { kind: 'stop'; graceMs: number }
  | { kind: 'crash' };

/** Messages from the delivery thread to the main thread. */
export type FromDeliveryThread = { kind: 'ready' } | { kind: 'failed'; message: string; stack: string | undefined } | { kind: 'metrics'; id: number; metrics: MetricsJson };

/** Options of {@link DeliveryThread}. */
export interface DeliveryThreadOptions {
  /** The configuration; read again at every (re)start, so later changes (external_url) carry over. */
  config: Config;
  /** The main thread's outbox: its appends wake the thread. */
  outbox: Outbox;
  logger: Logger;
  /** The main thread's metrics: the thread's are added as a source. */
  metrics?: Metrics;
  /** The write lock of the main connection, for the thread's connection to share. */
  writeLock?: WriteLock;
  /** How long stop() lets attempts in flight finish (default 5000 ms, the engine's). */
  graceMs?: number;
  /** First delay before restarting a thread that died (default 1000 ms; doubles up to 30 s while it keeps dying). */
  restartDelayMs?: number;
  /** How long start() waits for the thread to be ready (default 60 s). */
  readyTimeoutMs?: number;
}

/** How long a metrics request may take before /metrics answers without the thread's. */
const metricsTimeoutMs = 2000;
/** Beyond the grace, how long stop() waits for the thread to close before terminating it. */
const stopMarginMs = 5000;
/** A thread that ran at least this long resets the restart backoff. */
const healthyAfterMs = 60_000;
const maxRestartDelayMs = 30_000;

/** Starts the worker (src/platform/module-worker.ts: the .ts entry under tsx, the .js one in dist/). */
function spawnWorker(data: DeliveryThreadData): Worker {
  return startModuleWorker(import.meta.url, 'delivery-thread-worker', data);
}

/** The main thread's handle on the delivery thread. */
export class DeliveryThread {
  /** Times the thread was started again after dying. */
  restarts = 0;
  private worker: Worker | undefined;
  private ready = false;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelay: number;
  private startedAt = 0;
  private wakePosted = false;
  private nextId = 1;
  private readonly pendingMetrics = new Map<number, (m: MetricsJson | null) => void>();
  private readonly onAppended = () => this.postWake();

  constructor(private readonly opts: DeliveryThreadOptions) {
    this.restartDelay = opts.restartDelayMs ?? 1000;
    opts.metrics?.addSource(() => this.metricsJson());
  }

  /** The thread's id while it runs (tests), undefined otherwise. */
  get threadId(): number | undefined {
    return this.ready ? this.worker?.threadId : undefined;
  }

  /** Starts the thread and resolves once its engine and audit writer run; rejects if it cannot start. */
  async start(): Promise<void> {
    if (this.worker || this.stopping) return;
    this.opts.outbox.signal.on('appended', this.onAppended);
    try {
      await this.spawn();
    } catch (err) {
      this.opts.outbox.signal.off('appended', this.onAppended);
      await this.exited;
      throw err;
    }
  }

  /** Wakes the thread's delivery worker (new deliveries were committed outside the outbox). */
  wakeWorker(): void {
    this.post({ kind: 'wake-worker', externalUrl: this.opts.config.external_url });
  }

  /** Stops the thread: attempts in flight get the grace, then its loops and connection close. Idempotent. */
  async stop(): Promise<void> {
    this.opts.outbox.signal.off('appended', this.onAppended);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const worker = this.worker;
    if (this.stopping || !worker) {
      this.stopping = true;
      await this.exited;
      return;
    }
    this.stopping = true;
    const graceMs = this.opts.graceMs ?? 5000;
    // Keep the event loop alive until the thread is gone, or the caller's next step never runs.
    worker.ref();
    worker.postMessage({ kind: 'stop', graceMs } satisfies ToDeliveryThread);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs + stopMarginMs)));
    const outcome = await Promise.race([this.exited.then(() => 'exited' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.opts.logger.warn('delivery thread did not stop in time; terminating it');
      await worker.terminate();
      await this.exited;
    }
  }

  /** Makes the thread throw an uncaught error and waits for it to exit, as a crash would (tests of the restart). */
  async crashForTest(): Promise<void> {
    const exited = this.exited;
    this.post({ kind: 'crash' });
    await exited;
  }

  /** The thread's metrics, or null when it is not running or does not answer in time. */
  metricsJson(): Promise<MetricsJson | null> {
    const worker = this.worker;
    if (!worker || !this.ready) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), metricsTimeoutMs);
      const done = (m: MetricsJson | null) => {
        clearTimeout(timer);
        this.pendingMetrics.delete(id);
        resolve(m);
      };
      this.pendingMetrics.set(id, done);
      worker.postMessage({ kind: 'metrics', id } satisfies ToDeliveryThread);
    });
  }

  /** At most one wake-up message per event-loop turn: later appends of the same turn committed with the first. */
  private postWake(): void {
    if (this.wakePosted) return;
    this.wakePosted = true;
    setImmediate(() => (this.wakePosted = false));
    this.post({ kind: 'appended', externalUrl: this.opts.config.external_url });
  }

  private post(m: ToDeliveryThread): void {
    if (this.ready && !this.stopping) this.worker?.postMessage(m);
  }

  /** Starts a thread; resolves when it reports ready, rejects when it fails or exits first. */
  private spawn(): Promise<void> {
    this.ready = false;
    // Plain data only: the config object is copied into the thread.
    const worker = spawnWorker({ config: this.opts.config, writeLock: this.opts.writeLock?.buffer });
    this.worker = worker;
    this.startedAt = Date.now();
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const readyTimer = setTimeout(() => {
        fail(new Error('the delivery thread did not become ready in time'));
        void worker.terminate();
      }, this.opts.readyTimeoutMs ?? 60_000);
      const fail = (err: Error) => {
        clearTimeout(readyTimer);
        if (settled) return;
        settled = true;
        reject(err);
      };
      worker.on('message', (m: FromDeliveryThread) => {
        if (m.kind === 'ready') {
          clearTimeout(readyTimer);
          this.ready = true;
          settled = true;
          // Running: the HTTP server keeps the process alive, not this thread.
          if (!this.stopping) worker.unref();
          resolve();
        } else if (m.kind === 'failed') {
          const err = new Error(`delivery thread failed to start: ${m.message}`);
          if (m.stack) err.stack = m.stack;
          fail(err);
        } else if (m.kind === 'metrics') {
          this.pendingMetrics.get(m.id)?.(m.metrics);
        }
      });
      worker.on('error', (err) => {
        this.opts.logger.error({ err }, 'delivery thread: uncaught error');
        fail(err);
      });
      worker.on('exit', (code) => {
        for (const done of [...this.pendingMetrics.values()]) done(null);
        const wasReady = this.ready;
        this.ready = false;
        if (this.worker === worker) this.worker = undefined;
        fail(new Error(`the delivery thread exited before it was ready (code ${code})`));
        if (!this.stopping && wasReady) this.scheduleRestart(code);
      });
    });
  }

  private scheduleRestart(code: number): void {
    if (Date.now() - this.startedAt >= healthyAfterMs) this.restartDelay = this.opts.restartDelayMs ?? 1000;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(maxRestartDelayMs, this.restartDelay * 2);
    this.opts.logger.error({ code, restartInMs: delay }, 'delivery thread exited unexpectedly; webhooks and audit entries wait until it is restarted');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.spawn().then(
        () => this.opts.logger.info({ restarts: this.restarts }, 'delivery thread restarted'),
        (err: unknown) => {
          this.opts.logger.error({ err }, 'delivery thread could not be restarted');
          void this.exited.then(() => {
            if (!this.stopping && !this.worker && !this.restartTimer) this.scheduleRestart(-1);
          });
        },
      );
    }, delay);
    this.restartTimer.unref();
  }
}
