/**
 * The delivery worker: attempts due webhook tasks over HTTP and records every attempt.
 *
 * Claiming. A task is due when `next_attempt_at <= now` and nobody holds a live lease on it. The
 * worker leases a batch of due tasks with one conditional UPDATE … RETURNING (lease_owner = this
 * worker, lease_until = now + the target's timeout + 10 s) that takes only the tasks still due
 * and unleased, so several processes can share the work, and a worker that dies mid-attempt
 * loses nothing: its lease expires and the task is claimed again (at-least-once). One joined
 * query then loads the batch's executions, targets and policies.
 *
 * Fairness. At most `per_target_concurrency` attempts per target, `per_project_concurrency` per
 * project (all targets of the project's policies; system-wide policies count as one project) and
 * `max_in_flight` in total run at once in a process. The worker counts its attempts in flight per
 * target and per project in memory; targets and projects at their cap are left out of the claim
 * query itself, so their backlog neither takes places in the claimed batch nor hides other work
 * behind it, and the slots they cannot use stay free for others. A slow or dead endpoint therefore
 * ties up at most its target's share, and a project with many of them at most its project's
 * share, of `max_in_flight`; attempts run concurrently and the claim loop never waits for one. With
 * due work left only behind caps, the loop sleeps until an attempt ends (which wakes it) instead
 * of polling. So that a capped project's backlog is not read again on every round, a scan that
 * read all due work leaves a mark (its time and the largest task id then), and the next scan
 * resumes after it while every group that was capped still is (see `scanMark`).
 *
 * An attempt (./delivery-attempt.ts) is decided, then recorded. `decideOutcome`
 * (./delivery-outcome.ts, pure) says what it means: Success, another attempt at a time (see
 * ./retry.ts) or Error. A transaction then records the attempt (request headers with secrets
 * redacted, body, response status, headers and the first `response_body_limit` bytes, duration,
 * error), bumps the task's run_count and writes the decided status to task and execution; a
 * success clears the target's `failing_since`, a failure goes to ./auto-disable.ts, which may
 * disable the target (a delivery that would have been retried then ends Stopped). Attempts that
 * finish close together share that transaction (group commit); nothing is acknowledged before it
 * commits, so a crash in between only means the attempt is made again. Every statement is in
 * ../db/webhook-delivery-store.ts. History is pruned by ./history-pruning.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Database, EventRow } from '../db/index.ts';
import {
  outboxStore,
  projectKey,
  webhookDeliveryStore as store,
  type AttemptInsert,
  type ClaimedDelivery,
  type ExecutionOutcome,
  type ProjectKey,
  type ScanMark,
  type TaskOutcome,
} from '../db/index.ts';
import { eventFromRow, type Outbox } from '../events/index.ts';
import { formatContext } from './dispatcher.ts';
import { SpanKind, contextFromTraceparent, markSpanError, tracingActive, withSpan, withTraceHeaders, type Metrics } from '../observability/index.ts';
import { formatterFor } from './formats/index.ts';
import type { WebhookHttpClient } from './http-client.ts';
import { attemptOnce, type AttemptRecord } from './delivery-attempt.ts';
import { decideOutcome, isFinal, outcomeText, stoppedByDisable } from './delivery-outcome.ts';
import { recordFailure } from './auto-disable.ts';
import { pruneHistory } from './history-pruning.ts';

/**
 * How long a lease outlives the attempt's own deadline: time to record the outcome. A worker that
 * dies mid-attempt delays that delivery by at most timeout + this margin.
 */
export const leaseMarginMs = 10_000;

/** What the worker needs. */
export interface DeliveryWorkerDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  config: Config;
  logger: Logger;
  client: WebhookHttpClient;
  metrics?: Metrics;
  /** Lease owner name (default: a random id per worker). */
  workerId?: string;
  /** Longest sleep between claim rounds when idle, ms (default 500). */
  maxIdleMs?: number;
  /** Interval of history pruning, ms (default 1 hour; the first run is 10 s after start). */
  pruneEveryMs?: number;
}

