/**
 * Harbor's replication policies (/replication/policies), system admin only: create, read, list
 * (q, sort, paging, the deprecated fuzzy `name`), whole replacement by PUT, delete. The body is
 * validated by ./policy.ts; this file adds what needs the database: both registries must exist,
 * the name is unique, the cron of a `scheduled` trigger must parse, and a policy with executions
 * still running cannot be deleted (deleting one deletes its finished executions with it). A `scheduled` policy owns a REPLICATION_SCHEDULE job schedule
 * (vendor id = the policy): a PUT drops and recreates it, a DELETE drops it. When it fires, the
 * schedule's task starts an execution through the `start` function runs.ts provides (a disabled
 * policy is skipped). Reads for runs.ts (no caller check): {@link ReplicationPolicies.policy},
 * {@link ReplicationPolicies.eventPolicies}, {@link ReplicationPolicies.endpoint}. The SQL is in
 * src/db/replication-store.ts.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database, ReplicationPolicyRow } from '../db/index.ts';
import {
  deleteReplicationPolicy,
  deleteReplicationSummaries,
  eventReplicationPolicies,
  insertReplicationPolicy,
  isUniqueViolation,
  listReplicationPolicies,
  readReplicationPolicy,
  replicationPolicyNameTaken,
  updateReplicationPolicy,
} from '../db/index.ts';
import type { Authorizer, CallContext } from '../auth/index.ts';
import { fail, type ListQuery, type Page } from '../domain/index.ts';
import { validateCron, type JobContext, type JobHandler, type JobService } from '../jobs/index.ts';
import { localRegistryId, parseReplicationPolicy, policyText, policyView, readPolicy, type ReplicationPolicySpec } from './policy.ts';
import { maskedSecret, type EndpointOf, type RegistryEndpoints } from './registries.ts';

/** The job vendor type of replication runs (vendor id = the policy). */
export const REPLICATION = 'REPLICATION';
/** The job vendor type of a scheduled policy's schedule (vendor id = the policy). */
export const REPLICATION_SCHEDULE = 'REPLICATION_SCHEDULE';
/** The operator recorded on executions a schedule starts. */
export const replicationScheduleOperator = 'harbor-jobservice';

/** Starts an execution of a policy; returns its id. Provided by runs.ts. */
export type StartReplication = (policyId: number, trigger: 'SCHEDULE', operator: string) => Promise<number>;

/** A stored policy as runs read it. */
export interface StoredPolicy {
  id: number;
  spec: ReplicationPolicySpec;
  /** Username of who created it (Harbor's `policy_creator`). */
  creator: string;
  enabled: boolean;
  creationTime: number;
  updateTime: number;
}

/** What the policy service needs. */
export interface ReplicationPoliciesDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  jobs: JobService;
  endpoints: RegistryEndpoints;
  logger: Logger;
  /** This Wharf's external URL: the `url` of the local registry (id 0) in views. */
  localUrl: () => string;
  /** Starts a scheduled execution (runs.ts); {@link ReplicationPolicies.onScheduled} may set it later. */
  start?: StartReplication;
  /** The current time in ms; default Date.now. */
  now?: () => number;
}

/** Harbor's zero time, which it shows for the local registry's times. */
const zeroTime = '0001-01-01T00:00:00.000Z';

function stored(row: ReplicationPolicyRow): StoredPolicy {
  return { id: Number(row.id), spec: readPolicy(row.policy), creator: row.creator, enabled: Number(row.enabled) === 1, creationTime: Number(row.creation_time), updateTime: Number(row.update_time) };
}

/** Replication policies: CRUD, their schedules, and reads for runs. */
export class ReplicationPolicies {
  private readonly now: () => number;
  private start: StartReplication;

  constructor(private readonly deps: ReplicationPoliciesDeps) {
    this.now = deps.now ?? Date.now;
    this.start =
      deps.start ??
      (() => {
        throw new Error('replication runs are not wired yet');
      });
  }

  /** Sets the function a firing schedule calls (runs.ts). */
  onScheduled(start: StartReplication): void {
    this.start = start;
  }

  private admin(ctx: CallContext): void {
    this.deps.authorizer.check(ctx.actor, 'admin');
  }

