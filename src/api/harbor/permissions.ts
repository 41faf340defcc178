/**
 * Harbor's permission endpoints:
 *   GET /permissions                  the permissions a robot account can be given (Harbor's
 *                                     `getPermissions`): `system` for the system admin, `project`
 *                                     for the system admin and project admins; 403 for everyone
 *                                     else, robots included; 401 anonymous
 *   GET /users/current/permissions    the caller's permissions in a scope (`?scope=/project/1`,
 *                                     `/system`), resources relative to the scope with
 *                                     `relative=true` (Harbor's `getCurrentUserPermissions`)
 *
 * The `project` list of /permissions is exactly what robot creation accepts (`robotResources`,
 * src/auth/robots.ts), so `harbor-cli robot create --all-permission` round-trips. The `system`
 * list is Harbor's; Wharf stores `kind: system` grants of robots but they grant nothing yet.
 *
 * /users/current/permissions asks the Authorizer: each of Harbor's project permissions is the
 * Wharf action whose robot grants name it (the authorizer's `matrix`), or one of the read and
 * settings permissions Wharf folds into a broader action (`foldedPermissions` below); a permission
 * with no Wharf action (the CVE export) is never listed.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail, isDomainError } from '../../domain/index.ts';
import { matrix, robotResources, type Action, type Actor, type Authorizer, type CallContext, type ProjectAccess } from '../../auth/index.ts';
import type { ProjectService } from '../../projects/index.ts';
import { callContext } from './context.ts';

/** Harbor's Permission object. */
export interface PermissionView {
  resource: string;
  action: string;
}

/** Harbor's Permissions object; a list Harbor would leave empty is left out. */
export interface PermissionsView {
  system?: PermissionView[];
  project?: PermissionView[];
}

const pairs = (list: string): PermissionView[] =>
  list
    .split(/\s+/)
    .filter(Boolean)
    .map((p) => {
      const [resource = '', action = ''] = p.split(':');
      return { resource, action };
    });

/** Harbor's system-level robot permissions (its `NolimitProvider`, system scope). */
const systemPermissions: readonly PermissionView[] = pairs(`
  audit-log:list preheat-instance:read preheat-instance:create preheat-instance:delete preheat-instance:list preheat-instance:update
  project:list project:create
  replication-policy:read replication-policy:create replication-policy:delete replication-policy:list replication-policy:update
  replication:read replication:create replication:list replication-adapter:list
  registry:read registry:create registry:delete registry:list registry:update
  scan-all:read scan-all:update scan-all:stop scan-all:create system-volumes:read
  garbage-collection:read garbage-collection:create garbage-collection:list garbage-collection:update garbage-collection:stop
  purge-audit:read purge-audit:create purge-audit:list purge-audit:update purge-audit:stop
  jobservice-monitor:list jobservice-monitor:stop
  scanner:read scanner:create scanner:delete scanner:list scanner:update
  label:read label:create label:delete label:update security-hub:read security-hub:list catalog:read quota:read quota:list
  robot:create robot:read robot:list robot:delete
  user:create user:read user:update user:list user:delete ldap-user:create ldap-user:list quota:update
  user-group:create user-group:read user-group:update user-group:list user-group:delete
`);

/** The project-level permissions robot creation accepts (src/auth/robots.ts). */
const projectPermissions: readonly PermissionView[] = Object.entries(robotResources).flatMap(([resource, actions]) => [...actions].map((action) => ({ resource, action })));

/**
 * The permissions Harbor's project namespace holds (the union of its roles' policies); `''` is
 * the project itself (`/project/1`).
 */
const projectNamespace: readonly PermissionView[] = pairs(`
  :read :update :delete member:create member:read member:update member:delete member:list
  metadata:create metadata:read metadata:update metadata:delete log:list
  label:create label:read label:update label:delete label:list quota:read
  repository:create repository:read repository:update repository:delete repository:list repository:pull repository:push
  tag-retention:create tag-retention:read tag-retention:update tag-retention:delete tag-retention:list tag-retention:operate
  immutable-tag:create immutable-tag:update immutable-tag:delete immutable-tag:list
  configuration:read configuration:update robot:create robot:read robot:update robot:delete robot:list
  notification-policy:create notification-policy:update notification-policy:delete notification-policy:list notification-policy:read
  scan:create scan:read scan:stop sbom:create sbom:stop sbom:read scanner:read scanner:create
  artifact:create artifact:read artifact:delete artifact:list artifact-addition:read
  tag:list tag:create tag:delete accessory:list artifact-label:create artifact-label:delete
  preheat-policy:create preheat-policy:read preheat-policy:update preheat-policy:delete preheat-policy:list
  export-cve:create export-cve:read export-cve:list
`);

/**
 * Harbor permissions that no robot grant of the matrix names but that Wharf folds into a broader
 * action: reading repositories, artifacts and tags is part of `pull`; creating a repository or
 * an artifact (a copy) or changing a repository's description needs `push`; the project's
 * metadata, quota, configuration and scanner are its settings; its P2P preheat policies are
 * managed by its project admin (src/preheat/policies.ts asks for `manage`).
 */
const foldedPermissions: Readonly<Record<string, Action>> = Object.freeze({
  'repository:read': 'pull',
  'repository:list': 'pull',
  'artifact:read': 'pull',
  'artifact:list': 'pull',
  'artifact-addition:read': 'pull',
  'tag:list': 'pull',
  'accessory:list': 'pull',
  'repository:create': 'push',
  'repository:update': 'push',
  'artifact:create': 'push',
  'metadata:read': 'read-settings',
  'metadata:list': 'read-settings',
  'quota:read': 'read-settings',
  'configuration:read': 'read-settings',
  'scanner:read': 'read-settings',
  'metadata:create': 'manage',
  'metadata:update': 'manage',
  'metadata:delete': 'manage',
  'configuration:update': 'manage',
  'scanner:create': 'manage',
  'preheat-policy:create': 'manage',
  'preheat-policy:read': 'manage',
  'preheat-policy:update': 'manage',
  'preheat-policy:delete': 'manage',
  'preheat-policy:list': 'manage',
  'export-cve:list': 'export-cve',
});

