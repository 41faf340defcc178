/**
 * Storage quotas, counted as Harbor counts them: every blob (layer, config, manifest bytes) once
 * per project, however many repositories of the project link it. The limit is the project's
 * `storage_limit` (bytes, -1 unlimited); the usage is `quota_usage.used`, the sum of the project's
 * `project_blobs` rows, and both change only inside the registry's own transactions:
 *
 * - {@link QuotaService.charge} runs INSIDE the transaction that links a blob (upload completion,
 *   mount) or records a manifest: it adds the blobs the project does not have yet, refuses with
 *   {@link QuotaExceededError} (DENIED) when the new usage would pass the limit, and records
 *   QUOTA_WARNING in the same transaction when the usage crosses `quota.warning_percent`.
 *   SQLite runs one write transaction at a time, so two pushes racing for the last bytes are
 *   checked one after the other: at most one wins.
 * - {@link QuotaService.guard} wraps such a transaction: when it was refused, QUOTA_EXCEED is
 *   recorded in a transaction of its own (the push's transaction rolled back) and the error goes on.
 * - {@link QuotaService.release} runs inside the transaction that deletes artifacts: blobs no
 *   artifact of the project references any more leave the usage.
 * - {@link QuotaService.reconcile} (after gc) drops rows of blobs the project no longer links.
 *
 * Difference from Harbor: Harbor sends QUOTA_WARNING after EVERY successful push while the usage
 * is above the threshold; Wharf sends it once, when a push takes the usage from below the
 * threshold to at or above it (docs/quotas-audit.md).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { chargeRowsPg, isPostgres, registryStore, type Database, type ProjectRow } from '../db/index.ts';
import type { Outbox, ProjectRef } from '../events/index.ts';
import type { AuditTrail, Authorizer, CallContext } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { QuotaGuard, QuotaItem, QuotaSubject } from '../registry/index.ts';
import { DomainError, fail } from '../domain/index.ts';

type Q = Kysely<Database> | Transaction<Database>;

/** A push refused because it would pass the project's storage limit (DENIED on /v2, 403). */
export class QuotaExceededError extends DomainError {
  constructor(
    readonly subject: QuotaSubject,
    readonly needed: number,
    readonly used: number,
    readonly limit: number,
  ) {
    super(
      'DENIED',
      `quota exceeded for project ${subject.project.name}: ${exceedDetails(needed, used, limit)} ` +
        `(needed ${needed} bytes, used ${used} bytes, limit ${limit} bytes)`,
      { project: subject.project.name, needed, used, limit },
    );
    this.name = 'QuotaExceededError';
  }
}

/** Harbor's Quota object. */
export interface QuotaView {
  id: number;
  ref: { id: number; name: string; owner_name: string };
  hard: { storage: number };
  used: { storage: number };
  creation_time: string;
  update_time: string;
}

/** What the quota service needs. */
export interface QuotaDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  authorizer: Authorizer;
  config: Config;
  /** Records quota changes (the audit log). */
  audit: AuditTrail;
}

/** Harbor's size text: `<n> B` under 1 KiB, else one decimal and a binary unit (`2.1 MiB`). */
export function formatBytes(n: number): string {
  const unit = 1024;
  if (n < unit) return `${n} B`;
  let div = unit;
  let exp = 0;
  for (let v = Math.floor(n / unit); v >= unit; v = Math.floor(v / unit)) {
    div *= unit;
    exp++;
  }
  return `${(n / div).toFixed(1)} ${'KMGTPE'[exp] ?? '?'}iB`;
}

/** Harbor's custom_attributes.Details of QUOTA_EXCEED. */
export function exceedDetails(needed: number, used: number, limit: number): string {
  return `adding ${formatBytes(needed)} of storage resource, which when updated to current usage of ${formatBytes(used)} will exceed the configured upper limit of ${formatBytes(limit)}.`;
}

/** Harbor's custom_attributes.Details of QUOTA_WARNING. */
export function warningDetails(percent: number, used: number, limit: number): string {
  return `quota usage reach ${percent}%: resource storage used ${formatBytes(used)} of ${formatBytes(limit)}`;
}

