/**
 * Who performs an action. Services take an Actor; only src/api knows how it was authenticated.
 *
 * Shared contract of issue 4 (owned by "roles+robots"; tell the others here before changing it):
 * - `kind` says what the caller is; `roles` holds a user's Harbor role per PROJECT NAME; `robot`
 *   a robot account's id, its project (null for system robots) and Harbor-style permissions;
 *   `tokenAccess` the actions a bearer token grants per repository (the Authorizer also requires
 *   them for /v2 actions on that repository).
 * - Build full actors with `loadActor(db, principal)` (src/auth/principals.ts).
 */

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

/** What kind of caller an actor is. */
export type ActorKind = 'anonymous' | 'user' | 'robot' | 'system';

/** An authenticated (or anonymous) caller. */
export interface Actor {
  kind: ActorKind;
  /** '' for anonymous; the full robot name (`robot$p+name`) for robots. */
  username: string;
  userId: number | null;
  sysadmin: boolean;
  /** A user's role per project name (absent or empty: member of nothing). */
  roles?: ReadonlyMap<string, ProjectRole>;
  /** Set for robot accounts. */
  robot?: { id: number; projectName: string | null; permissions: ReadonlyArray<RobotGrant> };
  /** For bearer-token callers on /v2: repository name -> granted actions ('pull', 'push', 'delete', '*'). */
  tokenAccess?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The anonymous caller. */
export const anonymous: Actor = Object.freeze({ kind: 'anonymous', username: '', userId: null, sysadmin: false });

/** The actor used for Wharf's own work (gc, first start). */
export const systemActor: Actor = Object.freeze({ kind: 'system', username: 'wharf-system', userId: null, sysadmin: true });
