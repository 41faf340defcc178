/**
 * Replication runs (docs/replication-design.md "Runs on the job framework", docs/replication.md
 * "Executions" and "Events"): Harbor's /replication/executions views, the REPLICATION job, the
 * event-based trigger (an outbox consumer) and REPLICATION events.
 *
 * - A manual or scheduled run is a REPLICATION execution (vendor id = the policy, `extra_attrs`
 *   `{policy_id, operator, trigger}`) that starts with one `fetch` task. The fetch lists the
 *   source through the policy's filters (push: the local database; pull: the remote catalog, its
 *   tags, a HEAD per tag, tags grouped by digest), computes the destination names, prepares each
 *   destination repository once, and adds one `copy` task per artifact (accessories after their
 *   subjects) to the same execution. Nothing selected: `no resources need to be replicated`.
 * - An event-based run (PUSH_ARTIFACT, CREATE_TAG, DELETE_ARTIFACT, DELETE_TAG) is created by the
 *   `replication-events` consumer in the event's cursor transaction: one execution per matching
 *   enabled push policy, with one copy (or, with `deletion`, deletion) task.
 * - A task's outcome is recorded as a marker (`outcome`) in its attributes, in one transaction with
 *   its REPLICATION event (per task) or with the run's summary event (claimed once per run under
 *   the run's lock, by whichever task or stop request sees every other task done). A task rerun
 *   after a crash finds the marker and repeats the outcome without copying or sending anything
 *   again; only its `Running` event may be sent twice (one per run, as Harbor does on a retry).
 * - A pull into a proxy-cache project (`projects.registry_id` set) writes nothing, as in Harbor:
 *   the fetch prepares nothing there and each copy task ends Success with a WARNING saying why.
 * - The API hides the fetch task: tasks and counts are the artifact tasks; a failed fetch is the
 *   execution's `status_text`.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Actor, Authorizer, CallContext } from '../auth/index.ts';
import { systemActor } from '../auth/index.ts';
import {
  claimReplicationSummary,
  finalStatuses,
  isProxyCacheProject,
  lockReplicationRun,
  readRegistryEndpoint,
  readReplicationPolicy,
  replicationArtifact,
  replicationExecution,
  replicationArtifacts,
  replicationExecutionPage,
  replicationProject,
  replicationRepositories,
  replicationTasks,
  type Database,
  type JobExecutionRow,
  type JobTaskRow,
  type JobTrigger,
  type ReplicationArtifactRow,
} from '../db/index.ts';
import { artifactKind, fail, isJsonObject, storedObject, type ListQuery, type Page } from '../domain/index.ts';
import type { ArtifactEvent, Consumer, Outbox, OutboxRecord, TagEvent } from '../events/index.ts';
import type { JobContext, JobHandler, JobService } from '../jobs/index.ts';
import type { Registry } from '../registry/index.ts';
import { copyArtifact, deleteArtifact } from './copy.ts';
import { destinationRepository, matchesArtifact, matchesRepository, type ArtifactFacts } from './filters.ts';
import { LocalSide } from './local-side.ts';
import { REPLICATION, type StoredPolicy } from './policies.ts';
import { localRegistryId, readPolicy, replicationMode, type ReplicationPolicySpec } from './policy.ts';
import type { EndpointOf } from './registries.ts';
import { RemoteSide } from './remote-side.ts';
import type { ReplicationSide } from './side.ts';

/** Who the local side acts as, and the operator of scheduled runs (Harbor's name). */
export const replicationActorName = 'harbor-jobservice';
/** PATCH size of `copy_by_chunk` (Harbor's REPLICATION_CHUNK_SIZE default). */
export const replicationChunkSize = 10 * 1024 * 1024;
/** The fetch step's message when the filters select nothing (Harbor's). */
export const noResourcesMessage = 'no resources need to be replicated';
/** The message of a run skipped by `single_active_replication` (Harbor's). */
export const skippedMessage = 'Execution skipped: active replication still in progress.';

/** What the policies service gives runs (src/replication/policies.ts). */
export interface RunPolicies {
  policy(id: number): Promise<StoredPolicy | undefined>;
  eventPolicies(db: Kysely<Database>): Promise<StoredPolicy[]>;
  endpoint(registryId: number): Promise<EndpointOf | undefined>;
}

/** What replication runs need. */
export interface ReplicationRunsDeps {
  db: Kysely<Database>;
  jobs: JobService;
  outbox: Outbox;
  authorizer: Authorizer;
  policies: RunPolicies;
  /** The local registry (the local side goes through it). */
  registry: Registry;
  /** Creates a missing local project (private) before a pull writes into it. */
  ensureProject: (name: string) => Promise<void>;
  /** This Wharf's external_url (the local side's endpoint in events). */
  externalUrl: () => string;
  /** `harbor_hostname` of events: external_url's host. */
  hostname: () => string;
  logger: Logger;
  now?: () => number;
  /** Builds a side (tests of the engine may wrap one); default: LocalSide for id 0, RemoteSide otherwise. */
  sideFor?: (registryId: number, endpoint: EndpointOf | undefined) => ReplicationSide;
}

