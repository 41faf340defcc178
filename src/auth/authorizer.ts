/**
 * The one place that decides whether an actor may do something to a project. Every /v2 action and
 * every /api/v2.0 route asks it (through the services). Until members, roles and robots land
 * (issue 4) the rule is: anyone may pull from and read a public project; only the system admin
 * may do anything else.
 */
import { fail } from '../domain/index.ts';
import type { Actor } from './actor.ts';

/** What an actor wants to do. */
export type Action =
  /** Pull manifests and blobs; read artifacts, repositories and tags through the API. */
  | 'pull'
  /** Push blobs and manifests, create tags. */
  | 'push'
  /** Delete manifests, tags, repositories, blobs. */
  | 'delete'
  /** Read the project's settings, webhook policies and history. */
  | 'read-settings'
  /** Change the project, its webhook policies; delete it. */
  | 'manage'
  /** System-wide administration (create projects, configurations, gc, system policies). */
  | 'admin';

/** The facts about a project the authorizer needs. */
export interface ProjectAccess {
  name: string;
  public: boolean;
}

/** Decides actions; throws UNAUTHORIZED for anonymous callers and DENIED for authenticated ones. */
export class Authorizer {
  /** True when `actor` may do `action` (on `project`, when the action concerns one). */
  allows(actor: Actor, action: Action, project?: ProjectAccess): boolean {
    if (actor.sysadmin) return true;
    if (action === 'pull' && project?.public) return true;
    return false;
  }

  /** Throws unless allowed. */
  check(actor: Actor, action: Action, project?: ProjectAccess): void {
    if (this.allows(actor, action, project)) return;
    const what = project ? `${action} on project ${project.name}` : action;
    if (actor.username === '') throw fail('UNAUTHORIZED', `authentication required to ${what}`);
    throw fail('DENIED', `${actor.username} is not allowed to ${what}`);
  }
}
