/**
 * Webhook delivery history as Harbor shows it: executions (one per delivery of an event to a
 * target), their tasks, a task's log, the last-trigger list and the deprecated jobs list; and
 * redelivery, which checks who may and what, then asks the engine to send.
 *
 * For a target a system admin approved for a private address, non-admins read no error details
 * and no response (./views.ts `shownMessage`, ./task-log.ts). The service knows nothing of HTTP.
 */
import type { Kysely } from 'kysely';
import { listPage, type Database, type WebhookExecutionRow, type WebhookPolicyRow } from '../db/index.ts';
import type { Actor, Authorizer } from '../auth/index.ts';
import { fail, type ListSpec } from '../domain/index.ts';
import { isAdminTrusted } from './target-row.ts';
import { assertId, policyIn, resolveScope, type ListPage, type ListRequest, type PolicyScope, type WebhookCallContext } from './policy-scope.ts';
import { executionView, hidesDetails, rfc3339, taskView, webhookJobView, type ExecutionView, type LastTriggerView, type TaskView, type WebhookJobView } from './views.ts';
import { renderTaskLog } from './task-log.ts';
import { stringArray } from './stored-json.ts';


/** The fields `q` and `sort` take on a policy's executions. */
export const executionListSpec = {
  id: { type: 'int', column: 'id' },
  status: { type: 'text', column: 'status' },
  event_type: { type: 'text', column: 'event_type' },
  trigger: { type: 'text', column: 'trigger' },
  vendor_type: { type: 'text', column: 'vendor_type' },
  start_time: { type: 'time', column: 'start_time' },
  end_time: { type: 'time', column: 'end_time' },
} as const satisfies ListSpec;

/** The fields `q` and `sort` take on an execution's tasks. */
export const taskListSpec = {
  id: { type: 'int', column: 'id' },
  status: { type: 'text', column: 'status' },
  creation_time: { type: 'time', column: 'creation_time' },
  start_time: { type: 'time', column: 'start_time' },
  update_time: { type: 'time', column: 'update_time' },
  end_time: { type: 'time', column: 'end_time' },
} as const satisfies ListSpec;
/**
 * Sends an execution again as a new MANUAL execution and returns its id (the webhook engine).
 * The history service owns this port; main wires the engine to it.
 */
export interface Redeliverer {
  redeliver(executionId: number): Promise<{ executionId: number }>;
}

/** What the history service needs. */
export interface HistoryServiceDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  redeliverer: Redeliverer;
}

/** Delivery history of a scope's policies; see the module comment. */
export class HistoryService {
  constructor(private readonly deps: HistoryServiceDeps) {}

  /** Harbor's last-trigger list: one row per (policy, event type) with its latest execution start. */
  async lastTrigger(ctx: WebhookCallContext, scope: PolicyScope): Promise<LastTriggerView[]> {
    const project = await resolveScope(this.deps, ctx, scope, 'read-settings');
    let q = this.deps.db.selectFrom('webhook_policies').selectAll();
    q = project ? q.where('project_id', '=', project.id) : q.where('project_id', 'is', null);
    const policies = await q.orderBy('id').execute();
    if (policies.length === 0) return [];
    const last = await this.deps.db
      .selectFrom('webhook_executions')
      .select(['policy_id', 'event_type', (eb) => eb.fn.max('start_time').as('t')])
      .where(
        'policy_id',
        'in',
        policies.map((p) => p.id),
      )
      .groupBy(['policy_id', 'event_type'])
      .execute();
    const lastOf = new Map(last.map((r) => [`${r.policy_id}\0${r.event_type}`, Number(r.t)]));
    const out: LastTriggerView[] = [];
    for (const p of policies) {
      for (const t of stringArray(p.event_types)) {
        const ms = lastOf.get(`${p.id}\0${t}`);
        out.push({
          policy_name: p.name,
          event_type: t,
          enabled: p.enabled === 1,
          creation_time: rfc3339(p.creation_time),
          last_trigger_time: rfc3339(ms ?? null),
        });
      }
    }
    return out;
  }

  // ---- executions, tasks, log ----

  /** Executions of a policy, newest first unless `sort` says otherwise (executionListSpec). */
  async listExecutions(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, req: ListRequest): Promise<ListPage<ExecutionView>> {
    const project = await resolveScope(this.deps, ctx, scope, 'read-settings');
    const p = await policyIn(this.deps.db, project, policyId);
    const page = await listPage(this.deps.db.selectFrom('webhook_executions').selectAll().where('policy_id', '=', p.id), req, executionListSpec, {
      fallback: [{ column: 'id', desc: true }],
      tieBreak: { column: 'id', desc: true },
    });
    const rows = page.items;
    const total = page.total;
    const tasks = rows.length
      ? await this.deps.db
          .selectFrom('webhook_tasks')
          .selectAll()
          .where(
            'execution_id',
            'in',
            rows.map((r) => r.id),
          )
          .execute()
      : [];
    const hidden = await this.hiddenTargets(ctx.actor, rows.map((e) => e.target_id));
    return { items: rows.map((e) => executionView(e, tasks.filter((t) => t.execution_id === e.id), hidden.has(e.target_id))), total };
  }