/** The parameters of a task (JSON in its attributes). */
interface FetchParams {
  step: 'fetch';
  policy_id: number;
  operator: string;
}
interface ArtifactParams {
  step: 'copy' | 'deletion';
  policy_id: number;
  operator: string;
  src_repo: string;
  dst_repo: string;
  digest: string;
  tags: string[];
  resource_type: 'image' | 'artifact';
  operation: 'copy' | 'deletion' | 'tag deletion';
}
type TaskParams = FetchParams | ArtifactParams;

/** What a task recorded when it ended (the marker a rerun reads back). */
interface Outcome {
  status: 'Success' | 'Error' | 'Stopped';
  fail_reason?: string;
}

/** An artifact a fetch selected. */
interface Selected {
  srcRepo: string;
  dstRepo: string;
  digest: string;
  tags: string[];
  kind: string;
  accessory: boolean;
}

const iso = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '0001-01-01T00:00:00.000Z' : new Date(ms).toISOString());

const legacyStatus: Record<string, string> = { Pending: 'Pending', Running: 'InProgress', Success: 'Succeed', Error: 'Failed', Stopped: 'Stopped' };
const executionStatusFilter: Record<string, string[]> = { InProgress: ['Running', 'Pending'], Succeed: ['Success'], Failed: ['Error'], Stopped: ['Stopped'] };
const taskStatusFilter: Record<string, string[]> = { InProgress: ['Running'], Pending: ['Pending'], Succeed: ['Success'], Failed: ['Error'], Stopped: ['Stopped'] };
const legacyTrigger: Record<string, string> = { MANUAL: 'manual', SCHEDULE: 'scheduled', EVENT: 'event_based' };
const triggerOf: Record<string, JobTrigger> = { manual: 'MANUAL', scheduled: 'SCHEDULE', event_based: 'EVENT' };

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function parseTask(attrs: Record<string, unknown>): TaskParams {
  const policyId = attrs.policy_id;
  if (typeof policyId !== 'number') throw new Error('replication task parameter policy_id is missing');
  if (attrs.step === 'fetch') return { step: 'fetch', policy_id: policyId, operator: str(attrs.operator) };
  if (attrs.step !== 'copy' && attrs.step !== 'deletion') throw new Error(`unknown replication task step ${JSON.stringify(attrs.step)}`);
  const tags = Array.isArray(attrs.tags) ? attrs.tags.map(String) : [];
  const op = attrs.operation === 'deletion' || attrs.operation === 'tag deletion' ? attrs.operation : 'copy';
  return {
    step: attrs.step,
    policy_id: policyId,
    operator: str(attrs.operator),
    src_repo: str(attrs.src_repo),
    dst_repo: str(attrs.dst_repo),
    digest: str(attrs.digest),
    tags,
    resource_type: attrs.resource_type === 'artifact' ? 'artifact' : 'image',
    operation: op,
  };
}

function outcomeOf(attrs: Record<string, unknown>): Outcome | undefined {
  const o = attrs.outcome;
  if (!isJsonObject(o)) return undefined;
  if (o.status !== 'Success' && o.status !== 'Error' && o.status !== 'Stopped') return undefined;
  return { status: o.status, ...(typeof o.fail_reason === 'string' ? { fail_reason: o.fail_reason } : {}) };
}

/** `"<repo> [<n> item(s) in total]"`: n counts the tags, or the digest when untagged. */
function resourceText(repo: string, p: Pick<ArtifactParams, 'tags'>): string {
  return `${repo} [${Math.max(1, p.tags.length)} item(s) in total]`;
}

function withoutProject(repo: string): string {
  const i = repo.indexOf('/');
  return i < 0 ? repo : repo.slice(i + 1);
}

