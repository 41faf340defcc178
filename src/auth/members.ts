/**
 * Project members: users and user groups holding one of Harbor's roles in a project (Harbor's
 * /projects/{p}/members; entity_type `u` or `g`). A group member gives its role to every user in
 * the group (src/auth/user-groups.ts). Reading members needs `read-members`, changing them
 * `manage-members` (project admin or system admin). Every change is recorded in the audit log
 * (resource type `member`, resource `project/username` or `project/group name`) in the change's
 * transaction.
 */
import { sql, type Kysely } from 'kysely';
import { fail, type ListQuery, type ListSpec } from '../domain/index.ts';
import { likeContains, listPage, type Database, type ProjectRow } from '../db/index.ts';
import type { Actor } from './actor.ts';
import { roleOfId } from './actor.ts';
import type { Authorizer } from './authorizer.ts';
import type { AuditTrail } from './audit-trail.ts';
import { memberGroup, jsonObject as obj } from './user-groups.ts';

/** Harbor's ProjectMemberEntity. */
export interface MemberView {
  id: number;
  project_id: number;
  entity_name: string;
  role_name: string;
  role_id: number;
  entity_id: number;
  entity_type: 'u' | 'g';
}

/** Which project: by name or id, as Harbor's `{project_name_or_id}` with `X-Is-Resource-Name`. */
export interface MemberProjectKey {
  nameOrId: string;
  isName: boolean;
}

/** What the member service needs. */
export interface MemberServiceDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  /** Records every member change (the audit log). */
  audit: AuditTrail;
}

function roleIdOf(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || roleOfId(v) === null) {
    throw fail('BAD_REQUEST', 'role_id must be 1 (projectAdmin), 2 (developer), 3 (guest), 4 (maintainer) or 5 (limitedGuest)');
  }
  return v;
}

/** The fields `q` and `sort` take on the member list (Harbor documents none; these are the member's own). */
export const memberListSpec = {
  id: { type: 'int', column: 'm.id' },
  entity_name: { type: 'text', column: 'm.entity_name' },
  entity_id: { type: 'int', column: 'm.entity_id' },
  entity_type: { type: 'text', column: 'm.entity_type' },
  role_id: { type: 'int', column: 'm.role_id' },
} as const satisfies ListSpec;

