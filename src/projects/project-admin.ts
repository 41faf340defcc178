/**
 * Projects themselves: create, list, read, change (metadata, storage limit) and delete (empty
 * projects only). Creating and deleting record CREATE_PROJECT / DELETE_PROJECT in the outbox inside
 * the same transaction; a change is audited in the same way. A project created with `registry_id`
 * is a proxy cache of that registry endpoint (checked through the UpstreamRegistries port); the id
 * cannot change later.
 *
 * Creating follows Harbor: any signed-in user may unless `project_creation_restriction` is
 * `adminonly`; project robots never may, system robots may unless `adminonly` (Harbor lets one
 * with a system `project:create` permission through; system-kind robot permissions grant nothing
 * in Wharf yet); the owner, who becomes the project's first member as project admin
 * (role 1) in the same transaction, is the creator, or the first system admin when a robot
 * creates. The system settings come through the {@link ProjectCreationSettings} port.
 */
import type { Kysely } from 'kysely';
import type { Database, ProjectRow } from '../db/index.ts';
import type { Outbox } from '../events/index.ts';
import { memberRoleCounts, roleIds, systemActor, type AuditTrail, type Authorizer } from '../auth/index.ts';
import type { CallContext } from '../registry/index.ts';
import { projectRef } from '../registry/index.ts';
import { fail, pageOf, type ListQuery, type ListSpec, type Page, type TextFilter } from '../domain/index.ts';
import { deleteProjectLabels, filterSql, likeContains, orderBy, orderTerms, readProjectAllowlists, resolveList, writeAllowlist } from '../db/index.ts';
import { readStoredMetadata, type StoredMetadata } from './project-metadata-spec.ts';
import { parseNewProject, parseProjectChange, wantsProxyCache } from './project-spec.ts';
import { proxyCacheRegistryTypes, type ProxyCacheProject, type UpstreamRegistries } from './upstream-registries.ts';
import { projectView, type ProjectSummary, type ProjectView } from './project-views.ts';
import { storageUsed } from './quotas.ts';
import type { ProjectKey, ProjectLookup } from './project-lookup.ts';
import type { RetentionLinks } from './retention-links.ts';

/** The system settings project creation reads (implemented by src/settings/, wired in main.ts). */
export interface ProjectCreationSettings {
  /** Harbor's `project_creation_restriction`. */
  projectCreationRestriction(): Promise<'everyone' | 'adminonly'>;
  /** `storage_per_project` while `quota_per_project_enable` is on; null while it is off. */
  defaultStorageLimit(): Promise<number | null>;
}

/** Harbor's defaults: everyone may create projects; no storage limit. */
const harborCreationDefaults: ProjectCreationSettings = {
  projectCreationRestriction: async () => 'everyone',
  defaultStorageLimit: async () => -1,
};

/** Harbor's answer to `GET /projects/{p}/_deletable`. */
export interface ProjectDeletable {
  deletable: boolean;
  message?: string;
}

/** What project administration needs. */
export interface ProjectAdminDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  authorizer: Authorizer;
  /** Records project setting changes (the audit log). */
  audit: AuditTrail;
  lookup: ProjectLookup;
  /** Tag retention's port: `retention_id` in project reads; absent: none. */
  retentionLinks?: RetentionLinks;
  /** Registry endpoints (replication's), for proxy-cache projects; absent: none can be created. */
  upstreamRegistries?: UpstreamRegistries;
  /** Who may create projects and their default quota; absent: Harbor's defaults. */
  creation?: ProjectCreationSettings;
}

/** The id of the first system admin (Harbor's owner of projects robots create); null when there is none. */
async function firstSystemAdmin(db: Kysely<Database>): Promise<number | null> {
  const row = await db.selectFrom('users').select('id').where('sysadmin', '=', 1).orderBy('id').limit(1).executeTakeFirst();
  return row?.id ?? null;
}

