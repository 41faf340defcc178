/**
 * Harbor's tag retention (docs/retention-design.md, docs/lifecycle.md "Tag retention"): the
 * /retentions API, runs as jobs on the job framework, and TAG_RETENTION events.
 *
 * - A policy belongs to one project (`retention_id`); its cron is a RETENTION_SCHEDULE job
 *   schedule (vendor id = the policy) whose task launches a run.
 * - A run is a RETENTION execution with one task per repository some enabled rule selects (the
 *   rules are copied into each task at launch); none → Success, `no resources for retention`.
 * - A task evaluates its repository's candidates (evaluate.ts), deletes each `DEL` through the
 *   registry (DELETE_ARTIFACT, quota, immutability enforced there too) with the index's orphaned
 *   children, checks for a stop between deletions, logs Harbor's table, then in one transaction
 *   records its result and its TAG_RETENTION event (not on a dry run, only when something was
 *   deleted). With the policy's `summary_event` the task that ends last sends one event for the
 *   whole run instead (under a per-run lock, once per run).
 * - A task reclaimed after a crash evaluates again what is left; one that already recorded its
 *   result returns it without doing anything twice.
 */
import type { Kysely } from 'kysely';
import type { Authorizer, CallContext } from '../../auth/index.ts';
import { systemActor } from '../../auth/index.ts';
import {
  claimRetentionSummary,
  deleteRetentionPolicy,
  insertRetentionPolicy,
  insertRetentionResult,
  isUniqueViolation,
  lockRetentionRun,
  projectRepositories,
  retentionCandidates,
  retentionPolicy,
  retentionPolicyIds,
  retentionPolicyOfProject,
  retentionResult,
  retentionResults,
  updateRetentionPolicy,
  type Database,
  type ProjectRow,
  type RetentionCandidateRow,
  type RetentionPolicyRow,
  type RetentionResultRow,
} from '../../db/index.ts';
import { fail, isJsonObject, parseDigest, parseRepoName, storedObject, type Page } from '../../domain/index.ts';
import type { Outbox } from '../../events/index.ts';
import { cronProblem, type JobContext, type JobHandler, type JobService, type JobTaskRow } from '../../jobs/index.ts';
import { pathInProject, type ImmutabilityGuard, type Registry } from '../../registry/index.ts';
import { evaluateRetention, retentionLogTable, rulesForRepository, type RetentionCandidate, type RetentionDecision } from './evaluate.ts';
import { eventRule, parsePolicy, policyText, policyView, readPolicy, retentionMetadata, type RetentionRule, type RetentionSpec } from './policy.ts';

/** The job type of a run's repository tasks. */
export const RETENTION = 'RETENTION';
/** The job type of a policy's schedule: its task launches a RETENTION run. */
export const RETENTION_SCHEDULE = 'RETENTION_SCHEDULE';
/** Harbor's operator of scheduled runs. */
export const retentionScheduleOperator = 'harbor-jobservice';

/** What the service needs. */
export interface RetentionServiceDeps {
  db: Kysely<Database>;
  jobs: JobService;
  outbox: Outbox;
  authorizer: Authorizer;
  registry: Pick<Registry, 'deleteManifest'>;
  immutability: ImmutabilityGuard;
  /** `harbor_hostname` of the events: external_url's host. */
  hostname: () => string;
  /** The clock (tests move it). */
  now?: () => number;
}

/** A repository task's parameters (the rules are the policy's at launch). */
interface TaskParams {
  policy_id: number;
  project_id: number;
  repository_id: number;
  /** Full name, `project/path`. */
  repository: string;
  dry_run: boolean;
  operator: string;
  summary_event: boolean;
  rules: RetentionRule[];
}

/** One deleted (or would-be deleted) artifact in a result row. */
interface DeletedItem {
  digest: string;
  tags: string[];
}

const iso = (ms: number | null | undefined): string | undefined => (ms === null || ms === undefined ? undefined : new Date(ms).toISOString());

