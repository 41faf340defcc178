/**
 * The audit log: who did what to which resource, when, and whether it succeeded (Harbor's
 * audit_log). Entries come from two places:
 * - the audit writer (./audit-writer.ts), an outbox consumer that turns push, pull, delete, tag,
 *   repository, project and refused-push (QUOTA_EXCEED) events into entries; so every registry
 *   change that commits is audited, even across a crash;
 * - {@link AuditService.record} (the AuditTrail port auth declares, which other services use too)
 *   and {@link recordAudit}, inside the transaction of the change, for what has no event: member,
 *   robot, user and webhook policy changes, project and quota updates, failed logins.
 * Entries older than `audit.retention_days` are pruned.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { auditStore, type AuditLogRow, type Database } from '../db/index.ts';
import type { Authorizer, Action, AuditTrail, CallContext } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import { fail, type ListQuery, type ListSpec } from '../domain/index.ts';
import { listPage } from '../db/index.ts';
import { auditExtEventTypes, auditExtView, type AuditLogExtView } from './audit-ext.ts';

/** A Kysely handle or an open transaction on it. */
export type AuditDb = Kysely<Database> | Transaction<Database>;

/** Harbor's operation names (plus `login` for failed logins). */
export type AuditOperation = 'create' | 'delete' | 'pull' | 'update' | 'login';

/** One entry to record. */
export interface AuditEntry {
  /** The project the resource belongs to; null for system-wide resources (users, system robots, logins). */
  projectId: number | null;
  /** Who did it ('' for anonymous). */
  username: string;
  operation: AuditOperation;
  /** artifact, tag, repository, project, member, robot, webhook_policy, user, ... */
  resourceType: string;
  /** `project/repo:tag`, `project/repo@sha256:...`, a project, robot or user name, ... */
  resource: string;
  /** Default success. */
  result?: 'success' | 'failure';
  /** ms since epoch; default now. */
  opTime?: number;
}

/**
 * Records one audit entry using `db`, which should be the transaction of the change it describes
 * (so a rolled-back change leaves no entry). For a failed login pass the database handle itself.
 */
export async function recordAudit(db: AuditDb, entry: AuditEntry, eventId: string | null = null): Promise<void> {
  await auditStore.insertEntries(db, [auditRow(entry, eventId)]);
}

/** The audit_log row of an entry (`eventId`: the outbox event it was written from, or null). */
export function auditRow(entry: AuditEntry, eventId: string | null): Omit<AuditLogRow, 'id'> {
  return {
    project_id: entry.projectId,
    username: entry.username,
    operation: entry.operation,
    resource_type: entry.resourceType,
    resource: entry.resource,
    result: entry.result ?? 'success',
    op_time: entry.opTime ?? Date.now(),
    event_id: eventId,
  };
}

/** Harbor's AuditLog object, with Harbor 2.13's `operation_result`. */
export interface AuditLogView {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  operation_result: boolean;
  op_time: string;
}

/** An audit list request: Harbor's paging, `q` and `sort` over {@link auditListSpec}. */
export type AuditQuery = ListQuery;

/**
 * The fields `q` and `sort` take on the audit log: `op_time` as a range `[from~to]` (Harbor's
 * `YYYY-MM-DD HH:mm:ss` in UTC, ISO 8601 or Unix seconds, either end open; a `to` without
 * milliseconds covers its whole second).
 */
export const auditListSpec = {
  id: { type: 'int', column: 'id' },
  operation: { type: 'text', column: 'operation' },
  resource: { type: 'text', column: 'resource' },
  resource_type: { type: 'text', column: 'resource_type' },
  username: { type: 'text', column: 'username' },
  op_time: { type: 'time', column: 'op_time' },
} as const satisfies ListSpec;

/** What the audit service needs. */
export interface AuditDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  config: Config;
}

/** Harbor's AuditLog of a row: its AuditLogExt without the description. */
function view(r: AuditLogRow): AuditLogView {
  const { operation_description: _description, ...entry } = auditExtView(r);
  return entry;
}

