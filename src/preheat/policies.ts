/**
 * Harbor's preheat policies of a project (/projects/{project_name}/preheat/policies) and the
 * providers a project may pick (/projects/{project_name}/preheat/providers). Harbor gives every
 * preheat-policy permission to the project admin only (and the system admin): Wharf checks its
 * `manage` action, the project admin's. A policy's name is unique in its project (409 `policy
 * {name} already exists`); its provider must exist (404 `instance {id} not found`). A DELETE is
 * refused (412) while one of its executions runs. The SQL is in src/db/preheat-store.ts; the
 * parsing in ./policy-spec.ts.
 */
import type { Kysely } from 'kysely';
import type { Database, PreheatPolicyFields, PreheatPolicyRow, PreheatProjectRow } from '../db/index.ts';
import {
  allPreheatInstances,
  deletePreheatPolicy,
  insertPreheatPolicy,
  isUniqueViolation,
  listPreheatPolicies,
  preheatProject,
  readPreheatInstance,
  readPreheatPolicyByName,
  updatePreheatPolicy,
} from '../db/index.ts';
import type { Authorizer, CallContext } from '../auth/index.ts';
import { fail, type ListQuery, type Page } from '../domain/index.ts';
import type { ProviderUnderProject } from './instances.ts';
import { parsePolicy, type PolicySpec } from './policy-spec.ts';

/** Harbor's PreheatPolicy. */
export interface PolicyView {
  id: number;
  name: string;
  description: string;
  project_id: number;
  provider_id: number;
  provider_name: string;
  filters: string;
  trigger: string;
  enabled: boolean;
  extra_attrs: string;
  creation_time: string;
  update_time: string;
}

/** What changes to a policy's trigger the runs side reacts to (its schedule). */
export interface PolicyTriggers {
  /** After a create or update: keep the policy's schedule in step with its trigger. */
  policySaved(policy: PreheatPolicyRow): Promise<void>;
  /** Before a delete: refuse while an execution runs (412), else drop the schedule and finished executions. */
  policyDeleting(policy: PreheatPolicyRow): Promise<void>;
}

/** What the policy service needs. */
export interface PreheatPoliciesDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  /** Schedules and executions of the policies (./runs.ts); absent: none. */
  triggers?: PolicyTriggers;
}

function fieldsOf(spec: PolicySpec, projectId: number): PreheatPolicyFields {
  return {
    name: spec.name,
    description: spec.description,
    projectId,
    providerId: spec.providerId,
    filters: spec.filtersText,
    trigger: spec.triggerText,
    triggerType: spec.trigger.type,
    enabled: spec.enabled,
    extraAttrs: spec.extraAttrsText,
  };
}

/** A project a caller may manage preheat policies of; 404 when unknown (403 first for the anonymous caller). */
export async function managedProject(db: Kysely<Database>, authorizer: Authorizer, ctx: CallContext, name: string): Promise<PreheatProjectRow> {
  const p = await preheatProject(db, name);
  if (!p) {
    // The anonymous caller learns nothing about which projects exist.
    if (ctx.actor.username === '') authorizer.check(ctx.actor, 'manage', { name, public: false });
    throw fail('NOT_FOUND', `project ${name} not found`);
  }
  authorizer.check(ctx.actor, 'manage', { name: p.name, public: Number(p.public) === 1 });
  return p;
}

/** Preheat policies: CRUD and the providers of a project. */
export class PreheatPolicies {
  private triggers: PolicyTriggers | undefined;

  constructor(private readonly deps: PreheatPoliciesDeps) {
    this.triggers = deps.triggers;
  }

  /** Sets the runs side (built after this service, as it reads policies through it). */
  useTriggers(t: PolicyTriggers): void {
    this.triggers = t;
  }

  private project(ctx: CallContext, name: string): Promise<PreheatProjectRow> {
    return managedProject(this.deps.db, this.deps.authorizer, ctx, name);
  }

  private async view(row: PreheatPolicyRow, providerNames?: Map<number, string>): Promise<PolicyView> {
    const providerId = Number(row.provider_id);
    const providerName = providerNames ? providerNames.get(providerId) : (await readPreheatInstance(this.deps.db, providerId))?.name;
    return {
      id: Number(row.id),
      name: row.name,
      description: row.description,
      project_id: Number(row.project_id),
      provider_id: providerId,
      provider_name: providerName ?? '',
      filters: row.filters,
      trigger: row.trigger,
      enabled: Number(row.enabled) === 1,
      extra_attrs: row.extra_attrs,
      creation_time: new Date(Number(row.creation_time)).toISOString(),
      update_time: new Date(Number(row.update_time)).toISOString(),
    };
  }