/** The fields `q` and `sort` take on the project list (`name` is also the `name` parameter, fuzzy). */
export const projectListSpec = {
  name: { type: 'text', column: 'name' },
  project_id: { type: 'int', column: 'id' },
  owner_id: { type: 'int', column: 'owner_id' },
  public: { type: 'bool', column: 'public' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/** Creates, lists, reads, changes and deletes projects. */
export class ProjectAdmin {
  constructor(private readonly deps: ProjectAdminDeps) {}

  /** Creates the project when missing (first start creates the public `library`). Idempotent. */
  async ensureProject(name: string, isPublic: boolean): Promise<void> {
    const db = this.deps.db;
    await db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('projects').select('id').where('name', '=', name).executeTakeFirst();
      if (existing) return;
      const admin = await trx.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirst();
      const now = Date.now();
      // ON CONFLICT: a second process starting at the same moment may have created it first.
      const row = await trx
        .insertInto('projects')
        .values({ name, public: isPublic ? 1 : 0, owner_id: admin?.id ?? null, storage_limit: -1, metadata: '{}', creation_time: now, update_time: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (row) await this.deps.outbox.append(trx, { type: 'CREATE_PROJECT', operator: systemActor.username, project: projectRef(row) });
    });
  }

  /**
   * Creates a project (see the file comment for who may); CONFLICT when the name is taken. The
   * storage limit is the request's when a system admin gives one, else `storage_per_project`;
   * none while `quota_per_project_enable` is off. Returns the new project's id.
   */
  async createProject(ctx: CallContext, body: unknown): Promise<number> {
    const { actor } = ctx;
    if (actor.username === '') throw fail('UNAUTHORIZED', 'UnAuthorized');
    const settings = this.deps.creation ?? harborCreationDefaults;
    const isAdmin = this.deps.authorizer.allows(actor, 'admin');
    if (actor.kind === 'robot' && actor.robot?.projectName !== null) throw fail('FORBIDDEN', 'Only system level robot can create project');
    // Other callers (a registry bearer token on the API) get the authorizer's own refusal.
    if (!isAdmin && actor.kind !== 'user' && actor.kind !== 'robot') this.deps.authorizer.check(actor, 'admin');
    if (!isAdmin && (await settings.projectCreationRestriction()) === 'adminonly') throw fail('FORBIDDEN', 'Only system admin can create project');
    if (wantsProxyCache(body) && !isAdmin) throw fail('FORBIDDEN', 'Only system admin can create proxy cache project');
    const p = parseNewProject(body);
    if (p.registryId !== null) await this.checkUpstream(p.registryId);
    const metadata = p.registryId === null ? p.metadata : { ...p.metadata, ...p.proxyMetadata };
    const defaultLimit = await settings.defaultStorageLimit();
    const storageLimit = defaultLimit === null ? -1 : p.storageLimit === null || !isAdmin ? defaultLimit : p.storageLimit;
    return this.deps.db.transaction().execute(async (trx) => {
      const now = Date.now();
      const ownerId = actor.kind === 'user' && actor.userId !== null ? actor.userId : await firstSystemAdmin(trx);
      const row = await trx
        .insertInto('projects')
        .values({
          name: p.name,
          public: p.isPublic ? 1 : 0,
          owner_id: ownerId,
          storage_limit: storageLimit,
          metadata: JSON.stringify(metadata),
          registry_id: p.registryId,
          creation_time: now,
          update_time: now,
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row) throw fail('CONFLICT', `the project named ${p.name} already exists`);
      // Harbor makes the owner the project's admin member when it creates the project.
      if (ownerId !== null) await trx.insertInto('project_members').values({ project_id: row.id, user_id: ownerId, role_id: roleIds.projectAdmin, creation_time: now, update_time: now }).execute();
      if (p.allowlist) await writeAllowlist(trx, row.id, p.allowlist, now);
      await this.deps.outbox.append(trx, { type: 'CREATE_PROJECT', operator: actor.username, request: ctx.request, project: projectRef(row) });
      return row.id;
    });
  }

  /** Harbor's `_deletable`: false, with Harbor's message, while the project holds repositories (needs the right to delete it). */
  async deletable(ctx: CallContext, key: ProjectKey): Promise<ProjectDeletable> {
    const p = await this.deps.lookup.project(ctx, key, 'manage');
    const repos = await this.deps.db.selectFrom('repositories').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', p.id).executeTakeFirst();
    if (Number(repos?.n ?? 0) > 0) return { deletable: false, message: 'the project contains repositories, can not be deleted' };
    return { deletable: true };
  }

  /** BAD_REQUEST unless registry endpoint `id` exists and is of a type a proxy cache can pull from. */
  private async checkUpstream(id: number): Promise<void> {
    const type = this.deps.upstreamRegistries ? await this.deps.upstreamRegistries.type(id) : null;
    if (type === null) throw fail('BAD_REQUEST', `registry ${id} not found: create the registry endpoint (/registries) first`);
    if (!proxyCacheRegistryTypes.includes(type)) throw fail('BAD_REQUEST', `unsupported registry type ${type}`);
  }

  /** The proxy-cache settings of the project named `name`; null when there is no such project or it is not a proxy cache. */
  async proxyCacheOf(name: string): Promise<ProxyCacheProject | null> {
    const p = await this.deps.db.selectFrom('projects').select(['id', 'registry_id', 'metadata']).where('name', '=', name).executeTakeFirst();
    if (!p || p.registry_id === null) return null;
    const m = readStoredMetadata(p.metadata);
    return { projectId: p.id, registryId: Number(p.registry_id), speedKBs: Number(m.proxy_speed_kb ?? '0'), localOnNotFound: m.proxy_cache_local_on_not_found === 'true' };
  }

  /**
   * Lists the projects the caller may see (anonymous callers: public ones), by name unless `sort`
   * says otherwise. `filter` holds Harbor's `name` (fuzzy) and `public` parameters; `list.filters`
   * the `q` terms (projectListSpec).
   */
  async listProjects(ctx: CallContext, filter: { name?: TextFilter; public?: boolean }, list: ListQuery): Promise<Page<ProjectView>> {
    const r = resolveList(list, projectListSpec);
    let q = this.deps.db.selectFrom('projects').selectAll();
    for (const w of filterSql(r.filters)) q = q.where(w);
    if (filter.name) {
      q = filter.name.fuzzy ? q.where(likeContains('name', filter.name.value)) : q.where('name', '=', filter.name.value);
    }
    if (filter.public !== undefined) q = q.where('public', '=', filter.public ? 1 : 0);
    q = orderBy(q, orderTerms(r.sort, [{ column: 'name', desc: false }], { column: 'id', desc: false }));
    const rows = (await q.execute()).filter((p) => this.deps.authorizer.allows(ctx.actor, 'pull', { name: p.name, public: p.public === 1 }));
    const page = pageOf(rows, list.page, list.pageSize);
    return { items: await this.projectViews(page.items, ctx.actor), total: page.total };
  }

  /** One project, by name or id (X-Is-Resource-Name semantics). */
  async getProject(ctx: CallContext, key: ProjectKey): Promise<ProjectView> {
    const p = await this.deps.lookup.project(ctx, key, 'pull');
    const [view] = await this.projectViews([p], ctx.actor);
    if (!view) throw new Error('projectViews returned no view for one row');
    return view;
  }

  /**
   * Harbor's project summary (`GET /projects/{p}/summary`): the repository count, the members
   * per role (a role without members is left out, as Harbor's omitempty does) and the storage
   * quota (`hard` the limit, -1 unlimited; `used` the bytes counted now).
   */
  async summary(ctx: CallContext, key: ProjectKey): Promise<ProjectSummary> {
    const p = await this.deps.lookup.project(ctx, key, 'pull');
    const repos = await this.deps.db.selectFrom('repositories').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', p.id).executeTakeFirst();
    const roles = await memberRoleCounts(this.deps.db, p.id);
    const count = (role: keyof typeof roleIds): number | undefined => {
      const n = roles.get(roleIds[role]) ?? 0;
      return n === 0 ? undefined : n;
    };
    const summary: ProjectSummary = { repo_count: Number(repos?.n ?? 0) };
    const fields: Array<[keyof ProjectSummary, keyof typeof roleIds]> = [
      ['project_admin_count', 'projectAdmin'],
      ['maintainer_count', 'maintainer'],
      ['developer_count', 'developer'],
      ['guest_count', 'guest'],
      ['limited_guest_count', 'limitedGuest'],
    ];
    for (const [field, role] of fields) {
      const n = count(role);
      if (n !== undefined) Object.assign(summary, { [field]: n });
    }
    summary.quota = { hard: { storage: Number(p.storage_limit) }, used: { storage: await storageUsed(this.deps.db, p.id) } };
    return summary;
  }

  /** True when a project of that name exists (HEAD /projects?project_name=). */
  async projectExists(_ctx: CallContext, name: string): Promise<boolean> {
    if (name === '') throw fail('BAD_REQUEST', 'project_name is required');
    return (await this.deps.db.selectFrom('projects').select('id').where('name', '=', name).executeTakeFirst()) !== undefined;
  }

  /** Updates `metadata` (Harbor's keys, merged into the stored ones) and `storage_limit`. */
  async updateProject(ctx: CallContext, key: ProjectKey, body: unknown): Promise<void> {
    if (body === null || typeof body !== 'object') throw fail('BAD_REQUEST', 'the body must be a JSON object');
    const p = await this.deps.lookup.project(ctx, key, 'manage');
    const retentionId = (await this.deps.retentionLinks?.policyIds([p.id]))?.get(p.id);
    const change = parseProjectChange(body, p.name, p.id, retentionId === undefined ? undefined : String(retentionId));
    // Rewritten from the valid stored keys only: an update also drops what an older version stored.
    // Proxy-cache keys only on proxy-cache projects; `registry_id` itself is never changed (Harbor ignores it).
    const others: StoredMetadata = { ...readStoredMetadata(p.metadata), ...change.metadata, ...(p.registry_id === null ? {} : change.proxyMetadata) };
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('projects')
        .set({
          public: change.isPublic === undefined ? p.public : change.isPublic ? 1 : 0,
          storage_limit: change.storageLimit ?? p.storage_limit,
          metadata: JSON.stringify(others),
          update_time: Date.now(),
        })
        .where('id', '=', p.id)
        .execute();
      if (change.allowlist) await writeAllowlist(trx, p.id, change.allowlist, Date.now());
      await this.deps.audit.record(trx, { projectId: p.id, username: ctx.actor.username, operation: 'update', resourceType: 'project', resource: p.name });
    });
  }

  /** Deletes an empty project; PRECONDITION_FAILED while it holds repositories. */
  async deleteProject(ctx: CallContext, key: ProjectKey): Promise<void> {
    const p = await this.deps.lookup.project(ctx, key, 'manage');
    await this.deps.db.transaction().execute(async (trx) => {
      const repos = await trx.selectFrom('repositories').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', p.id).executeTakeFirstOrThrow();
      if (Number(repos.n) > 0) {
        throw fail('PRECONDITION_FAILED', `the project ${p.name} contains ${repos.n} repositories and cannot be deleted: delete its repositories first`);
      }
      let gone;
      try {
        gone = await trx.deleteFrom('projects').where('id', '=', p.id).executeTakeFirst();
      } catch (err) {
        // A push created a repository between the count and the delete: the foreign key refuses
        // (SQLite's message; PostgreSQL's foreign_key_violation, 23503).
        if (err instanceof Error && (/FOREIGN KEY constraint failed/i.test(err.message) || ('code' in err && err.code === '23503'))) {
          throw fail('PRECONDITION_FAILED', `the project ${p.name} contains repositories and cannot be deleted: delete its repositories first`);
        }
        throw err;
      }
      if (Number(gone.numDeletedRows) === 0) throw fail('NOT_FOUND', `project ${key.nameOrId} not found`);
      await deleteProjectLabels(trx, p.id);
      await this.deps.outbox.append(trx, { type: 'DELETE_PROJECT', operator: ctx.actor.username, request: ctx.request, project: projectRef(p) });
    });
  }

  /** Views of project rows for `actor` (its role in each): one query for repository counts, one for owner names. */
  private async projectViews(rows: ProjectRow[], actor: CallContext['actor']): Promise<ProjectView[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((p) => p.id);
    const counts = await this.deps.db
      .selectFrom('repositories')
      .select(['project_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('project_id', 'in', ids)
      .groupBy('project_id')
      .execute();
    const countOf = new Map(counts.map((c) => [c.project_id, Number(c.n)]));
    const allowlists = await readProjectAllowlists(this.deps.db, ids);
    const ownerIds = rows.map((p) => p.owner_id).filter((x): x is number => x !== null);
    const owners = ownerIds.length ? await this.deps.db.selectFrom('users').select(['id', 'username']).where('id', 'in', ownerIds).execute() : [];
    const ownerOf = new Map(owners.map((u) => [u.id, u.username]));
    const retention = (await this.deps.retentionLinks?.policyIds(ids)) ?? new Map<number, number>();
    const roleOf = (name: string): number => {
      const role = actor.roles?.get(name);
      return role === undefined ? 0 : roleIds[role];
    };
    // Every role the caller holds in the project, its own and its groups' (Harbor's current_user_role_ids).
    const roleIdsOf = (name: string): number[] => (actor.roleLists?.get(name) ?? []).map((r) => roleIds[r]);
    return rows.map((p) => projectView(p, countOf.get(p.id) ?? 0, p.owner_id === null ? '' : (ownerOf.get(p.owner_id) ?? ''), allowlists.get(p.id) ?? null, retention.get(p.id), roleOf(p.name), roleIdsOf(p.name)));
  }
}
