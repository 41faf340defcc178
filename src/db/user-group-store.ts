/**
 * The SQL of user groups (migration 0022): `user_groups` (Harbor's UserGroup), `user_group_members`
 * (who is in a group, and from which source) and the roles a user holds in projects directly and
 * through groups (`project_members`, read here for authorization; written by src/auth/members.ts).
 * A group's memberships in groups and projects go with it, and a user's with the user (ON DELETE
 * CASCADE). Written by src/auth/user-groups.ts; read by src/auth/principals.ts.
 */
import { sql, type Kysely } from 'kysely';
import type { ListQuery, ListSpec, Page } from '../domain/index.ts';
import type { Database, UserGroupRow } from './schema.ts';
import { listPage } from './listing.ts';
import { likeContains } from './like.ts';
import { query } from './sql.ts';

/** Where a user's membership in a group comes from. Only 'local' is written today. */
export type GroupMemberSource = 'local' | 'ldap' | 'oidc' | 'http';

/** The fields of `GET /usergroups` (`q` and `sort`; Harbor itself takes neither here). */
export const userGroupListSpec = {
  id: { type: 'int', column: 'id' },
  group_name: { type: 'text', column: 'group_name' },
  group_type: { type: 'int', column: 'group_type' },
  ldap_group_dn: { type: 'text', column: 'ldap_group_dn' },
} as const satisfies ListSpec;

/** The fields of a group's member list. */
export const groupMemberListSpec = {
  user_id: { type: 'int', column: 'u.id' },
  username: { type: 'text', column: 'u.username' },
} as const satisfies ListSpec;

/** What a group is made of. */
export interface UserGroupFields {
  group_name: string;
  group_type: number;
  ldap_group_dn: string;
}

/** A user in a group, with every source the membership comes from. */
export interface GroupMemberRow {
  user_id: number;
  username: string;
  sources: GroupMemberSource[];
  creation_time: number;
}

/** One role a user holds in a project: its own (`group_id` null) or through a group. */
export interface UserProjectRole {
  project: string;
  role_id: number;
  group_id: number | null;
}

function groupRow(r: UserGroupRow): UserGroupRow {
  return { ...r, id: Number(r.id), group_type: Number(r.group_type), creation_time: Number(r.creation_time), update_time: Number(r.update_time) };
}

/** Lists groups (`name`: substring, any case; `ldapDn`: exact), paged in id order unless sorted. */
export async function listUserGroups(db: Kysely<Database>, filter: { name?: string; ldapDn?: string }, list: ListQuery): Promise<Page<UserGroupRow>> {
  let q = db.selectFrom('user_groups').selectAll();
  if (filter.name) q = q.where(likeContains('group_name', filter.name));
  if (filter.ldapDn) q = q.where('ldap_group_dn', '=', filter.ldapDn);
  const page = await listPage(q, list, userGroupListSpec, { fallback: [{ column: 'id', desc: false }], tieBreak: { column: 'id', desc: false } });
  return { items: page.items.map(groupRow), total: page.total };
}

/** Groups whose name contains `name`: the closest (shortest) names first, then by name. */
export async function searchUserGroups(db: Kysely<Database>, name: string, page: number, pageSize: number): Promise<Page<UserGroupRow>> {
  const where = likeContains('group_name', name);
  const counted = await db.selectFrom('user_groups').select(sql<number>`count(*)`.as('n')).where(where).executeTakeFirst();
  const rows = await db
    .selectFrom('user_groups')
    .selectAll()
    .where(where)
    .orderBy(sql`length(group_name)`)
    .orderBy('group_name')
    .orderBy('id')
    .limit(pageSize)
    .offset((page - 1) * pageSize)
    .execute();
  return { items: rows.map(groupRow), total: Number(counted?.n ?? 0) };
}

/** One group by id. */
export async function readUserGroup(db: Kysely<Database>, id: number): Promise<UserGroupRow | undefined> {
  const r = await db.selectFrom('user_groups').selectAll().where('id', '=', id).executeTakeFirst();
  return r && groupRow(r);
}

/** The group of that type and name, or (with `ldapDn`) the LDAP group of that DN. */
export async function findUserGroup(db: Kysely<Database>, key: { type: number; name: string } | { type: number; ldapDn: string }): Promise<UserGroupRow | undefined> {
  let q = db.selectFrom('user_groups').selectAll().where('group_type', '=', key.type);
  q = 'ldapDn' in key ? q.where('ldap_group_dn', '=', key.ldapDn) : q.where('group_name', '=', key.name);
  const r = await q.orderBy('id').executeTakeFirst();
  return r && groupRow(r);
}

