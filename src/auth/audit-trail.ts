/**
 * The audit trail port: where a service records a change it makes that has no outbox event
 * (members, robots, project settings, quotas, webhook policies), inside the transaction of the
 * change, so a rolled-back change leaves no entry. Auth declares it; the audit log implements it
 * (AuditService); main.ts (and the API's route plugins, which build the member and robot
 * services) wire it. Services that may import auth use the same port instead of the audit module.
 */
import type { Transaction } from 'kysely';
import type { Database } from '../db/index.ts';

/** One change to record. */
export interface AuditRecord {
  /** The project the resource belongs to; null for system-wide resources. */
  projectId: number | null;
  /** Who did it ('' for anonymous). */
  username: string;
  operation: 'create' | 'update' | 'delete';
  /** member, robot, project, quota, webhook_policy, ... */
  resourceType: string;
  /** `project/username`, a robot's full name, a project name, ... */
  resource: string;
}

/** Records changes in the audit log. */
export interface AuditTrail {
  record(trx: Transaction<Database>, entry: AuditRecord): Promise<void>;
}

