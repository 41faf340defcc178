/**
 * The dispatcher: turns pending outbox rows into webhook deliveries.
 *
 * Each round reads pending events oldest `seq` first, in batches of `batchSize`, and handles each
 * batch in ONE transaction:
 *   1. claims the batch: `dispatched_at` is set on the rows still pending, and only the rows this
 *      statement claimed are handled (another round or process may have taken some meanwhile,
 *      so no event is ever dispatched twice);
 *   2. if the system switch `notification_enable` (./settings.ts; read once per batch)
 *      is off, or for an operational event (WEBHOOK_TARGET_DISABLED),
 *      that is all: Harbor drops events while notifications are off, it does not queue them; an
 *      event whose data is not valid JSON is likewise only marked dispatched (and logged);
 *   3. otherwise finds the matching targets (subscribed targets looked up once per (project,
 *      event type) of the batch): enabled policy and target; the event's project's policies plus
 *      system-wide ones (project_id NULL); `event_types` containing the type; `repo_filters` globs
 *      against the full repository name and `tag_filters` globs against the event's tag (see
 *      ../domain/glob.ts, matched in linear time; an event without a repository or tag matches
 *      only empty filters); a payload format that supports the event type;
 *   4. renders each body once (a rendering error becomes an Error execution) and inserts one
 *      execution (trigger EVENT, status Running) with the body AND the format's headers (JSON in
 *      `headers`: every attempt and redelivery sends exactly that pair, whatever the target's
 *      options become later) and one task (Pending, due now) per target: all
 *      executions of the batch in one INSERT, all tasks in another (chunked; see
 *      ../db/webhook-delivery-store.ts).
 * The unique (event_seq, target_id) index on EVENT executions makes a re-run harmless, and since a
 * batch is one transaction a crash leaves either all of it or none of it.
 *
 * If a batch's transaction fails, its events are dispatched one transaction each; an event whose
 * own transaction fails is logged, stays pending and is retried alone (never in a batch) in later
 * rounds, so one broken row holds nothing else back.
 *
 * It wakes on `outbox.signal` ('appended', coalesced: see ../events/outbox-loop.ts) and also polls,
 * because a signal may come before the appending transaction commits (or from another process,
 * which sends none). The pending gauge is counted at most once a second.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Database, EventRow, WebhookPolicyRow, WebhookTargetRow } from '../db/index.ts';
import { webhookDeliveryStore, type NewEventExecution, type NewTask, type SubscribedTarget } from '../db/index.ts';
import { eventFromRow, OutboxLoop, type Outbox, type WharfEvent } from '../events/index.ts';
import { filterMatches } from '../domain/index.ts';
import { formatterFor, supports, vendorTypeFor } from './formats/index.ts';
import type { FormatContext } from './formats/types.ts';
import { firstDelay } from './retry.ts';
import { notificationsEnabled } from './settings.ts';

/** What the dispatcher needs. */
export interface DispatcherDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  /** Read at each dispatch (`external_url` may be set after construction). */
  config: Config;
  logger: Logger;
  /** Called after deliveries were created (the worker's wake-up). */
  onDeliveries?: () => void;
  /** Called after each dispatching transaction that created executions committed, with how many it created. */
  onCommitted?: (executions: number) => void;
  /** Called with the number of events still pending after a round, at most once per `pendingEveryMs` (a gauge). */
  onPending?: (n: number) => void;
  /** Poll interval, ms (default 200). */
  pollMs?: number;
  /** Events per batch, i.e. per transaction (default 100). */
  batchSize?: number;
  /** A wake-up within this many ms of the last round's start waits until then (default: OutboxLoop's). */
  coalesceMs?: number;
  /** The pending gauge is counted at most once per this many ms (default 1000). */
  pendingEveryMs?: number;
}

/** A matched (policy, target) pair: the columns matching and rendering use. */
interface Match {
  policy: Pick<WebhookPolicyRow, 'id' | 'project_id' | 'name' | 'event_types' | 'repo_filters' | 'tag_filters'>;
  target: Pick<WebhookTargetRow, 'id' | 'type' | 'payload_format' | 'options'>;
}

function jsonArray(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function jsonObject(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {}; // checked just before
  } catch {
    return {};
  }
}

/** The full repository name an event is about, or null. */
export function eventRepository(event: WharfEvent): string | null {
  return 'repository' in event && event.repository ? event.repository.name : null;
}

/** The tag an event is about (the tag the action used), or null. */
export function eventTag(event: WharfEvent): string | null {
  return 'artifact' in event && event.artifact ? event.artifact.tag : null;
}

/** True when a policy's filters let `event` through (event type, repository and tag globs). */
export function policyMatches(policy: Pick<WebhookPolicyRow, 'event_types' | 'repo_filters' | 'tag_filters'>, event: WharfEvent): boolean {
  if (!jsonArray(policy.event_types).includes(event.type)) return false;
  if (!filterMatches(jsonArray(policy.repo_filters), eventRepository(event))) return false;
  return filterMatches(jsonArray(policy.tag_filters), eventTag(event));
}