function projectPart(repo: string): string {
  const i = repo.indexOf('/');
  return i < 0 ? '' : repo.slice(0, i);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function resourceKind(kind: string): 'image' | 'artifact' {
  return kind === 'IMAGE' ? 'image' : 'artifact';
}

/** Harbor's REPLICATION executions, tasks and events. */
export class ReplicationRuns {
  private readonly now: () => number;
  private readonly actor: Actor;

  constructor(private readonly deps: ReplicationRunsDeps) {
    this.now = deps.now ?? Date.now;
    this.actor = { ...systemActor, username: replicationActorName };
  }

  /** The REPLICATION job handler. A task whose worker died runs again (3 runs in all). */
  handler(): JobHandler {
    return { vendorType: REPLICATION, maxRuns: 3, run: (ctx) => this.runTask(ctx) };
  }

  /** The event-based trigger: an outbox consumer (register it with the consumer runner). */
  consumer(): Consumer {
    return {
      name: 'replication-events',
      types: ['PUSH_ARTIFACT', 'CREATE_TAG', 'DELETE_ARTIFACT', 'DELETE_TAG'],
      fromLatest: true,
      handle: (batch, trx) => this.onEvents(batch, trx),
    };
  }

  // ---- the API ------------------------------------------------------------------------------

  /** POST /replication/executions `{"policy_id":N}`: returns the new execution's id. */
  async start(ctx: CallContext, body: unknown): Promise<number> {
    this.admin(ctx);
    if (!isJsonObject(body)) throw fail('BAD_REQUEST', 'the request body must be {"policy_id": <id>}');
    const id = body.policy_id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw fail('BAD_REQUEST', 'policy_id must be a positive integer');
    return this.startFrom(id, 'MANUAL', ctx.actor.username);
  }

  /**
   * Starts an execution of a policy (the API, and the REPLICATION_SCHEDULE job): NOT_FOUND for an
   * unknown policy, PRECONDITION_FAILED for a disabled one. With `single_active_replication` and
   * another execution of the policy still running, the new one is recorded Error at once.
   */
  async startFrom(policyId: number, trigger: JobTrigger, operator: string): Promise<number> {
    const p = await this.deps.policies.policy(policyId);
    if (!p) throw fail('NOT_FOUND', `policy ${policyId} not found`);
    if (!p.enabled) throw fail('PRECONDITION_FAILED', `the policy ${policyId} is disabled`);
    const extraAttrs = { policy_id: p.id, operator, trigger };
    if (p.spec.singleActiveReplication && (await this.deps.jobs.store.openExecutionsByVendor(REPLICATION, p.id)).length > 0) {
      const { executionId } = await this.deps.db.transaction().execute((trx) =>
        this.deps.jobs.createExecutionIn(trx, REPLICATION, trigger, { vendorId: p.id, extraAttrs, tasks: [], statusMessage: skippedMessage, emptyStatus: 'Error' }),
      );
      return executionId;
    }
    const fetch: FetchParams = { step: 'fetch', policy_id: p.id, operator };
    const { executionId } = await this.deps.db.transaction().execute((trx) => this.deps.jobs.createExecutionIn(trx, REPLICATION, trigger, { vendorId: p.id, extraAttrs, tasks: [{ ...fetch }] }));
    this.deps.jobs.wake();
    return executionId;
  }

  /** GET /replication/executions: `policy_id`, `status`, `trigger` filters; newest first unless `sort`. */
  async list(ctx: CallContext, filter: { policy_id?: string; status?: string; trigger?: string }, page: ListQuery): Promise<Page<Record<string, unknown>>> {
    this.admin(ctx);
    let policyId: number | undefined;
    if (filter.policy_id !== undefined && filter.policy_id !== '') {
      if (!/^[0-9]{1,15}$/.test(filter.policy_id)) throw fail('BAD_REQUEST', `invalid policy_id "${filter.policy_id}"`);
      policyId = Number(filter.policy_id);
    }
    let statuses: string[] | undefined;
    if (filter.status !== undefined && filter.status !== '') {
      statuses = executionStatusFilter[filter.status];
      if (!statuses) throw fail('BAD_REQUEST', `invalid status "${filter.status}": expected InProgress, Succeed, Failed or Stopped`);
    }
    let trigger: string | undefined;
    if (filter.trigger !== undefined && filter.trigger !== '') {
      trigger = triggerOf[filter.trigger];
      if (!trigger) throw fail('BAD_REQUEST', `invalid trigger "${filter.trigger}": expected manual, scheduled or event_based`);
    }
    const columns = ['id', 'start_time', 'end_time', 'status'] as const;
    const key = page.sort.find((s) => (columns as readonly string[]).includes(s.field));
    const sort = key ? { column: columns.find((c) => c === key.field) ?? 'id', desc: key.desc } : undefined;
    const { total, rows } = await replicationExecutionPage(this.deps.db, REPLICATION, { policyId, statuses, trigger }, (page.page - 1) * page.pageSize, page.pageSize, sort);
    return { total, items: await Promise.all(rows.map((e) => this.executionView(e))) };
  }

  /** GET /replication/executions/{id}. */
  async get(ctx: CallContext, id: number): Promise<Record<string, unknown>> {
    this.admin(ctx);
    return this.executionView(await this.execution(id));
  }

  /** PUT /replication/executions/{id}: stop. Tasks stopped before they started send no event: the summary may be due now. */
  async stop(ctx: CallContext, id: number): Promise<void> {
    this.admin(ctx);
    await this.execution(id);
    await this.deps.jobs.stopExecution(id);
    await this.deps.db.transaction().execute(async (trx) => {
      await lockReplicationRun(trx, id);
      await this.summaryIfLast(trx, id);
    });
  }

  /** GET /replication/executions/{id}/tasks: `status`, `resource_type` filters, paging. */
  async tasks(ctx: CallContext, id: number, filter: { status?: string; resource_type?: string }, page: ListQuery): Promise<Page<Record<string, unknown>>> {
    this.admin(ctx);
    await this.execution(id);
    let statuses: string[] | undefined;
    if (filter.status !== undefined && filter.status !== '') {
      statuses = taskStatusFilter[filter.status];
      if (!statuses) throw fail('BAD_REQUEST', `invalid status "${filter.status}": expected InProgress, Pending, Succeed, Failed or Stopped`);
    }
    const rt = filter.resource_type;
    if (rt !== undefined && rt !== '' && rt !== 'image' && rt !== 'artifact') throw fail('BAD_REQUEST', `invalid resource_type "${rt}": expected image or artifact`);
    const all = (await this.deps.jobs.tasks(id))
      .map((t) => ({ t, p: this.safeParams(t) }))
      .filter((x): x is { t: JobTaskRow; p: ArtifactParams } => x.p !== undefined && x.p.step !== 'fetch')
      .filter((x) => statuses === undefined || statuses.includes(x.t.status))
      .filter((x) => rt === undefined || rt === '' || x.p.resource_type === rt);
    const start = (page.page - 1) * page.pageSize;
    return { total: all.length, items: all.slice(start, start + page.pageSize).map((x) => this.taskView(x.t, x.p)) };
  }

  /** GET /replication/executions/{id}/tasks/{task_id}/log: the task's log as text. */
  async taskLog(ctx: CallContext, id: number, taskId: number): Promise<string> {
    this.admin(ctx);
    await this.execution(id);
    const t = await this.deps.jobs.store.task(taskId);
    if (!t || t.execution_id !== id) throw fail('NOT_FOUND', `replication task ${taskId} not found`);
    return this.deps.jobs.taskLogText(taskId);
  }

  private admin(ctx: CallContext): void {
    this.deps.authorizer.check(ctx.actor, 'admin');
  }

  private async execution(id: number): Promise<JobExecutionRow> {
    const e = await this.deps.jobs.store.execution(id);
    if (!e || e.vendor_type !== REPLICATION) throw fail('NOT_FOUND', `replication execution ${id} not found`);
    return e;
  }

  private safeParams(t: JobTaskRow): TaskParams | undefined {
    try {
      return parseTask(storedObject(t.extra_attrs));
    } catch {
      return undefined;
    }
  }

  private async executionView(e: JobExecutionRow): Promise<Record<string, unknown>> {
    const tasks = await this.deps.jobs.tasks(e.id);
    const counts = { total: 0, failed: 0, succeed: 0, in_progress: 0, stopped: 0 };
    let fetchMessage = '';
    for (const t of tasks) {
      const attrs = storedObject(t.extra_attrs);
      if (attrs.step === 'fetch') {
        const result = attrs.result;
        if (isJsonObject(result) && typeof result.message === 'string') fetchMessage = result.message;
        continue;
      }
      counts.total++;
      if (t.status === 'Success') counts.succeed++;
      else if (t.status === 'Error') counts.failed++;
      else if (t.status === 'Stopped') counts.stopped++;
      else counts.in_progress++;
    }
    return {
      id: e.id,
      policy_id: e.vendor_id,
      status: legacyStatus[e.status] ?? e.status,
      status_text: e.status_message !== '' ? e.status_message : fetchMessage,
      trigger: legacyTrigger[e.trigger] ?? e.trigger.toLowerCase(),
      start_time: iso(e.start_time),
      end_time: iso(e.end_time),
      ...counts,
    };
  }

  private taskView(t: JobTaskRow, p: ArtifactParams): Record<string, unknown> {
    return {
      id: t.id,
      execution_id: t.execution_id,
      status: legacyStatus[t.status] ?? t.status,
      job_id: String(t.id),
      operation: p.operation,
      resource_type: p.resource_type,
      src_resource: resourceText(p.src_repo, p),
      dst_resource: resourceText(p.dst_repo, p),
      start_time: iso(t.start_time),
      end_time: iso(t.end_time),
    };
  }

  // ---- the job ------------------------------------------------------------------------------

  private async sides(p: StoredPolicy): Promise<{ src: ReplicationSide; dst: ReplicationSide; srcEp?: EndpointOf; dstEp?: EndpointOf }> {
    const side = async (id: number): Promise<{ side: ReplicationSide; ep?: EndpointOf }> => {
      const ep = id === localRegistryId ? undefined : await this.deps.policies.endpoint(id);
      if (id !== localRegistryId && !ep) throw new Error(`the registry ${id} of policy ${p.id} no longer exists`);
      if (this.deps.sideFor) return { side: this.deps.sideFor(id, ep), ep };
      if (!ep) return { side: new LocalSide({ registry: this.deps.registry, actor: this.actor, endpoint: this.deps.externalUrl(), ensureProject: this.deps.ensureProject }) };
      return { side: new RemoteSide({ access: ep.access, label: ep.name }), ep };
    };
    const s = await side(p.spec.srcRegistryId);
    const d = await side(p.spec.destRegistryId);
    return { src: s.side, dst: d.side, srcEp: s.ep, dstEp: d.ep };
  }

  /** True when the policy writes into this Wharf and `dstRepo`'s project is a proxy-cache project. */
  private async intoProxyCache(spec: ReplicationPolicySpec, dstRepo: string): Promise<boolean> {
    return spec.destRegistryId === localRegistryId && (await isProxyCacheProject(this.deps.db, projectPart(dstRepo)));
  }

  private pathRule(dstEp: EndpointOf | undefined): 'any' | 'at-least-two' {
    return !dstEp || dstEp.type === 'harbor' ? 'at-least-two' : 'any';
  }

  private async runTask(ctx: JobContext): Promise<Record<string, unknown>> {
    const p = parseTask(ctx.params);
    const recorded = outcomeOf(ctx.params);
    if (recorded) {
      // Recorded (with its event) before the worker stopped: nothing is done or sent twice.
      await ctx.log(`this task already recorded its outcome (${recorded.status}) before its worker stopped`);
      if (recorded.status === 'Success') return { status: 'Success' };
      throw new Error(recorded.fail_reason ?? recorded.status);
    }
    const policy = await this.deps.policies.policy(p.policy_id);
    if (!policy) throw new Error(`the replication policy ${p.policy_id} no longer exists`);
    return p.step === 'fetch' ? this.fetch(ctx, policy, p) : this.transfer(ctx, policy, p);
  }

  /** True when the task's signal fired because of a stop request (not a shutdown or a lost lease). */
  private async stopRequested(ctx: JobContext): Promise<boolean> {
    if (!ctx.signal.aborted) return false;
    const t = await this.deps.jobs.store.task(ctx.taskId);
    return t?.stop_requested === 1;
  }

  private async fetch(ctx: JobContext, policy: StoredPolicy, p: FetchParams): Promise<Record<string, unknown>> {
    const spec = policy.spec;
    const mode = replicationMode(spec);
    let selected: Selected[];
    let tasks: ArtifactParams[];
    try {
      const { src, dst, dstEp } = await this.sides(policy);
      try {
        await ctx.log(`replication policy ${policy.id} (${spec.name}): ${mode} from ${src.label} to ${dst.label}`);
        selected = mode === 'push' ? await this.localCandidates(spec, dstEp) : await this.remoteCandidates(ctx, spec, src);
        if (selected.length === 0) {
          await ctx.log(noResourcesMessage);
          return { message: noResourcesMessage };
        }
        const repos = [...new Set(selected.map((s) => s.dstRepo))];
        for (const repo of repos) {
          if (ctx.signal.aborted) throw new Error('stopped before every destination repository was prepared');
          // Its copy tasks skip it (and say so); nothing is prepared there.
          if (await this.intoProxyCache(spec, repo)) {
            await ctx.log(`${repo}: the project ${projectPart(repo)} is a proxy-cache project, replication does not write into it: its artifacts are skipped`, 'WARNING');
            continue;
          }
          await dst.prepareRepository(repo, ctx.signal);
        }
        await ctx.log(`${selected.length} artifact(s) in ${repos.length} repository(ies) to replicate`);
      } finally {
        await Promise.allSettled([src.close(), dst.close()]);
      }
      tasks = selected.map((s) => ({
        step: 'copy',
        policy_id: policy.id,
        operator: p.operator,
        src_repo: s.srcRepo,
        dst_repo: s.dstRepo,
        digest: s.digest,
        tags: s.tags,
        resource_type: resourceKind(s.kind),
        operation: 'copy',
      }));
    } catch (err) {
      await this.recordFetchFailure(ctx, err);
      throw err;
    }
    const added = await this.deps.db.transaction().execute(async (trx) => {
      await lockReplicationRun(trx, ctx.executionId);
      const ids = await this.deps.jobs.addTasksIn(trx, ctx.executionId, REPLICATION, tasks.map((t) => ({ ...t })));
      // Its outcome now: a copy task ending before the framework records this one's end sees it done.
      await this.deps.jobs.store.mergeTaskAttrsIn(trx, ctx.taskId, { outcome: { status: ids ? 'Success' : 'Stopped' } }, this.now());
      return ids;
    });
    if (!added) {
      await ctx.log('a stop was requested: no task was added', 'WARNING');
      throw new Error('stopped by request');
    }
    this.deps.jobs.wake();
    return { tasks: added.length };
  }

  private async recordFetchFailure(ctx: JobContext, err: unknown): Promise<void> {
    let status: Outcome['status'] = 'Error';
    if (ctx.signal.aborted) {
      if (!(await this.stopRequested(ctx))) return; // a shutdown or a lost lease: the next run fetches again
      status = 'Stopped';
    }
    const outcome: Outcome = status === 'Error' ? { status, fail_reason: message(err) } : { status };
    await this.deps.db.transaction().execute(async (trx) => {
      await lockReplicationRun(trx, ctx.executionId);
      await this.deps.jobs.store.mergeTaskAttrsIn(trx, ctx.taskId, { outcome }, this.now());
      await this.summaryIfLast(trx, ctx.executionId);
    });
  }

  /** Push: local repositories through the filters, their artifacts (accessories after their subjects). */
  private async localCandidates(spec: ReplicationPolicySpec, dstEp: EndpointOf | undefined): Promise<Selected[]> {
    const out: Selected[] = [];
    for (const repo of await replicationRepositories(this.deps.db)) {
      if (!matchesRepository(spec.filters, repo.name)) continue;
      const arts = await replicationArtifacts(this.deps.db, repo.id);
      const byDigest = new Map(arts.map((a) => [a.digest, a]));
      const subjects: Selected[] = [];
      const accessories: Selected[] = [];
      let dstRepo: string | undefined;
      for (const a of arts) {
        const facts = this.facts(a, a.subject_digest === null ? undefined : byDigest.get(a.subject_digest));
        if (!facts) continue;
        const sel = matchesArtifact(spec.filters, facts);
        if (!sel) continue;
        dstRepo ??= destinationRepository(repo.name, spec.destNamespace, spec.destNamespaceReplaceCount, this.pathRule(dstEp));
        const s: Selected = { srcRepo: repo.name, dstRepo, digest: a.digest, tags: sel.tags, kind: facts.subject?.kind ?? facts.kind, accessory: a.subject_digest !== null };
        (s.accessory ? accessories : subjects).push(s);
      }
      out.push(...subjects, ...accessories);
    }
    return out;
  }

  /** The filters' view of an artifact; undefined for an accessory whose subject is not in the repository. */
  private facts(a: ReplicationArtifactRow, subject: ReplicationArtifactRow | undefined): ArtifactFacts | undefined {
    const kind = artifactKind(a.media_type, a.config_media_type, a.artifact_type);
    if (a.subject_digest === null) return { tags: a.tags, labels: a.labels, kind };
    if (!subject) return undefined;
    return { tags: a.tags, labels: a.labels, kind, subject: { tags: subject.tags, labels: subject.labels, kind: artifactKind(subject.media_type, subject.config_media_type, subject.artifact_type) } };
  }

  /** Pull: the remote catalog through the name filters, each repository's tags grouped by digest. */
  private async remoteCandidates(ctx: JobContext, spec: ReplicationPolicySpec, src: ReplicationSide): Promise<Selected[]> {
    const out: Selected[] = [];
    const repos = (await src.listRepositories(ctx.signal)).filter((r) => matchesRepository(spec.filters, r));
    for (const repo of repos) {
      const byDigest = new Map<string, string[]>();
      for (const tag of await src.listTags(repo, ctx.signal)) {
        const head = await src.headManifest(repo, tag, ctx.signal);
        if (!head) continue; // the tag went away meanwhile
        const list = byDigest.get(head.digest) ?? [];
        list.push(tag);
        byDigest.set(head.digest, list);
      }
      let dstRepo: string | undefined;
      for (const [digest, tags] of byDigest) {
        // A plain registry has no artifact types or labels: everything is an image there.
        const sel = matchesArtifact(spec.filters, { tags: tags.sort(), labels: [], kind: 'IMAGE' });
        if (!sel) continue;
        dstRepo ??= destinationRepository(repo, spec.destNamespace, spec.destNamespaceReplaceCount, 'at-least-two');
        out.push({ srcRepo: repo, dstRepo, digest, tags: sel.tags, kind: 'IMAGE', accessory: false });
      }
    }
    return out;
  }

  private async transfer(ctx: JobContext, policy: StoredPolicy, p: ArtifactParams): Promise<Record<string, unknown>> {
    const spec = policy.spec;
    const execution = await this.deps.jobs.store.execution(ctx.executionId);
    if (!execution) throw new Error(`the execution ${ctx.executionId} no longer exists`);
    if (spec.eventMode === 'per_task' && spec.eventStatusFilter === 'all') {
      await this.deps.db.transaction().execute((trx) => this.appendEvent(trx, policy, execution, ctx.taskId, 'Running', [p], []));
    }
    let outcome: Outcome;
    let result: Record<string, unknown> = {};
    try {
      if (await this.intoProxyCache(spec, p.dst_repo)) {
        // As Harbor: a proxy-cache project is filled by pulls through it only.
        await ctx.log(`${p.dst_repo}: the project ${projectPart(p.dst_repo)} is a proxy-cache project, replication does not write into it: ${p.digest} skipped`, 'WARNING');
        result = { digest: p.digest, skipped: 'proxy-cache project' };
      } else {
        const { src, dst } = await this.sides(policy);
        try {
          const log = (line: string, level?: 'INFO' | 'WARNING' | 'ERROR') => ctx.log(line, level);
          if (p.step === 'copy') {
            const r = await copyArtifact({
              src,
              srcRepo: p.src_repo,
              dst,
              dstRepo: p.dst_repo,
              ref: p.digest,
              digest: p.digest,
              tags: p.tags,
              override: spec.override,
              speedKBs: spec.speed,
              ...(spec.copyByChunk ? { chunkSize: replicationChunkSize } : {}),
              // The fetch step prepared the destination repositories of its run; an event's run has no fetch.
              prepare: ctx.trigger === 'EVENT',
              signal: ctx.signal,
              log,
            });
            result = { digest: r.digest, copy: r.status };
          } else {
            const ref = p.operation === 'tag deletion' && p.tags[0] !== undefined ? p.tags[0] : p.digest;
            await deleteArtifact({ dst, dstRepo: p.dst_repo, ref, signal: ctx.signal, log });
            result = { digest: p.digest, deleted: true };
          }
        } finally {
          await Promise.allSettled([src.close(), dst.close()]);
        }
      }
      outcome = { status: 'Success' };
    } catch (err) {
      if (ctx.signal.aborted) {
        if (!(await this.stopRequested(ctx))) throw err; // a shutdown or a lost lease: the next run carries on, nothing recorded
        outcome = { status: 'Stopped' };
      } else outcome = { status: 'Error', fail_reason: message(err) };
    }
    await this.deps.db.transaction().execute(async (trx) => {
      await lockReplicationRun(trx, ctx.executionId);
      await this.deps.jobs.store.mergeTaskAttrsIn(trx, ctx.taskId, { outcome }, this.now());
      if (spec.eventMode === 'per_task') {
        if (spec.eventStatusFilter === 'all' || outcome.status === 'Error') {
          const item = { ...p, fail_reason: outcome.fail_reason };
          // Harbor lists the artifact only under a Success or an Error.
          await this.appendEvent(trx, policy, execution, ctx.taskId, outcome.status, outcome.status === 'Success' ? [item] : [], outcome.status === 'Error' ? [item] : []);
        }
      } else await this.summaryIfLast(trx, ctx.executionId);
    });
    if (outcome.status === 'Stopped') throw new Error('stopped by request');
    if (outcome.status === 'Error') throw new Error(outcome.fail_reason ?? 'failed');
    return result;
  }

  /**
   * With `event_mode: summary`: when every task of the run is final or has recorded its outcome
   * (read under the run's lock), sends the run's one REPLICATION event, once.
   */
  private async summaryIfLast(trx: Transaction<Database>, executionId: number): Promise<void> {
    const rows = await replicationTasks(trx, executionId);
    const items: Array<ArtifactParams & { status: Outcome['status']; fail_reason?: string }> = [];
    let fetchFailure: string | undefined;
    let policyId: number | undefined;
    for (const t of rows) {
      const attrs = storedObject(t.extra_attrs);
      const o = outcomeOf(attrs);
      const final = finalStatuses.some((s) => s === t.status);
      if (!o && !final) return;
      let p: TaskParams;
      try {
        p = parseTask(attrs);
      } catch {
        continue;
      }
      policyId = p.policy_id;
      const status: Outcome['status'] = o?.status ?? (t.status === 'Success' ? 'Success' : t.status === 'Stopped' ? 'Stopped' : 'Error');
      const reason = o?.fail_reason ?? (status === 'Error' ? t.status_message : undefined);
      if (p.step === 'fetch') {
        if (status === 'Error') fetchFailure = reason ?? 'the fetch step failed';
        continue;
      }
      items.push({ ...p, status, ...(reason ? { fail_reason: reason } : {}) });
    }
    if (policyId === undefined || (items.length === 0 && fetchFailure === undefined)) return;
    const policy = await this.policyIn(trx, policyId);
    if (!policy || policy.spec.eventMode !== 'summary') return;
    const failed = items.filter((i) => i.status === 'Error');
    const stopped = items.filter((i) => i.status === 'Stopped');
    const succeeded = items.filter((i) => i.status === 'Success');
    const status: Outcome['status'] = failed.length > 0 || fetchFailure !== undefined ? 'Error' : stopped.length > 0 ? 'Stopped' : 'Success';
    if (policy.spec.eventStatusFilter === 'failures' && status !== 'Error') return;
    const execution = await replicationExecution(trx, executionId);
    if (!execution) return;
    if (!(await claimReplicationSummary(trx, executionId, this.now()))) return;
    await this.appendEvent(trx, policy, execution, null, status, succeeded, [...failed, ...stopped], {
      summary: { total: items.length, succeeded: succeeded.length, failed: failed.length, stopped: stopped.length, ...(fetchFailure !== undefined ? { fetch_error: fetchFailure } : {}) },
    });
  }

  /** A policy read inside `trx` (on SQLite a read outside the transaction would wait for it). */
  private async policyIn(trx: Transaction<Database>, id: number): Promise<StoredPolicy | undefined> {
    const row = await readReplicationPolicy(trx, id);
    if (!row) return undefined;
    return { id: Number(row.id), spec: readPolicy(row.policy), creator: row.creator, enabled: Number(row.enabled) === 1, creationTime: Number(row.creation_time), updateTime: Number(row.update_time) };
  }

  private async appendEvent(
    trx: Transaction<Database>,
    policy: StoredPolicy,
    execution: JobExecutionRow,
    taskId: number | null,
    jobStatus: 'Running' | Outcome['status'],
    ok: ReadonlyArray<ArtifactParams & { status?: string; fail_reason?: string }>,
    bad: ReadonlyArray<ArtifactParams & { status?: string; fail_reason?: string }>,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const spec = policy.spec;
    const push = replicationMode(spec) === 'push';
    const first = ok[0] ?? bad[0];
    const localRepo = first ? (push ? first.src_repo : first.dst_repo) : '';
    const remoteRepo = first ? (push ? first.dst_repo : first.src_repo) : '';
    const projectName = projectPart(localRepo);
    const project = projectName === '' ? undefined : await replicationProject(trx, projectName);
    if (!project) return; // the local project is gone (or the fetch failed before any artifact): no one to tell
    const remoteId = push ? spec.destRegistryId : spec.srcRegistryId;
    const remote = await readRegistryEndpoint(trx, remoteId);
    const local = { registry_type: 'harbor', endpoint: this.deps.externalUrl(), namespace: projectName };
    const remoteRes = { ...(remote ? { registry_name: remote.name } : {}), registry_type: remote?.type ?? '', endpoint: remote?.url ?? '', namespace: projectPart(remoteRepo) };
    const info = (i: ArtifactParams & { status?: string; fail_reason?: string }, status: string) => {
      const repo = push ? i.src_repo : i.dst_repo;
      return {
        type: i.resource_type,
        status: i.status ?? status,
        name_tag: resourceText(withoutProject(repo), i),
        references: i.tags.length > 0 ? i.tags : [i.digest],
        ...(i.fail_reason ? { fail_reason: i.fail_reason } : {}),
      };
    };
    const attrs = storedObject(execution.extra_attrs);
    await this.deps.outbox.append(trx, {
      type: 'REPLICATION',
      operator: str(attrs.operator),
      project: { id: project.id, name: project.name, public: Number(project.public) === 1 },
      replication: {
        harbor_hostname: this.deps.hostname(),
        job_status: jobStatus,
        description: spec.description,
        artifact_type: first?.resource_type ?? 'image',
        authentication_type: remote?.credential_type ?? '',
        override_mode: spec.override,
        trigger_type: execution.trigger,
        policy_creator: policy.creator,
        execution_timestamp: Math.floor(execution.start_time / 1000),
        src_resource: push ? local : remoteRes,
        dest_resource: push ? remoteRes : local,
        ...(jobStatus === 'Running' ? {} : { successful_artifact: ok.map((i) => info(i, 'Success')), failed_artifact: bad.map((i) => info(i, jobStatus)) }),
        execution_id: execution.id,
        ...(taskId === null ? {} : { task_id: taskId }),
        ...extra,
      },
    });
  }

  // ---- the event-based trigger --------------------------------------------------------------

  private async onEvents(batch: readonly OutboxRecord[], trx: Transaction<Database>): Promise<void | (() => void)> {
    let policies: StoredPolicy[] | undefined;
    const seen = new Set<string>();
    let created = 0;
    for (const rec of batch) {
      const e = rec.event;
      if (!e || (e.type !== 'PUSH_ARTIFACT' && e.type !== 'CREATE_TAG' && e.type !== 'DELETE_ARTIFACT' && e.type !== 'DELETE_TAG')) continue;
      // A tag set by a manifest push comes with its PUSH_ARTIFACT: one execution for both.
      if (e.type === 'CREATE_TAG' && e.request?.method === 'PUT') continue;
      const deletion = e.type === 'DELETE_ARTIFACT' || e.type === 'DELETE_TAG';
      const key = `${deletion ? 'del' : 'copy'} ${e.repository.name}@${e.artifact.digest}:${e.artifact.tag ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      policies ??= await this.deps.policies.eventPolicies(trx);
      if (policies.length === 0) return;
      created += await this.triggerFor(trx, e, policies, deletion);
    }
    if (created > 0) return () => this.deps.jobs.wake();
  }

  private async triggerFor(trx: Transaction<Database>, e: ArtifactEvent | TagEvent, policies: StoredPolicy[], deletion: boolean): Promise<number> {
    const repo = e.repository.name;
    const tags = e.type === 'DELETE_ARTIFACT' ? e.artifact.tags : e.artifact.tag !== null ? [e.artifact.tag] : [];
    let facts: ArtifactFacts;
    if (deletion) {
      facts = { tags, labels: [], kind: artifactKind(e.artifact.mediaType, null, e.artifact.artifactType) };
    } else {
      const a = await replicationArtifact(trx, repo, e.artifact.digest);
      if (!a) return 0; // deleted since
      const subject = a.subject_digest === null ? undefined : await replicationArtifact(trx, repo, a.subject_digest);
      const f = this.facts({ ...a, tags }, subject);
      if (!f) return 0;
      facts = f;
    }
    let n = 0;
    for (const policy of policies) {
      const spec = policy.spec;
      if (!policy.enabled || replicationMode(spec) !== 'push' || spec.trigger.type !== 'event_based') continue;
      if (deletion && !spec.deletion) continue;
      if (!matchesRepository(spec.filters, repo)) continue;
      const sel = matchesArtifact(spec.filters, facts);
      if (!sel) continue;
      const dst = await readRegistryEndpoint(trx, spec.destRegistryId);
      let dstRepo: string;
      try {
        dstRepo = destinationRepository(repo, spec.destNamespace, spec.destNamespaceReplaceCount, !dst || dst.type === 'harbor' ? 'at-least-two' : 'any');
      } catch (err) {
        this.deps.logger.warn({ policy_id: policy.id, repository: repo, err: message(err) }, 'replication: an event-based trigger has no valid destination');
        continue;
      }
      const kind = facts.subject?.kind ?? facts.kind;
      const task: ArtifactParams = {
        step: deletion ? 'deletion' : 'copy',
        policy_id: policy.id,
        operator: e.operator,
        src_repo: repo,
        dst_repo: dstRepo,
        digest: e.artifact.digest,
        tags: deletion ? tags : sel.tags,
        resource_type: resourceKind(kind),
        operation: e.type === 'DELETE_TAG' ? 'tag deletion' : deletion ? 'deletion' : 'copy',
      };
      await this.deps.jobs.createExecutionIn(trx, REPLICATION, 'EVENT', { vendorId: policy.id, extraAttrs: { policy_id: policy.id, operator: e.operator, trigger: 'EVENT' }, tasks: [{ ...task }] });
      n++;
    }
    return n;
  }
}
