/**
 * Preheat runs (docs/preheat.md "Executions"): Harbor's enforcer on Wharf's job framework.
 *
 * - A run is a P2P_PREHEAT execution (vendor id = the policy; `extra_attrs` Harbor's `totalCount`,
 *   `trigger`, `triggerSetting`) with one task per candidate: each tag of an image of the project
 *   that passes the policy's filters (with the project's content-trust and prevent_vul settings in
 *   place of its signature and vulnerability filters). None: the execution ends Success with
 *   Harbor's `no artifacts to preheat`.
 * - Started by hand (`POST …/policies/{name}`: the policy must be enabled and its provider
 *   healthy, as in Harbor), by the policy's schedule (a P2P_PREHEAT_SCHEDULE job fires it), or by
 *   a push (the `preheat-events` outbox consumer: enabled `event_based` policies of the project
 *   whose filters the pushed artifact passes, created in the event's cursor transaction).
 * - A task asks the provider to preheat `<external_url>/v2/<repository>/manifests/<tag>` with an
 *   `Authorization: Bearer` header holding a short-lived registry token that may pull that
 *   repository (TokenService.issueScannerToken), then polls Dragonfly's job until it is done
 *   (Kraken's notification is done once accepted), logging each step; a stop ends the poll.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { CallContext, TokenService } from '../auth/index.ts';
import {
  eventPreheatPolicies,
  finalStatuses,
  preheatAccessories,
  preheatLabels,
  preheatProjectById,
  preheatSeverities,
  preheatTags,
  readPreheatPolicy,
  type Database,
  type JobExecutionRow,
  type JobTaskRow,
  type JobTrigger,
  type PreheatPolicyRow,
  type PreheatProjectRow,
} from '../db/index.ts';
import { accessoryType, artifactKind, fail, storedObject, type ListQuery, type Page } from '../domain/index.ts';
import type { Consumer, OutboxRecord } from '../events/index.ts';
import type { ExecutionView, JobContext, JobHandler, JobService } from '../jobs/index.ts';
import type { PreheatInstances } from './instances.ts';
import type { PolicyTriggers, PreheatPolicies } from './policies.ts';
import { candidateMatches, parseExtraAttrs, parseFilters, parseTrigger, projectSecurityFilters, severityCode, type Candidate, type ProjectSecurity } from './policy-spec.ts';
import { ProviderClient, type PreheatProgress } from './providers.ts';

/** The job kind of a preheat run, and of a policy's schedule firing (Harbor's vendor type). */
export const P2P_PREHEAT = 'P2P_PREHEAT';
export const P2P_PREHEAT_SCHEDULE = 'P2P_PREHEAT_SCHEDULE';
/** Harbor's status message of a run with nothing to preheat. */
export const noArtifactsMessage = 'no artifacts to preheat';

/** What preheat runs need. */
export interface PreheatRunsDeps {
  db: Kysely<Database>;
  jobs: JobService;
  instances: PreheatInstances;
  policies: PreheatPolicies;
  tokens: Pick<TokenService, 'issueScannerToken'>;
  /** The registry's external URL (the image URL given to the provider). */
  registryUrl: () => string;
  logger: Logger;
  /** Between two progress checks of a Dragonfly job (default 5 s). */
  pollMs?: number;
  /** How long a task waits for its Dragonfly job (default 1 h). */
  maxWaitMs?: number;
  /** Life of the pull credential given to the provider (default 30 min, Harbor's token expiry). */
  credentialSeconds?: number;
}

/** A task's parameters. */
interface TaskParams {
  policy_id: number;
  instance_id: number;
  repository: string;
  tag: string;
  digest: string;
}

const triggerOf: Record<string, JobTrigger> = { manual: 'MANUAL', scheduled: 'SCHEDULE', event_based: 'EVENT' };
const sigTag = /^sha256-([0-9a-f]{64})\.sig$/;

function iso(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '' : new Date(Number(ms)).toISOString();
}

function taskParams(attrs: Record<string, unknown>): TaskParams | undefined {
  const { policy_id, instance_id, repository, tag, digest } = attrs;
  if (typeof policy_id !== 'number' || typeof instance_id !== 'number' || typeof repository !== 'string' || typeof tag !== 'string' || typeof digest !== 'string') return undefined;
  return { policy_id, instance_id, repository, tag, digest };
}

