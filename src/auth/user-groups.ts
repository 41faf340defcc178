/**
 * User groups (Harbor's /usergroups) and who is in them.
 *
 * A group is Harbor's UserGroup: a name and a type (1 LDAP, 2 HTTP, 3 OIDC; an LDAP group also has
 * its DN). Groups are members of projects like users (src/auth/members.ts); a user's role in a
 * project is the strongest of its own and its groups' roles (`projectRolesOf`, read at every
 * request by loadActor, so a change counts from the next request).
 *
 * Wharf authenticates against its own database only, so no directory or identity provider says
 * who is in a group: the system admin adds Wharf users to groups through Wharf's extension routes
 * (`/usergroups/{id}/members`). Each membership keeps its source ('local' for those); an LDAP or
 * OIDC login can later write its own rows beside them (src/db/user-group-store.ts).
 *
 * Who may: reading and changing groups and their members is the system admin's (Harbor's system
 * user-group resource); searching groups by name (`/usergroups/search`) any signed-in user's.
 */
import type { Kysely } from 'kysely';
import { fail, type ListQuery, type Page } from '../domain/index.ts';
import {
  addGroupMember,
  deleteUserGroup,
  findUserGroup,
  insertUserGroup,
  isUniqueViolation,
  listGroupMembers,
  listUserGroups,
  readUserGroup,
  removeGroupMember,
  renameUserGroup,
  searchUserGroups,
  type Database,
  type GroupMemberRow,
  type GroupMemberSource,
  type UserGroupRow,
  type UserProjectRole,
} from '../db/index.ts';
import { roleOfId, type Actor, type ProjectRole } from './actor.ts';
import type { Authorizer } from './authorizer.ts';

/** Harbor's group types. */
export const groupTypes = Object.freeze({ ldap: 1, http: 2, oidc: 3 });

/** Harbor's UserGroup. */
export interface UserGroupView {
  id: number;
  group_name: string;
  group_type: number;
  ldap_group_dn: string;
}

/** Harbor's UserGroupSearchItem. */
export interface UserGroupSearchItemView {
  id: number;
  group_name: string;
  group_type: number;
}

/** A user in a group (Wharf's extension): `sources` says where each membership comes from. */
export interface GroupMemberView {
  user_id: number;
  username: string;
  sources: GroupMemberSource[];
  creation_time: string;
}

/** Roles from strongest to weakest (Harbor's highest-role order). */
const strength: readonly ProjectRole[] = ['projectAdmin', 'maintainer', 'developer', 'guest', 'limitedGuest'];

/**
 * A user's roles per project name from its own and its groups' memberships: `roles` the strongest
 * of each project, `roleLists` all of them (no repeats), strongest first.
 */
export function projectRolesOf(rows: readonly UserProjectRole[]): { roles: Map<string, ProjectRole>; roleLists: Map<string, ProjectRole[]> } {
  const roleLists = new Map<string, ProjectRole[]>();
  for (const r of rows) {
    const role = roleOfId(r.role_id);
    if (!role) continue;
    const list = roleLists.get(r.project) ?? [];
    if (!list.includes(role)) list.push(role);
    roleLists.set(r.project, list);
  }
  const roles = new Map<string, ProjectRole>();
  for (const [project, list] of roleLists) {
    list.sort((a, b) => strength.indexOf(a) - strength.indexOf(b));
    const first = list[0];
    if (first) roles.set(project, first);
  }
  return { roles, roleLists };
}

/** `v` as a JSON object whose keys are read one by one; BAD_REQUEST `<what> must be a JSON object` otherwise. */
export function jsonObject(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw fail('BAD_REQUEST', `${what} must be a JSON object`);
  // A non-null, non-array object: its keys are read one by one with checks.
  return v as Record<string, unknown>;
}

/** A group type of the request: 1, 2 or 3. */
export function groupTypeOf(v: unknown): number {
  if (v !== 1 && v !== 2 && v !== 3) throw fail('BAD_REQUEST', 'group_type must be 1 (LDAP group), 2 (HTTP group) or 3 (OIDC group)');
  return v;
}

/** An LDAP DN as Harbor keeps it: trimmed, lower case. */
export function normalDn(v: unknown): string {
  return typeof v === 'string' ? v.trim().toLowerCase() : '';
}

function view(g: UserGroupRow): UserGroupView {
  return { id: g.id, group_name: g.group_name, group_type: g.group_type, ldap_group_dn: g.ldap_group_dn };
}

