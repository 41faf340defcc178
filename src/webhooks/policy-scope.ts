/**
 * What the webhook services share: who calls, where policies live (a project or the whole
 * system), the permission check that resolves a scope, the policy-belongs-to-scope check (404
 * otherwise, as Harbor), and the list request shapes with their whitelisted sort columns.
 */
import type { Kysely } from 'kysely';
import type { Database, ProjectRow, WebhookPolicyRow } from '../db/index.ts';
import type { Actor, Authorizer } from '../auth/index.ts';
import { fail } from '../domain/index.ts';
import type { ListQuery, Page } from '../domain/index.ts';

/** Who calls (the services need only the actor). */
export interface WebhookCallContext {
  actor: Actor;
}

/** Where policies live: one project (Harbor's `project_name_or_id` + `X-Is-Resource-Name`), or the whole system (Wharf). */
export type PolicyScope = { kind: 'project'; nameOrId: string; isName: boolean } | { kind: 'system' };

/** The list shapes shared with other services (src/domain/listing.ts), re-exported for this module's users. */
export type { TextFilter, SortKey } from '../domain/index.ts';

/** A list request: page (1-based), Harbor's `q` and `sort` (src/domain/listing.ts), applied by each list's ListSpec. */
export type ListRequest = ListQuery;

/** One page and the total number of matching items (the shared `Page`). */
export type ListPage<T> = Page<T>;

/** What resolving a scope needs. */
export interface ScopeDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
}

/** What a caller may do in a scope: read its webhook settings, or manage them. */
export type ScopeAction = 'read-settings' | 'manage';

/** Resolves the scope and checks `action`; returns the project (null for system scope). */
export async function resolveScope(deps: ScopeDeps, ctx: WebhookCallContext, scope: PolicyScope, action: ScopeAction): Promise<ProjectRow | null> {
  if (scope.kind === 'system') {
    deps.authorizer.check(ctx.actor, 'admin');
    return null;
  }
  const byId = !scope.isName && /^[0-9]+$/.test(scope.nameOrId);
  if (byId && !Number.isSafeInteger(Number(scope.nameOrId))) throw fail('NOT_FOUND', `project ${scope.nameOrId} not found`);
  const q = deps.db.selectFrom('projects').selectAll();
  const p = await (byId ? q.where('id', '=', Number(scope.nameOrId)) : q.where('name', '=', scope.nameOrId)).executeTakeFirst();
  // Harbor: project admins change webhook policies, maintainers read them.
  const fine = action === 'manage' ? 'manage-webhooks' : 'list-webhooks';
  if (!p) {
    if (ctx.actor.username === '') deps.authorizer.check(ctx.actor, fine, { name: scope.nameOrId, public: false });
    throw fail('NOT_FOUND', `project ${scope.nameOrId} not found`);
  }
  deps.authorizer.check(ctx.actor, fine, { name: p.name, public: p.public === 1 });
  return p;
}

/** The policy, checked to belong to the scope (404 otherwise, as Harbor). `db` may be a transaction. */
export async function policyIn(db: Kysely<Database>, project: ProjectRow | null, policyId: number): Promise<WebhookPolicyRow> {
  assertId(policyId, 'webhook policy');
  const p = await db.selectFrom('webhook_policies').selectAll().where('id', '=', policyId).executeTakeFirst();
  if (!p || p.project_id !== (project?.id ?? null)) throw fail('NOT_FOUND', `webhook policy ${policyId} not found`);
  return p;
}

/** The value of `map` at `key` when it is the map's own key (a whitelist lookup). */
export function column<const M extends Record<string, string>>(map: M, key: string): M[keyof M] | undefined {
  for (const [k, v] of Object.entries(map)) if (k === key) return v as M[keyof M]; // Object.entries loses the value type
  return undefined;
}

/** BAD_REQUEST unless `id` is a positive safe integer. */
export function assertId(id: number, what: string): void {
  if (!Number.isSafeInteger(id) || id < 1) throw fail('BAD_REQUEST', `invalid ${what} id`);
}
