/**
 * The webhook engine's hot-path SQL, written once as plain statements and run as compiled
 * queries (no query building per call), each one covering a whole batch:
 *
 *   dispatch   per batch of outbox events (read and marked by ./outbox-store.ts): one SELECT of
 *              subscribed targets per (project, event type), one INSERT of every execution of
 *              the batch (body and format headers), one INSERT of their tasks;
 *   claim      one SELECT of due candidates (leaving out targets and projects at their cap; while
 *              some cap is reached, one SELECT of the largest task id, so that the next scan can
 *              resume after what this one read), one conditional UPDATE … RETURNING that leases the
 *              chosen ones, one joined SELECT that loads task, execution, target and policy for
 *              all of them, one UPDATE that marks them Running;
 *   record     per batch of finished attempts: one INSERT of the attempt rows, one UPDATE of the
 *              tasks, one of the executions, one that clears `failing_since` of the targets that
 *              answered.
 *
 * It is the one place that writes the webhook tables (webhook_*) outside the policy API: besides
 * the batches above, the delivery worker's one-row writes (a stopped or released task, a failing
 * or disabled target and the deliveries it stops), the engine's redelivery and history pruning.
 *
 * The lease condition (`next_attempt_at <= now` and no live lease) is checked by the UPDATE
 * itself, so two processes never both win a task. Every statement takes an executor: the Kysely
 * handle or an open transaction on it.
 */
import type { ProjectRow, WebhookAttemptRow, WebhookExecutionRow, WebhookPolicyRow, WebhookTargetRow, WebhookTaskRow } from './schema.ts';
import { chunks, query, run, valuesList, type Executor } from './sql.ts';
import { dialectOf, intListForms, isPostgres, type Dialect } from './dialect.ts';
import { notify } from './notifications.ts';

/** An enabled target of an enabled policy that may receive an event (see `subscribedTargets`). */
export interface SubscribedTarget {
  policy_id: number;
  project_id: number | null;
  name: string;
  event_types: string;
  repo_filters: string;
  tag_filters: string;
  /** JSON object of status filters (migration 0025). */
  status_filters: string;
  /** 1: the policy folds multi-platform pushes (migration 0025). */
  fold_platforms: number;
  target_id: number;
  type: string;
  payload_format: string;
  options: string;
}

/**
 * The key a delivery's project is counted under for per-project concurrency: the policy's project
 * id, or 0 for a system-wide policy (project ids start at 1).
 */
export type ProjectKey = number;

/** The project key of a policy's `project_id`. */
export function projectKey(projectId: number | null): ProjectKey {
  return projectId ?? 0;
}

/** A due task the claim may take. */
export interface DueCandidate {
  task_id: number;
  target_id: number;
  /** The policy's project (see {@link projectKey}). */
  project_key: ProjectKey;
  /** The target's own timeout, ms (null: the configured default). */
  timeout_ms: number | null;
}

/**
 * Where a claim scan may resume: every due task with `next_attempt_at <= at` and `id <= maxId` was
 * seen by an earlier scan (task ids only grow: AUTOINCREMENT, one writer at a time).
 */
export interface ScanMark {
  at: number;
  maxId: number;
}

/** The task columns and conditions of a claim scan: due at `now` and not leased. */
const dueTask = `(lease_until IS NULL OR lease_until < ?)`;

/** Targets and projects at their cap are left out. */
const candidateJoins = (d: Dialect) => `
JOIN webhook_executions AS e ON e.id = t.execution_id
JOIN webhook_targets AS g ON g.id = e.target_id
JOIN webhook_policies AS p ON p.id = e.policy_id
WHERE e.target_id NOT IN (${intListForms[d]})
  AND coalesce(p.project_id, 0) NOT IN (${intListForms[d]})
ORDER BY t.next_attempt_at, t.id
LIMIT ?`;

/** A task to lease and the lease's expiry. */
export interface LeaseRequest {
  taskId: number;
  leaseUntil: number;
}

/** A leased task with everything its attempt needs (the columns an attempt uses). */
export interface ClaimedDelivery {
  task: Pick<WebhookTaskRow, 'id' | 'status' | 'run_count'>;
  exec: Pick<WebhookExecutionRow, 'id' | 'event_seq' | 'event_id' | 'event_type' | 'payload' | 'headers' | 'trace_context'>;
  target: Pick<WebhookTargetRow, 'id' | 'type' | 'address' | 'payload_format' | 'options' | 'auth_header' | 'skip_cert_verify' | 'secret' | 'headers' | 'timeout_ms' | 'enabled' | 'disabled_reason'>;
  policy: Pick<WebhookPolicyRow, 'id' | 'name' | 'project_id' | 'enabled'>;
}

