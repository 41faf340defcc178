/**
 * Who performs an action. Services take an Actor; only src/api knows how it was authenticated.
 *
 * Shared contract of issue 4 (owned by "roles+robots"; tell the others here before changing it):
 * - `kind` says what the caller is; `roles` holds a user's Harbor role per PROJECT NAME; `robot`
 *   a robot account's id, its project (null for system robots) and Harbor-style permissions;
 *   `tokenAccess` the actions a bearer token grants per repository (the Authorizer also requires
 *   them for repository actions on that repository).
 * - Build full actors with `loadActor(db, principal)` (src/auth/principals.ts).
 * - A bearer token on /api/v2.0 is a `token` actor (`tokenActor`): it holds no identity of its own
 *   (no user id, no robot, not sysadmin), so no "is this the caller itself" check can match it;
 *   its account is kept in `account` for the Authorizer, which grants it the token's repository
 *   actions intersected with the account's rights, and public reads (docs/auth.md).
 */

import type { RequestInfo } from '../events/index.ts';

/** Harbor's project roles (role ids: projectAdmin=1, developer=2, guest=3, maintainer=4, limitedGuest=5). */
export type ProjectRole = 'projectAdmin' | 'maintainer' | 'developer' | 'guest' | 'limitedGuest';

/** Harbor's role ids, by role. */
export const roleIds: Readonly<Record<ProjectRole, number>> = Object.freeze({
  projectAdmin: 1,
  developer: 2,
  guest: 3,
  maintainer: 4,
  limitedGuest: 5,
});

/** The role of a Harbor role id, or null for an unknown id. */
export function roleOfId(id: number): ProjectRole | null {
  for (const [role, rid] of Object.entries(roleIds)) {
    // Object.entries loses the key type; the keys are exactly ProjectRole.
    if (rid === id) return role as ProjectRole;
  }
  return null;
}

/** One granted permission of a robot: `resource`/`action` in `namespace` (a project name, or `*` for all). */
export interface RobotGrant {
  namespace: string;
  resource: string;
  action: string;
}

/**
 * What kind of caller an actor is. `token` is a registry bearer token presented on /api/v2.0: it
 * is neither a user nor a robot there (see {@link tokenActor}).
 */
export type ActorKind = 'anonymous' | 'user' | 'robot' | 'system' | 'token';

/** An authenticated (or anonymous) caller. */
export interface Actor {
  kind: ActorKind;
  /** '' for anonymous; the full robot name (`robot$p+name`) for robots. */
  username: string;
  userId: number | null;
  sysadmin: boolean;
  /** A user's role per project name (absent or empty: member of nothing): the strongest of its own and its groups' roles. */
  roles?: ReadonlyMap<string, ProjectRole>;
  /** Every role a user holds per project name, its own and its groups' (strongest first; Harbor's `current_user_role_ids`). */
  roleLists?: ReadonlyMap<string, readonly ProjectRole[]>;
  /** Set for robot accounts. */
  robot?: { id: number; projectName: string | null; permissions: ReadonlyArray<RobotGrant> };
  /** For bearer-token callers: repository name -> granted actions ('pull', 'push', 'delete', '*'). */
  tokenAccess?: ReadonlyMap<string, ReadonlySet<string>>;
  /** For `token` actors only: the account the token was issued to (its rights as loaded now). */
  account?: Actor;
}

/** Context every service call carries: who, and the request it came from (for events and logs). */
export interface CallContext {
  actor: Actor;
  request?: RequestInfo;
}

/** The anonymous caller. */
export const anonymous: Actor = Object.freeze({ kind: 'anonymous', username: '', userId: null, sysadmin: false });

/** The actor used for Wharf's own work (gc, first start). */
export const systemActor: Actor = Object.freeze({ kind: 'system', username: 'wharf-system', userId: null, sysadmin: true });

/**
 * The actor of a registry bearer token on /api/v2.0: the account's name (for audit and events),
 * the token's access list and the account itself, and nothing that identifies the account to a
 * service (`userId` null, no `robot`, not `sysadmin`). What it may do is the Authorizer's
 * `token` rule: public reads, and the repository actions of its access list that the account may do.
 */
export function tokenActor(account: Actor, access: ReadonlyMap<string, ReadonlySet<string>>): Actor {
  return { kind: 'token', username: account.username, userId: null, sysadmin: false, tokenAccess: access, account };
}
