/**
 * Harbor's extended audit log (Harbor ≥ 2.13, `/auditlog-exts`) as a view over Wharf's one
 * audit_log table: every entry is shown as an AuditLogExt, with Harbor's `operation_description`
 * made from its operation, resource type and resource. Pure: no I/O.
 *
 * Harbor keeps the ext log in its own table (audit_log_ext) and writes the description when it
 * records the entry; Wharf derives it when reading, so entries written before this view existed
 * read the same way. The texts follow Harbor's (src/controller/event/topic.go and
 * src/pkg/auditext/event in Harbor): `push artifact: <resource>`, `create tag: <repo>:<tag>`,
 * `delete project: <name>`, `create robot: <name>`, `login`, `create user with name: <name>`...
 */
import type { AuditLogRow } from '../db/index.ts';

/**
 * Harbor's audit log event types (`GET /auditlog-exts/events`), in Harbor's order: what the
 * purge and forwarding settings name. An event type is `<operation>_<resource_type>`.
 */
export const auditExtEventTypes = [
  'create_artifact',
  'delete_artifact',
  'pull_artifact',
  'create_project',
  'delete_project',
  'delete_repository',
  'login_user',
  'logout_user',
  'create_user',
  'delete_user',
  'update_user',
  'create_robot',
  'delete_robot',
  'update_configuration',
  'create_member',
  'delete_member',
  'update_member',
  'update_project',
] as const;

/** Harbor's AuditLogExt object. */
export interface AuditLogExtView {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  operation_description: string;
  operation_result: boolean;
  op_time: string;
}

/** The verb Harbor's descriptions use for an artifact operation (a create is a push). */
function artifactVerb(operation: string): string {
  return operation === 'create' ? 'push' : operation;
}

/**
 * Harbor's `operation_description` of an entry. Artifacts, tags, repositories, projects and robots
 * read `<verb> <type>: <resource>`; members `<op> member <user> in|from project <project>`
 * (Wharf records them as `<project>/<user>`); logins `login`; configuration changes
 * `update configuration`; anything else Harbor's generic
 * `<op> <type> with name: <resource>`.
 */
export function operationDescription(e: Pick<AuditLogRow, 'operation' | 'resource_type' | 'resource'>): string {
  const { operation, resource_type: type, resource } = e;
  switch (type) {
    case 'artifact':
      return `${artifactVerb(operation)} artifact: ${resource}`;
    case 'tag':
    case 'repository':
    case 'project':
    case 'robot':
      return `${operation} ${type}: ${resource}`;
    case 'member': {
      const slash = resource.indexOf('/');
      if (slash < 0) return `${operation} member ${resource}`;
      const preposition = operation === 'delete' ? 'from' : 'in';
      return `${operation} member ${resource.slice(slash + 1)} ${preposition} project ${resource.slice(0, slash)}`;
    }
    case 'user':
      if (operation === 'login' || operation === 'logout') return operation;
      return `${operation} user with name: ${resource}`;
    case 'configuration':
      return `${operation} configuration`;
    default:
      return `${operation} ${type} with name: ${resource}`;
  }
}

/** The AuditLogExt of an audit_log row. */
export function auditExtView(r: AuditLogRow): AuditLogExtView {
  return {
    id: r.id,
    username: r.username,
    resource: r.resource,
    resource_type: r.resource_type,
    operation: r.operation,
    operation_description: operationDescription(r),
    operation_result: r.result === 'success',
    op_time: new Date(r.op_time).toISOString(),
  };
}