/** One attempt row to insert: every column of webhook_attempts but its generated id. */
export type AttemptInsert = Omit<WebhookAttemptRow, 'id'>;

/** A task's state after an attempt (its lease is released). */
export interface TaskOutcome {
  id: number;
  status: string;
  status_message: string;
  run_count: number;
  next_attempt_at: number | null;
  update_time: number;
  end_time: number | null;
}

/** An execution's state after an attempt of its task. */
export interface ExecutionOutcome {
  id: number;
  status: string;
  status_message: string;
  end_time: number | null;
}

/** An execution to redeliver, with the state of its target and policy (null: deleted). */
export interface RedeliverySource {
  execution: WebhookExecutionRow;
  target: Pick<WebhookTargetRow, 'enabled' | 'disabled_reason'> | null;
  policy: Pick<WebhookPolicyRow, 'enabled'> | null;
}

/** A new delivery's execution before insertion: every column but the generated id and the trigger (always EVENT); `headers` is the format headers' JSON. */
export type NewEventExecution = Omit<WebhookExecutionRow, 'id' | 'trigger' | 'trace_context'> & {
  /** The dispatch span's traceparent (docs/observability.md); absent or null with tracing off. */
  trace_context?: string | null;
};

/** A new delivery's task, before insertion. */
export interface NewTask {
  execution_id: number;
  status: string;
  status_message: string;
  next_attempt_at: number | null;
  creation_time: number;
  end_time: number | null;
}

/** An execution the dispatcher created: its id, event and target. */
export interface CreatedExecution {
  id: number;
  event_seq: number;
  target_id: number;
}

// `event_types` is a JSON array of strings that the policy API validated; on PostgreSQL the coarse
// test is a search for the quoted type (the caller applies the exact filter).
const subscribedTargetsSql = (d: Dialect) => `
SELECT p.id AS policy_id, p.project_id AS project_id, p.name AS name, p.event_types AS event_types,
  p.repo_filters AS repo_filters, p.tag_filters AS tag_filters, p.status_filters AS status_filters, p.fold_platforms AS fold_platforms,
  t.id AS target_id, t.type AS type, t.payload_format AS payload_format, t.options AS options
FROM webhook_targets AS t
JOIN webhook_policies AS p ON p.id = t.policy_id
WHERE p.enabled = 1 AND t.enabled = 1
  AND (p.project_id IS NULL OR p.project_id = ?)
  AND ${d === 'sqlite' ? 'json_valid(p.event_types) AND EXISTS (SELECT 1 FROM json_each(p.event_types) AS j WHERE j.value = ?)' : `strpos(p.event_types, '"' || ? || '"') > 0`}
ORDER BY p.id, t.position, t.id`;

// Targets and projects at their concurrency cap are left out here, in the scan, so that their
// backlog neither takes the batch's places nor hides the work of others behind it. The scan walks
// the due index from its oldest entry; `dueCandidatesAfterSql` resumes after a ScanMark instead,
// reading only what is due after `at` (the due index) or newer than `maxId` (the primary key; the
// unary `+` keeps SQLite from picking the due index for that half), so that the backlog of a
// capped project is not read again on every round.
const dueCandidatesSql = (d: Dialect) => `
SELECT t.id AS task_id, e.target_id AS target_id, coalesce(p.project_id, 0) AS project_key, g.timeout_ms AS timeout_ms
FROM (SELECT id, execution_id, next_attempt_at FROM webhook_tasks WHERE next_attempt_at <= ? AND ${dueTask}) AS t${candidateJoins(d)}`;

const dueCandidatesAfterSql = (d: Dialect) => `
SELECT t.id AS task_id, e.target_id AS target_id, coalesce(p.project_id, 0) AS project_key, g.timeout_ms AS timeout_ms
FROM (SELECT id, execution_id, next_attempt_at FROM webhook_tasks WHERE next_attempt_at > ? AND next_attempt_at <= ? AND ${dueTask}
  UNION ALL
  SELECT id, execution_id, next_attempt_at FROM webhook_tasks WHERE id > ? AND +next_attempt_at <= ? AND ${dueTask}) AS t${candidateJoins(d)}`;

