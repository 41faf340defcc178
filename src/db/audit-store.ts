/** The audit log's inserts: entries recorded in a change's transaction and those the audit writer makes from outbox events. */
import type { AuditLogRow } from './schema.ts';
import { chunks, run, valuesList, type Executor } from './sql.ts';

/** An audit entry: every column of audit_log but its generated id. */
export type NewAuditEntry = Omit<AuditLogRow, 'id'>;

export const auditStore = {
  /** Inserts entries (one statement per chunk), skipping any whose `event_id` already has one (a repeat). */
  async insertEntries(db: Executor, rows: readonly NewAuditEntry[]): Promise<void> {
    for (const part of chunks(rows)) {
      const params: unknown[] = [];
      for (const a of part) params.push(a.project_id, a.username, a.operation, a.resource_type, a.resource, a.result, a.op_time, a.event_id);
      await run(
        db,
        `INSERT INTO audit_log (project_id, username, operation, resource_type, resource, result, op_time, event_id)
VALUES ${valuesList(db, part.length, ['integer', 'text', 'text', 'text', 'text', 'text', 'bigint', 'text'])}
ON CONFLICT (event_id) DO NOTHING`,
        params,
      );
    }
  },
};
