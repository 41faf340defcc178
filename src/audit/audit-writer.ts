/**
 * The audit writer: the outbox consumer 'audit' (../events/consumers.ts) that turns registry and
 * project events into audit entries: one multi-row INSERT per batch (../db/audit-store.ts), in the
 * transaction that moves its cursor, so every committed change is audited once, even across a
 * crash; the unique `event_id` of each entry keeps even a repeat harmless. Rounds start at most
 * every 25 ms under load (no reader needs it sooner; fewer, larger transactions) and it polls every
 * `audit.poll_ms`. Entries past `audit.retention_days` are deleted by a PURGE_AUDIT_LOG job
 * (AuditService.purge) that main.ts schedules hourly.
 */
import type { Config } from '../config/index.ts';
import { auditStore, type NewAuditEntry } from '../db/index.ts';
import { assertNever } from '../domain/index.ts';
import type { Consumer, WharfEvent } from '../events/index.ts';
import { auditRow, type AuditEntry } from './audit-service.ts';

/** The writer's consumer name: the key of its cursor in `outbox_cursors` (do not rename). */
export const auditWriterName = 'audit';

/** The event types that make audit entries (those {@link auditEntryFor} maps). */
export const auditedEventTypes = ['PUSH_ARTIFACT', 'PULL_ARTIFACT', 'DELETE_ARTIFACT', 'CREATE_TAG', 'DELETE_TAG', 'CREATE_REPOSITORY', 'DELETE_REPOSITORY', 'CREATE_PROJECT', 'DELETE_PROJECT', 'QUOTA_EXCEED'] as const satisfies readonly WharfEvent['type'][];

/** The resource text of an artifact event: `project/repo:tag`, or `project/repo@digest` without a tag. */
function artifactResource(repo: string, a: { digest: string; tag: string | null }): string {
  return a.tag ? `${repo}:${a.tag}` : `${repo}@${a.digest}`;
}

/** The audit entry an event stands for, or null when it is not audited. */
export function auditEntryFor(e: WharfEvent): AuditEntry | null {
  const base = { username: e.operator, opTime: e.occurAt };
  switch (e.type) {
    case 'PUSH_ARTIFACT':
      return { ...base, projectId: e.project.id, operation: 'create', resourceType: 'artifact', resource: artifactResource(e.repository.name, e.artifact) };
    case 'PULL_ARTIFACT':
      return { ...base, projectId: e.project.id, operation: 'pull', resourceType: 'artifact', resource: artifactResource(e.repository.name, e.artifact) };
    case 'DELETE_ARTIFACT':
      return { ...base, projectId: e.project.id, operation: 'delete', resourceType: 'artifact', resource: `${e.repository.name}@${e.artifact.digest}` };
    case 'CREATE_TAG':
    case 'DELETE_TAG':
      return {
        ...base,
        projectId: e.project.id,
        operation: e.type === 'CREATE_TAG' ? 'create' : 'delete',
        resourceType: 'tag',
        resource: `${e.repository.name}:${e.artifact.tag ?? ''}`,
      };
    case 'CREATE_REPOSITORY':
    case 'DELETE_REPOSITORY':
      return { ...base, projectId: e.project.id, operation: e.type === 'CREATE_REPOSITORY' ? 'create' : 'delete', resourceType: 'repository', resource: e.repository.name };
    case 'CREATE_PROJECT':
    case 'DELETE_PROJECT':
      return { ...base, projectId: e.project.id, operation: e.type === 'CREATE_PROJECT' ? 'create' : 'delete', resourceType: 'project', resource: e.project.name };
    case 'QUOTA_EXCEED':
      // A push refused by the quota: audited as a failed create.
      return {
        ...base,
        projectId: e.project.id,
        operation: 'create',
        resourceType: e.artifact ? 'artifact' : 'blob',
        resource: e.artifact ? artifactResource(e.repository?.name ?? e.project.name, e.artifact) : (e.repository?.name ?? e.project.name),
        result: 'failure',
      };
    case 'QUOTA_WARNING':
    case 'ARTIFACT_LABELED':
    case 'SCANNING_COMPLETED':
    case 'SCANNING_FAILED':
    case 'SCANNING_STOPPED':
    case 'REPLICATION':
    case 'TAG_RETENTION':
    case 'WEBHOOK_TARGET_DISABLED':
      return null;
    default:
      return assertNever(e);
  }
}

/** The audit writer as an outbox consumer; register it with `consumers.register(auditWriter(config))`. */
export function auditWriter(config: Config): Consumer {
  return {
    name: auditWriterName,
    types: auditedEventTypes,
    batchSize: 200,
    pollMs: config.audit.poll_ms,
    coalesceMs: 25,
    async handle(batch, trx) {
      const entries: NewAuditEntry[] = [];
      for (const { row, event } of batch) {
        const entry = event ? auditEntryFor(event) : null; // unreadable data: the dispatcher logs it
        if (entry) entries.push(auditRow(entry, row.id));
      }
      await auditStore.insertEntries(trx, entries);
    },
  };
}