const nextDueSql = `
SELECT min(next_attempt_at) AS due FROM webhook_tasks
WHERE next_attempt_at IS NOT NULL AND (lease_until IS NULL OR lease_until < ?)`;

const taskCols = ['id', 'status', 'run_count'] as const;
const execCols = ['id', 'event_seq', 'event_id', 'event_type', 'payload', 'headers', 'trace_context'] as const;
const targetCols = ['id', 'type', 'address', 'payload_format', 'options', 'auth_header', 'skip_cert_verify', 'secret', 'headers', 'timeout_ms', 'enabled', 'disabled_reason'] as const;
const policyCols = ['id', 'name', 'project_id', 'enabled'] as const;

const select = (alias: string, cols: readonly string[]) => cols.map((c) => `${alias}."${c}" AS "${alias}_${c}"`).join(', ');

const loadClaimedSql = (d: Dialect) => `
SELECT ${select('t', taskCols)}, ${select('e', execCols)}, ${select('g', targetCols)}, ${select('p', policyCols)}
FROM webhook_tasks AS t
JOIN webhook_executions AS e ON e.id = t.execution_id
JOIN webhook_targets AS g ON g.id = e.target_id
JOIN webhook_policies AS p ON p.id = e.policy_id
WHERE t.id IN (${intListForms[d]})
ORDER BY t.id`;

/** Every statement above, built once for each dialect. */
const sqlOf = Object.fromEntries(
  (['sqlite', 'postgres'] as const).map((d) => [
    d,
    { subscribedTargets: subscribedTargetsSql(d), dueCandidates: dueCandidatesSql(d), dueCandidatesAfter: dueCandidatesAfterSql(d), loadClaimed: loadClaimedSql(d), ids: intListForms[d] },
  ]),
) as Record<Dialect, { subscribedTargets: string; dueCandidates: string; dueCandidatesAfter: string; loadClaimed: string; ids: string }>;
const forms = (db: Executor) => sqlOf[dialectOf(db)];

/** The flat row of `loadClaimedSql`: every column prefixed with its table's alias. */
type Prefixed<P extends string, R> = { [K in keyof R & string as `${P}_${K}`]: R[K] };
type LoadedRow = Prefixed<'t', ClaimedDelivery['task']> &
  Prefixed<'e', ClaimedDelivery['exec']> &
  Prefixed<'g', ClaimedDelivery['target']> &
  Prefixed<'p', ClaimedDelivery['policy']>;

function claimedFromRow(r: LoadedRow): ClaimedDelivery {
  return {
    task: { id: r.t_id, status: r.t_status, run_count: r.t_run_count },
    exec: { id: r.e_id, event_seq: r.e_event_seq, event_id: r.e_event_id, event_type: r.e_event_type, payload: r.e_payload, headers: r.e_headers, trace_context: r.e_trace_context },
    target: {
      id: r.g_id,
      type: r.g_type,
      address: r.g_address,
      payload_format: r.g_payload_format,
      options: r.g_options,
      auth_header: r.g_auth_header,
      skip_cert_verify: r.g_skip_cert_verify,
      secret: r.g_secret,
      headers: r.g_headers,
      timeout_ms: r.g_timeout_ms,
      enabled: r.g_enabled,
      disabled_reason: r.g_disabled_reason,
    },
    policy: { id: r.p_id, name: r.p_name, project_id: r.p_project_id, enabled: r.p_enabled },
  };
}

