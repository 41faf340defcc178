/**
 * The audit log module.
 *
 * FOR THE OTHER ENGINEERS (roles+robots, users+tokens): record member, robot, user changes and
 * failed logins with
 *
 *     import { recordAudit } from '../audit/index.ts';
 *     await recordAudit(trx, { projectId, username: ctx.actor.username, operation: 'create',
 *                              resourceType: 'member', resource: 'library/alice' });
 *
 * inside the transaction of the change (`trx`; the Kysely handle itself for a failed login, with
 * `operation: 'login', resourceType: 'user', result: 'failure', projectId: null`). Operations are
 * Harbor's: create, delete, update, pull, login. Resource types used so far: artifact, tag,
 * repository, project, blob, member, robot, user, webhook_policy. Push, pull, delete, tag,
 * repository and project create/delete are audited from the outbox already; do not record them.
 */
export { AuditService, recordAudit, type AuditDb, type AuditEntry, type AuditOperation, type AuditLogView, type AuditQuery, type AuditDeps, auditListSpec } from './audit-service.ts';
export { AuditWriter, auditEntryFor, type AuditWriterDeps } from './audit-writer.ts';