  /** A policy of a managed project by name; 404 `policy {name} not found`. */
  async policyIn(ctx: CallContext, projectName: string, policyName: string): Promise<{ project: PreheatProjectRow; policy: PreheatPolicyRow }> {
    const project = await this.project(ctx, projectName);
    const policy = await readPreheatPolicyByName(this.deps.db, Number(project.id), policyName);
    if (!policy) throw fail('NOT_FOUND', `policy ${policyName} not found`);
    return { project, policy };
  }

  private async checkProvider(id: number): Promise<void> {
    if (!(await readPreheatInstance(this.deps.db, id))) throw fail('NOT_FOUND', `instance ${id} not found`);
  }

  /** `GET /projects/{p}/preheat/policies`. */
  async list(ctx: CallContext, projectName: string, list: ListQuery): Promise<Page<PolicyView>> {
    const project = await this.project(ctx, projectName);
    const page = await listPreheatPolicies(this.deps.db, Number(project.id), list);
    const names = new Map((await allPreheatInstances(this.deps.db)).map((i) => [Number(i.id), i.name]));
    return { items: await Promise.all(page.items.map((r) => this.view(r, names))), total: page.total };
  }

  /** `GET /projects/{p}/preheat/policies/{name}`. */
  async get(ctx: CallContext, projectName: string, policyName: string): Promise<PolicyView> {
    return this.view((await this.policyIn(ctx, projectName, policyName)).policy);
  }

  /** `POST /projects/{p}/preheat/policies`; returns the name. */
  async create(ctx: CallContext, projectName: string, body: unknown): Promise<string> {
    const project = await this.project(ctx, projectName);
    const spec = parsePolicy(body);
    await this.checkProvider(spec.providerId);
    const projectId = Number(project.id);
    if (await readPreheatPolicyByName(this.deps.db, projectId, spec.name)) throw fail('CONFLICT', `policy ${spec.name} already exists`);
    let id: number;
    try {
      id = await insertPreheatPolicy(this.deps.db, fieldsOf(spec, projectId), Date.now());
    } catch (err) {
      if (isUniqueViolation(err)) throw fail('CONFLICT', `policy ${spec.name} already exists`);
      throw err;
    }
    const row = await readPreheatPolicyByName(this.deps.db, projectId, spec.name);
    if (row && Number(row.id) === id) await this.triggers?.policySaved(row);
    return spec.name;
  }

  /** `PUT /projects/{p}/preheat/policies/{name}`: the body replaces the policy (its name may change). */
  async update(ctx: CallContext, projectName: string, policyName: string, body: unknown): Promise<void> {
    const { project, policy } = await this.policyIn(ctx, projectName, policyName);
    const spec = parsePolicy(body);
    await this.checkProvider(spec.providerId);
    const projectId = Number(project.id);
    const id = Number(policy.id);
    if (spec.name !== policy.name && (await readPreheatPolicyByName(this.deps.db, projectId, spec.name))) throw fail('CONFLICT', `policy ${spec.name} already exists`);
    try {
      await updatePreheatPolicy(this.deps.db, id, fieldsOf(spec, projectId), Date.now());
    } catch (err) {
      if (isUniqueViolation(err)) throw fail('CONFLICT', `policy ${spec.name} already exists`);
      throw err;
    }
    const row = await readPreheatPolicyByName(this.deps.db, projectId, spec.name);
    if (row) await this.triggers?.policySaved(row);
  }

  /** `DELETE /projects/{p}/preheat/policies/{name}`. */
  async delete(ctx: CallContext, projectName: string, policyName: string): Promise<void> {
    const { policy } = await this.policyIn(ctx, projectName, policyName);
    await this.triggers?.policyDeleting(policy);
    if (!(await deletePreheatPolicy(this.deps.db, Number(policy.id)))) throw fail('NOT_FOUND', `policy ${policyName} not found`);
  }

  /** `GET /projects/{p}/preheat/providers`: every instance, as Harbor shows them to a project. */
  async providers(ctx: CallContext, projectName: string): Promise<ProviderUnderProject[]> {
    await this.project(ctx, projectName);
    return (await allPreheatInstances(this.deps.db)).map((i) => ({
      id: Number(i.id),
      provider: `${i.vendor} ${i.name}-${i.endpoint}`,
      enabled: Number(i.enabled) === 1,
      default: Number(i.is_default) === 1,
    }));
  }
}