/** Inserts a group; returns its id. A (type, name) clash fails with the database's unique violation. */
export async function insertUserGroup(db: Kysely<Database>, g: UserGroupFields, now: number): Promise<number> {
  const row = await db
    .insertInto('user_groups')
    .values({ group_name: g.group_name, group_type: g.group_type, ldap_group_dn: g.ldap_group_dn, creation_time: now, update_time: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** Renames a group; a clash fails with the database's unique violation. */
export async function renameUserGroup(db: Kysely<Database>, id: number, name: string, now: number): Promise<void> {
  await db.updateTable('user_groups').set({ group_name: name, update_time: now }).where('id', '=', id).execute();
}

/** Deletes a group, with its members and its project memberships (cascade). Returns how many rows went (0 or 1). */
export async function deleteUserGroup(db: Kysely<Database>, id: number): Promise<number> {
  // Explicit as well as cascaded: the rows go even where foreign keys are not enforced.
  await db.deleteFrom('project_members').where('group_id', '=', id).execute();
  await db.deleteFrom('user_group_members').where('group_id', '=', id).execute();
  const r = await db.deleteFrom('user_groups').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** The users in a group (one row per user, all its sources), paged by user id unless sorted. */
export async function listGroupMembers(db: Kysely<Database>, groupId: number, list: ListQuery): Promise<Page<GroupMemberRow>> {
  const q = db
    .selectFrom('user_group_members as gm')
    .innerJoin('users as u', 'u.id', 'gm.user_id')
    .select(['u.id as user_id', 'u.username', (eb) => eb.fn.min('gm.creation_time').as('creation_time')])
    .where('gm.group_id', '=', groupId)
    .groupBy(['u.id', 'u.username']);
  // Counted over the grouped rows: one per user.
  const counted = await db
    .selectFrom('user_group_members')
    .select(sql<number>`count(distinct user_id)`.as('n'))
    .where('group_id', '=', groupId)
    .executeTakeFirst();
  const page = await listPage(q, { ...list, filters: new Map() }, groupMemberListSpec, { fallback: [{ column: 'u.id', desc: false }], tieBreak: { column: 'u.id', desc: false } });
  const ids = page.items.map((r) => Number(r.user_id));
  const sources = ids.length
    ? await db.selectFrom('user_group_members').select(['user_id', 'source']).where('group_id', '=', groupId).where('user_id', 'in', ids).orderBy('source').execute()
    : [];
  const sourcesOf = new Map<number, GroupMemberSource[]>();
  for (const s of sources) {
    const list = sourcesOf.get(Number(s.user_id)) ?? [];
    // Written only as GroupMemberSource values (addGroupMember).
    list.push(s.source as GroupMemberSource);
    sourcesOf.set(Number(s.user_id), list);
  }
  return {
    items: page.items.map((r) => ({ user_id: Number(r.user_id), username: r.username, sources: sourcesOf.get(Number(r.user_id)) ?? [], creation_time: Number(r.creation_time) })),
    total: Number(counted?.n ?? 0),
  };
}

/** Adds a user to a group from `source`; false when that membership already exists. */
export async function addGroupMember(db: Kysely<Database>, groupId: number, userId: number, source: GroupMemberSource, now: number): Promise<boolean> {
  const r = await db
    .insertInto('user_group_members')
    .values({ group_id: groupId, user_id: userId, source, creation_time: now })
    .onConflict((oc) => oc.columns(['group_id', 'user_id', 'source']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Removes a user's membership of a group from `source`; returns how many rows went (0 or 1). */
export async function removeGroupMember(db: Kysely<Database>, groupId: number, userId: number, source: GroupMemberSource): Promise<number> {
  const r = await db.deleteFrom('user_group_members').where('group_id', '=', groupId).where('user_id', '=', userId).where('source', '=', source).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** What authorization reads of a user (src/auth/principals.ts). */
export interface ActorUserRow {
  id: number;
  username: string;
  password_hash: string;
  sysadmin: number;
  disabled: number;
  admin_role_in_auth: number;
}

/**
 * The user `userId` and every role it holds in projects, as a member itself and through each of
 * its groups, in ONE statement: what every authenticated request reads (one round trip fewer on PostgreSQL).
 * Null when no such user exists.
 */
export async function userWithProjectRoles(db: Kysely<Database>, userId: number): Promise<{ user: ActorUserRow; roles: UserProjectRole[] } | null> {
  const rows = await query<{
    id: number | string;
    username: string;
    password_hash: string;
    sysadmin: number | string;
    disabled: number | string;
    admin_role_in_auth: number | string;
    project: string | null;
    role_id: number | string | null;
    group_id: number | string | null;
  }>(
    db,
    `SELECT u.id, u.username, u.password_hash, u.sysadmin, u.disabled, u.admin_role_in_auth, p.name AS project, m.role_id, m.group_id
FROM users AS u
LEFT JOIN project_members AS m ON m.user_id = u.id OR m.group_id IN (SELECT gm.group_id FROM user_group_members AS gm WHERE gm.user_id = u.id)
LEFT JOIN projects AS p ON p.id = m.project_id
WHERE u.id = ?`,
    [userId],
  );
  const first = rows[0];
  if (!first) return null;
  const user: ActorUserRow = {
    id: Number(first.id),
    username: first.username,
    password_hash: first.password_hash,
    sysadmin: Number(first.sysadmin),
    disabled: Number(first.disabled),
    admin_role_in_auth: Number(first.admin_role_in_auth),
  };
  const roles: UserProjectRole[] = [];
  // A membership row always has its project (a foreign key); the check keeps the inner join's meaning.
  for (const r of rows) if (r.role_id !== null && r.project !== null) roles.push({ project: r.project, role_id: Number(r.role_id), group_id: r.group_id === null ? null : Number(r.group_id) });
  return { user, roles };
}