function parseParams(p: Record<string, unknown>): TaskParams {
  const num = (k: string): number => {
    const v = p[k];
    if (typeof v !== 'number') throw new Error(`retention task parameter ${k} is missing`);
    return v;
  };
  const rules = p.rules;
  if (!Array.isArray(rules)) throw new Error('retention task parameter rules is missing');
  return {
    policy_id: num('policy_id'),
    project_id: num('project_id'),
    repository_id: num('repository_id'),
    repository: String(p.repository ?? ''),
    dry_run: p.dry_run === true,
    operator: String(p.operator ?? ''),
    summary_event: p.summary_event === true,
    // Written by launch() below from a validated policy.
    rules: rules as RetentionRule[],
  };
}

function nameTag(repoPath: string, d: DeletedItem): string {
  const first = d.tags[0];
  return first === undefined ? `${repoPath}@${d.digest}` : `${repoPath}:${first}`;
}

function readDeleted(text: string): DeletedItem[] {
  const v: unknown = JSON.parse(text);
  if (!Array.isArray(v)) return [];
  return v.filter(isJsonObject).map((d) => ({ digest: String(d.digest ?? ''), tags: Array.isArray(d.tags) ? d.tags.map(String) : [] }));
}

function toCandidate(r: RetentionCandidateRow): RetentionCandidate {
  // Harbor: push = max(artifact push, tag pushes), pull likewise (a retag makes a digest recent).
  const pushed = Math.max(r.push_time, ...r.tags.map((t) => t.push_time));
  const pulled = Math.max(r.pull_time ?? 0, ...r.tags.map((t) => t.pull_time ?? 0));
  // Harbor's candidates of a repository are all of kind "image" (charts are gone from Harbor).
  return { id: r.id, digest: r.digest, tags: r.tags.map((t) => t.name), pushedMs: pushed, pulledMs: pulled, createdMs: r.push_time, labels: r.labels, kind: 'image' };
}

/** Harbor's tag retention. */
export class RetentionService {
  private readonly now: () => number;