function duplicate(g: { group_name: string; group_type: number; ldap_group_dn: string }) {
  return fail('CONFLICT', `duplicate user group, group name:${g.group_name}, group type: ${g.group_type}, ldap group DN: ${g.ldap_group_dn}`);
}

/**
 * The group a project member request names (`member_group`), as Harbor resolves it: by `id`; by
 * `ldap_group_dn` (an LDAP group, created when unknown: Wharf has no directory to look it up in);
 * by `group_name` and `group_type` (an HTTP or OIDC group is created when unknown, as Harbor's
 * HTTP and OIDC modes onboard any group name; other unknown names are not found).
 */
export async function memberGroup(db: Kysely<Database>, raw: Record<string, unknown>): Promise<UserGroupRow> {
  const id = raw.id;
  if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) {
    const g = await readUserGroup(db, id);
    if (!g) throw fail('BAD_REQUEST', `Group ${id} not found`);
    return g;
  }
  const name = typeof raw.group_name === 'string' ? raw.group_name : '';
  const dn = normalDn(raw.ldap_group_dn);
  if (dn !== '') {
    const found = await findUserGroup(db, { type: groupTypes.ldap, ldapDn: dn });
    if (found) return found;
    return createOnTheFly(db, { group_name: name || dn, group_type: groupTypes.ldap, ldap_group_dn: dn });
  }
  if (name === '') throw fail('BAD_REQUEST', 'at least one of member_user or member_group must be provided');
  const type = typeof raw.group_type === 'number' ? raw.group_type : 0;
  const found = await findUserGroup(db, { type, name });
  if (found) return found;
  if (type !== groupTypes.http && type !== groupTypes.oidc) throw fail('NOT_FOUND', `${name} not found`);
  return createOnTheFly(db, { group_name: name, group_type: type, ldap_group_dn: '' });
}

async function createOnTheFly(db: Kysely<Database>, g: { group_name: string; group_type: number; ldap_group_dn: string }): Promise<UserGroupRow> {
  try {
    await insertUserGroup(db, g, Date.now());
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // Created meanwhile by another request (or an LDAP group whose name is taken by another DN).
  }
  const row = await findUserGroup(db, g.group_type === groupTypes.ldap ? { type: g.group_type, ldapDn: g.ldap_group_dn } : { type: g.group_type, name: g.group_name });
  if (!row) throw duplicate(g);
  return row;
}

/** What the group service needs. */
export interface UserGroupServiceDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
}

/** Lists, creates, renames and deletes user groups, and adds and removes their (local) members. */
export class UserGroupService {
  constructor(private readonly deps: UserGroupServiceDeps) {}

  /** Harbor's listUserGroups: `group_name` a substring, `ldap_group_dn` exact. System admin only. */
  async list(actor: Actor, filter: { name?: string; ldapDn?: string }, list: ListQuery): Promise<Page<UserGroupView>> {
    this.deps.authorizer.check(actor, 'admin');
    const page = await listUserGroups(this.deps.db, { name: filter.name, ldapDn: filter.ldapDn ? normalDn(filter.ldapDn) : undefined }, list);
    return { items: page.items.map(view), total: page.total };
  }

  /** Harbor's searchUserGroups: any signed-in caller; closest names first. */
  async search(actor: Actor, groupname: string, page: number, pageSize: number): Promise<Page<UserGroupSearchItemView>> {
    if (actor.username === '') throw fail('UNAUTHORIZED', 'authentication required to search user groups');
    if (actor.kind === 'token') throw fail('DENIED', `the bearer token of ${actor.username} does not allow searching user groups: use HTTP Basic credentials`);
    if (groupname === '') throw fail('BAD_REQUEST', 'need to provide groupname to search user group');
    const found = await searchUserGroups(this.deps.db, groupname, page, pageSize);
    return { items: found.items.map((g) => ({ id: g.id, group_name: g.group_name, group_type: g.group_type })), total: found.total };
  }

  /** One group. */
  async get(actor: Actor, id: number): Promise<UserGroupView> {
    this.deps.authorizer.check(actor, 'admin');
    return view(await this.group(id));
  }