/** The project's settings that replace a policy's signature and vulnerability filters. */
export function projectSecurity(metadataText: string): ProjectSecurity {
  const m = storedObject(metadataText);
  const on = (k: string) => m[k] === 'true' || m[k] === true;
  return { contentTrust: on('enable_content_trust') || on('enable_content_trust_cosign'), preventVul: on('prevent_vul'), severity: typeof m.severity === 'string' ? m.severity : '' };
}

/** Runs: enforcement, the job, the schedule, the push trigger and Harbor's execution views. */
export class PreheatRuns implements PolicyTriggers {
  private readonly pollMs: number;
  private readonly maxWaitMs: number;

  constructor(private readonly deps: PreheatRunsDeps) {
    this.pollMs = deps.pollMs ?? 5000;
    this.maxWaitMs = deps.maxWaitMs ?? 3_600_000;
  }

  // ---- candidates ---------------------------------------------------------------------------

  /** The tags of the project's images, as the filters see them (`only`: one artifact). */
  private async candidates(db: Kysely<Database>, project: PreheatProjectRow, only?: { repository: string; digest: string }): Promise<Candidate[]> {
    const projectId = Number(project.id);
    const tags = await preheatTags(db, projectId);
    const labels = await preheatLabels(db, projectId);
    const severities = await preheatSeverities(db, projectId);
    const signed = new Set<string>();
    for (const a of await preheatAccessories(db, projectId)) if (accessoryType(a.config_media_type, a.artifact_type).startsWith('signature.')) signed.add(`${a.repository}@${a.subject_digest}`);
    for (const t of tags) {
      const m = sigTag.exec(t.tag);
      if (m) signed.add(`${t.repository}@sha256:${m[1] ?? ''}`);
    }
    const prefix = `${project.name}/`;
    return tags
      .filter((t) => (!only || (t.repository === only.repository && t.digest === only.digest)) && t.subject_digest === null && !sigTag.test(t.tag))
      .filter((t) => artifactKind(t.media_type, t.config_media_type, t.artifact_type) === 'IMAGE')
      .map((t) => ({
        repository: t.repository,
        shortName: t.repository.startsWith(prefix) ? t.repository.slice(prefix.length) : t.repository,
        tag: t.tag,
        digest: t.digest,
        labels: labels.get(Number(t.artifact_id)) ?? [],
        severity: severities.has(t.digest) ? severityCode(severities.get(t.digest) ?? null) : 99,
        signed: signed.has(`${t.repository}@${t.digest}`),
      }));
  }

  /** Creates the run of `policy` over `candidates` inside `trx`; returns the execution id. */
  private async createRun(trx: Transaction<Database>, policy: PreheatPolicyRow, instanceId: number, trigger: JobTrigger, candidates: Candidate[]): Promise<number> {
    const t = parseTrigger(policy.trigger);
    const extraAttrs = { totalCount: candidates.length, trigger: t.type, triggerSetting: t.type === 'scheduled' ? t.cron : '-', policy_id: Number(policy.id) };
    const tasks = candidates.map((c) => ({ policy_id: Number(policy.id), instance_id: instanceId, repository: c.repository, tag: c.tag, digest: c.digest, artifact: `${c.repository}:${c.tag}`, kind: 'image' }));
    const { executionId } = await this.deps.jobs.createExecutionIn(trx, P2P_PREHEAT, trigger, { vendorId: Number(policy.id), extraAttrs, tasks, statusMessage: noArtifactsMessage, emptyStatus: 'Success' });
    return executionId;
  }

