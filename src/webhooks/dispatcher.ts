/**
 * The webhook dispatcher: the outbox consumer 'webhooks' (../events/consumers.ts) that turns
 * events into webhook deliveries. It takes every event type; the runner hands it batches (of
 * `batchSize`) in the transaction that moves its cursor, and for each batch it
 *   1. leaves out the events marked dispatched (`dispatched_at`): only events written before the
 *      cursor existed (an upgrade) carry the mark; the dispatcher itself no longer writes it (an
 *      UPDATE of every event, i.e. of every manifest GET's PULL_ARTIFACT: the cursor and the
 *      unique index below already make each dispatch happen once);
 *   2. if the system switch `notification_enable` (./settings.ts; read once per batch) is off, or
 *      for an operational event (WEBHOOK_TARGET_DISABLED), that is all: Harbor drops events while
 *      notifications are off, it does not queue them; an event whose data is not valid JSON is
 *      likewise passed over (and logged);
 *   3. otherwise finds the matching targets (subscribed targets looked up once per (project,
 *      event type) of the batch): enabled policy and target; the event's project's policies plus
 *      system-wide ones (project_id NULL); `event_types` containing the type; `repo_filters` globs
 *      against the full repository name and `tag_filters` globs against the event's tag (see
 *      ../domain/glob.ts, matched in linear time; an event without a repository or tag matches
 *      only empty filters); `status_filters` (./status-filters.ts: the outcome of scan,
 *      replication and retention events, the level of quota warnings; read once per batch); with
 *      `fold_platforms`, not the PUSH_ARTIFACT of an image manifest pushed by digest (see
 *      {@link foldedAway}); a payload format that supports the event type;
 *   4. renders each body once (a rendering error becomes an Error execution; an index's
 *      PUSH_ARTIFACT keeps its `platforms` list only for folding policies, so that the bodies of
 *      the others stay as they were before folding existed) and inserts one
 *      execution (trigger EVENT, status Running) with the body AND the format's headers (JSON in
 *      `headers`: every attempt and redelivery sends exactly that pair, whatever the target's
 *      options become later) and one task (Pending, due now) per target: all
 *      executions of the batch in one INSERT, all tasks in another (chunked; see
 *      ../db/webhook-delivery-store.ts).
 * The runner's cursor makes each batch handled once; the unique (event_seq, target_id) index on
 * EVENT executions keeps even a repeat harmless. A batch that fails is retried event by event, and
 * an event that fails alone is parked and retried alone (the runner's rules), so one broken row
 * holds nothing else back. After a commit it wakes the delivery worker; after a round it reports
 * the pending gauge (events after its cursor plus its parked ones), counted at most once a second.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Database, EventRow, WebhookPolicyRow, WebhookTargetRow } from '../db/index.ts';
import { outboxStore, webhookDeliveryStore, type NewEventExecution, type NewTask, type SubscribedTarget } from '../db/index.ts';
import type { Consumer, OutboxRecord, WharfEvent } from '../events/index.ts';
import { filterMatches, isIndexMediaType, isManifestMediaType, storedObject, storedStringArray } from '../domain/index.ts';
import { SpanKind, contextFromTraceparent, linkTo, linkToActive, traceparent, tracingActive, withSpan, type Link } from '../observability/index.ts';
import { formatterFor, supports, vendorTypeFor } from './formats/index.ts';
import { readStatusFilters, statusFiltersMatch, type StatusFilters } from './status-filters.ts';
import type { FormatContext } from './formats/types.ts';
import { firstDelay } from './retry.ts';
import { notificationsEnabled } from './settings.ts';

/** The dispatcher's consumer name: the key of its cursor in `outbox_cursors` (do not rename). */
export const dispatcherName = 'webhooks';

/** What the dispatcher needs. */
export interface DispatcherDeps {
  /** For the pending gauge. */
  db: Kysely<Database>;
  /** Read at each dispatch (`external_url` may be set after construction). */
  config: Config;
  logger: Logger;
  /** Called after deliveries were created (the worker's wake-up). */
  onDeliveries?: () => void;
  /** Called after each dispatching transaction that created executions committed, with how many it created. */
  onCommitted?: (executions: number) => void;
  /** Called with the number of events not yet dispatched after a round, at most once per `pendingEveryMs` (a gauge). */
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
  /** The policy folds multi-platform pushes: its bodies carry an index's `platforms`. */
  fold: boolean;
}

