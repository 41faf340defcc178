/**
 * The dispatcher: turns pending outbox rows into webhook deliveries.
 *
 * For each event (oldest `seq` first, in batches), ONE transaction:
 *   1. re-reads the row (another process may have dispatched it meanwhile);
 *   2. if the system switch `notification_enable` (configurations table, JSON boolean, default
 *      true) is off, or the event is an operational one (WEBHOOK_TARGET_DISABLED), only marks it
 *      dispatched: Harbor drops events while notifications are off, it does not queue them;
 *   3. otherwise finds the matching targets: enabled policy and target; the event's project's
 *      policies plus system-wide ones (project_id NULL); `event_types` containing the type;
 *      `repo_filters` globs against the full repository name and `tag_filters` globs against the
 *      event's tag (see ../webhooks/glob.ts; an event without a repository or tag matches only
 *      empty filters); a payload format that supports the event type;
 *   4. renders each body once and inserts one execution (trigger EVENT, status Running) and one
 *      task (Pending, due now) per target (all executions in one INSERT, all tasks in another:
 *      ../db/webhook-delivery-store.ts), then sets `dispatched_at`.
 * The unique (event_seq, target_id) index on EVENT executions makes a re-run harmless, and since
 * all of it is one transaction a crash leaves either everything or nothing.
 *
 * It wakes on `outbox.signal` ('appended') and also polls, because a signal may come before the
 * appending transaction commits (or from another process, which sends none).
 */
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Database, EventRow, WebhookPolicyRow, WebhookTargetRow } from '../db/index.ts';
import { webhookDeliveryStore, type NewEventExecution, type NewTask } from '../db/webhook-delivery-store.ts';
import { eventFromRow, type Outbox } from './outbox.ts';
import { OutboxLoop } from './outbox-loop.ts';
import type { WharfEvent } from './catalog.ts';
import { filterMatches } from '../webhooks/glob.ts';
import { formatterFor, supports, vendorTypeFor } from '../webhooks/formats/index.ts';
import type { FormatContext } from '../webhooks/formats/types.ts';
import { firstDelay } from '../webhooks/retry.ts';

/** What the dispatcher needs. */
export interface DispatcherDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  /** Read at each dispatch (`external_url` may be set after construction). */
  config: Config;
  logger: Logger;
  /** Called after deliveries were created (the worker's wake-up). */
  onDeliveries?: () => void;
  /**
   * Called after an event's deliveries committed, with the format headers each body was rendered
   * with (the worker reuses them instead of rendering the body again for its first attempt).
   */
  onRendered?: (rendered: readonly RenderedDelivery[]) => void;
  /** Called with the number of events still pending after each round (a gauge). */
  onPending?: (n: number) => void;
  /** Poll interval, ms (default 200). */
  pollMs?: number;
  /** Events per batch (default 100). */
  batchSize?: number;
}

/** A delivery the dispatcher created, with what its body was rendered from and the format's headers. */
export interface RenderedDelivery {
  executionId: number;
  externalUrl: string;
  policy: Pick<WebhookPolicyRow, 'id' | 'name' | 'project_id'>;
  target: Pick<WebhookTargetRow, 'type' | 'payload_format' | 'options'>;
  headers: Record<string, string>;
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

/** The system switch `notification_enable`: true unless stored as JSON false. */
export async function notificationsEnabled(db: Kysely<Database> | Transaction<Database>): Promise<boolean> {
  const row = await db.selectFrom('configurations').select('value').where('key', '=', 'notification_enable').executeTakeFirst();
  if (!row) return true;
  try {
    const v: unknown = JSON.parse(row.value);
    return !(v === false || v === 'false' || v === 0);
  } catch {
    return row.value.trim() !== 'false';
  }
}

/** The format context of a (policy, target) pair. */
export function formatContext(externalUrl: string, policy: Pick<WebhookPolicyRow, 'id' | 'name' | 'project_id'>, target: Pick<WebhookTargetRow, 'type' | 'payload_format' | 'options'>): FormatContext {
  return {
    externalUrl,
    policy: { id: policy.id, name: policy.name, projectId: policy.project_id },
    target: { type: target.type, payloadFormat: target.payload_format, options: jsonObject(target.options) },
  };
}

/** Turns outbox rows into deliveries. */
export class Dispatcher {
  private readonly loop: OutboxLoop;