/** True when going from `before` to `after` bytes crosses `percent` of `limit` upwards. */
export function crossesThreshold(before: number, after: number, limit: number, percent: number): boolean {
  if (limit <= 0) return false;
  const threshold = (limit * percent) / 100;
  return before < threshold && after >= threshold;
}

/**
 * Records `fresh` as counted in the project's usage (project_blobs rows, 100 per statement);
 * returns the total size of the rows it inserted. A row a concurrent transaction inserted meanwhile
 * (PostgreSQL, READ COMMITTED: the insert waits for its commit) is skipped, so it counts once.
 */
async function insertProjectBlobs(trx: Transaction<Database>, projectId: number, fresh: QuotaItem[], now: number): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < fresh.length; i += 100) {
    const rows = await trx
      .insertInto('project_blobs')
      .values(fresh.slice(i, i + 100).map((f) => ({ project_id: projectId, digest: f.digest, size: f.size, creation_time: now })))
      .onConflict((oc) => oc.columns(['project_id', 'digest']).doNothing())
      .returning('size')
      .execute();
    for (const r of rows) inserted += Number(r.size);
  }
  return inserted;
}

/**
 * Adds `needed` to the project's usage in place (the row stays locked until the transaction ends,
 * so concurrent charges of one project apply one after the other); returns the new usage.
 */
async function addUsage(trx: Transaction<Database>, projectId: number, needed: number, now: number): Promise<number> {
  const row = await trx
    .insertInto('quota_usage')
    .values({ project_id: projectId, used: needed, update_time: now })
    .onConflict((oc) => oc.column('project_id').doUpdateSet({ used: sql<number>`quota_usage.used + ${needed}`, update_time: now }))
    .returning('used')
    .executeTakeFirstOrThrow();
  return Number(row.used);
}

