/**
 * loadActor: builds the full Actor of an authenticated principal (a user or a robot account) from
 * the database — a user's role per project, a robot's permissions. Called after a password, a
 * robot secret or a token has been verified; returns null when the principal no longer may log in
 * (unknown, disabled, or an expired robot).
 */
import type { Kysely } from 'kysely';
import { userWithProjectRoles, type Database } from '../db/index.ts';
import type { Actor, RobotGrant } from './actor.ts';
import { projectRolesOf } from './user-groups.ts';
import { scannerActor } from './scanner-credential.ts';

/** Who was authenticated: a user, a robot, or a scanner credential for one repository (scanner-credential.ts). */
export type Principal = { kind: 'user'; id: number } | { kind: 'robot'; id: number } | { kind: 'scanner'; repository: string };

/** A robot's stored permission list (Harbor's RobotPermission[]). */
export interface RobotPermission {
  kind: string;
  namespace: string;
  access: Array<{ resource: string; action: string; effect?: string }>;
}

/** Parses the robots.permissions JSON column; unreadable data grants nothing. */
export function parseRobotPermissions(json: string): RobotPermission[] {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(v)) return [];
  const out: RobotPermission[] = [];
  for (const p of v) {
    if (p === null || typeof p !== 'object') continue;
    const { kind, namespace, access } = p as Record<string, unknown>; // narrowed field by field below
    if (typeof kind !== 'string' || typeof namespace !== 'string' || !Array.isArray(access)) continue;
    const items: RobotPermission['access'] = [];
    for (const a of access) {
      if (a === null || typeof a !== 'object') continue;
      const { resource, action, effect } = a as Record<string, unknown>; // narrowed below
      if (typeof resource === 'string' && typeof action === 'string') items.push({ resource, action, ...(typeof effect === 'string' ? { effect } : {}) });
    }
    out.push({ kind, namespace, access: items });
  }
  return out;
}

/** Flattens permissions into the grants the Authorizer reads; `deny` effects and system-kind entries grant nothing. */
export function robotGrants(perms: RobotPermission[]): RobotGrant[] {
  const grants: RobotGrant[] = [];
  for (const p of perms) {
    if (p.kind !== 'project') continue;
    for (const a of p.access) if (a.effect !== 'deny') grants.push({ namespace: p.namespace, resource: a.resource, action: a.action });
  }
  return grants;
}

/** True when a robot row is past its expiry (expires_at in Unix seconds; -1 never). */
export function robotExpired(expiresAt: number, now = Date.now()): boolean {
  return expiresAt !== -1 && expiresAt * 1000 <= now;
}

/**
 * The full Actor of `principal`, or null when it may not log in. With `secretHash` (a cached
 * credential check), also null when the stored password or secret hash is no longer that one: a
 * change made through another instance ends the cached check at once, at no extra query.
 */
export async function loadActor(db: Kysely<Database>, principal: Principal, secretHash?: string): Promise<Actor | null> {
  if (principal.kind === 'scanner') return scannerActor(principal.repository);
  if (principal.kind === 'user') {
    // The user and its roles in one statement (read on every authenticated request).
    const found = await userWithProjectRoles(db, principal.id);
    if (!found) return null;
    const { user } = found;
    if (user.disabled) return null;
    if (secretHash !== undefined && user.password_hash !== secretHash) return null;
    // An LDAP admin group member (admin_role_in_auth, src/auth/ldap-service.ts) is a system admin too.
    // Its own memberships and its groups' (src/auth/user-groups.ts): the strongest role counts.
    const { roles, roleLists } = projectRolesOf(found.roles);
    return { kind: 'user', username: user.username, userId: user.id, sysadmin: user.sysadmin === 1 || user.admin_role_in_auth === 1, roles, roleLists };
  }
  const robot = await db
    .selectFrom('robots as r')
    .leftJoin('projects as p', 'p.id', 'r.project_id')
    .select(['r.id', 'r.name', 'r.disabled', 'r.expires_at', 'r.permissions', 'r.secret_hash', 'p.name as project'])
    .where('r.id', '=', principal.id)
    .executeTakeFirst();
  if (!robot || robot.disabled || robotExpired(robot.expires_at)) return null;
  if (secretHash !== undefined && robot.secret_hash !== secretHash) return null;
  let grants = robotGrants(parseRobotPermissions(robot.permissions));
  // A project robot acts in its own project only, whatever its stored namespaces say.
  if (robot.project !== null) grants = grants.filter((g) => g.namespace === robot.project);
  return {
    kind: 'robot',
    username: robot.name,
    userId: null,
    sysadmin: false,
    robot: { id: robot.id, projectName: robot.project, permissions: grants },
  };
}
