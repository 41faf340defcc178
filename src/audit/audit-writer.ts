/**
 * The audit writer: a consumer of the event outbox that turns registry and project events into
 * audit entries. It keeps its position (`audit_cursor`, name 'audit') and writes a batch of
 * entries (one multi-row INSERT) and the new position in ONE transaction, so a crash repeats at
 * most a batch, and the unique `event_id` of each entry makes the repeat harmless (a second
 * process sharing the database is equally harmless: the cursor only ever moves forward). SQLite
 * commits write transactions one at a time, so outbox sequence numbers become visible in order
 * and the cursor never skips an event.
 *
 * A round first reads the events after the stored position (one plain SELECT, no transaction)
 * and opens a write transaction only when there are some, so an idle poll costs one small read.
 *
 * It wakes on `outbox.signal` (coalesced, see ../events/outbox-loop.ts) and polls every
 * `audit.poll_ms`; retention runs hourly.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Database } from '../db/index.ts';
import { assertNever } from '../domain/index.ts';
import { eventFromRow, OutboxLoop, type Outbox, type WharfEvent } from '../events/index.ts';
import { auditRow, type AuditEntry, type AuditService } from './audit-service.ts';
import { webhookDeliveryStore as store, type NewAuditEntry } from '../db/index.ts';

const cursorName = 'audit';
const batchSize = 200;
const pruneEveryMs = 3_600_000;
/** Rounds start at most this often under load (no audit reader needs it sooner; fewer, larger transactions). */
const coalesceMs = 25;

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

/** What the writer needs. */
export interface AuditWriterDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  config: Config;
  logger: Logger;
  audit: AuditService;
}

/** Consumes the outbox into the audit log and prunes old entries. */
export class AuditWriter {
  private pruneTimer: NodeJS.Timeout | null = null;
  private readonly loop: OutboxLoop;

  constructor(private readonly deps: AuditWriterDeps) {
    this.loop = new OutboxLoop({
      outbox: deps.outbox,
      pollMs: deps.config.audit.poll_ms,
      coalesceMs,
      logger: deps.logger,
      failureMessage: 'audit writer: round failed; retrying at the next poll',
      round: async () => {
        while ((await this.drainOnce()) === batchSize && !this.loop.stopped) {
          /* keep going while full batches come */
        }
      },
    });
  }

  /** Starts listening, polling and the hourly retention. */
  start(): void {
    if (!this.loop.stopped) return;
    this.pruneTimer = setInterval(() => void this.prune(), pruneEveryMs);
    this.pruneTimer.unref();
    void this.prune();
    this.loop.start();
  }

  /** Stops and waits for the round in progress. */
  async stop(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    await this.loop.stop();
  }

  private async prune(): Promise<void> {
    try {
      const n = await this.deps.audit.prune();
      if (n > 0) this.deps.logger.info({ deleted: n }, 'audit log: pruned old entries');
    } catch (err) {
      this.deps.logger.error({ err }, 'audit log: pruning failed');
    }
  }

  /** Consumes up to one batch of events; returns how many were read. Public for tests and `wharf gc`-like one-shot runs. */
  async drainOnce(): Promise<number> {
    const { db } = this.deps;
    const rows = await store.eventsAfterCursor(db, cursorName, batchSize);
    const last = rows[rows.length - 1];
    if (!last) return 0;
    const entries: NewAuditEntry[] = [];
    for (const row of rows) {
      let event: WharfEvent;
      try {
        event = eventFromRow(row);
      } catch {
        continue; // unreadable data: the dispatcher logs it; nothing to audit
      }
      const entry = auditEntryFor(event);
      if (entry) entries.push(auditRow(entry, row.id));
    }
    await db.transaction().execute(async (trx) => {
      await store.insertAuditEntries(trx, entries);
      await store.advanceCursor(trx, cursorName, last.seq);
    });
    return rows.length;
  }
}