/** The Wharf action a Harbor project permission stands for (`''`: the project itself), or null. */
export function actionOfPermission(p: PermissionView): Action | null {
  const key = `${p.resource === '' ? 'project' : p.resource}:${p.action}`;
  for (const [action, rule] of Object.entries(matrix)) {
    // Object.entries loses the key type; the keys of `matrix` are exactly the actions.
    if (rule.robot.has(key)) return action as Action;
  }
  return foldedPermissions[key] ?? null;
}

/** A `scope` of /users/current/permissions: a project by id, the system, or nothing Harbor knows. */
type Scope = { kind: 'project'; id: number } | { kind: 'system' } | { kind: 'none' };

/** Parses a scope as Harbor does: `/project/<id>[/...]` or anything starting with `/system`. */
export function parseScope(scope: string): Scope {
  const m = /^\/project\/([^/]*)\/?/.exec(scope);
  if (m) return /^[0-9]{1,15}$/.test(m[1] ?? '') ? { kind: 'project', id: Number(m[1]) } : { kind: 'none' };
  return scope.startsWith('/system') ? { kind: 'system' } : { kind: 'none' };
}

/**
 * `resource` relative to `scope` as Harbor's `RelativeTo`: the rest after the scope's text without
 * one leading slash, `.` for the scope itself; null when the resource is not under the scope.
 */
export function relativeTo(resource: string, scope: string): string | null {
  if (!resource.startsWith(scope)) return null;
  let rest = resource.slice(scope.length);
  if (rest.startsWith('/')) rest = rest.slice(1);
  return rest === '' ? '.' : rest;
}

function boolParam(v: unknown, name: string): boolean {
  if (v === undefined || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw fail('BAD_REQUEST', `${name} in query must be of type boolean: ${JSON.stringify(v)}`);
}

/** What the permission views need: the authorizer decides, the project service finds the project. */
export interface PermissionViewDeps {
  authorizer: Authorizer;
  projects: Pick<ProjectService, 'getProject'>;
}

/** The answers of /permissions and /users/current/permissions. */
export class PermissionViews {
  constructor(private readonly deps: PermissionViewDeps) {}

  /** Harbor's getPermissions. */
  robotPermissions(actor: Actor): PermissionsView {
    if (actor.username === '') throw fail('UNAUTHORIZED', 'authentication required to read permissions');
    if (this.deps.authorizer.allows(actor, 'admin')) return { system: [...systemPermissions], project: [...projectPermissions] };
    // Harbor: a local user who is a project admin somewhere (robots and tokens are not).
    const projectAdmin = actor.kind === 'user' && [...(actor.roles?.keys() ?? [])].some((name) => this.deps.authorizer.roleIn(actor, name) === 'projectAdmin');
    if (!projectAdmin) throw fail('DENIED', 'only admins(system and project) can access permissions');
    return { project: [...projectPermissions] };
  }

  /** Harbor's getCurrentUserPermissions. */
  async currentPermissions(ctx: CallContext, scope: string, relative: boolean): Promise<PermissionView[]> {
    const { actor } = ctx;
    if (actor.username === '') throw fail('UNAUTHORIZED', 'authentication required to read permissions');
    const parsed = parseScope(scope);
    let granted: PermissionView[];
    if (parsed.kind === 'system') {
      // Harbor names system permissions without the /system prefix, so none is relative to a scope.
      granted = this.deps.authorizer.allows(actor, 'admin') ? [...systemPermissions] : [];
    } else if (parsed.kind === 'project') {
      const project = await this.projectAccess(ctx, parsed.id);
      granted = project
        ? projectNamespace
            .filter((p) => {
              const action = actionOfPermission(p);
              return action !== null && this.deps.authorizer.allows(actor, action, project);
            })
            .map((p) => ({ resource: `/project/${parsed.id}${p.resource === '' ? '' : `/${p.resource}`}`, action: p.action }))
        : [];
    } else {
      granted = [];
    }
    if (!relative) return granted;
    return granted.flatMap((p) => {
      const resource = relativeTo(p.resource, scope);
      return resource === null ? [] : [{ resource, action: p.action }];
    });
  }

  /** The project's name and visibility; null when it does not exist or the caller may not see it. */
  private async projectAccess(ctx: CallContext, id: number): Promise<ProjectAccess | null> {
    try {
      const p = await this.deps.projects.getProject(ctx, { nameOrId: String(id), isName: false });
      return { name: p.name, public: p.metadata.public === 'true' };
    } catch (err) {
      if (isDomainError(err, 'NOT_FOUND') || isDomainError(err, 'DENIED') || isDomainError(err, 'UNAUTHORIZED')) return null;
      throw err;
    }
  }
}

/** Routes for /permissions and /users/current/permissions. */
export function permissionRoutes(deps: AppDeps) {
  const views = new PermissionViews({ authorizer: deps.authorizer, projects: deps.projects });
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/permissions', async (req) => views.robotPermissions(req.actor));

    app.get<{ Querystring: Record<string, unknown> }>('/users/current/permissions', async (req) => {
      const scope = typeof req.query.scope === 'string' ? req.query.scope : '';
      return views.currentPermissions(callContext(req), scope, boolParam(req.query.relative, 'relative'));
    });
  };
}
