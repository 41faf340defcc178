/**
 * Webhook policies: list, read, create, replace and delete them in a scope (a project or, Wharf's
 * extension, the whole system), the supported event types, and one-off test sends.
 *
 * Input is parsed by ./policy-spec.ts (Harbor's rules and messages) and target addresses vetted by
 * ./target-vetting.ts before the write transaction, which must stay short. Every write records an
 * audit entry in its own transaction. The service knows nothing of HTTP; it throws DomainError
 * codes the API maps to statuses.
 */
import type { Kysely, Transaction } from 'kysely';
import { isUniqueViolation, listPage, type Database, type WebhookTargetRow } from '../db/index.ts';
import type { AuditTrail, Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import { fail, type ListSpec } from '../domain/index.ts';
import type { Resolver } from './http-client.ts';
import { targetColumns, type TargetSpecLike } from './target-row.ts';
import { applyTrust, parsePolicy, parseTestBody, targetsToReenable, type PolicySpec, type TargetSpec } from './policy-spec.ts';
import { vetAddresses } from './target-vetting.ts';
import { policyIn, resolveScope, type ListPage, type ListRequest, type PolicyScope, type WebhookCallContext } from './policy-scope.ts';
import { policyView, supportedEventsView, testResultView, type PolicyView, type SupportedEventsView, type TestResultView } from './views.ts';
import type { AttemptRecord } from './delivery-attempt.ts';

/** The fields `q` and `sort` take on the policy list. */
export const policyListSpec = {
  id: { type: 'int', column: 'id' },
  name: { type: 'text', column: 'name' },
  enabled: { type: 'bool', column: 'enabled' },
  creator: { type: 'text', column: 'creator' },
  description: { type: 'text', column: 'description' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/**
 * Sends one sample event to a target now and reports the attempt (the webhook engine). The policy
 * service owns this port; main wires the engine to it.
 */
export interface TestSender {
  sendTest(target: TargetSpecLike, opts: { project?: { id: number; name: string; public: boolean }; operator?: string }): Promise<AttemptRecord>;
}

/** What the policy service needs. */
export interface PolicyServiceDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  config: Config;
  /** Records policy changes (the audit log). */
  audit: AuditTrail;
  sender: TestSender;
  /** Resolves target host names when a policy is saved (tests); the system resolver otherwise. */
  resolver?: Resolver;
}

/** The webhook_policies columns a policy body sets (all but ids, creator and times). */
function policyColumns(spec: PolicySpec) {
  return {
    name: spec.name,
    description: spec.description,
    enabled: spec.enabled ? 1 : 0,
    event_types: JSON.stringify(spec.eventTypes),
    repo_filters: JSON.stringify(spec.repoFilters),
    tag_filters: JSON.stringify(spec.tagFilters),
    // Left out of the body: the column default on create, the stored value on a replace.
    ...(spec.statusFilters === undefined ? {} : { status_filters: JSON.stringify(spec.statusFilters) }),
    ...(spec.foldPlatforms === undefined ? {} : { fold_platforms: spec.foldPlatforms ? 1 : 0 }),
  };
}

/** Webhook policies of a scope; see the module comment. */
export class PolicyService {
  constructor(private readonly deps: PolicyServiceDeps) {}

  private async targetsOf(db: Kysely<Database>, policyIds: number[]): Promise<Map<number, WebhookTargetRow[]>> {
    const out = new Map<number, WebhookTargetRow[]>();
    if (policyIds.length === 0) return out;
    const rows = await db.selectFrom('webhook_targets').selectAll().where('policy_id', 'in', policyIds).orderBy('position').orderBy('id').execute();
    for (const r of rows) {
      const list = out.get(r.policy_id);
      if (list) list.push(r);
      else out.set(r.policy_id, [r]);
    }
    return out;
  }

  /** Policies of the scope, newest first unless `sort` says otherwise (policyListSpec). */
  async listPolicies(ctx: WebhookCallContext, scope: PolicyScope, req: ListRequest): Promise<ListPage<PolicyView>> {
    const project = await resolveScope(this.deps, ctx, scope, 'read-settings');
    let q = this.deps.db.selectFrom('webhook_policies').selectAll();
    q = project ? q.where('project_id', '=', project.id) : q.where('project_id', 'is', null);
    const page = await listPage(q, req, policyListSpec, { fallback: [{ column: 'creation_time', desc: true }], tieBreak: { column: 'id', desc: true } });
    const targets = await this.targetsOf(this.deps.db, page.items.map((r) => r.id));
    return { items: page.items.map((r) => policyView(r, targets.get(r.id) ?? [], ctx.actor)), total: page.total };
  }

  /** One policy of the scope. */
  async getPolicy(ctx: WebhookCallContext, scope: PolicyScope, policyId: number): Promise<PolicyView> {
    const project = await resolveScope(this.deps, ctx, scope, 'read-settings');
    const p = await policyIn(this.deps.db, project, policyId);
    const targets = await this.targetsOf(this.deps.db, [p.id]);
    return policyView(p, targets.get(p.id) ?? [], ctx.actor);
  }

  /** Creates a policy in the scope; returns its id. CONFLICT when the name is taken there. */
  async createPolicy(ctx: WebhookCallContext, scope: PolicyScope, body: unknown): Promise<number> {
    const project = await resolveScope(this.deps, ctx, scope, 'manage');
    const spec = parsePolicy(body, []);
    applyTrust(ctx.actor, spec.targets, [], await vetAddresses(this.deps, ctx.actor, spec.targets, []));
    const projectId = project?.id ?? null;
    return this.deps.db.transaction().execute(async (trx) => {
      await this.assertNameFree(trx, projectId, spec.name, null);
      const now = Date.now();
      const row = await trx
        .insertInto('webhook_policies')
        .values({
          project_id: projectId,
          ...policyColumns(spec),
          creator: spec.creator ?? ctx.actor.username,
          creation_time: now,
          update_time: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
        .catch((err: unknown) => nameTaken(err, spec.name));
      await this.writeTargets(trx, row.id, spec.targets, []);
      await this.deps.audit.record(trx, { projectId, username: ctx.actor.username, operation: 'create', resourceType: 'webhook_policy', resource: `${project?.name ?? 'system'}/${spec.name}` });
      return row.id;
    });
  }

  /** Replaces a policy (Harbor's PUT: every field but id, project_id and times). Secrets carry over as ./policy-spec.ts describes. */
  async updatePolicy(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, body: unknown): Promise<void> {
    const project = await resolveScope(this.deps, ctx, scope, 'manage');
    // Addresses are vetted (DNS included) before the write transaction, which must stay short.
    const before = await policyIn(this.deps.db, project, policyId);
    const storedBefore = (await this.targetsOf(this.deps.db, [before.id])).get(before.id) ?? [];
    const vetted = await vetAddresses(this.deps, ctx.actor, parsePolicy(body, storedBefore).targets, storedBefore);
    await this.deps.db.transaction().execute(async (trx) => {
      const p = await policyIn(trx, project, policyId);
      const stored = (await this.targetsOf(trx, [p.id])).get(p.id) ?? [];
      const spec = parsePolicy(body, stored);
      applyTrust(ctx.actor, spec.targets, stored, vetted);
      await this.assertNameFree(trx, p.project_id, spec.name, p.id);
      await trx
        .updateTable('webhook_policies')
        .set({
          ...policyColumns(spec),
          creator: spec.creator ?? p.creator,
          update_time: Date.now(),
        })
        .where('id', '=', p.id)
        .execute()
        .catch((err: unknown) => nameTaken(err, spec.name));
      await this.writeTargets(trx, p.id, spec.targets, stored, targetsToReenable(body, spec.targets));
      await this.deps.audit.record(trx, { projectId: p.project_id, username: ctx.actor.username, operation: 'update', resourceType: 'webhook_policy', resource: `${project?.name ?? 'system'}/${spec.name}` });
    });
  }

  /** Deletes a policy with its targets and whole delivery history. */
  async deletePolicy(ctx: WebhookCallContext, scope: PolicyScope, policyId: number): Promise<void> {
    const project = await resolveScope(this.deps, ctx, scope, 'manage');
    await this.deps.db.transaction().execute(async (trx) => {
      const p = await policyIn(trx, project, policyId);
      await trx.deleteFrom('webhook_policies').where('id', '=', p.id).execute();
      await this.deps.audit.record(trx, { projectId: p.project_id, username: ctx.actor.username, operation: 'delete', resourceType: 'webhook_policy', resource: `${project?.name ?? 'system'}/${p.name}` });
    });
  }

  /** Refuses a name taken; the unique index decides when a concurrent transaction took it after the check (PostgreSQL). */
  private async assertNameFree(trx: Transaction<Database>, projectId: number | null, name: string, exceptId: number | null): Promise<void> {
    let q = trx.selectFrom('webhook_policies').select('id').where('name', '=', name);
    q = projectId === null ? q.where('project_id', 'is', null) : q.where('project_id', '=', projectId);
    if (exceptId !== null) q = q.where('id', '!=', exceptId);
    if (await q.executeTakeFirst()) throw fail('CONFLICT', `notification policy named ${name} already exists`);
  }

  /** Updates matched targets in place (their history stays), inserts new ones, deletes the rest. */
  private async writeTargets(trx: Transaction<Database>, policyId: number, targets: TargetSpec[], stored: WebhookTargetRow[], reenable = new Set<number>()): Promise<void> {
    const kept = new Set(targets.map((t) => t.id).filter((id): id is number => id !== null));
    const gone = stored.filter((s) => !kept.has(s.id)).map((s) => s.id);
    if (gone.length) await trx.deleteFrom('webhook_targets').where('id', 'in', gone).execute();
    for (const [position, t] of targets.entries()) {
      const values = { position, ...targetColumns(t) };
      if (t.id !== null) {
        const health = reenable.has(t.id) ? { enabled: 1, failing_since: null, disabled_reason: null } : {};
        await trx.updateTable('webhook_targets').set({ ...values, ...health }).where('id', '=', t.id).execute();
      } else {
        await trx
          .insertInto('webhook_targets')
          .values({ ...values, policy_id: policyId, enabled: 1, failing_since: null, disabled_reason: null })
          .execute();
      }
    }
  }

  /** Harbor's SupportedWebhookEventTypes for a project, Wharf's additions appended. */
  async supportedEvents(ctx: WebhookCallContext, scope: PolicyScope): Promise<SupportedEventsView> {
    await resolveScope(this.deps, ctx, scope, 'read-settings');
    return supportedEventsView();
  }

  /**
   * Sends one test delivery to each target of a test request (a single target object, Wharf's; or
   * Harbor's legacy body, a policy with `targets`) and returns what each attempt gave: one result,
   * or a list for the legacy body. Checks `manage` on the scope; nothing is stored.
   */
  async testTargets(ctx: WebhookCallContext, scope: PolicyScope, body: unknown): Promise<TestResultView | TestResultView[]> {
    const row = await resolveScope(this.deps, ctx, scope, 'manage');
    const project = row ? { id: row.id, name: row.name, public: row.public === 1 } : undefined;
    const { legacy, targets } = parseTestBody(body);
    applyTrust(ctx.actor, targets, [], await vetAddresses(this.deps, ctx.actor, targets, [], true));
    const results: TestResultView[] = [];
    for (const t of targets) results.push(testResultView(t, await this.deps.sender.sendTest(t, { project, operator: ctx.actor.username })));
    const [first] = results;
    return legacy || first === undefined ? results : first;
  }
}

/** A policy write that lost a race for its name (unique violation): CONFLICT, like assertNameFree. */
function nameTaken(err: unknown, name: string): never {
  if (isUniqueViolation(err)) throw fail('CONFLICT', `notification policy named ${name} already exists`);
  throw err;
}
