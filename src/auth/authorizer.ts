/**
 * The one place that decides whether an actor may do something. Every /v2 action and every
 * /api/v2.0 route asks it (through the services). The decision follows Harbor's role -> permission
 * matrix (src/common/rbac/project/rbac_role.go in Harbor), reduced to the actions Wharf has; the
 * whole matrix is the `matrix` table below, and docs/access.md shows the same table.
 *
 * Rules, in order:
 * 1. A registry bearer token on /api/v2.0 (a `token` actor, see `tokenActor`) may pull from a
 *    public project, as anyone may; beyond that only a repository action (pull, push, delete,
 *    create-tag, delete-tag) on a named repository that its access list grants (see `tokenActionOf`)
 *    AND that its account may do by the rules below. Everything else is refused: projects,
 *    members, robots, webhooks, users, quotas, system settings, audit logs.
 * 2. Any other bearer-token caller (/v2) must hold the repository action in its token for that
 *    repository; actions without a repository (the catalog's listing) follow its account.
 * 3. The system admin (and Wharf's own system actor) may do everything.
 * 4. Anyone (anonymous too) may pull from a public project.
 * 5. A user may do what their role in the project allows (the strongest of their own membership
 *    and their user groups' memberships: `actor.roles`, see src/auth/user-groups.ts); a robot what
 *    its permissions grant in the project's namespace (or `*`).
 * 6. Nothing else: actions without a project (creating projects, system settings, the system-wide
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
  /** Start a vulnerability scan or an SBOM generation of an artifact (Harbor's scan/sbom create). */
  | 'scan'
  /** Stop an artifact's scan or SBOM generation (Harbor's scan/sbom stop). */
  | 'stop-scan'
  /** Read an artifact's scan logs (Harbor's scan/sbom read). */
  | 'read-scan'
  /** List the project's tag immutability rules (Harbor's immutable-tag list). */
  | 'list-immutable-rules'
  /** Create, change, delete tag immutability rules (Harbor's immutable-tag create/update/delete). */
  | 'manage-immutable-rules'
  /** Read the project's tag retention policy, runs and logs (Harbor's tag-retention read/list). */
  | 'read-retention'
  /** Create, change, delete the project's retention policy (Harbor's tag-retention create/update/delete). */
  | 'manage-retention'
  /** Start and stop retention runs (Harbor's tag-retention operate). */
  | 'run-retention'
  /** List and read the project's labels (Harbor's label list/read). */
  | 'read-labels'
  /** Create, change, delete the project's labels (Harbor's label create/update/delete). */
  | 'manage-labels'
  /** Add a label to an artifact or remove one (Harbor's artifact-label create/delete). */
  | 'label-artifact'
  /** Export the project's scan findings as CSV and read one's exports (Harbor's export-cve create/read). */
  | 'export-cve'
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
  scan: rule(['projectAdmin', 'maintainer', 'developer'], ['scan:create', 'sbom:create']),
  'stop-scan': rule(['projectAdmin', 'maintainer', 'developer'], ['scan:stop', 'sbom:stop']),
  'read-scan': rule(['projectAdmin', 'maintainer', 'developer', 'guest', 'limitedGuest'], ['scan:read', 'sbom:read']),
  'list-immutable-rules': rule(['projectAdmin', 'maintainer'], ['immutable-tag:list']),
  'manage-immutable-rules': rule(['projectAdmin', 'maintainer'], ['immutable-tag:create', 'immutable-tag:update', 'immutable-tag:delete']),
  // Harbor also lets developers manage and run retention (reported as a way for a developer to delete everything); Wharf does not.
  'read-retention': rule(['projectAdmin', 'maintainer', 'developer'], ['tag-retention:read', 'tag-retention:list']),
  'manage-retention': rule(['projectAdmin', 'maintainer'], ['tag-retention:create', 'tag-retention:update', 'tag-retention:delete']),
  'run-retention': rule(['projectAdmin', 'maintainer'], ['tag-retention:operate']),
  'read-labels': rule(['projectAdmin', 'maintainer', 'developer', 'guest'], ['label:list', 'label:read']),
  'manage-labels': rule(['projectAdmin', 'maintainer'], ['label:create', 'label:update', 'label:delete']),
  'label-artifact': rule(['projectAdmin', 'maintainer', 'developer'], ['artifact-label:create', 'artifact-label:delete']),
  'export-cve': rule(['projectAdmin', 'maintainer', 'developer'], ['export-cve:create', 'export-cve:read']),
  admin: rule([], []),
});

/**
 * The token action (`pull`, `push`, `delete` of the token's access list) that a repository action
 * needs; actions not listed are no repository actions and a token never grants them.
 */
export const tokenActionOf: Readonly<Partial<Record<Action, 'pull' | 'push' | 'delete'>>> = Object.freeze({
  pull: 'pull',
  push: 'push',
  delete: 'delete',
  'create-tag': 'push',
  'delete-tag': 'delete',
});

function tokenGrants(access: ReadonlyMap<string, ReadonlySet<string>>, repository: string, action: Action): boolean {
  const needed = tokenActionOf[action];
  const granted = access.get(repository);
  return needed !== undefined && granted !== undefined && (granted.has(needed) || granted.has('*'));
}

/** Decides actions; throws UNAUTHORIZED for anonymous callers and DENIED for authenticated ones. */
export class Authorizer {
  /** True when `actor` may do `action` (on `project`; `repository` for repository actions, checked against a token). */
  allows(actor: Actor, action: Action, project?: ProjectAccess, repository?: string): boolean {
    if (actor.kind === 'token') return this.tokenAllows(actor, action, project, repository);
    if (repository !== undefined && actor.tokenAccess && tokenActionOf[action] !== undefined && !tokenGrants(actor.tokenAccess, repository, action)) return false;
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

  /** Rule 1: a registry token on the API. Public reads, else token ∩ account for repository actions. */
  private tokenAllows(actor: Actor, action: Action, project?: ProjectAccess, repository?: string): boolean {
    if (project && project.public && matrix[action].publicRead) return true;
    const { account, tokenAccess } = actor;
    if (!project || repository === undefined || !account || account.kind === 'token' || !tokenAccess) return false;
    // The repository must be the project's: a token for p2/x says nothing about project p1.
    if (!repository.startsWith(`${project.name}/`)) return false;
    if (!tokenGrants(tokenAccess, repository, action)) return false;
    return this.allows(account, action, project, repository);
  }

  /** Throws unless allowed. */
  check(actor: Actor, action: Action, project?: ProjectAccess, repository?: string): void {
    if (this.allows(actor, action, project, repository)) return;
    const what = project ? `${action} on project ${project.name}` : action;
    if (actor.username === '') throw fail('UNAUTHORIZED', `authentication required to ${what}`);
    if (actor.kind === 'token') {
      throw fail(
        'DENIED',
        `the bearer token of ${actor.username} does not allow ${what}: on /api/v2.0 a registry token grants only the repository actions in its access list; use HTTP Basic credentials for anything else`,
      );
    }
    throw fail('DENIED', `${actor.username} is not allowed to ${what}`);
  }

  /** The actor's role in `project`, its groups' included (null when not a member); the system admin counts as projectAdmin. */
  roleIn(actor: Actor, projectName: string): ProjectRole | null {
    if (actor.sysadmin) return 'projectAdmin';
    return actor.roles?.get(projectName) ?? null;
  }
}