/** A subscribed target with its policy's status filters read (null: unreadable, matches nothing). */
interface Subscribed {
  row: SubscribedTarget;
  filters: StatusFilters | null;
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
  if (!storedStringArray(policy.event_types).includes(event.type)) return false;
  if (!filterMatches(storedStringArray(policy.repo_filters), eventRepository(event))) return false;
  return filterMatches(storedStringArray(policy.tag_filters), eventTag(event));
}

/**
 * True for the events a policy with `fold_platforms` does not get: the PUSH_ARTIFACT of an image
 * manifest (OCI or Docker, not an index, not an artifact with an `artifactType`) pushed by digest,
 * which is how a client pushes the platform manifests of a multi-platform image before the index
 * that lists them; the index's PUSH_ARTIFACT carries their digests and platforms instead. A lone
 * image pushed by digest only is left out too (the push cannot know whether an index will follow);
 * pushed by tag, or tagged later (CREATE_TAG), it is delivered.
 */
export function foldedAway(event: WharfEvent): boolean {
  if (event.type !== 'PUSH_ARTIFACT' || event.artifact.tag !== null || event.artifact.artifactType !== null) return false;
  const mt = event.artifact.mediaType;
  return isManifestMediaType(mt) && !isIndexMediaType(mt);
}

/** `event` without an index's `platforms` list (Wharf's extension for folding policies); other events as they are. */
export function withoutPlatforms(event: WharfEvent): WharfEvent {
  if (event.type !== 'PUSH_ARTIFACT' || event.platforms === undefined) return event;
  const { platforms: _platforms, ...rest } = event;
  return rest;
}

/** The format context of a (policy, target) pair. */
export function formatContext(externalUrl: string, policy: Pick<WebhookPolicyRow, 'id' | 'name' | 'project_id'>, target: Pick<WebhookTargetRow, 'type' | 'payload_format' | 'options'>): FormatContext {
  return {
    externalUrl,
    policy: { id: policy.id, name: policy.name, projectId: policy.project_id },
    target: { type: target.type, payloadFormat: target.payload_format, options: storedObject(target.options) },
  };
}

/** What one dispatching transaction did. */
interface BatchResult {
  /** Executions it inserted. */
  executions: number;
  /** Deliveries (Pending tasks) it created. */
  created: number;
}

/** The dispatcher as an outbox consumer; register it with `consumers.register(webhookDispatcher(deps))`. */
export function webhookDispatcher(deps: DispatcherDeps): Consumer {
  /** When the pending gauge was last counted (ms, monotonic); -Infinity: never. */
  let pendingCountedAt = Number.NEGATIVE_INFINITY;
  return {
    name: dispatcherName,
    types: 'all',
    // Relayed events (src/webhooks/relay/) are delivered like the others.
    relayed: true,
    batchSize: deps.batchSize ?? 100,
    pollMs: deps.pollMs ?? 200,
    coalesceMs: deps.coalesceMs,
    // A batch no enabled policy subscribes to (the pulls, often) costs one read, not a transaction.
    async wants(batch) {
      const records = deliverable(batch);
      if (records.length === 0) return false;
      const subscriptions = (await webhookDeliveryStore.subscriptions(deps.db)).map((p) => ({ projectId: p.project_id, types: new Set(storedStringArray(p.event_types)) }));
      return records.some((r) => subscriptions.some((p) => (p.projectId === null || p.projectId === r.row.project_id) && p.types.has(r.row.type)));
    },
    async handle(batch, trx) {
      // The consumer batch's span links the events' traces (a batch holds events of many traces).
      const r = tracingActive()
        ? await withSpan('outbox.dispatch', { kind: SpanKind.CONSUMER, attributes: { 'wharf.consumer': dispatcherName, 'wharf.batch.size': batch.length }, links: batch.map((b) => linkTo(b.row.trace_context)).filter((l): l is Link => l !== undefined) }, () => dispatchBatch(deps, batch, trx))
        : await dispatchBatch(deps, batch, trx);
      return () => {
        if (r.executions > 0) deps.onCommitted?.(r.executions);
        if (r.created > 0) deps.onDeliveries?.();
      };
    },
    async afterRound(position) {
      // Rounds run at every poll, so the gauge is never staler than `pendingEveryMs` plus a poll.
      if (!deps.onPending) return;
      const now = performance.now();
      if (now - pendingCountedAt < (deps.pendingEveryMs ?? 1000)) return;
      pendingCountedAt = now;
      deps.onPending(await outboxStore.pendingCount(deps.db, dispatcherName, position));
    },
  };
}

/** The records of `batch` that may be delivered: not marked dispatched (before an upgrade), not operational events. */
function deliverable(batch: readonly OutboxRecord[]): OutboxRecord[] {
  return batch.filter((r) => r.row.dispatched_at === null && r.row.type !== 'WEBHOOK_TARGET_DISABLED');
}