function projectRefOf(p: ProjectRow): ProjectRef {
  return { id: p.id, name: p.name, public: p.public === 1 };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Per-project storage quotas: accounting hooks for the registry and Harbor's /quotas API. */
/** Bytes a project uses now (`quota_usage.used`, 0 without a row). */
export async function storageUsed(db: Q, projectId: number): Promise<number> {
  const row = await db.selectFrom('quota_usage').select('used').where('project_id', '=', projectId).executeTakeFirst();
  return row ? Number(row.used) : 0;
}

export class QuotaService implements QuotaGuard {
  constructor(private readonly deps: QuotaDeps) {}

  private get warningPercent(): number {
    return this.deps.config.quota.warning_percent;
  }

  /** Bytes the project uses now. */
  async usage(db: Q, projectId: number): Promise<number> {
    return storageUsed(db, projectId);
  }

  /** Which of `items` the project does not count yet (each digest once), and their total size. */
  private async newItems(db: Q, projectId: number, items: QuotaItem[]): Promise<{ fresh: QuotaItem[]; needed: number }> {
    const unique = new Map<string, QuotaItem>();
    for (const i of items) if (!unique.has(i.digest)) unique.set(i.digest, i);
    if (unique.size === 0) return { fresh: [], needed: 0 };
    const have = new Set<string>();
    const digests = [...unique.keys()];
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await db
        .selectFrom('project_blobs')
        .select('digest')
        .where('project_id', '=', projectId)
        .where('digest', 'in', digests.slice(i, i + 500))
        .execute();
      for (const r of rows) have.add(r.digest);
    }
    const fresh = [...unique.values()].filter((i) => !have.has(i.digest));
    return { fresh, needed: fresh.reduce((s, i) => s + i.size, 0) };
  }

  /**
   * Counts `items` against the project inside `trx` (the transaction that makes them visible).
   * Throws {@link QuotaExceededError} when the limit would be passed (the caller's transaction
   * rolls back); records QUOTA_WARNING in `trx` when the usage crosses the threshold.
   */
  async charge(trx: Transaction<Database>, subject: QuotaSubject, items: QuotaItem[]): Promise<void> {
    const projectId = subject.project.id;
    const unique = new Map<string, QuotaItem>();
    for (const i of items) if (!unique.has(i.digest)) unique.set(i.digest, i);
    if (unique.size === 0) return;
    // PostgreSQL: count, add and read the limit in one statement (one round trip instead of three).
    if (isPostgres(trx) && unique.size <= chargeRowsPg) {
      const now = Date.now();
      const r = await registryStore.chargeQuotaPg(trx, projectId, [...unique.values()], now);
      if (r.after === null || r.limit < 0) return;
      return this.checkCharged(trx, subject, r.added, r.after, r.limit);
    }
    // The limit, the usage and the digests already counted, read inside the transaction in one
    // statement per 500 digests (a PUT /quotas may have changed the limit since the push began).
    const digests = [...unique.keys()];
    const counted = new Set<string>();
    let limit = -1;
    let used0 = 0;
    for (let i = 0; i < digests.length; i += 500) {
      const state = await registryStore.quotaState(trx, projectId, digests.slice(i, i + 500));
      if (i === 0) {
        limit = state.limit;
        used0 = state.used;
      }
      for (const d of state.counted) counted.add(d);
    }
    const fresh = [...unique.values()].filter((i) => !counted.has(i.digest));
    if (fresh.length === 0) return;
    if (limit < 0) return this.count(trx, projectId, fresh);
    const needed = fresh.reduce((s, i) => s + i.size, 0);
    if (used0 + needed > limit) throw new QuotaExceededError(subject, needed, used0, limit);
    // Counted and checked again in place: a concurrent push of the same project (PostgreSQL; SQLite
    // has one writer) may have counted some of `fresh` or raised the usage since the reads above.
    const now = Date.now();
    const added = await insertProjectBlobs(trx, projectId, fresh, now);
    if (added === 0) return;
    const after = await addUsage(trx, projectId, added, now);
    await this.checkCharged(trx, subject, added, after, limit);
  }

  /**
   * After `added` bytes took the usage to `after` in `trx`: QuotaExceededError past `limit` (the
   * caller's transaction rolls back), QUOTA_WARNING in `trx` when the threshold was crossed.
   */
  private async checkCharged(trx: Transaction<Database>, subject: QuotaSubject, added: number, after: number, limit: number): Promise<void> {
    const used = after - added;
    if (after > limit) throw new QuotaExceededError(subject, added, used, limit);
    if (crossesThreshold(used, after, limit, this.warningPercent)) {
      await this.deps.outbox.append(trx, {
        type: 'QUOTA_WARNING',
        operator: subject.ctx.actor.username,
        request: subject.ctx.request,
        project: projectRefOf(subject.project),
        repository: subject.repositoryRef,
        artifact: subject.artifact,
        details: warningDetails(this.warningPercent, after, limit),
      });
    }
  }

  /** Counts `fresh` in an unlimited project: no usage read, the total is incremented in place. */
  private async count(trx: Transaction<Database>, projectId: number, fresh: QuotaItem[]): Promise<void> {
    const now = Date.now();
    const added = await insertProjectBlobs(trx, projectId, fresh, now);
    if (added > 0) await addUsage(trx, projectId, added, now);
  }

  /**
   * A check without a transaction, to refuse before bytes are written (a manifest before it is
   * stored, an upload whose Content-Length already exceeds what is left). `charge` decides for good.
   */
  async precheck(subject: QuotaSubject, items: QuotaItem[]): Promise<void> {
    const limit = Number(subject.project.storage_limit);
    if (limit < 0) return;
    const { needed } = await this.newItems(this.deps.db, subject.project.id, items);
    if (needed === 0) return;
    const used = await this.usage(this.deps.db, subject.project.id);
    if (used + needed > limit) throw new QuotaExceededError(subject, needed, used, limit);
  }

  /** Runs `fn`; when it fails with {@link QuotaExceededError}, records QUOTA_EXCEED (own transaction) and rethrows. */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof QuotaExceededError) await this.recordExceeded(err);
      throw err;
    }
  }

  /** Appends QUOTA_EXCEED for a refused push, committed on its own. */
  async recordExceeded(err: QuotaExceededError): Promise<void> {
    const s = err.subject;
    await this.deps.db.transaction().execute(async (trx) => {
      // The push's transaction rolled back: name the repository as it exists now (id 0 when it does not).
      const repo = await trx.selectFrom('repositories').select(['id', 'name', 'creation_time']).where('name', '=', s.repository).executeTakeFirst();
      await this.deps.outbox.append(trx, {
        type: 'QUOTA_EXCEED',
        operator: s.ctx.actor.username,
        request: s.ctx.request,
        project: projectRefOf(s.project),
        repository: repo ? { id: repo.id, name: repo.name, creationTime: repo.creation_time } : { id: 0, name: s.repository, creationTime: null },
        artifact: s.artifact,
        details: exceedDetails(err.needed, err.used, err.limit),
      });
    });
  }

  /**
   * Inside the transaction that deleted artifacts: every digest in `digests` that no artifact of
   * the project still is or references leaves the project's usage. With `keepIfLinked` (a blob
   * unlinked from one repository) a digest another repository of the project still links stays.
   */
  async release(trx: Transaction<Database>, projectId: number, digests: string[], opts: { keepIfLinked?: boolean } = {}): Promise<void> {
    const unique = [...new Set(digests)];
    let freed = 0;
    for (const d of unique) {
      if (opts.keepIfLinked) {
        const linked = await trx
          .selectFrom('repository_blobs as rb')
          .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
          .select('rb.digest')
          .where('r.project_id', '=', projectId)
          .where('rb.digest', '=', d)
          .executeTakeFirst();
        if (linked) continue;
      }
      // Two indexed lookups (artifacts by digest, references by child digest): a release costs the
      // same whatever the number of artifacts in the project (one OR over both scanned them all).
      const asManifest = await trx
        .selectFrom('artifacts as a')
        .innerJoin('repositories as r', 'r.id', 'a.repository_id')
        .select('a.id')
        .where('a.digest', '=', d)
        .where('r.project_id', '=', projectId)
        .executeTakeFirst();
      if (asManifest) continue;
      // The references of the digest drive the lookup (a join lets SQLite walk the project's artifacts instead).
      const asReference = await trx
        .selectFrom('artifact_references as ar')
        .select('ar.id')
        .where('ar.child_digest', '=', d)
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom('artifacts as a')
              .innerJoin('repositories as r', 'r.id', 'a.repository_id')
              .select('a.id')
              .whereRef('a.id', '=', 'ar.artifact_id')
              .where('r.project_id', '=', projectId),
          ),
        )
        .limit(1)
        .executeTakeFirst();
      if (asReference) continue;
      // Freed by whoever deletes the row: a concurrent release of it (PostgreSQL) deletes nothing here.
      const row = await trx.deleteFrom('project_blobs').where('project_id', '=', projectId).where('digest', '=', d).returning('size').executeTakeFirst();
      if (row) freed += Number(row.size);
    }
    if (freed > 0) {
      await trx
        .updateTable('quota_usage')
        .set((eb) => ({ used: eb('used', '-', freed), update_time: Date.now() }))
        .where('project_id', '=', projectId)
        .execute();
    }
  }

  /**
   * After gc: drops counted blobs that no repository of their project links any more (gc removed
   * them, or a blob was unlinked), then recomputes every project's usage from project_blobs.
   */
  async reconcile(): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('project_blobs as pb')
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('repository_blobs as rb')
                .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
                .select('rb.digest')
                .whereRef('rb.digest', '=', 'pb.digest')
                .whereRef('r.project_id', '=', 'pb.project_id'),
            ),
          ),
        )
        .execute();
      const sums = await trx
        .selectFrom('project_blobs')
        .select(['project_id', (eb) => eb.fn.sum<number>('size').as('total')])
        .groupBy('project_id')
        .execute();
      const now = Date.now();
      await trx.updateTable('quota_usage').set({ used: 0, update_time: now }).execute();
      for (const s of sums) {
        await trx
          .insertInto('quota_usage')
          .values({ project_id: s.project_id, used: Number(s.total), update_time: now })
          .onConflict((oc) => oc.column('project_id').doUpdateSet({ used: Number(s.total), update_time: now }))
          .execute();
      }
    });
  }

  // ---- Harbor's /api/v2.0/quotas (system admin) ----

  /** Quotas of every project (Harbor: `reference=project`, `reference_id`), with paging and sorting. */
  async list(
    ctx: CallContext,
    filter: { reference?: string; referenceId?: string },
    page: { page: number; pageSize: number; sort?: Array<{ field: string; desc: boolean }> },
  ): Promise<{ items: QuotaView[]; total: number }> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    if (filter.reference !== undefined && filter.reference !== 'project') {
      return { items: [], total: 0 };
    }
    if (filter.referenceId !== undefined && !/^[0-9]{1,15}$/.test(filter.referenceId)) {
      throw fail('BAD_REQUEST', 'reference_id must be a project id');
    }
    let views = await this.views(filter.referenceId !== undefined ? Number(filter.referenceId) : null);
    const keys: Record<string, (v: QuotaView) => number | string> = {
      id: (v) => v.id,
      'hard.storage': (v) => v.hard.storage,
      'used.storage': (v) => v.used.storage,
      creation_time: (v) => v.creation_time,
      update_time: (v) => v.update_time,
    };
    const sort = page.sort ?? [];
    for (const k of sort) {
      if (!Object.hasOwn(keys, k.field)) throw fail('BAD_REQUEST', `sort: unsupported field "${k.field}"; quotas sort by ${Object.keys(keys).join(', ')}`);
    }
    views = [...views].sort((a, b) => {
      for (const k of sort) {
        const get = keys[k.field];
        if (!get) continue;
        const x = get(a);
        const y = get(b);
        if (x !== y) return (x < y ? -1 : 1) * (k.desc ? -1 : 1);
      }
      return a.id - b.id;
    });
    const start = (page.page - 1) * page.pageSize;
    return { items: views.slice(start, start + page.pageSize), total: views.length };
  }

  /** One quota (its id is the project id); NOT_FOUND otherwise. */
  async get(ctx: CallContext, id: number): Promise<QuotaView> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const [view] = await this.views(id);
    if (!view) throw fail('NOT_FOUND', `quota ${id} not found`);
    return view;
  }

  /** Harbor's PUT /quotas/{id} `{"hard":{"storage":N}}`: N is -1 (unlimited) or a positive number of bytes. */
  async update(ctx: CallContext, id: number, body: unknown): Promise<void> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const storage = hardStorage(body);
    await this.deps.db.transaction().execute(async (trx) => {
      const project = await trx.selectFrom('projects').select('name').where('id', '=', id).executeTakeFirst();
      if (!project) throw fail('NOT_FOUND', `quota ${id} not found`);
      await trx.updateTable('projects').set({ storage_limit: storage, update_time: Date.now() }).where('id', '=', id).execute();
      await this.deps.audit.record(trx, { projectId: id, username: ctx.actor.username, operation: 'update', resourceType: 'quota', resource: project.name });
    });
  }

  private async views(projectId: number | null): Promise<QuotaView[]> {
    let q = this.deps.db
      .selectFrom('projects as p')
      .leftJoin('users as u', 'u.id', 'p.owner_id')
      .leftJoin('quota_usage as qu', 'qu.project_id', 'p.id')
      .select(['p.id', 'p.name', 'p.storage_limit', 'p.creation_time', 'p.update_time', 'u.username', 'qu.used', 'qu.update_time as used_time'])
      .orderBy('p.id');
    if (projectId !== null) q = q.where('p.id', '=', projectId);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: r.id,
      ref: { id: r.id, name: r.name, owner_name: r.username ?? '' },
      hard: { storage: Number(r.storage_limit) },
      used: { storage: r.used === null ? 0 : Number(r.used) },
      creation_time: iso(r.creation_time),
      update_time: iso(Math.max(r.update_time, r.used_time ?? 0)),
    }));
  }
}

/** Validates Harbor's QuotaUpdateReq and returns the storage limit. */
function hardStorage(body: unknown): number {
  if (body === null || typeof body !== 'object' || !('hard' in body)) throw fail('BAD_REQUEST', 'the body must be {"hard":{"storage":<bytes>}}');
  const hard = body.hard;
  if (hard === null || typeof hard !== 'object' || !('storage' in hard)) throw fail('BAD_REQUEST', 'hard.storage is required');
  for (const k of Object.keys(hard)) if (k !== 'storage') throw fail('BAD_REQUEST', `hard.${k}: only the storage resource is supported`);
  const v = hard.storage;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < -1 || v === 0) {
    throw fail('BAD_REQUEST', 'hard.storage must be -1 (unlimited) or a positive number of bytes');
  }
  return v;
}
