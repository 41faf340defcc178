/**
 * Harbor's `/projects/{p}/metadatas/`: a project's metadata one key at a time, over the same
 * storage as `PUT /projects` (the `public` column, the other keys in `projects.metadata`; keys and
 * value forms in src/projects/project-metadata-spec.ts).
 *
 * - list: every key the project has (`public` always); get: `{key: value}`, or `{}` when unset;
 * - add: one pair; CONFLICT `metadata <key> already exists for project <id>` when set (`public`
 *   always is, as in Harbor, where every project has it);
 * - update: sets the key, also when unset (Harbor updates only existing rows, but a Harbor project
 *   has its keys from creation; a Wharf project only those it was given);
 * - delete: removes the key (`public`: the project becomes private, as in Harbor without the row).
 *
 * A write is a compare-and-swap on the metadata text, retried, so two concurrent writes of
 * different keys both land on PostgreSQL too; each is audited (`update` of the project) with it.
 */
import type { Kysely } from 'kysely';
import type { Database, ProjectRow } from '../db/index.ts';
import type { AuditTrail } from '../auth/index.ts';
import type { CallContext } from '../registry/index.ts';
import { fail } from '../domain/index.ts';
import { parseMetadataPair, readStoredMetadata, writableMetadataKey, type StoredMetadata, type WritableMetadataKey } from './project-metadata-spec.ts';
import type { ProjectKey, ProjectLookup } from './project-lookup.ts';
import type { RetentionLinks } from './retention-links.ts';

/** What the metadata endpoints need. */
export interface ProjectMetadatasDeps {
  db: Kysely<Database>;
  audit: AuditTrail;
  lookup: ProjectLookup;
  /** Tag retention's port: `retention_id` in reads; absent: none. */
  retentionLinks?: RetentionLinks;
}

/** How often a write retries when another write changed the project's metadata meanwhile. */
const maxAttempts = 8;

/** The metadata Harbor shows for a row: `public` and the valid stored keys. */
function metadataOf(p: ProjectRow): Record<string, string> {
  return { public: p.public === 1 ? 'true' : 'false', ...readStoredMetadata(p.metadata) };
}

/** Reads, lists, adds, changes and deletes project metadata. */
export class ProjectMetadatas {
  constructor(private readonly deps: ProjectMetadatasDeps) {}

  /** `GET /metadatas/`: every key of the project. */
  async list(ctx: CallContext, key: ProjectKey): Promise<Record<string, string>> {
    return this.withRetention(await this.deps.lookup.project(ctx, key, 'read-settings'));
  }

  /** The row's metadata with its `retention_id` (tag retention's policy), as Harbor lists it. */
  private async withRetention(p: ProjectRow): Promise<Record<string, string>> {
    const id = (await this.deps.retentionLinks?.policyIds([p.id]))?.get(p.id);
    return { ...metadataOf(p), ...(id === undefined ? {} : { retention_id: String(id) }) };
  }

  /** `GET /metadatas/{name}`: `{name: value}`, or `{}` when the project does not have it. */
  async get(ctx: CallContext, key: ProjectKey, name: string): Promise<Record<string, string>> {
    const all = await this.withRetention(await this.deps.lookup.project(ctx, key, 'read-settings'));
    return Object.hasOwn(all, name) ? { [name]: all[name] ?? '' } : {};
  }

  /** `POST /metadatas/`: adds one key; CONFLICT when the project has it already. */
  async add(ctx: CallContext, key: ProjectKey, body: unknown): Promise<void> {
    const p = await this.deps.lookup.project(ctx, key, 'manage');
    const pair = parseMetadataPair(body);
    await this.write(ctx, p, (current) => {
      if (pair.key === 'public' || current[pair.key] !== undefined) throw fail('CONFLICT', `metadata ${pair.key} already exists for project ${p.id}`);
      return { set: pair };
    });
  }

  /** `PUT /metadatas/{name}`: sets the key to the body's value for it. */
  async update(ctx: CallContext, key: ProjectKey, name: string, body: unknown): Promise<void> {
    const p = await this.deps.lookup.project(ctx, key, 'manage');
    const pair = parseMetadataPair(body, name);
    await this.write(ctx, p, () => ({ set: pair }));
  }

  /** `DELETE /metadatas/{name}`: removes the key (nothing to do when unset). */
  async remove(ctx: CallContext, key: ProjectKey, name: string): Promise<void> {
    const p = await this.deps.lookup.project(ctx, key, 'manage');
    const k = writableMetadataKey(name);
    await this.write(ctx, p, () => ({ unset: k }));
  }

  /**
   * Applies one change to the project's metadata: `decide` sees the stored keys as they are and
   * names the change (or throws). The row is rewritten only if its metadata and `public` are still
   * what was read; otherwise it is read again.
   */
  private async write(
    ctx: CallContext,
    first: ProjectRow,
    decide: (current: StoredMetadata) => { set: { key: WritableMetadataKey; value: string } } | { unset: WritableMetadataKey },
  ): Promise<void> {
    let p = first;
    for (let attempt = 1; ; attempt++) {
      const current = readStoredMetadata(p.metadata);
      const change = decide(current);
      let isPublic = p.public;
      const next: StoredMetadata = { ...current };
      if ('set' in change) {
        if (change.set.key === 'public') isPublic = change.set.value === 'true' ? 1 : 0;
        else next[change.set.key] = change.set.value;
      } else if (change.unset === 'public') {
        isPublic = 0;
      } else {
        delete next[change.unset];
      }
      const done = await this.deps.db.transaction().execute(async (trx) => {
        const r = await trx
          .updateTable('projects')
          .set({ public: isPublic, metadata: JSON.stringify(next), update_time: Date.now() })
          .where('id', '=', p.id)
          .where('metadata', '=', p.metadata)
          .where('public', '=', p.public)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) return false;
        await this.deps.audit.record(trx, { projectId: p.id, username: ctx.actor.username, operation: 'update', resourceType: 'project', resource: p.name });
        return true;
      });
      if (done) return;
      const again = await this.deps.db.selectFrom('projects').selectAll().where('id', '=', p.id).executeTakeFirst();
      if (!again) throw fail('NOT_FOUND', `project ${p.name} not found`);
      if (attempt >= maxAttempts) throw fail('CONFLICT', `the metadata of project ${p.name} kept changing; try again`);
      p = again;
    }
  }
}