  /**
   * Harbor's EnforcePolicy: the policy must be enabled and its provider healthy; one execution
   * over the matching candidates. BAD_REQUEST otherwise.
   */
  async enforce(policyId: number, trigger: JobTrigger): Promise<number> {
    const policy = await readPreheatPolicy(this.deps.db, policyId);
    if (!policy) throw fail('NOT_FOUND', `policy ${policyId} not found`);
    if (Number(policy.enabled) !== 1) throw fail('BAD_REQUEST', `policy ${policyId}:${policy.name} is not enabled`);
    const instance = await this.deps.instances.stored(Number(policy.provider_id));
    if (!instance) throw fail('NOT_FOUND', `instance ${Number(policy.provider_id)} not found`);
    await this.deps.instances.checkHealth(instance.access, instance.name);
    const project = await preheatProjectById(this.deps.db, Number(policy.project_id));
    if (!project) throw fail('NOT_FOUND', `project ${Number(policy.project_id)} not found`);
    const filters = projectSecurityFilters(parseFilters(policy.filters), projectSecurity(project.metadata));
    const matched = (await this.candidates(this.deps.db, project)).filter((c) => candidateMatches(filters, c));
    const id = await this.deps.db.transaction().execute((trx) => this.createRun(trx, policy, instance.id, trigger, matched));
    this.deps.jobs.wake();
    return id;
  }

  // ---- the API ------------------------------------------------------------------------------

  /** `POST /projects/{p}/preheat/policies/{name}` (ManualPreheat); returns the execution id. */
  async manual(ctx: CallContext, projectName: string, policyName: string): Promise<number> {
    const { policy } = await this.deps.policies.policyIn(ctx, projectName, policyName);
    return this.enforce(Number(policy.id), 'MANUAL');
  }

  private async executionIn(ctx: CallContext, projectName: string, policyName: string, executionId: number): Promise<{ project: PreheatProjectRow; policy: PreheatPolicyRow; execution: ExecutionView }> {
    const { project, policy } = await this.deps.policies.policyIn(ctx, projectName, policyName);
    const e = await this.deps.jobs.execution(executionId);
    if (!e || e.vendor_type !== P2P_PREHEAT || Number(e.vendor_id) !== Number(policy.id)) throw fail('NOT_FOUND', `project id ${Number(project.id)}, execution id ${executionId} not found`);
    return { project, policy, execution: e };
  }

  private executionView(e: ExecutionView): Record<string, unknown> {
    const attrs = storedObject(e.extra_attrs);
    return {
      id: e.id,
      vendor_type: e.vendor_type,
      vendor_id: Number(e.vendor_id),
      status: e.status,
      status_message: e.status_message,
      metrics: { ...e.metrics, scheduled_task_count: 0 },
      trigger: typeof attrs.trigger === 'string' ? attrs.trigger : e.trigger,
      extra_attrs: { totalCount: attrs.totalCount ?? 0, trigger: attrs.trigger ?? '', triggerSetting: attrs.triggerSetting ?? '-' },
      start_time: iso(e.start_time),
      end_time: iso(e.end_time),
    };
  }

  private taskView(t: JobTaskRow): Record<string, unknown> {
    const attrs = storedObject(t.extra_attrs);
    return {
      id: t.id,
      execution_id: t.execution_id,
      status: t.status,
      status_message: t.status_message,
      run_count: t.run_count,
      extra_attrs: { artifact: attrs.artifact ?? '', digest: attrs.digest ?? '', kind: attrs.kind ?? 'image' },
      creation_time: iso(t.creation_time),
      update_time: iso(t.update_time),
      start_time: iso(t.start_time),
      end_time: iso(t.end_time),
    };
  }

  /** `GET …/policies/{name}/executions`, newest first. */
  async executions(ctx: CallContext, projectName: string, policyName: string, list: ListQuery): Promise<Page<Record<string, unknown>>> {
    const { policy } = await this.deps.policies.policyIn(ctx, projectName, policyName);
    const { total, rows } = await this.deps.jobs.executions(P2P_PREHEAT, (list.page - 1) * list.pageSize, list.pageSize, Number(policy.id));
    return { total, items: rows.map((e) => this.executionView(e)) };
  }

  /** `GET …/executions/{id}`. */
  async execution(ctx: CallContext, projectName: string, policyName: string, executionId: number): Promise<Record<string, unknown>> {
    return this.executionView((await this.executionIn(ctx, projectName, policyName, executionId)).execution);
  }