/** The format context of a (policy, target) pair. */
export function formatContext(externalUrl: string, policy: Pick<WebhookPolicyRow, 'id' | 'name' | 'project_id'>, target: Pick<WebhookTargetRow, 'type' | 'payload_format' | 'options'>): FormatContext {
  return {
    externalUrl,
    policy: { id: policy.id, name: policy.name, projectId: policy.project_id },
    target: { type: target.type, payloadFormat: target.payload_format, options: jsonObject(target.options) },
  };
}

/** What one dispatching transaction did. */
interface BatchResult {
  /** Events this transaction claimed (marked dispatched). */
  claimed: number;
  /** Deliveries (Pending tasks) it created. */
  created: number;
}

/** Turns outbox rows into deliveries. */
export class Dispatcher {
  private readonly loop: OutboxLoop;
  /** Seqs of events whose own transaction failed: retried alone each round, never in a batch again. */
  private readonly failing = new Set<number>();
  /** When the pending gauge was last counted (ms, monotonic); -Infinity: never. */
  private pendingCountedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: DispatcherDeps) {
    this.loop = new OutboxLoop({
      outbox: deps.outbox,
      pollMs: deps.pollMs ?? 200,
      coalesceMs: deps.coalesceMs,
      logger: deps.logger,
      failureMessage: 'webhook dispatcher round failed; retrying on the next poll',
      round: async () => {
        await this.runOnce();
      },
    });
  }

  /** Starts listening and polling. */
  start(): void {
    this.loop.start();
  }

  /** Stops and waits for the round in progress. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** True before `start()` and after `stop()`: a round in progress ends early. */
  private get stopped(): boolean {
    return this.loop.stopped;
  }

  /**
   * Dispatches every pending event, batch after batch, one transaction per batch. Returns how
   * many events this call dispatched (an event another round or process claimed first is not
   * counted, and gets nothing from this call).
   */
  async runOnce(): Promise<number> {
    const batchSize = this.deps.batchSize ?? 100;
    let dispatched = 0;
    let created = 0;
    let afterSeq = 0;
    // Called directly (not started), a round drains everything; in the loop, stop() ends it early.
    const inLoop = !this.stopped;
    const stopping = () => inLoop && this.stopped;
    for (;;) {
      const rows = await webhookDeliveryStore.pendingEvents(this.deps.db, afterSeq, batchSize);
      const last = rows[rows.length - 1];
      if (!last) break;
      afterSeq = last.seq;
      const r = await this.dispatchRows(rows, stopping);
      dispatched += r.claimed;
      created += r.created;
      if (rows.length < batchSize || stopping()) break;
    }
    if (created > 0) this.deps.onDeliveries?.();
    await this.reportPending();
    return dispatched;
  }

  /**
   * The pending gauge, counted at most once per `pendingEveryMs` (rounds run at every poll, so
   * it is never staler than that plus a poll interval).
   */
  private async reportPending(): Promise<void> {
    if (!this.deps.onPending) return;
    const now = performance.now();
    if (now - this.pendingCountedAt < (this.deps.pendingEveryMs ?? 1000)) return;
    this.pendingCountedAt = now;
    this.deps.onPending(await webhookDeliveryStore.pendingEventCount(this.deps.db));
  }

  /**
   * Dispatches `rows` (pending when read) in one transaction; if that transaction fails, one
   * transaction per event, so one broken row cannot hold the others back. A row whose own
   * transaction fails is logged, stays pending and is retried alone in later rounds.
   */
  private async dispatchRows(rows: readonly EventRow[], stopping: () => boolean): Promise<BatchResult> {
    const total: BatchResult = { claimed: 0, created: 0 };
    const add = (r: BatchResult) => {
      total.claimed += r.claimed;
      total.created += r.created;
    };
    const batch = rows.filter((r) => !this.failing.has(r.seq));
    const alone = rows.filter((r) => this.failing.has(r.seq));
    if (batch.length > 0) {
      try {
        add(await this.dispatchBatch(batch));
      } catch (err) {
        this.deps.logger.warn({ err, first_seq: batch[0]?.seq, events: batch.length }, 'dispatching a batch of events failed; dispatching them one by one');
        alone.push(...batch);
      }
    }
    for (const row of alone) {
      if (stopping()) break;
      try {
        add(await this.dispatchBatch([row]));
        this.failing.delete(row.seq);
      } catch (err) {
        // A broken row must not stop the outbox: log it and leave it pending for the next round.
        this.deps.logger.error({ err, event_seq: row.seq, event_id: row.id }, 'could not dispatch event');
        this.failing.add(row.seq);
      }
    }
    return total;
  }

  /**
   * ONE transaction for `rows`: claims those still pending (marks them dispatched), then, unless
   * notifications are off, renders and inserts the deliveries of the claimed ones that are not
   * operational events. Calls `onCommitted` after the commit.
   */
  private async dispatchBatch(rows: readonly EventRow[]): Promise<BatchResult> {
    let executions = 0;
    const result = await this.deps.db.transaction().execute(async (trx): Promise<BatchResult> => {
      const now = Date.now();
      const claimed = await webhookDeliveryStore.claimEvents(trx, rows.map((r) => r.seq), now);
      if (claimed.size === 0) return { claimed: 0, created: 0 };
      const deliverable = rows.filter((r) => claimed.has(r.seq) && r.type !== 'WEBHOOK_TARGET_DISABLED');
      if (deliverable.length === 0 || !(await notificationsEnabled(trx))) return { claimed: claimed.size, created: 0 };
      const subscribed = new Map<string, SubscribedTarget[]>();
      const planned: Planned[] = [];
      for (const row of deliverable) {
        let event: WharfEvent;
        try {
          event = eventFromRow(row);
        } catch (err) {
          // Unreadable data can never be delivered; retrying it every poll would only fill the log.
          this.deps.logger.error({ err, event_seq: row.seq, event_id: row.id }, 'outbox event data is not valid JSON; marking it dispatched without deliveries');
          continue;
        }
        const key = `${row.project_id ?? ''}\u0000${event.type}`;
        let targets = subscribed.get(key);
        if (!targets) {
          targets = await webhookDeliveryStore.subscribedTargets(trx, row.project_id, event.type);
          subscribed.set(key, targets);
        }
        for (const m of matchesOf(targets, event)) planned.push(this.render(row, event, m, now));
      }
      const inserted = await this.insertDeliveries(trx, planned, now);
      executions = inserted.executions;
      return { claimed: claimed.size, created: inserted.pending };
    });
    if (executions > 0) this.deps.onCommitted?.(executions);
    return result;
  }

  /** Renders one (event, target) body and its format headers: a Running execution, or an Error one when rendering throws. */
  private render(row: EventRow, event: WharfEvent, m: Match, now: number): Planned {
    const externalUrl = this.deps.config.external_url;
    let payload = '';
    let renderError: string | null = null;
    let vendorType = 'WEBHOOK';
    let headers: string | null = null;
    try {
      vendorType = vendorTypeFor(m.target.type);
      const r = formatterFor(m.target.type, m.target.payload_format)(event, formatContext(externalUrl, m.policy, m.target));
      payload = r.body;
      headers = JSON.stringify(r.headers);
    } catch (err) {
      renderError = `could not render the payload: ${err instanceof Error ? err.message : String(err)}`;
      this.deps.logger.error({ err, event_id: row.id, target_id: m.target.id }, 'webhook payload rendering failed');
    }
    return {
      exec: {
        policy_id: m.policy.id,
        target_id: m.target.id,
        event_seq: row.seq,
        event_id: row.id,
        event_type: row.type,
        vendor_type: vendorType,
        status: renderError ? 'Error' : 'Running',
        status_message: renderError ?? '',
        payload,
        headers,
        start_time: now,
        end_time: renderError ? now : null,
      },
    };
  }

  /**
   * Inserts the executions of `planned` (one statement per chunk) and a task for each one
   * created (an (event, target) that already has an execution, after a re-run, gets none).
   * Returns the number of executions and of Pending tasks created.
   */
  private async insertDeliveries(trx: Transaction<Database>, planned: readonly Planned[], now: number): Promise<{ executions: number; pending: number }> {
    if (planned.length === 0) return { executions: 0, pending: 0 };
    const created = await webhookDeliveryStore.insertEventExecutions(
      trx,
      planned.map((p) => p.exec),
    );
    const ids = new Map<string, number>();
    for (const c of created) ids.set(`${c.event_seq}:${c.target_id}`, c.id);
    const firstAt = now + firstDelay(this.deps.config.webhooks.retry_schedule);
    const tasks: NewTask[] = [];
    let pending = 0;
    for (const p of planned) {
      const id = ids.get(`${p.exec.event_seq}:${p.exec.target_id}`);
      if (id === undefined) continue; // already dispatched to this target (a re-run)
      const error = p.exec.status === 'Error';
      if (!error) pending++;
      tasks.push({ execution_id: id, status: error ? 'Error' : 'Pending', status_message: p.exec.status_message, next_attempt_at: error ? null : firstAt, creation_time: now, end_time: error ? now : null });
    }
    await webhookDeliveryStore.insertTasks(trx, tasks);
    return { executions: created.length, pending };
  }
}

/** One delivery to create: its execution row (body and format headers; status Error when rendering failed). */
interface Planned {
  exec: NewEventExecution;
}

/** The (policy, target) pairs of `targets` whose filters and payload format accept `event`. */
function matchesOf(targets: readonly SubscribedTarget[], event: WharfEvent): Match[] {
  const out: Match[] = [];
  for (const r of targets) {
    const policy = { id: r.policy_id, project_id: r.project_id, name: r.name, event_types: r.event_types, repo_filters: r.repo_filters, tag_filters: r.tag_filters };
    if (!policyMatches(policy, event)) continue;
    if (!supports(r.type, r.payload_format, event.type)) continue;
    out.push({ policy, target: { id: r.target_id, type: r.type, payload_format: r.payload_format, options: r.options } });
  }
  return out;
}