  private async row(id: number): Promise<ReplicationPolicyRow> {
    const row = await readReplicationPolicy(this.deps.db, id);
    if (!row) throw fail('NOT_FOUND', `replication policy ${id} not found`);
    return row;
  }

  /** The local registry (id 0) as policies show it. */
  localRegistry(): Record<string, unknown> {
    return {
      id: localRegistryId,
      name: 'Local',
      type: 'harbor',
      url: this.deps.localUrl(),
      insecure: false,
      ca_certificate: null,
      description: '',
      credential: { type: 'secret', access_key: '', access_secret: maskedSecret },
      status: 'healthy',
      creation_time: zeroTime,
      update_time: zeroTime,
    };
  }

  /** A registry as a policy view shows it; `{id}` alone if it is gone (it cannot be deleted while used, but a read may race). */
  private async registryObject(id: number, cache: Map<number, Record<string, unknown>>): Promise<Record<string, unknown>> {
    if (id === localRegistryId) return this.localRegistry();
    const hit = cache.get(id);
    if (hit) return hit;
    const e = await this.deps.endpoints.endpoint(id);
    const v: Record<string, unknown> = e ? { ...e.view } : { id };
    cache.set(id, v);
    return v;
  }

  private async view(row: ReplicationPolicyRow, cache = new Map<number, Record<string, unknown>>()): Promise<Record<string, unknown>> {
    const p = stored(row);
    return policyView(p.id, p.spec, {
      srcRegistry: await this.registryObject(p.spec.srcRegistryId, cache),
      destRegistry: await this.registryObject(p.spec.destRegistryId, cache),
      creationMs: p.creationTime,
      updateMs: p.updateTime,
    });
  }

  /** The database checks of a validated spec: registries exist, the cron parses, the name is free. */
  private async check(spec: ReplicationPolicySpec, exceptId?: number): Promise<void> {
    for (const id of [spec.srcRegistryId, spec.destRegistryId]) {
      if (id !== localRegistryId && !(await this.deps.endpoints.endpoint(id))) throw fail('NOT_FOUND', `registry ${id} not found`);
    }
    if (spec.trigger.type === 'scheduled') {
      try {
        validateCron(spec.trigger.cron);
      } catch {
        throw fail('BAD_REQUEST', `invalid cron string for scheduled trigger: ${spec.trigger.cron}`);
      }
    }
    if (await replicationPolicyNameTaken(this.deps.db, spec.name, exceptId)) throw fail('CONFLICT', `replication policy ${spec.name} already exists`);
  }

  private fields(spec: ReplicationPolicySpec) {
    return { name: spec.name, description: spec.description, srcRegistryId: spec.srcRegistryId, destRegistryId: spec.destRegistryId, triggerType: spec.trigger.type, enabled: spec.enabled, policy: policyText(spec) };
  }

  private async schedule(id: number, spec: ReplicationPolicySpec): Promise<void> {
    await this.deps.jobs.removeSchedule(REPLICATION_SCHEDULE, id);
    if (spec.trigger.type === 'scheduled') await this.deps.jobs.setSchedule(REPLICATION_SCHEDULE, 'Custom', spec.trigger.cron, { policy_id: id }, id);
  }

  /** `GET /replication/policies`: `name` is Harbor's deprecated fuzzy filter. */
  async list(ctx: CallContext, name: string | undefined, list: ListQuery): Promise<Page<Record<string, unknown>>> {
    this.admin(ctx);
    const page = await listReplicationPolicies(this.deps.db, name, list);
    const cache = new Map<number, Record<string, unknown>>();
    const items: Array<Record<string, unknown>> = [];
    for (const row of page.items) items.push(await this.view(row, cache));
    return { items, total: page.total };
  }

  /** `GET /replication/policies/{id}`: both registries in full. */
  async get(ctx: CallContext, id: number): Promise<Record<string, unknown>> {
    this.admin(ctx);
    return this.view(await this.row(id));
  }

  /** `POST /replication/policies`: returns the new id. */
  async create(ctx: CallContext, body: unknown): Promise<number> {
    this.admin(ctx);
    const spec = parseReplicationPolicy(body, { update: false });
    await this.check(spec);
    let id: number;
    try {
      id = await insertReplicationPolicy(this.deps.db, this.fields(spec), ctx.actor.username, this.now());
    } catch (err) {
      if (isUniqueViolation(err)) throw fail('CONFLICT', `replication policy ${spec.name} already exists`);
      throw err;
    }
    try {
      await this.schedule(id, spec);
    } catch (err) {
      await deleteReplicationPolicy(this.deps.db, id);
      throw err;
    }
    return id;
  }

