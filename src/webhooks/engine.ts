/**
 * The webhook engine: the delivery worker (deliveries -> HTTP attempts) and the guarded HTTP
 * client it uses, started and stopped together. The dispatcher (outbox -> deliveries) is an outbox
 * consumer (./dispatcher.ts) registered next to it, whose commits wake `worker`. The engine also
 * serves the API's one-off operations: redeliver an execution, send a test event.
 *
 * Redelivery creates a NEW execution with trigger MANUAL for the same policy, target and event,
 * with the identical body, format headers and event id (so `webhook-id` / `X-Wharf-Event-Id` do not change and a
 * receiver that already processed it can drop the duplicate); the original execution and its
 * attempts stay as they were. The new delivery follows the normal retry schedule.
 *
 * `wharf serve` starts the engine on the main thread by default; with `webhooks.delivery_thread:
 * true` a started engine runs in the delivery thread (./delivery-thread.ts) and the main thread
 * keeps one that is never started, for these API operations.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { webhookDeliveryStore as store, type Database } from '../db/index.ts';
import { fail } from '../domain/index.ts';
import { formatContext } from './dispatcher.ts';
import type { Outbox, WharfEvent } from '../events/index.ts';
import type { Metrics } from '../observability/index.ts';
import { AddressPolicy } from './address-policy.ts';
import { DeliveryWorker } from './delivery-worker.ts';
import { attemptOnce, type AttemptRecord, type AttemptTarget } from './delivery-attempt.ts';
import { formatterFor, vendorTypeFor } from './formats/index.ts';
import { WebhookHttpClient, type Resolver } from './http-client.ts';
import { targetColumns, type TargetSpecLike } from './target-row.ts';

/** What the engine needs. */
export interface WebhookEngineDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  config: Config;
  logger: Logger;
  metrics?: Metrics;
  /** DNS resolver override (tests); the system resolver otherwise. */
  resolver?: Resolver;
  /**
   * Called after `redeliver()` committed its new delivery. When the delivery worker runs elsewhere
   * (the delivery thread, ./delivery-thread.ts), this wakes it; this engine's own worker is woken too.
   */
  onRedelivered?: () => void;
}

/** The result of {@link WebhookEngine.redeliver}. */
export interface Redelivery {
  executionId: number;
  taskId: number;
}

/** A target as the policy API validates it (defined in target-row.ts, re-exported for index.ts). */
export type { TargetSpecLike } from './target-row.ts';

/** Optional context of a test send: the policy the target belongs to, the project, the operator. */
export interface TestSendOptions {
  policy?: { id: number; name: string; projectId: number | null };
  /** The project the sample event is about (defaults to `library`, id 1). */
  project?: { id: number; name: string; public: boolean };
  operator?: string;
}

/** A stored-row-shaped target from a TargetSpec-shaped one. */
function toAttemptTarget(t: AttemptTarget | TargetSpecLike): AttemptTarget {
  return 'payloadFormat' in t ? targetColumns(t) : t;
}

/** Owns the delivery worker and the HTTP client. */
export class WebhookEngine {
  readonly worker: DeliveryWorker;
  readonly client: WebhookHttpClient;
  private started = false;

  constructor(private readonly deps: WebhookEngineDeps) {
    const w = deps.config.webhooks;
    const invalid = AddressPolicy.invalidEntries(w.allow_list);
    if (invalid.length > 0) deps.logger.warn({ entries: invalid }, 'ignoring webhooks.allow_list entries that are neither a host nor a CIDR range');
    this.client = new WebhookHttpClient({
      policy: new AddressPolicy({ allowPrivate: w.allow_private_targets, allowList: w.allow_list }),
      // The worker enforces per-target and per-project concurrency; the pool must never queue one target's request
      // behind another's at the same origin, so its per-origin cap is the global one.
      connections: w.max_in_flight,
      responseBodyLimit: w.response_body_limit,
      resolver: deps.resolver,
    });
    this.worker = new DeliveryWorker({ db: deps.db, outbox: deps.outbox, config: deps.config, logger: deps.logger, client: this.client, metrics: deps.metrics });
  }

  /** Starts delivering. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.worker.start();
  }

  /** Stops claiming new work, waits up to `graceMs` for attempts in flight, closes connections. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.started) {
      this.started = false;
      await this.worker.stop(graceMs);
    }
    await this.client.close();
  }

  /**
   * Sends an execution again as a new MANUAL execution (same event id, body and format headers), due now.
   * NOT_FOUND for an unknown execution; CONFLICT when its target or policy is disabled.
   */
  async redeliver(executionId: number): Promise<Redelivery> {
    const { db } = this.deps;
    const result = await db.transaction().execute(async (trx) => {
      const source = await store.redeliverySource(trx, executionId);
      if (!source) throw fail('NOT_FOUND', `webhook execution ${executionId} not found`);
      const { execution: exec, target, policy } = source;
      if (!target || !policy) throw fail('NOT_FOUND', `the policy or target of webhook execution ${executionId} no longer exists`);
      if (policy.enabled !== 1) throw fail('CONFLICT', 'the webhook policy is disabled; enable it before redelivering');
      if (target.enabled !== 1) throw fail('CONFLICT', `the webhook target is disabled${target.disabled_reason ? ` (${target.disabled_reason})` : ''}; enable it before redelivering`);
      return store.insertRedelivery(trx, exec, `redelivery of execution ${exec.id}`, Date.now());
    });
    this.worker.wake();
    this.deps.onRedelivered?.();
    return result;
  }

  /**
   * Sends one sample PUSH_ARTIFACT event to the target right now, through the same client, SSRF
   * policy, headers and signing as real deliveries, and returns the attempt. Nothing is stored
   * and nothing is retried; the target need not be saved yet.
   */
  async sendTest(spec: AttemptTarget | TargetSpecLike, opts: TestSendOptions = {}): Promise<AttemptRecord> {
    const target = toAttemptTarget(spec);
    const event = sampleEvent(opts.project ?? { id: 1, name: 'library', public: true }, opts.operator ?? '');
    const policy = opts.policy ?? { id: 0, name: 'test', projectId: opts.project?.id ?? null };
    vendorTypeFor(target.type); // BAD_REQUEST for an unknown notify type
    const rendered = formatterFor(target.type, target.payload_format)(
      event,
      formatContext(this.deps.config.external_url, { id: policy.id, name: policy.name, project_id: policy.projectId }, target),
    );
    const { record } = await attemptOnce(this.client, this.deps.config, {
      target,
      eventId: event.id,
      eventType: event.type,
      delivery: 'test',
      body: rendered.body,
      formatHeaders: rendered.headers,
    });
    this.deps.metrics?.webhookDeliveries.inc({ type: target.type, outcome: `test-${record.verdict}` });
    return record;
  }
}

/** The sample event of a test send: a push of `<project>/wharf-webhook-test:latest`. */
function sampleEvent(project: { id: number; name: string; public: boolean }, operator: string): WharfEvent {
  const digest = 'sha256:' + '0'.repeat(64);
  return {
    type: 'PUSH_ARTIFACT',
    id: randomUUID(),
    occurAt: Date.now(),
    operator,
    project,
    repository: { id: 0, name: `${project.name}/wharf-webhook-test`, creationTime: null },
    artifact: { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 0, tag: 'latest', tags: ['latest'], artifactType: null },
  };
}