  /** The targets among `ids` whose delivery details `actor` may not read (see `shownMessage`). */
  private async hiddenTargets(actor: Actor, ids: number[]): Promise<Set<number>> {
    if (actor.sysadmin || ids.length === 0) return new Set();
    const rows = await this.deps.db.selectFrom('webhook_targets').select(['id', 'options']).where('id', 'in', [...new Set(ids)]).execute();
    return new Set(rows.filter((r) => isAdminTrusted(r.options)).map((r) => r.id));
  }

  private async executionIn(p: WebhookPolicyRow, executionId: number): Promise<WebhookExecutionRow> {
    assertId(executionId, 'execution');
    const e = await this.deps.db.selectFrom('webhook_executions').selectAll().where('id', '=', executionId).executeTakeFirst();
    if (!e || e.policy_id !== p.id) throw fail('NOT_FOUND', `execution ${executionId} not found`);
    return e;
  }

  /** Tasks of an execution (one per delivery in Wharf, as in Harbor), oldest first unless `sort` says otherwise (taskListSpec). */
  async listTasks(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, executionId: number, req: ListRequest): Promise<ListPage<TaskView>> {
    const project = await resolveScope(this.deps, ctx, scope, 'read-settings');
    const p = await policyIn(this.deps.db, project, policyId);
    const e = await this.executionIn(p, executionId);
    const page = await listPage(this.deps.db.selectFrom('webhook_tasks').selectAll().where('execution_id', '=', e.id), req, taskListSpec, {
      fallback: [{ column: 'id', desc: false }],
      tieBreak: { column: 'id', desc: false },
    });
    const hide = (await this.hiddenTargets(ctx.actor, [e.target_id])).has(e.target_id);
    return { items: page.items.map((t) => taskView(t, hide)), total: page.total };
  }

  /** The task's log as text (./task-log.ts). */
  async taskLog(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, executionId: number, taskId: number): Promise<string> {
    const project = await resolveScope(this.deps, ctx, scope, 'read-settings');
    const p = await policyIn(this.deps.db, project, policyId);
    const e = await this.executionIn(p, executionId);
    assertId(taskId, 'task');
    const task = await this.deps.db.selectFrom('webhook_tasks').selectAll().where('id', '=', taskId).executeTakeFirst();
    if (!task || task.execution_id !== e.id) throw fail('NOT_FOUND', `task ${taskId} not found`);
    const attempts = await this.deps.db.selectFrom('webhook_attempts').selectAll().where('task_id', '=', task.id).orderBy('attempt').orderBy('id').execute();
    const target = await this.deps.db.selectFrom('webhook_targets').select(['headers', 'options']).where('id', '=', e.target_id).executeTakeFirst();
    // A target a system admin approved for a private address: only system admins see what it answered.
    return renderTaskLog({ task, execution: e, attempts, targetHeaders: target?.headers, hide: hidesDetails(ctx.actor, target) });
  }


  /** Harbor's deprecated job list: the executions of `policy_id`, optionally by status. */
  async listJobs(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, statuses: string[], req: ListRequest): Promise<ListPage<WebhookJobView>> {
    const project = await resolveScope(this.deps, ctx, scope, 'read-settings');
    const p = await policyIn(this.deps.db, project, policyId);
    let q = this.deps.db.selectFrom('webhook_executions').where('policy_id', '=', p.id);
    if (statuses.length) q = q.where('status', 'in', statuses);
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await q
      .selectAll()
      .orderBy('id', 'desc')
      .limit(req.pageSize)
      .offset((req.page - 1) * req.pageSize)
      .execute();
    const items = await Promise.all(
      rows.map(async (e) => {
        const t = await this.deps.db.selectFrom('webhook_tasks').select('update_time').where('execution_id', '=', e.id).executeTakeFirst();
        return webhookJobView(e, t?.update_time);
      }),
    );
    return { items, total };
  }

  /**
   * Delivers an execution's payload again (Wharf): checks that the caller may manage the scope and
   * that the execution belongs to the policy, asks the engine for a new MANUAL execution (same
   * event id, body and format headers; CONFLICT when the policy or target is disabled), and
   * returns that execution.
   */
  async redeliver(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, executionId: number): Promise<ExecutionView> {
    const project = await resolveScope(this.deps, ctx, scope, 'manage');
    const p = await policyIn(this.deps.db, project, policyId);
    const original = await this.executionIn(p, executionId);
    const { executionId: id } = await this.deps.redeliverer.redeliver(original.id);
    const e = await this.deps.db.selectFrom('webhook_executions').selectAll().where('id', '=', id).executeTakeFirst();
    if (!e) throw fail('NOT_FOUND', `execution ${id} not found`);
    const tasks = await this.deps.db.selectFrom('webhook_tasks').selectAll().where('execution_id', '=', e.id).execute();
    return executionView(e, tasks);
  }
}