  /** `PUT /replication/policies/{id}`: the whole policy is replaced; the schedule is dropped and recreated. */
  async update(ctx: CallContext, id: number, body: unknown): Promise<void> {
    this.admin(ctx);
    await this.row(id);
    const spec = parseReplicationPolicy(body, { update: true });
    await this.check(spec, id);
    try {
      if (!(await updateReplicationPolicy(this.deps.db, id, this.fields(spec), this.now()))) throw fail('NOT_FOUND', `replication policy ${id} not found`);
    } catch (err) {
      if (isUniqueViolation(err)) throw fail('CONFLICT', `replication policy ${spec.name} already exists`);
      throw err;
    }
    await this.schedule(id, spec);
  }

  /**
   * `DELETE /replication/policies/{id}`: refused while an execution is not final; deletes the row
   * with the policy's executions, their tasks and logs (as Harbor does) in one transaction, then
   * the schedule (a schedule firing in between finds no policy and removes itself).
   */
  async delete(ctx: CallContext, id: number): Promise<void> {
    this.admin(ctx);
    await this.row(id);
    const busy = () => fail('PRECONDITION_FAILED', "contains executions that aren't in final status, stop the execution first");
    if ((await this.deps.jobs.store.openExecutionsByVendor(REPLICATION, id)).length > 0) throw busy();
    await this.deps.db.transaction().execute(async (trx) => {
      // The row goes first: on PostgreSQL a run starting now waits for it, then finds no policy.
      if (!(await deleteReplicationPolicy(trx, id))) throw fail('NOT_FOUND', `replication policy ${id} not found`);
      if ((await this.deps.jobs.store.openExecutionsByVendor(REPLICATION, id, trx)).length > 0) throw busy();
      await deleteReplicationSummaries(trx, await this.deps.jobs.deleteFinalExecutions(REPLICATION, id, trx));
      await this.deps.jobs.deleteFinalExecutions(REPLICATION_SCHEDULE, id, trx);
    });
    await this.deps.jobs.removeSchedule(REPLICATION_SCHEDULE, id);
  }

  /** A policy by id for runs (no caller check); undefined when there is none. */
  async policy(id: number): Promise<StoredPolicy | undefined> {
    const row = await readReplicationPolicy(this.deps.db, id);
    return row ? stored(row) : undefined;
  }

  /** The enabled `event_based` policies with the local registry as source, read with `db` (the event's transaction). */
  async eventPolicies(db: Kysely<Database> = this.deps.db): Promise<StoredPolicy[]> {
    return (await eventReplicationPolicies(db)).map(stored);
  }

  /** A remote registry of a policy for runs: how to reach it (the secret included); undefined for id 0 or an unknown id. */
  async endpoint(registryId: number): Promise<EndpointOf | undefined> {
    if (registryId === localRegistryId) return undefined;
    return this.deps.endpoints.endpoint(registryId);
  }

  /** The REPLICATION_SCHEDULE job: a firing schedule starts an execution with trigger SCHEDULE. */
  scheduleHandler(): JobHandler {
    return { vendorType: REPLICATION_SCHEDULE, concurrency: 1, maxRuns: 1, run: (ctx) => this.fire(ctx) };
  }

  private async fire(ctx: JobContext): Promise<Record<string, unknown>> {
    const id = ctx.params.policy_id;
    const p = typeof id === 'number' ? await this.policy(id) : undefined;
    if (!p) {
      if (typeof id === 'number') await this.deps.jobs.removeSchedule(REPLICATION_SCHEDULE, id);
      await ctx.log(`the replication policy ${String(id)} no longer exists: its schedule is removed`, 'WARNING');
      return {};
    }
    if (!p.enabled) {
      await ctx.log(`the replication policy ${p.id} is disabled: nothing started`);
      return { skipped: true };
    }
    const executionId = await this.start(p.id, 'SCHEDULE', replicationScheduleOperator);
    await ctx.log(`started replication execution ${executionId} of policy ${p.id}`);
    return { execution_id: executionId };
  }
}