  /** Creates a group (`group_name`, `group_type`, `ldap_group_dn` for LDAP groups); returns its id. */
  async create(actor: Actor, body: unknown): Promise<number> {
    this.deps.authorizer.check(actor, 'admin');
    const b = jsonObject(body, 'the body');
    const name = typeof b.group_name === 'string' ? b.group_name.trim() : '';
    if (name === '') throw fail('BAD_REQUEST', 'group_name is required');
    const type = groupTypeOf(b.group_type);
    const dn = normalDn(b.ldap_group_dn);
    if (type === groupTypes.ldap && dn === '') throw fail('BAD_REQUEST', 'LDAP Group DN is not found: DN:');
    const g = { group_name: name, group_type: type, ldap_group_dn: dn };
    if (await findUserGroup(this.deps.db, { type, name })) throw duplicate(g);
    if (type === groupTypes.ldap && (await findUserGroup(this.deps.db, { type, ldapDn: dn }))) throw duplicate(g);
    try {
      return await insertUserGroup(this.deps.db, g, Date.now());
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(g);
      throw err;
    }
  }

  /** Renames a group (Harbor changes nothing else). */
  async update(actor: Actor, id: number, body: unknown): Promise<void> {
    this.deps.authorizer.check(actor, 'admin');
    if (id <= 0) throw fail('BAD_REQUEST', 'the group id should be provided');
    const b = jsonObject(body, 'the body');
    const name = typeof b.group_name === 'string' ? b.group_name.trim() : '';
    if (name === '') throw fail('BAD_REQUEST', 'group_name is required');
    const g = await this.group(id);
    if (g.group_name === name) return;
    try {
      await renameUserGroup(this.deps.db, id, name, Date.now());
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate({ ...g, group_name: name });
      throw err;
    }
  }

  /** Deletes a group with its memberships of projects; an unknown id is no error (as Harbor). */
  async delete(actor: Actor, id: number): Promise<void> {
    this.deps.authorizer.check(actor, 'admin');
    if (id <= 0) throw fail('BAD_REQUEST', 'the group id should be provided');
    await this.deps.db.transaction().execute((trx) => deleteUserGroup(trx, id));
  }

  /** The users in a group (Wharf's extension). */
  async members(actor: Actor, id: number, list: ListQuery): Promise<Page<GroupMemberView>> {
    this.deps.authorizer.check(actor, 'admin');
    await this.group(id);
    const page = await listGroupMembers(this.deps.db, id, list);
    return { items: page.items.map(memberView), total: page.total };
  }

  /** Adds a Wharf user (`user_id` or `username`) to a group (Wharf's extension). */
  async addMember(actor: Actor, id: number, body: unknown): Promise<void> {
    this.deps.authorizer.check(actor, 'admin');
    const g = await this.group(id);
    const b = jsonObject(body, 'the body');
    let q = this.deps.db.selectFrom('users').select(['id', 'username']);
    if (typeof b.user_id === 'number' && Number.isSafeInteger(b.user_id) && b.user_id > 0) q = q.where('id', '=', b.user_id);
    else if (typeof b.username === 'string' && b.username !== '') q = q.where('username', '=', b.username);
    else throw fail('BAD_REQUEST', 'user_id or username is required');
    const user = await q.executeTakeFirst();
    if (!user) throw fail('NOT_FOUND', `user ${String(b.username ?? b.user_id)} not found`);
    if (!(await addGroupMember(this.deps.db, g.id, user.id, 'local', Date.now()))) throw fail('CONFLICT', `${user.username} is already a member of the user group ${g.group_name}`);
  }

  /** Removes a user's local membership of a group (Wharf's extension). */
  async removeMember(actor: Actor, id: number, userId: number): Promise<void> {
    this.deps.authorizer.check(actor, 'admin');
    const g = await this.group(id);
    if ((await removeGroupMember(this.deps.db, g.id, userId, 'local')) === 0) throw fail('NOT_FOUND', `user ${userId} is not a member of the user group ${g.group_name}`);
  }

  private async group(id: number): Promise<UserGroupRow> {
    if (id <= 0) throw fail('BAD_REQUEST', 'the group id should be provided');
    const g = Number.isSafeInteger(id) ? await readUserGroup(this.deps.db, id) : undefined;
    if (!g) throw fail('NOT_FOUND', `the user group with id ${id} is not found`);
    return g;
  }
}

function memberView(m: GroupMemberRow): GroupMemberView {
  return { user_id: m.user_id, username: m.username, sources: m.sources, creation_time: new Date(m.creation_time).toISOString() };
}