/** A leased task with its execution, target and policy, loaded by the claim. */
type Loaded = ClaimedDelivery;

/** A finished attempt waiting for the next batch write. */
interface PendingResult {
  l: Loaded;
  record: AttemptRecord;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Finished attempts recorded per transaction at most (a larger backlog takes several). */
const resultBatchMax = 512;

/**
 * The format headers stored with an execution (a JSON object of strings), or null when there are
 * none (a row written before they were stored) or they cannot be read.
 */
export function storedFormatHeaders(json: string | null): Record<string, string> | null {
  if (json === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') return null;
    out[k] = x;
  }
  return out;
}

/** The keys whose count has reached `cap`. */
function atCap<K>(counts: ReadonlyMap<K, number>, cap: number): K[] {
  const out: K[] = [];
  for (const [k, n] of counts) if (n >= cap) out.push(k);
  return out;
}

/** True when every element of `a` is in `b`. */
function subsetOf<K>(a: readonly K[], b: readonly K[]): boolean {
  if (a.length > b.length) return false;
  const set = new Set(b);
  return a.every((x) => set.has(x));
}

/** Adds `delta` to the count of `key`, dropping counts that reach zero. */
function count<K>(counts: Map<K, number>, key: K, delta: number): void {
  const n = (counts.get(key) ?? 0) + delta;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}

/** Attempts due tasks; see the module comment. */
export class DeliveryWorker {
  readonly workerId: string;
  private readonly inFlight = new Map<number, { targetId: number; done: Promise<void>; abort: AbortController }>();
  /** Attempts in flight per target id, and per project key (only non-zero counts are kept). */
  private readonly perTarget = new Map<number, number>();
  private readonly perProject = new Map<ProjectKey, number>();
  /**
   * What the last complete claim scan left behind: every due task it saw and did not take belonged
   * to these targets and projects, which were at their cap. While they all still are, the next
   * scan resumes after the mark instead of reading their backlog again; `until` forces a full scan
   * now and then (a task whose lease expired is due again behind the mark).
   */
  private scanMark: (ScanMark & { targets: readonly number[]; projects: readonly ProjectKey[]; until: number }) | null = null;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;
  private again = false;
  private roundScheduled = false;
  private readonly pendingResults: PendingResult[] = [];
  private flushing = false;

  constructor(private readonly deps: DeliveryWorkerDeps) {
    this.workerId = deps.workerId ?? `worker-${randomUUID()}`;
  }