  constructor(private readonly deps: DispatcherDeps) {
    this.loop = new OutboxLoop({
      outbox: deps.outbox,
      pollMs: deps.pollMs ?? 200,
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

  /** Dispatches every pending event (batch after batch). Returns how many events were handled. */
  async runOnce(): Promise<number> {
    const batchSize = this.deps.batchSize ?? 100;
    let handled = 0;
    let created = 0;
    let afterSeq = 0;
    for (;;) {
      const rows = await this.deps.db
        .selectFrom('events')
        .selectAll()
        .where('dispatched_at', 'is', null)
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(batchSize)
        .execute();
      for (const row of rows) {
        afterSeq = row.seq;
        try {
          created += await this.dispatchOne(row);
        } catch (err) {
          // A broken row must not stop the outbox: log it and leave it pending for the next round.
          this.deps.logger.error({ err, event_seq: row.seq, event_id: row.id }, 'could not dispatch event');
        }
        handled++;
        if (this.stopped) break;
      }
      if (rows.length < batchSize || this.stopped) break;
    }
    if (created > 0) this.deps.onDeliveries?.();
    if (this.deps.onPending) {
      const r = await this.deps.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('dispatched_at', 'is', null).executeTakeFirst();
      this.deps.onPending(Number(r?.n ?? 0));
    }
    return handled;
  }

  /** Dispatches one event in one transaction; returns the number of deliveries created. */
  private async dispatchOne(row: EventRow): Promise<number> {
    const rendered: RenderedDelivery[] = [];
    const created = await this.deps.db.transaction().execute(async (trx) => {
      const fresh = await trx.selectFrom('events').select('dispatched_at').where('seq', '=', row.seq).executeTakeFirst();
      if (!fresh || fresh.dispatched_at !== null) return 0;
      const now = Date.now();
      let created = 0;
      if (row.type !== 'WEBHOOK_TARGET_DISABLED' && (await notificationsEnabled(trx))) {
        let event: WharfEvent | null = null;
        try {
          event = eventFromRow(row);
        } catch (err) {
          // Unreadable data can never be delivered; retrying it every poll would only fill the log.
          this.deps.logger.error({ err, event_seq: row.seq, event_id: row.id }, 'outbox event data is not valid JSON; marking it dispatched without deliveries');
        }
        if (event) created = await this.createDeliveries(trx, row, event, await this.matches(trx, row, event), now, rendered);
      }
      await trx.updateTable('events').set({ dispatched_at: now }).where('seq', '=', row.seq).execute();
      return created;
    });
    if (rendered.length > 0) this.deps.onRendered?.(rendered);
    return created;
  }

  private async matches(trx: Transaction<Database>, row: EventRow, event: WharfEvent): Promise<Match[]> {
    const out: Match[] = [];
    for (const r of await webhookDeliveryStore.subscribedTargets(trx, row.project_id, event.type)) {
      const policy = { id: r.policy_id, project_id: r.project_id, name: r.name, event_types: r.event_types, repo_filters: r.repo_filters, tag_filters: r.tag_filters };
      if (!policyMatches(policy, event)) continue;
      if (!supports(r.type, r.payload_format, event.type)) continue;
      out.push({ policy, target: { id: r.target_id, type: r.type, payload_format: r.payload_format, options: r.options } });
    }
    return out;
  }

  /**
   * Renders each matched target's body and inserts its execution and task, all executions in one
   * statement and all tasks in another. Returns the number of deliveries created (a target that
   * already has this event's execution, after a re-run, gets none).
   */
  private async createDeliveries(trx: Transaction<Database>, row: EventRow, event: WharfEvent, matches: readonly Match[], now: number, rendered: RenderedDelivery[]): Promise<number> {
    if (matches.length === 0) return 0;
    const execs: NewEventExecution[] = [];
    const failed = new Set<number>();
    const headers = new Map<number, Record<string, string>>();
    const externalUrl = this.deps.config.external_url;
    for (const m of matches) {
      let payload = '';
      let renderError: string | null = null;
      let vendorType = 'WEBHOOK';
      try {
        vendorType = vendorTypeFor(m.target.type);
        const r = formatterFor(m.target.type, m.target.payload_format)(event, formatContext(externalUrl, m.policy, m.target));
        payload = r.body;
        headers.set(m.target.id, r.headers);
      } catch (err) {
        renderError = `could not render the payload: ${err instanceof Error ? err.message : String(err)}`;
        this.deps.logger.error({ err, event_id: row.id, target_id: m.target.id }, 'webhook payload rendering failed');
        failed.add(m.target.id);
      }
      execs.push({
        policy_id: m.policy.id,
        target_id: m.target.id,
        event_seq: row.seq,
        event_id: row.id,
        event_type: row.type,
        vendor_type: vendorType,
        status: renderError ? 'Error' : 'Running',
        status_message: renderError ?? '',
        payload,
        start_time: now,
        end_time: renderError ? now : null,
      });
    }
    const ids = await webhookDeliveryStore.insertEventExecutions(trx, execs);
    const tasks: NewTask[] = [];
    const firstAt = now + firstDelay(this.deps.config.webhooks.retry_schedule);
    for (const [i, e] of execs.entries()) {
      const id = ids.get(e.target_id);
      if (id === undefined) continue; // already dispatched to this target (a re-run)
      const error = failed.has(e.target_id);
      const h = headers.get(e.target_id);
      const m = matches[i];
      if (!error && h && m) rendered.push({ executionId: id, externalUrl, policy: m.policy, target: m.target, headers: h });
      tasks.push({ execution_id: id, status: error ? 'Error' : 'Pending', status_message: e.status_message, next_attempt_at: error ? null : firstAt, creation_time: now, end_time: error ? now : null });
    }
    await webhookDeliveryStore.insertTasks(trx, tasks);
    return tasks.filter((t) => t.status === 'Pending').length;
  }
}
