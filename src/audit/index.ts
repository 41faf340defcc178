/**
 * The audit log module: the audit writer (an outbox consumer, registered in main.ts), the
 * AuditService (queries, retention, and `record(trx, entry)`, the AuditTrail port that auth
 * declares), Harbor's extended audit log view (./audit-ext.ts), and `recordAudit` for this
 * module's own direct writes (failed logins).
 *
 * Other services do not import this module: they take an `AuditTrail` (from ../auth/index.ts) and
 * call `audit.record(trx, { projectId, username, operation, resourceType, resource })` inside the
 * transaction of the change; main.ts wires AuditService in. Push, pull, delete, tag, repository
 * and project create/delete are audited from the outbox already; do not record them.
 */
export { AuditService, auditRetentionScheduleId, recordAudit, type AuditDb, type AuditEntry, type AuditOperation, type AuditLogView, type AuditQuery, type AuditDeps, auditListSpec } from './audit-service.ts';
export { auditExtEventTypes, auditExtView, operationDescription, type AuditLogExtView } from './audit-ext.ts';
export { auditWriter, auditWriterName, auditedEventTypes, auditEntryFor } from './audit-writer.ts';