  constructor(private readonly deps: RetentionServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The RETENTION and RETENTION_SCHEDULE job handlers. */
  handlers(): JobHandler[] {
    return [
      // A task is never retried on an error (Harbor: ShouldRetry false); a second run exists only for a task whose worker died.
      { vendorType: RETENTION, maxRuns: 2, run: (ctx: JobContext) => this.runTask(ctx) },
      { vendorType: RETENTION_SCHEDULE, concurrency: 1, maxRuns: 1, run: (ctx: JobContext) => this.fireSchedule(ctx) },
    ];
  }

  /** GET /retentions/metadatas. */
  metadatas(): Record<string, unknown> {
    return retentionMetadata;
  }

  /** The `retention_id` of these projects (project reads). */
  async policyIds(projectIds: readonly number[]): Promise<Map<number, number>> {
    return retentionPolicyIds(this.deps.db, projectIds);
  }

  /** POST /retentions: returns the new policy's id. */
  async create(ctx: CallContext, body: unknown): Promise<number> {
    const { projectId, spec } = parsePolicy(body);
    const project = await this.projectForCreate(ctx, projectId);
    this.checkCron(spec.cron);
    const existing = await retentionPolicyOfProject(this.deps.db, project.id);
    if (existing) throw fail('BAD_REQUEST', `project ${project.id} already has retention policy ${existing.id}`);
    let id: number;
    try {
      id = await insertRetentionPolicy(this.deps.db, project.id, policyText(spec), this.now());
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const other = await retentionPolicyOfProject(this.deps.db, project.id);
      throw fail('BAD_REQUEST', `project ${project.id} already has retention policy ${other?.id ?? ''}`);
    }
    await this.schedule(id, spec.cron);
    return id;
  }

  /** GET /retentions/{id}. */
  async get(ctx: CallContext, id: number): Promise<Record<string, unknown>> {
    const { policy } = await this.policyFor(ctx, id, 'read-retention');
    return this.view(policy);
  }

  /** PUT /retentions/{id}: replaces the policy; a cron change reschedules. */
  async update(ctx: CallContext, id: number, body: unknown): Promise<void> {
    const { policy, project } = await this.policyFor(ctx, id, 'manage-retention');
    const { projectId, spec } = parsePolicy(body);
    if (projectId !== project.id) throw fail('BAD_REQUEST', `the policy ${id} belongs to project ${project.id}, not ${projectId}`);
    this.checkCron(spec.cron);
    await updateRetentionPolicy(this.deps.db, policy.id, policyText(spec), this.now());
    await this.schedule(policy.id, spec.cron);
  }

  /** DELETE /retentions/{id}: refused while a run has tasks that are not final. */
  async delete(ctx: CallContext, id: number): Promise<void> {
    const { policy } = await this.policyFor(ctx, id, 'manage-retention');
    const open = await this.deps.jobs.store.openExecutionsByVendor(RETENTION, policy.id);
    const first = open[0];
    if (first !== undefined) throw fail('PRECONDITION_FAILED', `the execution ${first} has tasks that aren't in final status, stop the tasks first`);
    await this.deps.jobs.removeSchedule(RETENTION_SCHEDULE, policy.id);
    await deleteRetentionPolicy(this.deps.db, policy.id);
  }

  /** POST /retentions/{id}/executions `{"dry_run":bool}`: starts a run; returns its id. */
  async startRun(ctx: CallContext, id: number, body: unknown): Promise<number> {
    const { policy } = await this.policyFor(ctx, id, 'run-retention');
    let dryRun = false;
    if (body !== undefined && body !== null) {
      if (!isJsonObject(body)) throw fail('BAD_REQUEST', 'the request body must be {"dry_run": true|false}');
      if (body.dry_run !== undefined && typeof body.dry_run !== 'boolean') throw fail('BAD_REQUEST', 'dry_run must be true or false');
      dryRun = body.dry_run === true;
    }
    return this.launch(policy, 'MANUAL', dryRun, ctx.actor.username);
  }

  /** GET /retentions/{id}/executions: newest first. */
  async executions(ctx: CallContext, id: number, page: { page: number; pageSize: number }): Promise<Page<Record<string, unknown>>> {
    const { policy } = await this.policyFor(ctx, id, 'read-retention');
    const { total, rows } = await this.deps.jobs.executions(RETENTION, (page.page - 1) * page.pageSize, page.pageSize, policy.id);
    return {
      total,
      items: rows.map((e) => {
        const attrs = storedObject(e.extra_attrs);
        return {
          id: e.id,
          policy_id: policy.id,
          start_time: iso(e.start_time),
          end_time: iso(e.end_time),
          status: e.status,
          status_message: e.status_message === '' ? undefined : e.status_message,
          trigger: e.trigger === 'SCHEDULE' ? 'Schedule' : e.trigger,
          dry_run: attrs.dry_run === true,
        };
      }),
    };
  }

  /** PATCH /retentions/{id}/executions/{eid} `{"action":"stop"}`. */
  async stopRun(ctx: CallContext, id: number, executionId: number, body: unknown): Promise<void> {
    const { policy } = await this.policyFor(ctx, id, 'run-retention');
    if (!isJsonObject(body) || body.action !== 'stop') throw fail('BAD_REQUEST', "action should be 'stop'");
    await this.execution(policy, executionId);
    await this.deps.jobs.stopExecution(executionId);
    // Tasks stopped before they started write no result: the summary may be due now.
    await this.deps.db.transaction().execute(async (trx) => {
      await lockRetentionRun(trx, executionId);
      await this.summaryIfLast(trx, executionId, null);
    });
  }

  /** GET /retentions/{id}/executions/{eid}/tasks. */
  async tasks(ctx: CallContext, id: number, executionId: number, page: { page: number; pageSize: number }): Promise<Page<Record<string, unknown>>> {
    const { policy } = await this.policyFor(ctx, id, 'read-retention');
    await this.execution(policy, executionId);
    const all = await this.deps.jobs.tasks(executionId);
    const results = new Map((await retentionResults(this.deps.db, executionId)).map((r) => [r.task_id, r]));
    const start = (page.page - 1) * page.pageSize;
    return { total: all.length, items: all.slice(start, start + page.pageSize).map((t) => this.taskView(t, results.get(t.id))) };
  }

  /** GET /retentions/{id}/executions/{eid}/tasks/{tid}: the task's log as text. */
  async taskLog(ctx: CallContext, id: number, executionId: number, taskId: number): Promise<string> {
    const { policy } = await this.policyFor(ctx, id, 'read-retention');
    await this.execution(policy, executionId);
    const t = (await this.deps.jobs.tasks(executionId)).find((x) => x.id === taskId);
    if (!t) throw fail('NOT_FOUND', `task ${taskId} not found in execution ${executionId}`);
    return this.deps.jobs.taskLogText(taskId);
  }

  // ---- runs ---------------------------------------------------------------------------------

  private async launch(policy: RetentionPolicyRow, trigger: 'MANUAL' | 'SCHEDULE', dryRun: boolean, operator: string): Promise<number> {
    const spec = readPolicy(policy.policy);
    const repos = await projectRepositories(this.deps.db, policy.project_id);
    const tasks: TaskParams[] = [];
    for (const r of repos) {
      const rules = rulesForRepository(spec.rules, pathInProject(r.name));
      if (rules.length === 0) continue;
      tasks.push({ policy_id: policy.id, project_id: policy.project_id, repository_id: r.id, repository: r.name, dry_run: dryRun, operator, summary_event: spec.summary_event, rules });
    }
    const { executionId } = await this.deps.db.transaction().execute((trx) =>
      this.deps.jobs.createExecutionIn(trx, RETENTION, trigger, {
        vendorId: policy.id,
        extraAttrs: { dry_run: dryRun, operator },
        tasks: tasks.map((t) => ({ ...t })),
        statusMessage: tasks.length === 0 ? 'no resources for retention' : undefined,
      }),
    );
    this.deps.jobs.wake();
    return executionId;
  }

  private async fireSchedule(ctx: JobContext): Promise<Record<string, unknown>> {
    const id = ctx.params.policy_id;
    const policy = typeof id === 'number' ? await retentionPolicy(this.deps.db, id) : undefined;
    if (!policy) {
      // Its project was deleted (the policy went with it): the schedule goes too.
      if (typeof id === 'number') await this.deps.jobs.removeSchedule(RETENTION_SCHEDULE, id);
      await ctx.log(`the retention policy ${String(id)} no longer exists: its schedule is removed`, 'WARNING');
      return {};
    }
    const executionId = await this.launch(policy, 'SCHEDULE', false, retentionScheduleOperator);
    await ctx.log(`started retention execution ${executionId} of policy ${policy.id}`);
    return { execution_id: executionId };
  }

  private async runTask(ctx: JobContext): Promise<Record<string, unknown>> {
    const p = parseParams(ctx.params);
    const done = await retentionResult(this.deps.db, ctx.taskId);
    if (done) {
      await ctx.log('this task already recorded its result before its worker stopped: nothing more to do');
      return { total: done.total, retained: done.retained };
    }
    const repoPath = pathInProject(p.repository);
    await ctx.log(`retention of repository ${p.repository}: algorithm or, ${p.rules.length} rule(s), dry run ${p.dry_run}`);
    if (ctx.signal.aborted) throw new Error('stopped before listing the candidates');
    const rows = await retentionCandidates(this.deps.db, p.repository_id);
    const candidates = rows.map(toCandidate);
    await ctx.log(`Load ${candidates.length} candidates from repository ${p.repository}`);
    const test = await this.deps.immutability.immutableTags(p.project_id);
    const immutable = test ? (tag: string) => test(repoPath, tag) : null;
    const decisions = evaluateRetention(p.rules, candidates, this.now(), immutable);
    const actor = { ...systemActor, username: p.operator };
    const rowsOut: Array<{ candidate: RetentionCandidate; decision: RetentionDecision | 'ERR' }> = [];
    const failures: string[] = [];
    const deleted: DeletedItem[] = [];
    let stopped = false;
    for (const d of decisions) {
      if (d.decision !== 'DEL') {
        rowsOut.push(d);
        continue;
      }
      if (p.dry_run) {
        deleted.push({ digest: d.candidate.digest, tags: d.candidate.tags });
        rowsOut.push(d);
        continue;
      }
      if (stopped || ctx.signal.aborted) {
        stopped = true;
        rowsOut.push({ candidate: d.candidate, decision: 'RETAIN' });
        continue;
      }
      try {
        await this.deleteWithDependents(actor, p, d.candidate.digest);
        deleted.push({ digest: d.candidate.digest, tags: d.candidate.tags });
        rowsOut.push(d);
      } catch (err) {
        rowsOut.push({ candidate: d.candidate, decision: 'ERR' });
        failures.push(`${p.repository}@${d.candidate.digest}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    for (const line of retentionLogTable(rowsOut)) await ctx.log(line);
    for (const f of failures) await ctx.log(f, 'ERROR');
    if (stopped) {
      // A shutdown or a lost lease also aborts: then nothing is recorded and the next run of the task carries on.
      const t = await this.deps.jobs.store.task(ctx.taskId);
      if (t?.stop_requested !== 1) throw new Error('interrupted before every deletion was done; the task runs again');
      await ctx.log('stopped by request before every deletion was done', 'WARNING');
    }
    const total = candidates.length;
    const retained = total - deleted.length;
    await this.deps.db.transaction().execute(async (trx) => {
      await lockRetentionRun(trx, ctx.executionId);
      await insertRetentionResult(trx, { task_id: ctx.taskId, execution_id: ctx.executionId, repository: repoPath, total, retained, deleted: JSON.stringify(deleted), finish_time: this.now() });
      if (p.dry_run) return;
      if (!p.summary_event) {
        if (deleted.length > 0) await this.appendEvent(trx, p, { total, retained, deleted: deleted.map((x) => ({ repository: repoPath, item: x })) });
        return;
      }
      await this.summaryIfLast(trx, ctx.executionId, ctx.taskId);
    });
    if (stopped) throw new Error('stopped by request');
    return { total, retained };
  }

  /**
   * Deletes an artifact through the registry, in one transaction with what it leaves behind: an
   * index's platform manifests nothing else keeps, and its untagged accessories (Harbor deletes
   * both with their subject).
   */
  private async deleteWithDependents(actor: CallContext['actor'], p: TaskParams, digest: string): Promise<void> {
    await this.deps.registry.deleteManifest({ actor }, parseRepoName(p.repository), { kind: 'digest', digest: parseDigest(digest) }, { dependents: true });
  }

  /**
   * With `summary_event`: when every other task of the run is final or has recorded its result
   * (checked under the run's lock), sends the run's one TAG_RETENTION, once.
   */
  private async summaryIfLast(trx: Parameters<typeof lockRetentionRun>[0], executionId: number, taskId: number | null): Promise<void> {
    const results = await retentionResults(trx, executionId);
    const first = results[0];
    if (!first) return;
    const withResult = new Set(results.map((r) => r.task_id));
    const open = await this.deps.jobs.store.openTaskIds(executionId, trx);
    if (open.some((id) => id !== taskId && !withResult.has(id))) return;
    const params = await this.taskParamsOf(executionId, first.task_id, trx);
    if (!params || params.dry_run || !params.summary_event) return;
    const deleted = results.flatMap((r) => readDeleted(r.deleted).map((item) => ({ repository: r.repository, item })));
    if (deleted.length === 0) return;
    if (!(await claimRetentionSummary(trx, executionId, this.now()))) return;
    await this.appendEvent(trx, params, {
      total: results.reduce((a, r) => a + r.total, 0),
      retained: results.reduce((a, r) => a + r.retained, 0),
      deleted,
      summary: { execution_id: executionId, repositories: results.map((r: RetentionResultRow) => ({ repository: r.repository, total: r.total, retained: r.retained })) },
    });
  }

  private async taskParamsOf(executionId: number, taskId: number, trx: Parameters<typeof lockRetentionRun>[0]): Promise<TaskParams | undefined> {
    const t = await this.deps.jobs.store.task(taskId, trx);
    if (!t || t.execution_id !== executionId) return undefined;
    return parseParams(storedObject(t.extra_attrs));
  }

  private async appendEvent(
    trx: Parameters<typeof lockRetentionRun>[0],
    p: TaskParams,
    r: { total: number; retained: number; deleted: Array<{ repository: string; item: DeletedItem }>; summary?: Record<string, unknown> },
  ): Promise<void> {
    const project = await trx.selectFrom('projects').selectAll().where('id', '=', p.project_id).executeTakeFirst();
    if (!project) return;
    const policy = await retentionPolicy(trx, p.policy_id);
    const rules: RetentionRule[] = policy ? readPolicy(policy.policy).rules : p.rules;
    await this.deps.outbox.append(trx, {
      type: 'TAG_RETENTION',
      operator: p.operator,
      project: { id: project.id, name: project.name, public: project.public === 1 },
      retention: {
        total: r.total,
        retained: r.retained,
        harbor_hostname: this.deps.hostname(),
        project_name: project.name,
        retention_policy_id: p.policy_id,
        retention_rule: rules.filter((x) => !x.disabled).map(eventRule),
        result: 'SUCCESS',
        deleted_artifact: r.deleted.map((d) => ({ type: 'image', status: 'SUCCESS', name_tag: nameTag(d.repository, d.item), references: null })),
        ...(r.summary ?? {}),
      },
    });
  }

  // ---- helpers ------------------------------------------------------------------------------

  private taskView(t: JobTaskRow, r: RetentionResultRow | undefined): Record<string, unknown> {
    const attrs = storedObject(t.extra_attrs);
    const repo = typeof attrs.repository === 'string' ? pathInProject(attrs.repository) : '';
    const final = t.status === 'Success' || t.status === 'Error' || t.status === 'Stopped';
    return {
      id: t.id,
      execution_id: t.execution_id,
      repository: repo,
      job_id: String(t.id),
      status: t.status,
      status_code: final ? 3 : t.status === 'Running' ? 2 : 0,
      status_revision: 0,
      start_time: iso(t.start_time),
      end_time: iso(t.end_time),
      total: r?.total ?? 0,
      retained: r?.retained ?? 0,
    };
  }

  private view(policy: RetentionPolicyRow): Promise<Record<string, unknown>> {
    return this.deps.jobs.schedule(RETENTION_SCHEDULE, policy.id).then((s) => policyView({ id: policy.id, projectId: policy.project_id, spec: readPolicy(policy.policy), nextRunMs: s?.nextRun ?? null }));
  }

  private checkCron(cron: string): void {
    if (cron === '') return;
    const problem = cronProblem(cron);
    if (problem !== null) throw fail('BAD_REQUEST', `invalid cron string for scheduled tag retention: ${cron}, error: ${problem}`);
  }

  private async schedule(policyId: number, cron: string): Promise<void> {
    if (cron === '') await this.deps.jobs.removeSchedule(RETENTION_SCHEDULE, policyId);
    else await this.deps.jobs.setSchedule(RETENTION_SCHEDULE, 'Custom', cron, { policy_id: policyId }, policyId);
  }

  private async execution(policy: RetentionPolicyRow, executionId: number): Promise<void> {
    const e = await this.deps.jobs.execution(executionId);
    if (!e || e.vendor_type !== RETENTION || e.vendor_id !== policy.id) throw fail('NOT_FOUND', `execution ${executionId} of retention policy ${policy.id} not found`);
  }

  private async projectForCreate(ctx: CallContext, projectId: number): Promise<ProjectRow> {
    const project = await this.deps.db.selectFrom('projects').selectAll().where('id', '=', projectId).executeTakeFirst();
    if (!project) {
      if (ctx.actor.username === '') this.deps.authorizer.check(ctx.actor, 'manage-retention', { name: String(projectId), public: false });
      throw fail('BAD_REQUEST', `invalid Project id ${projectId}`);
    }
    this.deps.authorizer.check(ctx.actor, 'manage-retention', { name: project.name, public: project.public === 1 });
    return project;
  }

  private async policyFor(ctx: CallContext, id: number, action: 'read-retention' | 'manage-retention' | 'run-retention'): Promise<{ policy: RetentionPolicyRow; project: ProjectRow }> {
    const policy = await retentionPolicy(this.deps.db, id);
    const project = policy ? await this.deps.db.selectFrom('projects').selectAll().where('id', '=', policy.project_id).executeTakeFirst() : undefined;
    if (!policy || !project) {
      // The anonymous caller learns nothing about which policies exist.
      if (ctx.actor.username === '') this.deps.authorizer.check(ctx.actor, action, { name: '', public: false });
      throw fail('NOT_FOUND', `retention policy ${id} not found`);
    }
    this.deps.authorizer.check(ctx.actor, action, { name: project.name, public: project.public === 1 });
    return { policy, project };
  }
}

/** The spec type, for callers that only read it. */
export type { RetentionSpec };