/** Reads, records and prunes the audit log. */
export class AuditService implements AuditTrail {
  constructor(private readonly deps: AuditDeps) {}

  /** Records one entry (see {@link recordAudit}). */
  record(db: AuditDb, entry: AuditEntry): Promise<void> {
    return recordAudit(db, entry);
  }

  /**
   * Records a failed login (from LoginLimiter.loginFailures): operation `login`, resource type
   * `user`, the name tried as operator and resource, result failure. Never throws (logged instead).
   */
  async recordLoginFailure(f: { username: string; at: number }, onError: (err: unknown) => void): Promise<void> {
    try {
      await recordAudit(this.deps.db, { projectId: null, username: f.username, operation: 'login', resourceType: 'user', resource: f.username, result: 'failure', opTime: f.at });
    } catch (err) {
      onError(err);
    }
  }

  /** Harbor's GET /audit-logs: every entry (system admin only). */
  async listAll(ctx: CallContext, list: AuditQuery): Promise<{ items: AuditLogView[]; total: number }> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    return this.query(null, list, view);
  }

  /**
   * Harbor's GET /auditlog-exts: the system admin sees every entry; any other authenticated
   * caller the entries of the projects whose logs they may read (`read-logs`, as Harbor's
   * `log:list`), and none of the system-wide ones; anonymous callers are refused (401).
   */
  async listExt(ctx: CallContext, list: AuditQuery): Promise<{ items: AuditLogExtView[]; total: number }> {
    const { actor } = ctx;
    if (actor.username === '') throw fail('UNAUTHORIZED', 'authentication required to list audit logs');
    if (this.deps.authorizer.allows(actor, 'admin')) return this.query(null, list, auditExtView);
    const names = [...(actor.roles?.keys() ?? [])];
    const projects = names.length === 0 ? [] : await this.deps.db.selectFrom('projects').select(['id', 'name', 'public']).where('name', 'in', names).execute();
    const readable = projects.filter((p) => this.deps.authorizer.allows(actor, 'read-logs', { name: p.name, public: p.public === 1 })).map((p) => p.id);
    return this.query(readable, list, auditExtView);
  }

  /** Harbor's GET /auditlog-exts/events: the event types of the audit log (system admin only). */
  listExtEventTypes(ctx: CallContext): Array<{ event_type: string }> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    return auditExtEventTypes.map((t) => ({ event_type: t }));
  }

  /** Harbor's GET /projects/{project_name}/auditlog-exts: the project's entries (readers of its logs). */
  async listProjectExt(ctx: CallContext, key: { nameOrId: string; isName: boolean }, list: AuditQuery): Promise<{ items: AuditLogExtView[]; total: number }> {
    const projectId = await this.readableProject(ctx, key, 'read-logs');
    return this.query([projectId], list, auditExtView);
  }

  /** Harbor's GET /projects/{p}/logs: the project's entries (readers of the project's logs). */
  async listProject(
    ctx: CallContext,
    key: { nameOrId: string; isName: boolean },
    action: Action,
    list: AuditQuery,
  ): Promise<{ items: AuditLogView[]; total: number }> {
    const projectId = await this.readableProject(ctx, key, action);
    return this.query([projectId], list, view);
  }

  /** The id of the project `key` names, after checking that the caller may do `action` on it. */
  private async readableProject(ctx: CallContext, key: { nameOrId: string; isName: boolean }, action: Action): Promise<number> {
    const byId = !key.isName && /^[0-9]{1,15}$/.test(key.nameOrId);
    const project = await this.deps.db
      .selectFrom('projects')
      .select(['id', 'name', 'public'])
      .where(byId ? 'id' : 'name', '=', byId ? Number(key.nameOrId) : key.nameOrId)
      .executeTakeFirst();
    if (!project) {
      // Anonymous callers learn nothing about private projects: ask them to log in first.
      if (ctx.actor.username === '') this.deps.authorizer.check(ctx.actor, action);
      throw fail('NOT_FOUND', `project ${key.nameOrId} not found`);
    }
    this.deps.authorizer.check(ctx.actor, action, { name: project.name, public: project.public === 1 });
    return project.id;
  }

  /** A page of entries, of the projects `projectIds` (null: every entry), shown by `show`. */
  private async query<V>(projectIds: number[] | null, list: AuditQuery, show: (r: AuditLogRow) => V): Promise<{ items: V[]; total: number }> {
    let base = this.deps.db.selectFrom('audit_log').selectAll();
    // An empty list selects nothing (Harbor's project id -1).
    if (projectIds !== null) base = base.where('project_id', 'in', projectIds.length > 0 ? projectIds : [-1]);
    const page = await listPage(base, list, auditListSpec, { fallback: [{ column: 'op_time', desc: true }], tieBreak: { column: 'id', desc: true } });
    return { items: page.items.map(show), total: page.total };
  }

  /** Deletes entries older than `audit.retention_days`; returns how many. */
  async prune(now = Date.now()): Promise<number> {
    return (await this.purge({ retentionHours: this.deps.config.audit.retention_days * 24, eventTypes: null, dryRun: false }, now)).deleted;
  }

  /**
   * Harbor's audit log purge (the PURGE_AUDIT_LOG job): deletes entries older than
   * `retentionHours` whose event type is in `eventTypes` (null: every entry). An event type is
   * Harbor's `<operation>_<resource_type>` (`create_artifact`, `pull_artifact`, `login_user`...)
   * or a bare operation (`create`, `pull`: Harbor before 2.13). Deletes in batches of 1000,
   * checking `signal` between two; a dry run only counts.
   */
  async purge(opts: AuditPurgeOptions, now = Date.now()): Promise<{ deleted: number; dryRun: boolean }> {
    const cutoff = now - opts.retentionHours * 3_600_000;
    const types = opts.eventTypes?.map((t) => t.trim().toLowerCase()).filter(Boolean) ?? null;
    const log = opts.log ?? (async () => {});
    await log(`purging audit log entries older than ${new Date(cutoff).toISOString()} (${opts.retentionHours} hours)${types ? ` of types ${types.join(', ')}` : ''}${opts.dryRun ? ', dry run' : ''}`);
    const matching = () => {
      let q = this.deps.db.selectFrom('audit_log').select('id').where('op_time', '<', cutoff);
      // `||` concatenates on SQLite and PostgreSQL alike.
      if (types) q = q.where((eb) => eb.or([eb('operation', 'in', types), eb(sql<string>`operation || '_' || resource_type`, 'in', types)]));
      return q;
    };
    if (types?.length === 0) return { deleted: 0, dryRun: opts.dryRun };
    if (opts.dryRun) {
      const n = await this.deps.db.selectFrom(matching().as('m')).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      await log(`would delete ${Number(n.n)} entries`);
      return { deleted: Number(n.n), dryRun: true };
    }
    let deleted = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      const ids = (await matching().orderBy('id').limit(1000).execute()).map((r) => r.id);
      if (ids.length === 0) break;
      const res = await this.deps.db.deleteFrom('audit_log').where('id', 'in', ids).executeTakeFirst();
      deleted += Number(res.numDeletedRows);
    }
    await log(`deleted ${deleted} entries`);
    return { deleted, dryRun: false };
  }
}

/**
 * The vendor id of the PURGE_AUDIT_LOG schedule that applies `audit.retention_days` (hourly, set
 * by main.ts at each start). Harbor's own purge schedule (`/system/purgeaudit/schedule`) is vendor
 * id 0; both run, each with its parameters.
 */
export const auditRetentionScheduleId = 1;

/** What {@link AuditService.purge} deletes. */
export interface AuditPurgeOptions {
  retentionHours: number;
  /** Harbor's `include_event_types`, split; null: every type. */
  eventTypes: string[] | null;
  dryRun: boolean;
  signal?: AbortSignal;
  log?: (line: string) => Promise<void>;
}