/** Batched statements of the webhook dispatcher and delivery worker; see the module comment. */
export const webhookDeliveryStore = {
  /**
   * Enabled targets of enabled policies of `projectId` (or system-wide ones) whose `event_types`
   * list `eventType`, in policy, position, id order. A coarse filter: the caller still applies the
   * policy's filters (and may be stricter about malformed JSON).
   */
  subscribedTargets(db: Executor, projectId: number | null, eventType: string): Promise<SubscribedTarget[]> {
    return query<SubscribedTarget>(db, forms(db).subscribedTargets, [projectId, eventType]);
  },

  /**
   * The project and event types (a JSON array) of each enabled policy with an enabled target:
   * what can receive anything now, the rows {@link subscribedTargets} picks from.
   */
  subscriptions(db: Executor): Promise<Array<{ project_id: number | null; event_types: string }>> {
    return query(
      db,
      `SELECT DISTINCT p.project_id AS project_id, p.event_types AS event_types FROM webhook_policies AS p
WHERE p.enabled = 1 AND EXISTS (SELECT 1 FROM webhook_targets AS t WHERE t.policy_id = p.id AND t.enabled = 1)`,
      [],
    );
  },

  /**
   * Due, unleased tasks oldest first, leaving out the targets in `exclude.targets` and the projects
   * (project keys) in `exclude.projects`: those at their concurrency cap. With `after`, tasks an
   * earlier scan saw (due by `after.at`, id up to `after.maxId`) are not read again.
   */
  dueCandidates(
    db: Executor,
    now: number,
    exclude: { targets: readonly number[]; projects: readonly ProjectKey[] },
    limit: number,
    after: ScanMark | null = null,
  ): Promise<DueCandidate[]> {
    const rest = [JSON.stringify(exclude.targets), JSON.stringify(exclude.projects), limit];
    if (after === null) return query<DueCandidate>(db, forms(db).dueCandidates, [now, now, ...rest]);
    return query<DueCandidate>(db, forms(db).dueCandidatesAfter, [after.at, now, now, after.maxId, after.at, now, ...rest]);
  },

  /** The largest task id so far (0 when there is none). */
  async maxTaskId(db: Executor): Promise<number> {
    const [r] = await query<{ id: number | null }>(db, `SELECT max(id) AS id FROM webhook_tasks`, []);
    return Number(r?.id ?? 0);
  },

  /**
   * Leases the requested tasks to `owner` where they are still due and unleased at `now`; returns
   * the ids it leased (a task another worker took in between is left out).
   */
  async lease(db: Executor, owner: string, now: number, requests: readonly LeaseRequest[]): Promise<number[]> {
    const won: number[] = [];
    for (const part of chunks(requests)) {
      const sql = `UPDATE webhook_tasks SET lease_owner = ?, lease_until = v.column2
FROM (VALUES ${valuesList(db, part.length, ['bigint', 'bigint'])}) AS v
WHERE webhook_tasks.id = v.column1 AND webhook_tasks.next_attempt_at <= ?
  AND (webhook_tasks.lease_until IS NULL OR webhook_tasks.lease_until < ?)
RETURNING id`;
      const params: unknown[] = [owner];
      for (const r of part) params.push(r.taskId, r.leaseUntil);
      params.push(now, now);
      for (const r of await query<{ id: number }>(db, sql, params)) won.push(r.id);
    }
    return won;
  },

  /** Task, execution, target and policy of each task id (tasks whose rows are gone are left out). */
  async loadClaimed(db: Executor, taskIds: readonly number[]): Promise<ClaimedDelivery[]> {
    if (taskIds.length === 0) return [];
    return (await query<LoadedRow>(db, forms(db).loadClaimed, [JSON.stringify(taskIds)])).map(claimedFromRow);
  },

  /** Which of these tasks still exist (a policy's or target's deletion takes its tasks with it). */
  async existingTasks(db: Executor, taskIds: readonly number[]): Promise<Set<number>> {
    if (taskIds.length === 0) return new Set();
    const rows = await query<{ id: number }>(db, `SELECT id FROM webhook_tasks WHERE id IN (${forms(db).ids})`, [JSON.stringify(taskIds)]);
    return new Set(rows.map((r) => r.id));
  },

  /** Marks leased tasks Running as their attempts start (start_time keeps its first value). */
  async markRunning(db: Executor, owner: string, now: number, taskIds: readonly number[]): Promise<void> {
    if (taskIds.length === 0) return;
    await run(
      db,
      `UPDATE webhook_tasks SET status = 'Running', start_time = coalesce(start_time, ?), update_time = ?
WHERE id IN (${forms(db).ids}) AND lease_owner = ?`,
      [now, now, JSON.stringify(taskIds), owner],
    );
  },

  /** The earliest `next_attempt_at` among tasks not leased at `now`, or null. */
  async nextDue(db: Executor, now: number): Promise<number | null> {
    const [r] = await query<{ due: number | null }>(db, nextDueSql, [now]);
    return r?.due === null || r?.due === undefined ? null : Number(r.due);
  },

  /** Inserts attempt rows. */
  async insertAttempts(db: Executor, rows: readonly AttemptInsert[]): Promise<void> {
    // A receiver's answer may hold NUL characters, which PostgreSQL's text refuses: U+FFFD there.
    const text = isPostgres(db) ? (s: string | null) => s?.replace(/\0/g, '\uFFFD') ?? null : (s: string | null) => s;
    for (const part of chunks(rows)) {
      const params: unknown[] = [];
      for (const a of part) {
        params.push(a.task_id, a.attempt, a.started_at, a.duration_ms, a.url, a.request_headers, a.request_body, a.response_status, a.response_headers, text(a.response_body), text(a.error));
      }
      await run(
        db,
        `INSERT INTO webhook_attempts (task_id, attempt, started_at, duration_ms, url, request_headers, request_body, response_status, response_headers, response_body, error)
VALUES ${valuesList(db, part.length, ['bigint', 'bigint', 'bigint', 'bigint', 'text', 'text', 'text', 'bigint', 'text', 'text', 'text'])}`,
        params,
      );
    }
  },

  /** Writes tasks' states after their attempts and releases their leases. */
  async updateTasks(db: Executor, rows: readonly TaskOutcome[]): Promise<void> {
    for (const part of chunks(rows)) {
      const params: unknown[] = [];
      for (const t of part) params.push(t.id, t.status, t.status_message, t.run_count, t.next_attempt_at, t.update_time, t.end_time);
      await run(
        db,
        `UPDATE webhook_tasks SET status = v.column2, status_message = v.column3, run_count = v.column4, next_attempt_at = v.column5,
  lease_owner = NULL, lease_until = NULL, update_time = v.column6, end_time = v.column7
FROM (VALUES ${valuesList(db, part.length, ['bigint', 'text', 'text', 'bigint', 'bigint', 'bigint', 'bigint'])}) AS v
WHERE webhook_tasks.id = v.column1`,
        params,
      );
    }
  },

  /** Writes executions' states after their tasks' attempts. */
  async updateExecutions(db: Executor, rows: readonly ExecutionOutcome[]): Promise<void> {
    for (const part of chunks(rows)) {
      const params: unknown[] = [];
      for (const e of part) params.push(e.id, e.status, e.status_message, e.end_time);
      await run(
        db,
        `UPDATE webhook_executions SET status = v.column2, status_message = v.column3, end_time = v.column4
FROM (VALUES ${valuesList(db, part.length, ['bigint', 'text', 'text', 'bigint'])}) AS v
WHERE webhook_executions.id = v.column1`,
        params,
      );
    }
  },

  /** Clears `failing_since` of targets that answered successfully. */
  async clearFailing(db: Executor, targetIds: readonly number[]): Promise<void> {
    if (targetIds.length === 0) return;
    await run(db, `UPDATE webhook_targets SET failing_since = NULL WHERE id IN (${forms(db).ids}) AND failing_since IS NOT NULL`, [JSON.stringify(targetIds)]);
  },

  /**
   * Inserts EVENT executions of several events, skipping any (event, target) that already has
   * one (a re-run); returns the new executions' ids with their event and target.
   */
  async insertEventExecutions(db: Executor, rows: readonly NewEventExecution[]): Promise<CreatedExecution[]> {
    const out: CreatedExecution[] = [];
    for (const part of chunks(rows)) {
      const params: unknown[] = [];
      for (const e of part) {
        params.push(e.policy_id, e.target_id, e.event_seq, e.event_id, e.event_type, e.vendor_type, e.status, e.status_message, 'EVENT', e.payload, e.headers, e.start_time, e.end_time, e.trace_context ?? null);
      }
      out.push(
        ...(await query<CreatedExecution>(
          db,
          `INSERT INTO webhook_executions (policy_id, target_id, event_seq, event_id, event_type, vendor_type, status, status_message, "trigger", payload, headers, start_time, end_time, trace_context)
VALUES ${valuesList(db, part.length, ['bigint', 'bigint', 'bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint', 'text'])}
ON CONFLICT DO NOTHING
RETURNING id, event_seq, target_id`,
          params,
        )),
      );
    }
    return out;
  },

  /** Inserts new tasks (run_count 0, no lease, not started); other processes' delivery workers wake at the commit. */
  async insertTasks(db: Executor, rows: readonly NewTask[]): Promise<void> {
    if (rows.some((t) => t.next_attempt_at !== null)) await notify(db, 'wharf_deliveries');
    for (const part of chunks(rows)) {
      const params: unknown[] = [];
      for (const t of part) params.push(t.execution_id, t.status, t.status_message, t.next_attempt_at, t.creation_time, t.creation_time, t.end_time);
      await run(
        db,
        `INSERT INTO webhook_tasks (execution_id, status, status_message, run_count, next_attempt_at, lease_until, lease_owner, creation_time, start_time, update_time, end_time)
SELECT column1, column2, column3, 0, column4, NULL, NULL, column5, NULL, column6, column7 FROM (VALUES ${valuesList(db, part.length, ['bigint', 'text', 'text', 'bigint', 'bigint', 'bigint', 'bigint'])}) AS v`,
        params,
      );
    }
  },

  // ---- one-row writes of the worker and the engine, target health, history pruning ----

  /** Releases a claimed task that was already final (another process finished it meanwhile). */
  async releaseFinished(db: Executor, taskId: number): Promise<void> {
    await run(db, `UPDATE webhook_tasks SET next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL WHERE id = ?`, [taskId]);
  },

  /**
   * Gives back a task whose attempt was cut short (shutdown): `status` is Pending when it never
   * ran, else Running, and it is due again at once. Only while `owner` still holds the lease.
   */
  async releaseLease(db: Executor, taskId: number, owner: string, status: string, now: number): Promise<void> {
    await run(db, `UPDATE webhook_tasks SET status = ?, lease_owner = NULL, lease_until = NULL, update_time = ? WHERE id = ? AND lease_owner = ?`, [status, now, taskId, owner]);
  },

  /** Ends a task and its execution as Stopped without an attempt (its policy or target is disabled). */
  async stopDelivery(db: Executor, taskId: number, executionId: number, message: string, now: number): Promise<void> {
    await run(
      db,
      `UPDATE webhook_tasks SET status = 'Stopped', status_message = ?, next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL, update_time = ?, end_time = ? WHERE id = ?`,
      [message, now, now, taskId],
    );
    await run(db, `UPDATE webhook_executions SET status = 'Stopped', status_message = ?, end_time = ? WHERE id = ?`, [message, now, executionId]);
  },

  /** A target's health: since when it has been failing (null: it is not) and whether it is enabled. */
  async targetHealth(db: Executor, targetId: number): Promise<Pick<WebhookTargetRow, 'failing_since' | 'enabled'> | undefined> {
    const [r] = await query<Pick<WebhookTargetRow, 'failing_since' | 'enabled'>>(db, `SELECT failing_since, enabled FROM webhook_targets WHERE id = ?`, [targetId]);
    return r;
  },

  /** Notes when a target started failing. */
  async markFailing(db: Executor, targetId: number, since: number): Promise<void> {
    await run(db, `UPDATE webhook_targets SET failing_since = ? WHERE id = ?`, [since, targetId]);
  },

  /** Disables a target, with the reason. */
  async disableTarget(db: Executor, targetId: number, reason: string): Promise<void> {
    await run(db, `UPDATE webhook_targets SET enabled = 0, disabled_reason = ? WHERE id = ?`, [reason, targetId]);
  },

  /** A project's id, name and visibility (read only: the event a disabled target raises names it). */
  async projectOf(db: Executor, projectId: number): Promise<Pick<ProjectRow, 'id' | 'name' | 'public'> | undefined> {
    const [r] = await query<Pick<ProjectRow, 'id' | 'name' | 'public'>>(db, `SELECT id, name, public FROM projects WHERE id = ?`, [projectId]);
    return r;
  },

  /**
   * Ends every unfinished delivery to a target but one (`except`) as Stopped: its tasks and their
   * executions. Unfinished: not Success, Error or Stopped (the final statuses).
   */
  async stopTargetDeliveries(db: Executor, targetId: number, except: { taskId: number; executionId: number }, message: string, now: number): Promise<void> {
    await run(
      db,
      `UPDATE webhook_tasks SET status = 'Stopped', status_message = ?, next_attempt_at = NULL, update_time = ?, end_time = ?
WHERE execution_id IN (SELECT id FROM webhook_executions WHERE target_id = ?) AND id != ? AND status NOT IN ('Success', 'Error', 'Stopped')`,
      [message, now, now, targetId, except.taskId],
    );
    await run(
      db,
      `UPDATE webhook_executions SET status = 'Stopped', status_message = ?, end_time = ?
WHERE target_id = ? AND id != ? AND status NOT IN ('Success', 'Error', 'Stopped')`,
      [message, now, targetId, except.executionId],
    );
  },

  /**
   * An execution with the state of its target and policy (null when the row is gone), for a
   * redelivery; undefined when the execution does not exist.
   */
  async redeliverySource(db: Executor, executionId: number): Promise<RedeliverySource | undefined> {
    const [r] = await query<WebhookExecutionRow & { g_id: number | null; g_enabled: number | null; g_disabled_reason: string | null; p_id: number | null; p_enabled: number | null }>(
      db,
      `SELECT e.*, g.id AS g_id, g.enabled AS g_enabled, g.disabled_reason AS g_disabled_reason, p.id AS p_id, p.enabled AS p_enabled
FROM webhook_executions AS e
LEFT JOIN webhook_targets AS g ON g.id = e.target_id
LEFT JOIN webhook_policies AS p ON p.id = e.policy_id
WHERE e.id = ?`,
      [executionId],
    );
    if (r === undefined) return undefined;
    const { g_id, g_enabled, g_disabled_reason, p_id, p_enabled, ...execution } = r;
    return {
      execution,
      target: g_id === null ? null : { enabled: g_enabled ?? 0, disabled_reason: g_disabled_reason },
      policy: p_id === null ? null : { enabled: p_enabled ?? 0 },
    };
  },

  /**
   * Inserts a MANUAL execution that sends `source` again (same policy, target, event, body and
   * format headers), Running with `message`, and its task, Pending and due at `now`.
   */
  async insertRedelivery(db: Executor, source: WebhookExecutionRow, message: string, now: number): Promise<{ executionId: number; taskId: number }> {
    const [e] = await query<{ id: number }>(
      db,
      `INSERT INTO webhook_executions (policy_id, target_id, event_seq, event_id, event_type, vendor_type, status, status_message, "trigger", payload, headers, start_time, end_time)
VALUES (?, ?, ?, ?, ?, ?, 'Running', ?, 'MANUAL', ?, ?, ?, NULL)
RETURNING id`,
      [source.policy_id, source.target_id, source.event_seq, source.event_id, source.event_type, source.vendor_type, message, source.payload, source.headers, now],
    );
    if (e === undefined) throw new Error('INSERT … RETURNING gave no row');
    const [t] = await query<{ id: number }>(
      db,
      `INSERT INTO webhook_tasks (execution_id, status, status_message, run_count, next_attempt_at, lease_until, lease_owner, creation_time, start_time, update_time, end_time)
VALUES (?, 'Pending', '', 0, ?, NULL, NULL, ?, NULL, ?, NULL)
RETURNING id`,
      [e.id, now, now, now],
    );
    if (t === undefined) throw new Error('INSERT … RETURNING gave no row');
    await notify(db, 'wharf_deliveries');
    return { executionId: e.id, taskId: t.id };
  },

  /** Deletes finished executions (with their tasks and attempts) started before `cutoff`; returns how many. */
  deleteFinishedBefore(db: Executor, cutoff: number): Promise<number> {
    return run(db, `DELETE FROM webhook_executions WHERE end_time IS NOT NULL AND start_time < ?`, [cutoff]);
  },

  /** The policies with more than `keep` executions. */
  async crowdedPolicies(db: Executor, keep: number): Promise<number[]> {
    const rows = await query<{ policy_id: number }>(db, `SELECT policy_id FROM webhook_executions GROUP BY policy_id HAVING count(*) > ?`, [keep]);
    return rows.map((r) => r.policy_id);
  },

  /** The id of a policy's newest execution after the newest `keep` (null when it has no more). */
  async executionAfterNewest(db: Executor, policyId: number, keep: number): Promise<number | null> {
    const [r] = await query<{ id: number }>(db, `SELECT id FROM webhook_executions WHERE policy_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?`, [policyId, keep]);
    return r?.id ?? null;
  },

  /** Deletes a policy's finished executions with ids up to `maxId`; returns how many. */
  deleteFinishedUpTo(db: Executor, policyId: number, maxId: number): Promise<number> {
    return run(db, `DELETE FROM webhook_executions WHERE policy_id = ? AND id <= ? AND end_time IS NOT NULL`, [policyId, maxId]);
  },
};
