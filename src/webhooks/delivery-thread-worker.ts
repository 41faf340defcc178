/**
 * Worker-thread entry of the delivery thread (started by ./delivery-thread.ts; imported by nothing).
 * It opens its own connection to the database file (no migrations: the main thread ran them; no
 * checkpoints: the main connection's checkpointer does them), builds its own Outbox, pino logger
 * (the configured level), Metrics (no process metrics: the main thread has them), WebhookEngine,
 * the outbox consumers (the webhook dispatcher and the audit writer, as main.ts registers them),
 * and, with tracing on, its own tracer provider;
 * starts them and reports 'ready'. Messages: 'appended' makes its Outbox emit (its
 * loops run), 'wake-worker' wakes the delivery worker, 'metrics' answers with its metrics as
 * plain data, 'stop' stops everything, closes the connection and ends the thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config/index.ts';
import { openDatabase, type Db } from '../db/index.ts';
import { WriteLock } from '../db/index.ts';
import { ConsumerRunner, Outbox } from '../events/index.ts';
import { auditWriter } from '../audit/index.ts';
import { Metrics, createLogger, startTracing, stdoutLog, transactionSpans } from '../observability/index.ts';
import { WebhookEngine } from './engine.ts';
import { webhookDispatcher } from './dispatcher.ts';
import { trustCertificateFiles } from '../platform/index.ts';
import type { DeliveryThreadData, FromDeliveryThread, ToDeliveryThread } from './delivery-thread.ts';

/** The config the main thread passed, after a shape check of the parts this thread relies on first. */
function readData(data: unknown): DeliveryThreadData {
  if (typeof data !== 'object' || data === null || !('config' in data)) throw new Error('delivery thread: missing workerData.config');
  const config: unknown = data.config;
  if (typeof config !== 'object' || config === null || !('database' in config) || !('webhooks' in config) || !('audit' in config)) {
    throw new Error('delivery thread: malformed workerData.config');
  }
  const writeLock: unknown = 'writeLock' in data ? data.writeLock : undefined;
  if (writeLock !== undefined && !(writeLock instanceof SharedArrayBuffer)) throw new Error('delivery thread: malformed workerData.writeLock');
  // The main thread sends its resolved Config (structured clone of plain data); checked above in outline.
  return { config: config as Config, writeLock };
}

const port = parentPort;
if (!port) throw new Error('delivery-thread-worker.ts must run in a worker thread');
const post = (m: FromDeliveryThread) => port.postMessage(m);

let db: Db | undefined;
try {
  const { config, writeLock } = readData(workerData);
  // Lines it cannot write (a full disk) are dropped and counted, never fatal: observability/logger.ts.
  const logger = createLogger(config.log_level, { base: { thread: 'delivery' } });
  // This thread's webhook client trusts tls.trusted_ca_files too (each thread has its own list).
  trustCertificateFiles(config.tls.trusted_ca_files);
  // A tracer of its own (each thread has its own OpenTelemetry globals); with tracing off, none is loaded.
  const tracing = await startTracing(config.tracing);
  db = await openDatabase(config.database.url ?? config.database.path, {
    migrate: false,
    checkpoint: false,
    checkpointIntervalMs: config.database.checkpoint_interval_ms,
    logger,
    writeLock: writeLock ? new WriteLock(writeLock, 1) : undefined,
    transactionObserver: transactionSpans(),
  });
  const kysely = db.kysely;
  const metrics = new Metrics(false);
  metrics.countLogDrops(() => stdoutLog().droppedLines);
  const outbox = new Outbox();
  const engine = new WebhookEngine({ db: kysely, outbox, config, logger, metrics });
  const consumers = new ConsumerRunner({ db: kysely, outbox, logger });
  consumers.register(webhookDispatcher({ db: kysely, config, logger, onDeliveries: () => engine.worker.wake(), onPending: (n) => metrics.outboxPending.set(n) }));
  // PostgreSQL: events and deliveries another instance committed wake this thread's loops at once.
  if (db.notifications) outbox.wakeOnCommit(db.notifications);
  db.notifications?.on('wharf_deliveries', () => engine.worker.wake());
  consumers.register(auditWriter(config));
  const opened = db;
  let stopping = false;

  port.on('message', (m: ToDeliveryThread) => {
    switch (m.kind) {
      case 'appended':
        config.external_url = m.externalUrl;
        outbox.signal.emit('appended');
        break;
      case 'wake-worker':
        config.external_url = m.externalUrl;
        engine.worker.wake();
        break;
      case 'metrics':
        void metrics.registry.getMetricsAsJSON().then(
          (json) => post({ kind: 'metrics', id: m.id, metrics: json }),
          (err: unknown) => logger.warn({ err }, 'delivery thread: could not collect metrics'),
        );
        break;
      case 'crash':
        setImmediate(() => {
          throw new Error('delivery thread: crash requested');
        });
        break;
      case 'stop':
        if (stopping) break;
        stopping = true;
        void (async () => {
          try {
            await consumers.stop();
            await engine.stop(m.graceMs);
          } catch (err) {
            logger.error({ err }, 'delivery thread: error while stopping');
          }
          await opened.close().catch((err: unknown) => logger.error({ err }, 'delivery thread: could not close the database'));
          await tracing.shutdown().catch((err: unknown) => logger.warn({ err }, 'delivery thread: could not export the last spans'));
          logger.flush();
          port.close(); // nothing else keeps this thread alive: it exits
        })();
        break;
    }
  });

  engine.start();
  consumers.start();
  post({ kind: 'ready' });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  post({ kind: 'failed', message: e.message, stack: e.stack });
  await db?.close().catch(() => undefined);
  port.close();
}