  /** `PATCH …/executions/{id}` with `{"status":"Stopped"}`. */
  async stop(ctx: CallContext, projectName: string, policyName: string, executionId: number, body: unknown): Promise<void> {
    await this.executionIn(ctx, projectName, policyName, executionId);
    const status = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).status : undefined; // an object checked just before
    if (status !== 'Stopped') throw fail('BAD_REQUEST', `param status invalid: ${JSON.stringify(body ?? null)}`);
    await this.deps.jobs.stopExecution(executionId);
  }

  /** `GET …/executions/{id}/tasks`, by id. */
  async tasks(ctx: CallContext, projectName: string, policyName: string, executionId: number, list: ListQuery): Promise<Page<Record<string, unknown>>> {
    await this.executionIn(ctx, projectName, policyName, executionId);
    const all = await this.deps.jobs.tasks(executionId);
    const start = (list.page - 1) * list.pageSize;
    return { total: all.length, items: all.slice(start, start + list.pageSize).map((t) => this.taskView(t)) };
  }

  /** `GET …/executions/{id}/tasks/{task_id}/logs`: the task's log as text. */
  async taskLog(ctx: CallContext, projectName: string, policyName: string, executionId: number, taskId: number): Promise<string> {
    const { project, execution } = await this.executionIn(ctx, projectName, policyName, executionId);
    const t = await this.deps.jobs.store.task(taskId);
    if (!t || t.execution_id !== execution.id) throw fail('NOT_FOUND', `project id ${Number(project.id)}, task id ${taskId} not found`);
    return this.deps.jobs.taskLogText(taskId);
  }

  // ---- policy hooks (PolicyTriggers) --------------------------------------------------------

  /** Keeps a policy's schedule in step with its trigger. */
  async policySaved(policy: PreheatPolicyRow): Promise<void> {
    const id = Number(policy.id);
    const t = parseTrigger(policy.trigger);
    await this.deps.jobs.removeSchedule(P2P_PREHEAT_SCHEDULE, id);
    if (t.type === 'scheduled' && t.cron !== '') await this.deps.jobs.setSchedule(P2P_PREHEAT_SCHEDULE, 'Custom', t.cron, { policy_id: id }, id);
  }

  /** Refuses while a run is open (Harbor's 412); drops the schedule and the finished runs. */
  async policyDeleting(policy: PreheatPolicyRow): Promise<void> {
    const id = Number(policy.id);
    const { rows } = await this.deps.jobs.executions(P2P_PREHEAT, 0, 1000, id);
    const open = rows.find((e) => !(finalStatuses as readonly string[]).includes(e.status));
    if (open) throw fail('PRECONDITION_FAILED', `execution ${open.id} under the policy ${policy.name} is running, stop it and retry`);
    await this.deps.jobs.removeSchedule(P2P_PREHEAT_SCHEDULE, id);
    await this.deps.jobs.deleteFinalExecutions(P2P_PREHEAT, id);
    await this.deps.jobs.deleteFinalExecutions(P2P_PREHEAT_SCHEDULE, id);
  }

  /** The P2P_PREHEAT_SCHEDULE job: a firing schedule enforces its policy (trigger SCHEDULE). */
  scheduleHandler(): JobHandler {
    return {
      vendorType: P2P_PREHEAT_SCHEDULE,
      concurrency: 1,
      maxRuns: 1,
      run: async (ctx: JobContext) => {
        const id = ctx.params.policy_id;
        const policy = typeof id === 'number' ? await readPreheatPolicy(this.deps.db, id) : undefined;
        // A policy deleted, or left behind by its deleted project, fires no more.
        if (typeof id !== 'number' || !policy || !(await preheatProjectById(this.deps.db, Number(policy.project_id)))) {
          if (typeof id === 'number') await this.deps.jobs.removeSchedule(P2P_PREHEAT_SCHEDULE, id);
          await ctx.log(`preheat policy ${String(id)} or its project is gone: its schedule is removed`, 'WARNING');
          return {};
        }
        const executionId = await this.enforce(id, 'SCHEDULE');
        await ctx.log(`started preheat execution ${executionId} of policy ${id}`);
        return { execution_id: executionId };
      },
    };
  }

  // ---- the push trigger ---------------------------------------------------------------------

  /** The `preheat-events` consumer: a push starts the project's enabled event-based policies it matches. */
  consumer(): Consumer {
    return { name: 'preheat-events', types: ['PUSH_ARTIFACT'], fromLatest: true, handle: (batch, trx) => this.onPush(batch, trx) };
  }

  private async onPush(batch: readonly OutboxRecord[], trx: Transaction<Database>): Promise<void | (() => void)> {
    let created = 0;
    // Each project's policies read once per batch (a burst of pushes to one project is one read).
    const policiesOf = new Map<number, PreheatPolicyRow[]>();
    for (const rec of batch) {
      const e = rec.event;
      if (!e || e.type !== 'PUSH_ARTIFACT') continue;
      let policies = policiesOf.get(e.project.id);
      if (!policies) {
        policies = await eventPreheatPolicies(trx, e.project.id);
        policiesOf.set(e.project.id, policies);
      }
      if (policies.length === 0) continue;
      const project = await preheatProjectById(trx, e.project.id);
      if (!project) continue;
      const candidates = await this.candidates(trx, project, { repository: e.repository.name, digest: e.artifact.digest });
      if (candidates.length === 0) continue;
      for (const policy of policies) {
        const filters = projectSecurityFilters(parseFilters(policy.filters), projectSecurity(project.metadata));
        const matched = candidates.filter((c) => candidateMatches(filters, c));
        if (matched.length === 0) continue;
        const instance = await this.deps.instances.stored(Number(policy.provider_id), trx);
        if (!instance || !instance.enabled) continue;
        await this.createRun(trx, policy, instance.id, triggerOf.event_based ?? 'EVENT', matched);
        created++;
      }
    }
    if (created > 0) return () => this.deps.jobs.wake();
  }

  // ---- the job ------------------------------------------------------------------------------

  /** The P2P_PREHEAT job: one image to one provider. */
  handler(): JobHandler {
    return { vendorType: P2P_PREHEAT, maxRuns: 2, run: (ctx) => this.runTask(ctx) };
  }

  private async runTask(ctx: JobContext): Promise<Record<string, unknown>> {
    const p = taskParams(ctx.params);
    if (!p) throw new Error('the task has no image to preheat');
    const instance = await this.deps.instances.stored(p.instance_id);
    if (!instance) throw new Error(`preheat instance ${p.instance_id} not found`);
    const url = `${this.deps.registryUrl().replace(/\/+$/, '')}/v2/${p.repository}/manifests/${p.tag}`;
    const token = await this.deps.tokens.issueScannerToken(p.repository, this.deps.credentialSeconds ?? 1800);
    const client = new ProviderClient(instance.access, this.deps.instances.limits);
    try {
      await ctx.log(`preheating ${p.repository}:${p.tag}@${p.digest} on ${instance.access.vendor} instance ${instance.name} (${instance.access.endpoint})`);
      let progress: PreheatProgress = await client.preheat(
        { url, headers: { Authorization: `Bearer ${token.token}` }, image: p.repository, tag: p.tag, digest: p.digest },
        parseExtraAttrs((await readPreheatPolicy(this.deps.db, p.policy_id))?.extra_attrs ?? ''),
        ctx.signal,
      );
      await ctx.log(`the provider accepted the preheat: task ${progress.taskId}, ${progress.state}`);
      const deadline = Date.now() + this.maxWaitMs;
      // Checks start after half a second and back off to pollMs.
      let wait = Math.min(500, this.pollMs);
      while (progress.state === 'PENDING' || progress.state === 'RUNNING') {
        if (ctx.signal.aborted) throw new Error('stopped');
        if (Date.now() > deadline) throw new Error(`the provider did not finish task ${progress.taskId} in ${Math.round(this.maxWaitMs / 1000)} s`);
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, this.pollMs);
        progress = await client.progress(progress.taskId, ctx.signal);
        await ctx.log(`provider task ${progress.taskId}: ${progress.state}`);
      }
      for (const line of progress.detail ?? []) await ctx.log(line);
      if (progress.state === 'FAIL') throw new Error(`preheat failed: ${progress.error ?? 'the provider reported a failure'}`);
      await ctx.log('preheat done');
      return { provider_task_id: progress.taskId, state: progress.state };
    } catch (err) {
      const reason = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
      if (!ctx.signal.aborted) await ctx.log(reason, 'ERROR');
      throw err;
    } finally {
      await client.close();
    }
  }
}