  /** Starts claiming (and pruning history periodically). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const every = this.deps.pruneEveryMs ?? 3_600_000;
    const prune = () => {
      this.pruneHistory().catch((err: unknown) => this.deps.logger.error({ err }, 'webhook history pruning failed'));
    };
    this.pruneTimer = setTimeout(() => {
      prune();
      this.pruneTimer = setInterval(prune, every);
      this.pruneTimer.unref();
    }, Math.min(10_000, every));
    this.pruneTimer.unref();
    this.wake();
  }

  /**
   * Stops claiming, waits up to `graceMs` for attempts in flight, then aborts the rest (their
   * leases are released so the next start retries them at once).
   */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pruneTimer) clearTimeout(this.pruneTimer); // also clears an interval
    this.timer = null;
    await this.round;
    const all = () => Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
    let graceTimer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((r) => {
      graceTimer = setTimeout(() => r('timeout'), graceMs);
    });
    const first = await Promise.race([all().then(() => 'done' as const), grace]);
    clearTimeout(graceTimer);
    if (first === 'timeout') {
      for (const f of this.inFlight.values()) f.abort.abort();
      await all();
    }
  }

  /** Attempts in flight right now. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * Asks for a claim round soon (new deliveries, a freed slot). The round starts on a microtask, so
   * the slots a committed batch of results frees at once are refilled by one round, without
   * waiting for the event loop's next turn (which, under load, would add to delivery latency).
   */
  wake(): void {
    if (this.stopped) return;
    if (this.round) {
      this.again = true;
      return;
    }
    if (this.roundScheduled) return;
    this.roundScheduled = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    queueMicrotask(() => {
      this.roundScheduled = false;
      this.startRound();
    });
  }

  private startRound(): void {
    if (this.stopped || this.round) return;
    this.round = (async () => {
      let sleep = this.deps.maxIdleMs ?? 500;
      try {
        do {
          this.again = false;
          sleep = await this.claimRound();
          if (sleep === 0) this.again = true;
        } while (this.again && !this.stopped);
      } catch (err) {
        this.deps.logger.error({ err }, 'webhook claim round failed');
      } finally {
        this.round = null;
        if (!this.stopped) {
          this.timer = setTimeout(() => this.wake(), sleep);
          this.timer.unref();
        }
      }
    })();
  }

  /**
   * Claims and starts due tasks: one query for candidates, then one transaction with one UPDATE
   * that leases the chosen ones, one joined query that loads them and one UPDATE that marks them
   * Running. Returns how long to sleep before the next round, ms.
   */
  private async claimRound(): Promise<number> {
    const { db, config } = this.deps;
    const maxIdle = this.deps.maxIdleMs ?? 500;
    const perTargetLimit = config.webhooks.per_target_concurrency;
    const perProjectLimit = config.webhooks.per_project_concurrency;
    const free = config.webhooks.max_in_flight - this.inFlight.size;
    const now = Date.now();
    if (free > 0) {
      const exclude = { targets: atCap(this.perTarget, perTargetLimit), projects: atCap(this.perProject, perProjectLimit) };
      const capped = exclude.targets.length > 0 || exclude.projects.length > 0;
      const mark = this.scanMark;
      const resume = mark !== null && now < mark.until && subsetOf(mark.targets, exclude.targets) && subsetOf(mark.projects, exclude.projects) ? mark : null;
      // Read before the scan, so that a task committed meanwhile has a larger id and is read next time.
      const maxId = capped ? await store.maxTaskId(db) : 0;
      const limit = Math.min(free * 2, 512);
      const candidates = await store.dueCandidates(db, now, exclude, limit, resume);
      const chosen: Array<{ taskId: number; leaseUntil: number }> = [];
      const targets = new Map(this.perTarget);
      const projects = new Map(this.perProject);
      let full = false;
      for (const c of candidates) {
        if (chosen.length >= free) {
          full = true;
          break;
        }
        const n = targets.get(c.target_id) ?? 0;
        const m = projects.get(c.project_key) ?? 0;
        if (n >= perTargetLimit || m >= perProjectLimit) continue;
        targets.set(c.target_id, n + 1);
        projects.set(c.project_key, m + 1);
        chosen.push({ taskId: c.task_id, leaseUntil: now + (c.timeout_ms ?? config.webhooks.timeout_ms) + leaseMarginMs });
      }
      if (chosen.length > 0) {
        const runnable = await db.transaction().execute(async (trx) => {
          const won = await store.lease(trx, this.workerId, now, chosen);
          const runnable: Loaded[] = [];
          for (const l of await store.loadClaimed(trx, won)) {
            if (isFinal(l.task.status)) {
              await store.releaseFinished(trx, l.task.id);
            } else if (l.policy.enabled !== 1) {
              await store.stopDelivery(trx, l.task.id, l.exec.id, 'stopped: the policy is disabled', Date.now());
            } else if (l.target.enabled !== 1) {
              await store.stopDelivery(trx, l.task.id, l.exec.id, `stopped: the target is disabled${l.target.disabled_reason ? ` (${l.target.disabled_reason})` : ''}`, Date.now());
            } else {
              runnable.push(l);
            }
          }
          await store.markRunning(trx, this.workerId, Date.now(), runnable.map((l) => l.task.id));
          return runnable;
        });
        const headers = await this.formatHeaders(runnable);
        for (const [i, l] of runnable.entries()) this.launch(l, headers[i] ?? { 'content-type': 'application/json' });
      }
      // More may be due right away: the scan was cut at `limit` (the next round leaves out whoever
      // this one took to their cap).
      if (candidates.length >= limit) return 0;
      // The scan read every due task (after the mark it resumed from, if any, whose tasks belong to
      // groups still at their cap): what it did not take belongs to a target or project at its cap
      // (excluded, or filled by this round), unless the global limit cut the loop short.
      if (capped && !full) {
        this.scanMark = { at: now, maxId, targets: atCap(targets, perTargetLimit), projects: atCap(projects, perProjectLimit), until: resume ? resume.until : now + maxIdle };
      }
    }
    // Sleep until the next task falls due (bounded, so leases that expire and other processes' work are noticed).
    const due = await store.nextDue(db, now);
    if (due === null) return maxIdle;
    // Work due already but not taken waits behind a cap (or the global limit): the end of an
    // attempt frees a slot and wakes the loop, so there is nothing to poll for meanwhile.
    if (due <= now) return maxIdle;
    return Math.max(5, Math.min(maxIdle, due - Date.now()));
  }

  private launch(l: Loaded, formatHeaders: Record<string, string>): void {
    const abort = new AbortController();
    const taskId = l.task.id;
    const targetId = l.target.id;
    const project = projectKey(l.policy.project_id);
    count(this.perTarget, targetId, 1);
    count(this.perProject, project, 1);
    const done = this.runTask(l, formatHeaders, abort.signal)
      .catch((err: unknown) => this.deps.logger.error({ err, task_id: taskId }, 'webhook attempt failed unexpectedly'))
      .finally(() => {
        this.inFlight.delete(taskId);
        count(this.perTarget, targetId, -1);
        count(this.perProject, project, -1);
        this.wake();
      });
    this.inFlight.set(taskId, { targetId, done, abort });
  }

  /**
   * The headers each delivery's payload format requires: those stored with the execution, i.e. the
   * ones its body was rendered with at dispatch (whatever the target's format options, the policy
   * or the external URL became since). An execution written before headers were stored (NULL)
   * gets them derived again from the event, used only if rendering again gives the stored body
   * (the target's format or options may have changed since), else just
   * `content-type: application/json`.
   */
  private async formatHeaders(batch: readonly Loaded[]): Promise<Array<Record<string, string>>> {
    const { db } = this.deps;
    const out: Array<Record<string, string> | null> = [];
    const missing: number[] = [];
    for (const l of batch) {
      const stored = storedFormatHeaders(l.exec.headers);
      out.push(stored);
      if (!stored) missing.push(l.exec.event_seq);
    }
    if (missing.length === 0) return out.map((h) => h ?? {});
    const events = new Map<number, EventRow>();
    for (const e of await outboxStore.eventsBySeq(db, [...new Set(missing)])) events.set(e.seq, e);
    return batch.map((l, i) => out[i] ?? this.renderHeaders(l, events.get(l.exec.event_seq)));
  }

  private renderHeaders(l: Loaded, row: EventRow | undefined): Record<string, string> {
    const fallback = { 'content-type': 'application/json' };
    if (!row || row.id !== l.exec.event_id) return fallback;
    try {
      const rendered = formatterFor(l.target.type, l.target.payload_format)(eventFromRow(row), formatContext(this.deps.config.external_url, l.policy, l.target));
      // Use them only if they belong to the stored body (the target's format or options may have changed since).
      return rendered.body === l.exec.payload ? rendered.headers : fallback;
    } catch {
      return fallback;
    }
  }

  private async runTask(l: Loaded, formatHeaders: Record<string, string>, signal: AbortSignal): Promise<void> {
    const { db, config, logger } = this.deps;
    const attempt = () =>
      attemptOnce(this.deps.client, config, {
        target: l.target,
        eventId: l.exec.event_id,
        eventType: l.exec.event_type,
        delivery: String(l.exec.id),
        body: l.exec.payload,
        // With tracing on, the receiver gets the attempt span's traceparent.
        formatHeaders: withTraceHeaders(formatHeaders),
        signal,
      });
    const { record } = tracingActive() ? await this.tracedAttempt(l, attempt) : await attempt();
    if (signal.aborted && record.responseStatus === null) {
      // Shutdown cut the attempt short: not an attempt the receiver answered; retry on the next start.
      await store.releaseLease(db, l.task.id, this.workerId, l.task.run_count === 0 ? 'Pending' : 'Running', Date.now());
      return;
    }
    this.deps.metrics?.webhookDeliveries.inc({ type: l.target.type, outcome: record.verdict });
    this.deps.metrics?.webhookLatency.observe(record.durationMs / 1000);
    await this.finish(l, record);
    if (record.verdict !== 'success') {
      logger.debug({ task_id: l.task.id, target_id: l.target.id, status: record.responseStatus, error: record.error }, 'webhook attempt failed');
    }
  }

  /**
   * An attempt in a span, a child of the dispatch span that created the delivery (the execution's
   * trace context): event, policy and target ids, attempt number, status and verdict; never the
   * URL or a header (they may hold secrets).
   */
  private tracedAttempt<T extends { record: AttemptRecord }>(l: Loaded, attempt: () => Promise<T>): Promise<T> {
    const attributes = {
      'wharf.event.id': l.exec.event_id,
      'wharf.event.type': l.exec.event_type,
      'wharf.webhook.execution_id': l.exec.id,
      'wharf.webhook.policy_id': l.policy.id,
      'wharf.webhook.target_id': l.target.id,
      'wharf.webhook.target_type': l.target.type,
      'wharf.webhook.attempt': l.task.run_count + 1,
    };
    return withSpan('webhook.deliver', { kind: SpanKind.CLIENT, parent: contextFromTraceparent(l.exec.trace_context), attributes }, async (span) => {
      const out = await attempt();
      const { record } = out;
      if (record.responseStatus !== null) span?.setAttribute('http.response.status_code', record.responseStatus);
      span?.setAttribute('wharf.webhook.verdict', record.verdict);
      if (span && record.verdict !== 'success') markSpanError(span, record.error ?? `status ${record.responseStatus ?? 'none'}`);
      return out;
    }) as Promise<T>;
  }

  /**
   * Records an attempt and moves the task, execution and target health on. Attempts that finish
   * close together are written together (group commit): the promise resolves once the batch
   * holding this one has committed.
   */
  private finish(l: Loaded, record: AttemptRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pendingResults.push({ l, record, resolve, reject });
      if (this.flushing) return;
      this.flushing = true;
      // After the current turn's I/O callbacks, so that attempts finishing together share a batch.
      setImmediate(() => void this.flushResults());
    });
  }

  /** Writes pending results, one transaction per batch (see `record`). */
  private async flushResults(): Promise<void> {
    try {
      while (this.pendingResults.length > 0) await this.record(this.pendingResults.splice(0, resultBatchMax));
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Records a batch of results in one transaction. If that fails, results whose delivery no longer
   * exists are dropped first: deleting a policy, or removing a target from one, deletes its
   * deliveries with their history while attempts may still be in flight, and their results have
   * nowhere to go (a foreign key refuses the attempt rows). The rest is recorded again, together
   * if something was dropped, else one result at a time so that one bad result cannot sink the
   * others. Only the failure path pays for the check.
   */
  private async record(batch: readonly PendingResult[]): Promise<void> {
    const { db, logger } = this.deps;
    try {
      await db.transaction().execute((trx) => this.recordBatch(trx, batch));
      for (const p of batch) p.resolve();
      return;
    } catch (err) {
      let live: Set<number>;
      try {
        live = await store.existingTasks(db, batch.map((p) => p.l.task.id));
      } catch {
        live = new Set(batch.map((p) => p.l.task.id)); // cannot tell: treat all as live, so each is settled below
      }
      const rest = batch.filter((p) => live.has(p.l.task.id));
      if (rest.length < batch.length) {
        const gone = batch.filter((p) => !live.has(p.l.task.id));
        logger.debug({ results: gone.length, policy_ids: [...new Set(gone.map((p) => p.l.policy.id))] }, 'dropped the results of webhook attempts whose delivery was deleted with its policy or target');
        for (const p of gone) p.resolve();
        if (rest.length > 0) await this.record(rest);
        return;
      }
      const [only] = batch;
      if (batch.length === 1 && only) {
        only.reject(err);
        return;
      }
      logger.warn({ err, results: batch.length }, 'recording a batch of webhook attempts failed; recording them one by one');
      for (const p of batch) await this.record([p]);
    }
  }

  /**
   * Records finished attempts in `trx`, in order. Successes are written with one statement per
   * table; a failed attempt (which may disable its target and stop its other deliveries) is
   * written on its own, after everything before it, exactly as if each result had its own
   * transaction.
   */
  private async recordBatch(trx: Transaction<Database>, batch: readonly PendingResult[]): Promise<void> {
    const schedule = this.deps.config.webhooks.retry_schedule;
    const now = Date.now();
    let attempts: AttemptInsert[] = [];
    let tasks: TaskOutcome[] = [];
    let execs: ExecutionOutcome[] = [];
    let answered = new Set<number>();
    const writeSuccesses = async () => {
      if (attempts.length === 0) return;
      await store.insertAttempts(trx, attempts);
      await store.clearFailing(trx, [...answered]);
      await store.updateTasks(trx, tasks);
      await store.updateExecutions(trx, execs);
      attempts = [];
      tasks = [];
      execs = [];
      answered = new Set();
    };
    for (const { l, record } of batch) {
      const attempt = l.task.run_count + 1;
      const row: AttemptInsert = {
        task_id: l.task.id,
        attempt,
        started_at: record.startedAt,
        duration_ms: record.durationMs,
        url: record.url,
        request_headers: JSON.stringify(record.requestHeaders),
        request_body: record.requestBody,
        response_status: record.responseStatus,
        response_headers: record.responseHeaders ? JSON.stringify(record.responseHeaders) : null,
        response_body: record.responseBody,
        error: record.error,
      };
      const decided = decideOutcome(attempt, record, schedule, now);
      if (decided.status === 'Success') {
        attempts.push(row);
        answered.add(l.target.id);
        tasks.push({ id: l.task.id, status: decided.status, status_message: decided.message, run_count: attempt, next_attempt_at: null, update_time: now, end_time: now });
        execs.push({ id: l.exec.id, status: decided.status, status_message: decided.message, end_time: now });
        continue;
      }
      await writeSuccesses();
      await store.insertAttempts(trx, [row]);
      const disabled = await recordFailure(this.deps, trx, l, outcomeText(record), now);
      const outcome = disabled === null ? decided : stoppedByDisable(decided, disabled);
      const end = outcome.nextAttemptAt === null ? now : null;
      await store.updateTasks(trx, [{ id: l.task.id, status: outcome.status, status_message: outcome.message, run_count: attempt, next_attempt_at: outcome.nextAttemptAt, update_time: now, end_time: end }]);
      await store.updateExecutions(trx, [{ id: l.exec.id, status: outcome.status, status_message: outcome.message, end_time: end }]);
    }
    await writeSuccesses();
  }

  /**
   * Deletes finished delivery history (executions, their tasks and attempts) older than
   * `history_max_age_days`, and beyond the newest `history_max_per_policy` executions of each
   * policy. Unfinished deliveries are never pruned. Returns the number of executions deleted.
   */
  pruneHistory(now = Date.now()): Promise<number> {
    return pruneHistory(this.deps.db, this.deps.config.webhooks, this.deps.logger, now);
  }
}