/** Adds, lists, changes and removes project members. */
/** How many members of each role id a project has (Harbor's project summary). */
export async function memberRoleCounts(db: Kysely<Database>, projectId: number): Promise<Map<number, number>> {
  const rows = await db
    .selectFrom('project_members')
    .select(['role_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('project_id', '=', projectId)
    .groupBy('role_id')
    .execute();
  return new Map(rows.map((r) => [Number(r.role_id), Number(r.n)]));
}

export class MemberService {
  constructor(private readonly deps: MemberServiceDeps) {}

  /** Lists members, optionally only those whose name contains `entityname` (Harbor's parameter), paged (memberListSpec). */
  async list(actor: Actor, key: MemberProjectKey, entityname: string | undefined, list: ListQuery): Promise<{ items: MemberView[]; total: number }> {
    const p = await this.project(actor, key, 'read-members');
    let q = this.base(p.id);
    if (entityname) q = q.where(likeContains('m.entity_name', entityname));
    const page = await listPage(q, list, memberListSpec, { fallback: [{ column: 'm.id', desc: false }], tieBreak: { column: 'm.id', desc: false } });
    return { items: page.items.map(view), total: page.total };
  }

  /** One member. */
  async get(actor: Actor, key: MemberProjectKey, id: number): Promise<MemberView> {
    const p = await this.project(actor, key, 'read-members');
    return view(await this.member(p, id));
  }

  /**
   * Adds a user (`member_user.username` or `.user_id`) or a user group (`member_group`: `id`, or
   * `group_name` with `group_type`, or `ldap_group_dn`; see memberGroup for the groups created on
   * the fly, as Harbor does) with `role_id`; returns the member id.
   */
  async add(actor: Actor, key: MemberProjectKey, body: unknown): Promise<number> {
    const p = await this.project(actor, key, 'manage-members');
    const b = obj(body, 'the body');
    const roleId = roleIdOf(b.role_id);
    const mu = b.member_user === undefined || b.member_user === null ? {} : obj(b.member_user, 'member_user');
    const byUser = (typeof mu.user_id === 'number' && mu.user_id > 0) || (typeof mu.username === 'string' && mu.username !== '');
    if (!byUser && b.member_group !== undefined && b.member_group !== null) return this.addGroup(actor, p, roleId, obj(b.member_group, 'member_group'));
    let q = this.deps.db.selectFrom('users').select(['id', 'username']);
    if (typeof mu.user_id === 'number' && mu.user_id > 0) q = q.where('id', '=', mu.user_id);
    else if (typeof mu.username === 'string' && mu.username !== '') q = q.where('username', '=', mu.username);
    else throw fail('BAD_REQUEST', 'at least one of member_user or member_group must be provided');
    const user = await q.executeTakeFirst();
    if (!user) throw fail('NOT_FOUND', `user ${String(mu.username ?? mu.user_id)} not found`);
    const now = Date.now();
    return this.deps.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('project_members')
        .values({ project_id: p.id, user_id: user.id, role_id: roleId, creation_time: now, update_time: now })
        .onConflict((oc) => oc.columns(['project_id', 'user_id']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!row) throw fail('CONFLICT', `${user.username} is already a member of ${p.name}`);
      await this.deps.audit.record(trx, { projectId: p.id, username: actor.username, operation: 'create', resourceType: 'member', resource: `${p.name}/${user.username}` });
      return row.id;
    });
  }

  private async addGroup(actor: Actor, p: ProjectRow, roleId: number, raw: Record<string, unknown>): Promise<number> {
    return this.deps.db.transaction().execute(async (trx) => {
      const g = await memberGroup(trx, raw);
      const now = Date.now();
      const row = await trx
        .insertInto('project_members')
        .values({ project_id: p.id, user_id: null, group_id: g.id, role_id: roleId, creation_time: now, update_time: now })
        .onConflict((oc) => oc.columns(['project_id', 'group_id']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!row) throw fail('CONFLICT', 'The project member specified already exist');
      await this.deps.audit.record(trx, { projectId: p.id, username: actor.username, operation: 'create', resourceType: 'member', resource: `${p.name}/${g.group_name}` });
      return row.id;
    });
  }

  /** Changes a member's role (`{"role_id": n}`). */
  async update(actor: Actor, key: MemberProjectKey, id: number, body: unknown): Promise<void> {
    const p = await this.project(actor, key, 'manage-members');
    const roleId = roleIdOf(obj(body, 'the body').role_id);
    const m = await this.member(p, id);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('project_members').set({ role_id: roleId, update_time: Date.now() }).where('id', '=', id).execute();
      await this.deps.audit.record(trx, { projectId: p.id, username: actor.username, operation: 'update', resourceType: 'member', resource: `${p.name}/${m.entity_name}` });
    });
  }

  /** Removes a member. */
  async remove(actor: Actor, key: MemberProjectKey, id: number): Promise<void> {
    const p = await this.project(actor, key, 'manage-members');
    const m = await this.member(p, id);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('project_members').where('id', '=', id).execute();
      await this.deps.audit.record(trx, { projectId: p.id, username: actor.username, operation: 'delete', resourceType: 'member', resource: `${p.name}/${m.entity_name}` });
    });
  }

  /** A project's members, users and groups alike, as one derived table `m` (entity_id, entity_name, entity_type). */
  private base(projectId: number) {
    const rows = this.deps.db
      .selectFrom('project_members as pm')
      .leftJoin('users as u', 'u.id', 'pm.user_id')
      .leftJoin('user_groups as g', 'g.id', 'pm.group_id')
      .select([
        'pm.id',
        'pm.project_id',
        'pm.role_id',
        sql<number>`coalesce(pm.user_id, pm.group_id)`.as('entity_id'),
        sql<string>`coalesce(u.username, g.group_name)`.as('entity_name'),
        sql<'u' | 'g'>`case when pm.user_id is null then 'g' else 'u' end`.as('entity_type'),
      ])
      .where('pm.project_id', '=', projectId);
    return this.deps.db.selectFrom(rows.as('m')).selectAll('m');
  }

  private async member(p: ProjectRow, id: number) {
    const row = Number.isSafeInteger(id) ? await this.base(p.id).where('m.id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw fail('NOT_FOUND', `member ${id} not found in project ${p.name}`);
    return row;
  }

  private async project(actor: Actor, key: MemberProjectKey, action: 'read-members' | 'manage-members'): Promise<ProjectRow> {
    const byId = !key.isName && /^[0-9]+$/.test(key.nameOrId);
    const q = this.deps.db.selectFrom('projects').selectAll();
    const p = byId && Number.isSafeInteger(Number(key.nameOrId)) ? await q.where('id', '=', Number(key.nameOrId)).executeTakeFirst() : byId ? undefined : await q.where('name', '=', key.nameOrId).executeTakeFirst();
    if (!p) {
      // An anonymous caller is asked to log in before learning whether a project exists.
      this.deps.authorizer.check(actor, action, { name: key.nameOrId, public: false });
      throw fail('NOT_FOUND', `project ${key.nameOrId} not found`);
    }
    this.deps.authorizer.check(actor, action, { name: p.name, public: p.public === 1 });
    return p;
  }
}

function view(r: { id: number; project_id: number; role_id: number; entity_id: number; entity_name: string; entity_type: 'u' | 'g' }): MemberView {
  return {
    id: Number(r.id),
    project_id: Number(r.project_id),
    entity_name: r.entity_name,
    role_name: roleOfId(Number(r.role_id)) ?? 'unknown',
    role_id: Number(r.role_id),
    entity_id: Number(r.entity_id),
    entity_type: r.entity_type === 'g' ? 'g' : 'u',
  };
}
