/**
 * The one place that decides whether an actor may do something. Every /v2 action and every
 * /api/v2.0 route asks it (through the services). The decision follows Harbor's role -> permission
 * matrix (src/common/rbac/project/rbac_role.go in Harbor), reduced to the actions Wharf has; the
 * whole matrix is the `matrix` table below, and docs/access.md shows the same table.
 *
 * Rules, in order:
 * 1. The system admin (and Wharf's own system actor) may do everything.
 * 2. A bearer-token caller must hold the /v2 action in its token for that repository.
 * 3. Anyone (anonymous too) may pull from a public project.
 * 4. A user may do what their role in the project allows; a robot what its permissions grant in
 *    the project's namespace (or `*`).
 * 5. Nothing else: actions without a project (creating projects, system settings, the system-wide
 *    audit log) are the system admin's.
 */
import { fail } from '../domain/index.ts';
import type { Actor, ProjectRole } from './actor.ts';

/** What an actor wants to do. */
export type Action =
  /** Pull manifests and blobs; read the project, its repositories, artifacts and tags. */
  | 'pull'
  /** Push blobs and manifests (a tag pushed with a manifest is part of the push). */
  | 'push'
  /** Delete manifests, artifacts, repositories, blobs. */
  | 'delete'
  /** Add a tag to an existing artifact through the API. */
  | 'create-tag'
  /** Remove a tag. */
  | 'delete-tag'
  /** Read the project's settings (its detail, quota, metadata). */
  | 'read-settings'
  /** Change or delete the project itself. */
  | 'manage'
  /** List and read webhook policies and their executions. */
  | 'list-webhooks'
  /** Create, update, delete, test webhook policies; redeliver. */
  | 'manage-webhooks'
  /** List the project's members. */
  | 'read-members'
  /** Add, change, remove members. */
  | 'manage-members'
  /** List the project's robot accounts. */
  | 'read-robots'
  /** Create, change, refresh, delete the project's robot accounts. */
  | 'manage-robots'
  /** Read the project's audit log. */
  | 'read-logs'
  /** System-wide administration (create projects, users, configurations, gc, system policies). */
  | 'admin';

/** The facts about a project the authorizer needs. */
export interface ProjectAccess {
  name: string;
  public: boolean;
}

/** One row of the matrix: which roles may, whether anyone may on a public project, which robot grants suffice. */
interface Rule {
  roles: ReadonlySet<ProjectRole>;
  publicRead: boolean;
  /** `resource:action` pairs; holding any one of them in the project's namespace allows the action. */
  robot: ReadonlySet<string>;
}

const all: ProjectRole[] = ['projectAdmin', 'maintainer', 'developer', 'guest', 'limitedGuest'];
const rule = (roles: ProjectRole[], robot: string[], publicRead = false): Rule => ({ roles: new Set(roles), publicRead, robot: new Set(robot) });

/** Harbor's matrix for Wharf's actions. The system admin is allowed everything and is not listed. */
export const matrix: Readonly<Record<Action, Rule>> = Object.freeze({
  pull: rule(all, ['repository:pull'], true),
  push: rule(['projectAdmin', 'maintainer', 'developer'], ['repository:push']),
  delete: rule(['projectAdmin', 'maintainer'], ['repository:delete', 'artifact:delete']),
  'create-tag': rule(['projectAdmin', 'maintainer', 'developer'], ['tag:create']),
  'delete-tag': rule(['projectAdmin', 'maintainer'], ['tag:delete']),
  'read-settings': rule(all, ['project:read']),
  manage: rule(['projectAdmin'], ['project:update', 'project:delete']),
  'list-webhooks': rule(['projectAdmin', 'maintainer'], ['notification-policy:list', 'notification-policy:read']),
  'manage-webhooks': rule(['projectAdmin'], ['notification-policy:create', 'notification-policy:update', 'notification-policy:delete']),
  'read-members': rule(['projectAdmin', 'maintainer', 'developer', 'guest'], ['member:list', 'member:read']),
  'manage-members': rule(['projectAdmin'], ['member:create', 'member:update', 'member:delete']),
  'read-robots': rule(['projectAdmin', 'maintainer', 'developer', 'guest'], ['robot:list', 'robot:read']),
  'manage-robots': rule(['projectAdmin'], ['robot:create', 'robot:update', 'robot:delete']),
  'read-logs': rule(['projectAdmin', 'maintainer', 'developer', 'guest'], ['log:list']),
  admin: rule([], []),
});

/** The /v2 actions a bearer token names (`pull`, `push`, `delete`). */
const tokenActions: ReadonlySet<Action> = new Set<Action>(['pull', 'push', 'delete']);

/** Decides actions; throws UNAUTHORIZED for anonymous callers and DENIED for authenticated ones. */
export class Authorizer {
  /** True when `actor` may do `action` (on `project`, and `repository` for /v2 token checks). */
  allows(actor: Actor, action: Action, project?: ProjectAccess, repository?: string): boolean {
    if (repository !== undefined && actor.tokenAccess && tokenActions.has(action)) {
      const granted = actor.tokenAccess.get(repository);
      if (!granted || !(granted.has(action) || granted.has('*'))) return false;
    }
    if (actor.sysadmin) return true;
    if (!project) return false;
    const r = matrix[action];
    if (r.publicRead && project.public) return true;
    if (actor.kind === 'robot') {
      const grants = actor.robot?.permissions ?? [];
      return grants.some((g) => (g.namespace === project.name || g.namespace === '*') && r.robot.has(`${g.resource}:${g.action}`));
    }
    const role = actor.roles?.get(project.name);
    return role !== undefined && r.roles.has(role);
  }

  /** Throws unless allowed. */
  check(actor: Actor, action: Action, project?: ProjectAccess, repository?: string): void {
    if (this.allows(actor, action, project, repository)) return;
    const what = project ? `${action} on project ${project.name}` : action;
    if (actor.username === '') throw fail('UNAUTHORIZED', `authentication required to ${what}`);
    throw fail('DENIED', `${actor.username} is not allowed to ${what}`);
  }

  /** The actor's role in `project` (null when not a member); the system admin counts as projectAdmin. */
  roleIn(actor: Actor, projectName: string): ProjectRole | null {
    if (actor.sysadmin) return 'projectAdmin';
    return actor.roles?.get(projectName) ?? null;
  }
}
