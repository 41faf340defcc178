/**
 * Tag immutability rules: Harbor's /projects/{p}/immutabletagrules (list, create, update, delete)
 * and the registry's ImmutabilityGuard port (src/registry/immutability-guard.ts), which the
 * registry asks on every tag push, tag delete, artifact delete and API tag create.
 *
 * The guard caches each project's compiled matcher (null for a project without enabled rules) for
 * {@link cacheTtlMs}. A change through this instance drops the project's entry at once; another
 * instance on the same PostgreSQL sees the change when its entry expires, so a rule is enforced
 * everywhere at most that long after its creation. A TTL was chosen over a per-push version read
 * because it keeps pushes in projects without rules free of any query.
 *
 * Permissions (Harbor's project resource `immutable-tag`): project admins and maintainers list,
 * create, change and delete rules (robots with `immutable-tag:*` grants likewise).
 */
import type { Kysely } from 'kysely';
import { fail, type ListQuery, type Page } from '../../domain/index.ts';
import type { Authorizer, CallContext } from '../../auth/index.ts';
import {
  deleteImmutableRule,
  immutableRuleIn,
  immutableRulesOf,
  insertImmutableRule,
  listImmutableRules,
  isUniqueViolation,
  updateImmutableRule,
  type Database,
  type ProjectRow,
} from '../../db/index.ts';
import type { ImmutabilityGuard, ImmutableTagTest } from '../../registry/index.ts';
import { compileMatcher, filterText, parseRule, readFilter, ruleView, type RuleView } from './rule-spec.ts';

/** How long a project's cached matcher is trusted (changes made by another instance show after at most this). */
export const cacheTtlMs = 3000;
/** Rules one project may hold (Wharf's bound: each push over a tag evaluates them all). */
export const maxRulesPerProject = 50;

/** The project in the path: a name or an id, and whether X-Is-Resource-Name forces the name. */
export interface RuleProjectKey {
  nameOrId: string;
  isName: boolean;
}

/** What the service needs. */
export interface ImmutabilityRulesDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  /** The clock (tests move it). */
  now?: () => number;
}

/** The rules' CRUD and the registry's guard. */
export class ImmutabilityRules implements ImmutabilityGuard {
  private readonly cache = new Map<number, { at: number; test: ImmutableTagTest | null }>();
  private readonly now: () => number;

  constructor(private readonly deps: ImmutabilityRulesDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The guard: the project's cached test. */
  async immutableTags(projectId: number): Promise<ImmutableTagTest | null> {
    const now = this.now();
    const hit = this.cache.get(projectId);
    if (hit && now - hit.at < cacheTtlMs) return hit.test;
    const rows = await immutableRulesOf(this.deps.db, projectId);
    const test = compileMatcher(rows.filter((r) => r.disabled === 0).map((r) => readFilter(r.tag_filter)));
    this.cache.set(projectId, { at: now, test });
    return test;
  }

  /** GET: the project's rules, one page: by id, or as `sort` says; `q` on id, disabled and the times. */
  async list(ctx: CallContext, key: RuleProjectKey, list: ListQuery): Promise<Page<RuleView>> {
    const project = await this.project(ctx, key, 'list-immutable-rules');
    const page = await listImmutableRules(this.deps.db, project.id, list);
    return { items: page.items.map(ruleView), total: page.total };
  }

  /** POST: a new rule (enabled whatever the body says, as Harbor); returns its id. */
  async create(ctx: CallContext, key: RuleProjectKey, body: unknown): Promise<number> {
    const project = await this.project(ctx, key, 'manage-immutable-rules');
    const input = parseRule(body);
    const existing = await immutableRulesOf(this.deps.db, project.id);
    if (existing.length >= maxRulesPerProject) throw fail('BAD_REQUEST', `only ${maxRulesPerProject} immutable rules are allowed in a project`);
    try {
      const id = await insertImmutableRule(this.deps.db, project.id, filterText(input.filter), Date.now());
      this.cache.delete(project.id);
      return id;
    } catch (err) {
      if (isUniqueViolation(err)) throw fail('CONFLICT', 'immutable rule already exists');
      throw err;
    }
  }

  /** PUT: as Harbor, a change of `disabled` saves only the toggle; otherwise the rule is replaced. */
  async update(ctx: CallContext, key: RuleProjectKey, id: number, body: unknown): Promise<void> {
    const project = await this.project(ctx, key, 'manage-immutable-rules');
    const input = parseRule(body);
    if (input.id !== undefined && input.id !== id) throw fail('BAD_REQUEST', "the immutable_rule_id doesn't match the id in the payload body of ImmutableRule");
    const row = await immutableRuleIn(this.deps.db, project.id, id);
    if (!row) throw fail('NOT_FOUND', `immutable rule ${id} not found`);
    const disabled = input.disabled ?? false;
    try {
      if (disabled !== (row.disabled === 1)) await updateImmutableRule(this.deps.db, id, { disabled }, Date.now());
      else await updateImmutableRule(this.deps.db, id, { tagFilter: filterText(input.filter) }, Date.now());
    } catch (err) {
      if (isUniqueViolation(err)) throw fail('CONFLICT', 'immutable rule already exists');
      throw err;
    }
    this.cache.delete(project.id);
  }

  /** DELETE. */
  async delete(ctx: CallContext, key: RuleProjectKey, id: number): Promise<void> {
    const project = await this.project(ctx, key, 'manage-immutable-rules');
    const row = await immutableRuleIn(this.deps.db, project.id, id);
    if (!row) throw fail('NOT_FOUND', `immutable rule ${id} not found`);
    await deleteImmutableRule(this.deps.db, id);
    this.cache.delete(project.id);
  }

  /**
   * The project's immutable test for listings (`immutable` on tags): the same cached answer the
   * registry uses. No permission check: the caller has already read the project.
   */
  async tagTest(projectId: number): Promise<ImmutableTagTest | null> {
    return this.immutableTags(projectId);
  }

  private async project(ctx: CallContext, key: RuleProjectKey, action: 'list-immutable-rules' | 'manage-immutable-rules'): Promise<ProjectRow> {
    const byId = !key.isName && /^[0-9]+$/.test(key.nameOrId);
    if (byId && !Number.isSafeInteger(Number(key.nameOrId))) throw fail('NOT_FOUND', `project ${key.nameOrId} not found`);
    const q = this.deps.db.selectFrom('projects').selectAll();
    const p = await (byId ? q.where('id', '=', Number(key.nameOrId)) : q.where('name', '=', key.nameOrId)).executeTakeFirst();
    if (!p) {
      // The anonymous caller learns nothing about which projects exist.
      if (ctx.actor.username === '') this.deps.authorizer.check(ctx.actor, action, { name: key.nameOrId, public: false });
      throw fail('NOT_FOUND', `project ${key.nameOrId} not found`);
    }
    this.deps.authorizer.check(ctx.actor, action, { name: p.name, public: p.public === 1 });
    return p;
  }
}