/**
 * Inside the consumer's transaction: unless notifications are off, renders and inserts the
 * deliveries of the events of `batch` that are neither marked dispatched (before an upgrade) nor
 * operational events.
 */
async function dispatchBatch(deps: DispatcherDeps, batch: readonly OutboxRecord[], trx: Transaction<Database>): Promise<BatchResult> {
  const now = Date.now();
  const records = deliverable(batch);
  if (records.length === 0 || !(await notificationsEnabled(trx))) return { executions: 0, created: 0 };
  const subscribed = new Map<string, Subscribed[]>();
  const planned: Planned[] = [];
  for (const { row, event } of records) {
    if (!event) {
      // Unreadable data can never be delivered; retrying it would only fill the log.
      deps.logger.error({ event_seq: row.seq, event_id: row.id }, 'outbox event data is not valid JSON; passing it over without deliveries');
      continue;
    }
    const key = `${row.project_id ?? ''}\u0000${event.type}`;
    let targets = subscribed.get(key);
    if (!targets) {
      targets = (await webhookDeliveryStore.subscribedTargets(trx, row.project_id, event.type)).map((r) => ({ row: r, filters: readStatusFilters(r.status_filters) }));
      subscribed.set(key, targets);
    }
    const plain = withoutPlatforms(event);
    const dispatchOne = (): Planned[] => matchesOf(targets, event).map((m) => render(deps, row, m.fold ? event : plain, m, now));
    planned.push(...(tracingActive() ? tracedDispatch(row, dispatchOne) : dispatchOne()));
  }
  return insertDeliveries(deps, trx, planned, now);
}

/**
 * With tracing on: the event's dispatch as a span, a child of the span that wrote the event (its
 * stored traceparent; the manifest PUT's) linked to the batch's span, whose traceparent each
 * delivery row keeps for the delivery attempts' spans.
 */
function tracedDispatch(row: EventRow, dispatch: () => Planned[]): Planned[] {
  const parent = contextFromTraceparent(row.trace_context);
  const batchLink = parent ? linkToActive() : undefined;
  return withSpan('webhook.dispatch', { kind: SpanKind.INTERNAL, parent, links: batchLink ? [batchLink] : undefined, attributes: { 'wharf.event.id': row.id, 'wharf.event.type': row.type, 'wharf.event.seq': row.seq } }, (span) => {
    const planned = dispatch();
    const tc = traceparent();
    for (const p of planned) p.exec.trace_context = tc;
    span?.setAttribute('wharf.webhook.deliveries', planned.length);
    return planned;
  }) as Planned[];
}

/** Renders one (event, target) body and its format headers: a Running execution, or an Error one when rendering throws. */
function render(deps: DispatcherDeps, row: EventRow, event: WharfEvent, m: Match, now: number): Planned {
  const externalUrl = deps.config.external_url;
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
    deps.logger.error({ err, event_id: row.id, target_id: m.target.id }, 'webhook payload rendering failed');
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
async function insertDeliveries(deps: DispatcherDeps, trx: Transaction<Database>, planned: readonly Planned[], now: number): Promise<BatchResult> {
  if (planned.length === 0) return { executions: 0, created: 0 };
  const created = await webhookDeliveryStore.insertEventExecutions(
    trx,
    planned.map((p) => p.exec),
  );
  const ids = new Map<string, number>();
  for (const c of created) ids.set(`${c.event_seq}:${c.target_id}`, c.id);
  const firstAt = now + firstDelay(deps.config.webhooks.retry_schedule);
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
  return { executions: created.length, created: pending };
}

/** One delivery to create: its execution row (body and format headers; status Error when rendering failed). */
interface Planned {
  exec: NewEventExecution;
}

/** The (policy, target) pairs of `targets` whose filters, folding and payload format accept `event`. */
function matchesOf(targets: readonly Subscribed[], event: WharfEvent): Match[] {
  const out: Match[] = [];
  const folded = foldedAway(event);
  for (const { row: r, filters } of targets) {
    const policy = { id: r.policy_id, project_id: r.project_id, name: r.name, event_types: r.event_types, repo_filters: r.repo_filters, tag_filters: r.tag_filters };
    const fold = r.fold_platforms === 1;
    if (!policyMatches(policy, event) || !statusFiltersMatch(filters, event)) continue;
    if (fold && folded) continue;
    if (!supports(r.type, r.payload_format, event.type)) continue;
    out.push({ policy, target: { id: r.target_id, type: r.type, payload_format: r.payload_format, options: r.options }, fold });
  }
  return out;
}
