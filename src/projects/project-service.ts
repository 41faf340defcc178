/**
 * Harbor's project model: projects, repositories, artifacts and tags, shaped with Harbor's field
 * names (the /api/v2.0 adapter serialises these objects as they are). Reads are queries over the
 * registry's tables; project changes record CREATE_PROJECT / DELETE_PROJECT in the outbox inside
 * the same transaction; every change to registry content (deleting artifacts, tags, repositories,
 * creating tags) goes through the Registry, which records its own events.
 */
import type { Kysely } from 'kysely';
import type { Database, ProjectRow, RepositoryRow, ArtifactRow, TagRow } from '../db/index.ts';
import type { Outbox } from '../events/index.ts';
import { systemActor, type AuditTrail, type Authorizer, type Action } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { CallContext, Registry } from '../registry/index.ts';
import { fail, isValidProjectName, isValidTag, parseDigest, parseReference, parseRepoName, type Reference, type RepoName } from '../domain/index.ts';
import { conditionMatches, conditionMatchesAny, filterOf, pageOf, type ListQuery, type ListSpec, type Page, type SortKey, type TextFilter, type TypedCondition } from '../domain/index.ts';
import { filterSql, likeContains, listPage, orderBy, orderTerms, resolveList } from '../db/index.ts';
import { projectRef } from '../registry/index.ts';
import { artifactKind, isIndexMediaType, type ArtifactKind } from './artifact-type.ts';
import { goBool, parseMetadataInput, readStoredMetadata, type StoredMetadata } from './project-metadata-spec.ts';

/** What the project service needs. */
export interface ProjectDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  authorizer: Authorizer;
  config: Config;
  registry: Registry;
  /** Records project setting changes (the audit log). */
  audit: AuditTrail;
}

/** The list shapes shared with other services (src/domain/listing.ts), re-exported for this module's users. */
export type { TextFilter, SortKey, Page } from '../domain/index.ts';

/** Which page of a list (1-based), and optionally its order (each list names the fields it sorts by). */
export interface PageRequest {
  page: number;
  pageSize: number;
  sort?: SortKey[];
}

/** How a project is named in a path: Harbor's `project_name_or_id` plus `X-Is-Resource-Name`. */
export interface ProjectKey {
  nameOrId: string;
  /** True when `X-Is-Resource-Name: true` was sent: the value is a name even when numeric. */
  isName: boolean;
}

/**
 * Harbor's project metadata as Wharf shows it: `public` always, then the stored keys with valid
 * values only (src/projects/project-metadata-spec.ts), whatever an older version stored.
 */
export type ProjectMetadata = StoredMetadata & { public: 'true' | 'false' };

/** Harbor's Project object. `storage_limit` is a Wharf extension (Harbor keeps it on the quota). */
export interface ProjectView {
  project_id: number;
  name: string;
  owner_id: number;
  owner_name: string;
  registry_id: null;
  creation_time: string;
  update_time: string;
  deleted: boolean;
  togglable: boolean;
  current_user_role_id: number;
  current_user_role_ids: number[] | null;
  repo_count: number;
  metadata: ProjectMetadata;
  cve_allowlist: { id: number; project_id: number; items: unknown[]; creation_time: string; update_time: string };
  storage_limit: number;
}

/** Harbor's ProjectReq (POST) and the updatable subset of it (PUT). */
export interface ProjectRequest {
  project_name?: unknown;
  /** Deprecated in Harbor in favour of metadata.public, still accepted. */
  public?: unknown;
  metadata?: unknown;
  storage_limit?: unknown;
  /** Harbor's proxy-cache upstream; Wharf has no proxy cache, so only null is accepted. */
  registry_id?: unknown;
}

/** Harbor's Repository object. */
export interface RepositoryView {
  id: number;
  project_id: number;
  /** Full name, `library/alpine`. */
  name: string;
  description: string;
  artifact_count: number;
  pull_count: number;
  creation_time: string;
  update_time: string;
}

/** Harbor's Tag object. */
export interface TagView {
  id: number;
  repository_id: number;
  artifact_id: number;
  name: string;
  push_time: string;
  pull_time: string;
  immutable: boolean;
}

/** Harbor's Platform object for index children. */
export type PlatformView = Record<string, unknown>;

/** Harbor's Reference object: a child manifest of an index. */
export interface ReferenceView {
  parent_id: number;
  /** The child's artifact id in the same repository; 0 when the child is not stored there. */
  child_id: number;
  child_digest: string;
  platform: PlatformView | null;
  annotations: Record<string, string> | null;
  urls: string[];
}

/** Harbor's Artifact object. */
export interface ArtifactView {
  id: number;
  type: ArtifactKind;
  /** The config media type (the manifest's for an index), as Harbor reports it. */
  media_type: string;
  manifest_media_type: string;
  artifact_type: string;
  project_id: number;
  repository_id: number;
  repository_name: string;
  digest: string;
  size: number;
  icon: string;
  push_time: string;
  pull_time: string;
  extra_attrs: Record<string, unknown>;
  annotations: Record<string, string> | null;
  references: ReferenceView[];
  tags: TagView[] | null;
  labels: unknown[];
  addition_links: Record<string, unknown>;
}

/** Options for artifact reads. */
export interface ArtifactOptions {
  /** Include `tags` (Harbor's `with_tag`, default true). */
  withTag: boolean;
}

/** The fields `q` and `sort` take on the project list (`name` is also the `name` parameter, fuzzy). */
export const projectListSpec = {
  name: { type: 'text', column: 'name' },
  project_id: { type: 'int', column: 'id' },
  owner_id: { type: 'int', column: 'owner_id' },
  public: { type: 'bool', column: 'public' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/** The fields of a project's repository list. */
export const repositoryListSpec = {
  name: { type: 'text', column: 'name' },
  id: { type: 'int', column: 'id' },
  project_id: { type: 'int', column: 'project_id' },
  pull_count: { type: 'int', column: 'pull_count' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/** The fields of `GET /repositories` (the same, over a join with projects). */
const allRepositoriesSpec = Object.fromEntries(
  Object.entries(repositoryListSpec).map(([k, f]) => [k, { ...f, column: `repositories.${f.column}` }]),
) satisfies ListSpec;

/**
 * The fields of the artifact list. `tags` (`nil`: untagged, `*`: tagged, else tag names), `type`
 * (IMAGE, CHART, UNKNOWN, any case), `media_type` (the config's or the manifest's) and `base` (`*`
 * lists index children too) are matched in memory.
 */
export const artifactListSpec = {
  id: { type: 'int', column: 'id' },
  digest: { type: 'text', column: 'digest' },
  size: { type: 'int', column: 'size' },
  push_time: { type: 'time', column: 'push_time' },
  pull_time: { type: 'time', column: 'pull_time' },
  manifest_media_type: { type: 'text', column: 'media_type' },
  artifact_type: { type: 'text', column: 'artifact_type' },
  repository_id: { type: 'int', column: 'repository_id' },
  tags: { type: 'text' },
  type: { type: 'text' },
  media_type: { type: 'text' },
  base: { type: 'text' },
} as const satisfies ListSpec;

/** The fields of an artifact's tag list. */
export const tagListSpec = {
  name: { type: 'text', column: 'name' },
  id: { type: 'int', column: 'id' },
  push_time: { type: 'time', column: 'push_time' },
  pull_time: { type: 'time', column: 'pull_time' },
  repository_id: { type: 'int', column: 'repository_id' },
  artifact_id: { type: 'int', column: 'artifact_id' },
} as const satisfies ListSpec;

/** A text condition with its values upper-cased (artifact types compare in any case). */
function upper(c: TypedCondition): TypedCondition {
  const up = (v: string | number): string | number => (typeof v === 'string' ? v.toUpperCase() : v);
  switch (c.kind) {
    case 'exact':
      return { kind: 'exact', value: up(c.value) };
    case 'fuzzy':
      return c;
    case 'range':
      return { kind: 'range', ...(c.min === undefined ? {} : { min: up(c.min) }), ...(c.max === undefined ? {} : { max: up(c.max) }) };
    case 'or':
    case 'and':
      return { kind: c.kind, values: c.values.map(up) };
  }
}

/** Harbor shows a never-pulled artifact or tag with Go's zero time. */
const zeroTime = '0001-01-01T00:00:00.000Z';

function iso(ms: number | null): string {
  return ms === null ? zeroTime : new Date(ms).toISOString();
}

function parseJsonObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    // A non-null, non-array object: its keys are strings, its values still unknown.
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function stringRecord(o: Record<string, unknown> | null): Record<string, string> | null {
  if (o === null) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** `public` at the top level of a request (Harbor's deprecated boolean; Go's spellings accepted). */
function parseBoolString(v: unknown, field: string): boolean {
  const b = goBool(v);
  if (b === undefined) throw fail('BAD_REQUEST', `${field} must be "true" or "false"`);
  return b;
}

function parseStorageLimit(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < -1 || v === 0) {
    throw fail('BAD_REQUEST', 'storage_limit must be -1 (unlimited) or a positive number of bytes');
  }
  return v;
}

/** Projects, repositories, artifacts and tags as Harbor's API shows them. */
export class ProjectService {
  constructor(readonly deps: ProjectDeps) {}

  /** Creates the project when missing (first start creates the public `library`). Idempotent. */
  async ensureProject(name: string, isPublic: boolean): Promise<void> {
    const db = this.deps.db;
    await db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('projects').select('id').where('name', '=', name).executeTakeFirst();
      if (existing) return;
      const admin = await trx.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirst();
      const now = Date.now();
      // ON CONFLICT: a second process starting at the same moment may have created it first.
      const row = await trx
        .insertInto('projects')
        .values({ name, public: isPublic ? 1 : 0, owner_id: admin?.id ?? null, storage_limit: -1, metadata: '{}', creation_time: now, update_time: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (row) await this.deps.outbox.append(trx, { type: 'CREATE_PROJECT', operator: systemActor.username, project: projectRef(row) });
    });
  }

  // ---- projects ----

  /** Creates a project (admin only); CONFLICT when the name is taken. Returns the new project's id. */
  async createProject(ctx: CallContext, req: ProjectRequest): Promise<number> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    if (req === null || typeof req !== 'object') throw fail('BAD_REQUEST', 'the body must be a JSON object');
    const name = req.project_name;
    if (typeof name !== 'string' || name === '') throw fail('BAD_REQUEST', 'project_name is required');
    if (!isValidProjectName(name)) {
      throw fail('BAD_REQUEST', `invalid project name "${name}": use 1 to 255 lower-case letters and digits, separated by single '.', '_' or '-'`);
    }
    if (req.registry_id !== undefined && req.registry_id !== null) {
      throw fail('BAD_REQUEST', 'proxy cache projects (registry_id) are not supported by Wharf');
    }
    const meta = parseMetadataInput(req.metadata, { create: true });
    const isPublic = meta.isPublic ?? (req.public === undefined ? false : parseBoolString(req.public, 'public'));
    const limit = req.storage_limit === undefined || req.storage_limit === null ? -1 : parseStorageLimit(req.storage_limit);
    return this.deps.db.transaction().execute(async (trx) => {
      const now = Date.now();
      const row = await trx
        .insertInto('projects')
        .values({
          name,
          public: isPublic ? 1 : 0,
          owner_id: ctx.actor.userId,
          storage_limit: limit,
          metadata: JSON.stringify(meta.values),
          creation_time: now,
          update_time: now,
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row) throw fail('CONFLICT', `the project named ${name} already exists`);
      await this.deps.outbox.append(trx, { type: 'CREATE_PROJECT', operator: ctx.actor.username, request: ctx.request, project: projectRef(row) });
      return row.id;
    });
  }

  /**
   * Lists the projects the caller may see (anonymous callers: public ones), by name unless `sort`
   * says otherwise. `filter` holds Harbor's `name` (fuzzy) and `public` parameters; `list.filters`
   * the `q` terms (projectListSpec).
   */
  async listProjects(ctx: CallContext, filter: { name?: TextFilter; public?: boolean }, list: ListQuery): Promise<Page<ProjectView>> {
    const r = resolveList(list, projectListSpec);
    let q = this.deps.db.selectFrom('projects').selectAll();
    for (const w of filterSql(r.filters)) q = q.where(w);
    if (filter.name) {
      q = filter.name.fuzzy ? q.where(likeContains('name', filter.name.value)) : q.where('name', '=', filter.name.value);
    }
    if (filter.public !== undefined) q = q.where('public', '=', filter.public ? 1 : 0);
    q = orderBy(q, orderTerms(r.sort, [{ column: 'name', desc: false }], { column: 'id', desc: false }));
    const rows = (await q.execute()).filter((p) => this.deps.authorizer.allows(ctx.actor, 'pull', { name: p.name, public: p.public === 1 }));
    const page = pageOf(rows, list.page, list.pageSize);
    return { items: await this.projectViews(page.items), total: page.total };
  }

  /** One project, by name or id (X-Is-Resource-Name semantics). */
  async getProject(ctx: CallContext, key: ProjectKey): Promise<ProjectView> {
    const p = await this.projectFor(ctx, key, 'pull');
    const [view] = await this.projectViews([p]);
    if (!view) throw new Error('projectViews returned no view for one row');
    return view;
  }

  /** True when a project of that name exists (HEAD /projects?project_name=). */
  async projectExists(_ctx: CallContext, name: string): Promise<boolean> {
    if (name === '') throw fail('BAD_REQUEST', 'project_name is required');
    return (await this.deps.db.selectFrom('projects').select('id').where('name', '=', name).executeTakeFirst()) !== undefined;
  }

  /** Updates `metadata` (Harbor's keys, merged into the stored ones) and `storage_limit`. */
  async updateProject(ctx: CallContext, key: ProjectKey, req: ProjectRequest): Promise<void> {
    if (req === null || typeof req !== 'object') throw fail('BAD_REQUEST', 'the body must be a JSON object');
    const p = await this.projectFor(ctx, key, 'manage');
    if (req.project_name !== undefined && req.project_name !== p.name) throw fail('BAD_REQUEST', 'a project cannot be renamed');
    const meta = parseMetadataInput(req.metadata, { create: false });
    const isPublic = meta.isPublic ?? (req.public === undefined ? undefined : parseBoolString(req.public, 'public'));
    const limit = req.storage_limit === undefined || req.storage_limit === null ? undefined : parseStorageLimit(req.storage_limit);
    // Rewritten from the valid stored keys only: an update also drops what an older version stored.
    const others: StoredMetadata = { ...readStoredMetadata(p.metadata), ...meta.values };
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('projects')
        .set({
          public: isPublic === undefined ? p.public : isPublic ? 1 : 0,
          storage_limit: limit ?? p.storage_limit,
          metadata: JSON.stringify(others),
          update_time: Date.now(),
        })
        .where('id', '=', p.id)
        .execute();
      await this.deps.audit.record(trx, { projectId: p.id, username: ctx.actor.username, operation: 'update', resourceType: 'project', resource: p.name });
    });
  }

  /** Deletes an empty project; PRECONDITION_FAILED while it holds repositories. */
  async deleteProject(ctx: CallContext, key: ProjectKey): Promise<void> {
    const p = await this.projectFor(ctx, key, 'manage');
    await this.deps.db.transaction().execute(async (trx) => {
      const repos = await trx.selectFrom('repositories').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', p.id).executeTakeFirstOrThrow();
      if (Number(repos.n) > 0) {
        throw fail('PRECONDITION_FAILED', `the project ${p.name} contains ${repos.n} repositories and cannot be deleted: delete its repositories first`);
      }
      let gone;
      try {
        gone = await trx.deleteFrom('projects').where('id', '=', p.id).executeTakeFirst();
      } catch (err) {
        // A push created a repository between the count and the delete: the foreign key refuses.
        if (err instanceof Error && /FOREIGN KEY constraint failed/i.test(err.message)) {
          throw fail('PRECONDITION_FAILED', `the project ${p.name} contains repositories and cannot be deleted: delete its repositories first`);
        }
        throw err;
      }
      if (Number(gone.numDeletedRows) === 0) throw fail('NOT_FOUND', `project ${key.nameOrId} not found`);
      await this.deps.outbox.append(trx, { type: 'DELETE_PROJECT', operator: ctx.actor.username, request: ctx.request, project: projectRef(p) });
    });
  }

  // ---- repositories ----

  /** Repositories of a project, by name unless `sort` says otherwise (repositoryListSpec; `name` is the full name). */
  async listRepositories(ctx: CallContext, key: ProjectKey, list: ListQuery): Promise<Page<RepositoryView>> {
    const p = await this.projectFor(ctx, key, 'pull');
    const page = await listPage(this.deps.db.selectFrom('repositories').selectAll().where('project_id', '=', p.id), list, repositoryListSpec, {
      fallback: [{ column: 'name', desc: false }],
      tieBreak: { column: 'id', desc: false },
    });
    return { items: await this.repositoryViews(page.items), total: page.total };
  }

  /** Repositories of every project the caller may pull from (Harbor's `GET /repositories`). */
  async listAllRepositories(ctx: CallContext, list: ListQuery): Promise<Page<RepositoryView>> {
    const r = resolveList(list, allRepositoriesSpec);
    let q = this.deps.db
      .selectFrom('repositories')
      .innerJoin('projects', 'projects.id', 'repositories.project_id')
      .selectAll('repositories')
      .select(['projects.name as project_name', 'projects.public as project_public']);
    for (const w of filterSql(r.filters)) q = q.where(w);
    q = orderBy(q, orderTerms(r.sort, [{ column: 'repositories.name', desc: false }], { column: 'repositories.id', desc: false }));
    const rows = (await q.execute()).filter((row) => this.deps.authorizer.allows(ctx.actor, 'pull', { name: row.project_name, public: row.project_public === 1 }));
    const p = pageOf(rows, list.page, list.pageSize);
    return {
      items: await this.repositoryViews(
        p.items.map((row) => ({ id: row.id, project_id: row.project_id, name: row.name, pull_count: row.pull_count, creation_time: row.creation_time, update_time: row.update_time })),
      ),
      total: p.total,
    };
  }

  /** One repository; `repo` is the name inside the project (`a/b` in `library/a/b`). */
  async getRepository(ctx: CallContext, key: ProjectKey, repo: string): Promise<RepositoryView> {
    const { repository } = await this.repositoryFor(ctx, key, repo, 'pull');
    const [view] = await this.repositoryViews([repository]);
    if (!view) throw new Error('repositoryViews returned no view for one row');
    return view;
  }

  /** Deletes a repository with all its artifacts and tags (through the registry). */
  async deleteRepository(ctx: CallContext, key: ProjectKey, repo: string): Promise<void> {
    const { fullName } = await this.repositoryFor(ctx, key, repo, 'delete');
    await this.deps.registry.deleteRepository(ctx, fullName);
  }

  // ---- artifacts ----

  /** Artifacts of a repository, newest push first unless `sort` says otherwise (artifactListSpec). */
  async listArtifacts(ctx: CallContext, key: ProjectKey, repo: string, list: ListQuery, opts: ArtifactOptions): Promise<Page<ArtifactView>> {
    const { project, repository, fullName } = await this.repositoryFor(ctx, key, repo, 'pull');
    const r = resolveList(list, artifactListSpec);
    const base = filterOf(r.filters, 'base');
    if (base && !(base.kind === 'exact' && base.value === '*')) throw fail('BAD_REQUEST', 'q: base accepts only base=*');
    const tagsF = filterOf(r.filters, 'tags');
    const typeF = filterOf(r.filters, 'type');
    const mediaF = filterOf(r.filters, 'media_type');
    let q = this.deps.db.selectFrom('artifacts').selectAll().where('repository_id', '=', repository.id);
    for (const w of filterSql(r.filters)) q = q.where(w);
    const rows = await orderBy(q, orderTerms(r.sort, [{ column: 'push_time', desc: true }], { column: 'id', desc: true })).execute();
    const tags = await this.deps.db.selectFrom('tags').selectAll().where('repository_id', '=', repository.id).execute();
    const tagsOf = groupTags(tags);
    let children = new Set<string>();
    if (!base) {
      const refs = await this.deps.db
        .selectFrom('artifact_references')
        .innerJoin('artifacts', 'artifacts.id', 'artifact_references.artifact_id')
        .select('artifact_references.child_digest')
        .where('artifacts.repository_id', '=', repository.id)
        .where('artifact_references.kind', '=', 'manifest')
        .execute();
      children = new Set(refs.map((ref) => ref.child_digest));
    }
    const kept = rows.filter((a) => {
      const t = tagsOf.get(a.id) ?? [];
      if (!base && children.has(a.digest) && t.length === 0) return false;
      if (tagsF) {
        if (tagsF.kind === 'exact' && tagsF.value === 'nil') {
          if (t.length > 0) return false;
        } else if (tagsF.kind === 'exact' && tagsF.value === '*') {
          if (t.length === 0) return false;
        } else if (!conditionMatchesAny(t.map((tag) => tag.name), tagsF)) return false;
      }
      if (typeF && !conditionMatches(artifactKind(a.media_type, a.config_media_type, a.artifact_type), upper(typeF))) return false;
      if (mediaF && !conditionMatchesAny(a.config_media_type === null ? [a.media_type] : [a.config_media_type, a.media_type], mediaF)) return false;
      return true;
    });
    const p = pageOf(kept, list.page, list.pageSize);
    const items = await Promise.all(p.items.map((a) => this.artifactView(ctx, project, repository, fullName, a, tagsOf.get(a.id) ?? [], opts)));
    return { items, total: p.total };
  }

  /** One artifact by tag or digest. */
  async getArtifact(ctx: CallContext, key: ProjectKey, repo: string, reference: string, opts: ArtifactOptions): Promise<ArtifactView> {
    const { project, repository, fullName } = await this.repositoryFor(ctx, key, repo, 'pull');
    const a = await this.artifactFor(repository, reference);
    const tags = await this.deps.db.selectFrom('tags').selectAll().where('artifact_id', '=', a.id).orderBy('push_time', 'desc').orderBy('id', 'desc').execute();
    return this.artifactView(ctx, project, repository, fullName, a, tags, opts);
  }

  /** Deletes an artifact (by tag or digest) through the registry, which removes its tags too. */
  async deleteArtifact(ctx: CallContext, key: ProjectKey, repo: string, reference: string): Promise<void> {
    const { repository, fullName } = await this.repositoryFor(ctx, key, repo, 'delete');
    const a = await this.artifactFor(repository, reference);
    await this.deps.registry.deleteManifest(ctx, fullName, { kind: 'digest', digest: parseDigest(a.digest) });
  }

  // ---- tags ----

  /** Tags of one artifact, newest push first unless `sort` says otherwise (tagListSpec). */
  async listTags(ctx: CallContext, key: ProjectKey, repo: string, reference: string, list: ListQuery): Promise<Page<TagView>> {
    const { repository } = await this.repositoryFor(ctx, key, repo, 'pull');
    const a = await this.artifactFor(repository, reference);
    const page = await listPage(this.deps.db.selectFrom('tags').selectAll().where('artifact_id', '=', a.id), list, tagListSpec, {
      fallback: [{ column: 'push_time', desc: true }],
      tieBreak: { column: 'id', desc: true },
    });
    return { items: page.items.map(tagView), total: page.total };
  }

  /** Adds a tag to an artifact (through the registry); CONFLICT when the repository already has it. */
  async createTag(ctx: CallContext, key: ProjectKey, repo: string, reference: string, body: unknown): Promise<void> {
    const { repository, fullName } = await this.repositoryFor(ctx, key, repo, 'create-tag');
    const name = body !== null && typeof body === 'object' && 'name' in body ? body.name : undefined;
    if (typeof name !== 'string' || name === '') throw fail('BAD_REQUEST', 'name is required');
    if (!isValidTag(name)) throw fail('BAD_REQUEST', `invalid tag name "${name}": tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
    const a = await this.artifactFor(repository, reference);
    const existing = await this.deps.db.selectFrom('tags').select('id').where('repository_id', '=', repository.id).where('name', '=', name).executeTakeFirst();
    if (existing) throw fail('CONFLICT', `the tag ${name} already exists in ${fullName}`);
    await this.deps.registry.createTag(ctx, fullName, parseDigest(a.digest), name);
  }

  /** Removes a tag of the given artifact (through the registry); the artifact stays. */
  async deleteTag(ctx: CallContext, key: ProjectKey, repo: string, reference: string, tag: string): Promise<void> {
    const { repository, fullName } = await this.repositoryFor(ctx, key, repo, 'delete-tag');
    const a = await this.artifactFor(repository, reference);
    const row = await this.deps.db.selectFrom('tags').select('id').where('artifact_id', '=', a.id).where('name', '=', tag).executeTakeFirst();
    if (!row) throw fail('NOT_FOUND', `tag ${tag} not found on artifact ${a.digest}`);
    await this.deps.registry.deleteTag(ctx, fullName, tag);
  }

  // ---- helpers ----

  /** Finds a project and checks `action` on it (on repository `repo` inside it, when given: a registry token needs it). */
  private async projectFor(ctx: CallContext, key: ProjectKey, action: Action, repo?: string): Promise<ProjectRow> {
    const byId = !key.isName && /^[0-9]+$/.test(key.nameOrId);
    if (byId && !Number.isSafeInteger(Number(key.nameOrId))) throw fail('NOT_FOUND', `project ${key.nameOrId} not found`);
    const q = this.deps.db.selectFrom('projects').selectAll();
    const p = await (byId ? q.where('id', '=', Number(key.nameOrId)) : q.where('name', '=', key.nameOrId)).executeTakeFirst();
    if (!p) throw fail('NOT_FOUND', `project ${key.nameOrId} not found`);
    this.deps.authorizer.check(ctx.actor, action, { name: p.name, public: p.public === 1 }, repo === undefined ? undefined : `${p.name}/${repo}`);
    return p;
  }

  private async repositoryFor(
    ctx: CallContext,
    key: ProjectKey,
    repo: string,
    action: Action,
  ): Promise<{ project: ProjectRow; repository: RepositoryRow; fullName: RepoName }> {
    const project = await this.projectFor(ctx, key, action, repo);
    let fullName: RepoName;
    try {
      fullName = parseRepoName(`${project.name}/${repo}`);
    } catch {
      throw fail('BAD_REQUEST', `invalid repository name "${repo}"`);
    }
    const repository = await this.deps.db.selectFrom('repositories').selectAll().where('name', '=', fullName).executeTakeFirst();
    if (!repository) throw fail('NOT_FOUND', `repository ${fullName} not found`);
    return { project, repository, fullName };
  }

  private async artifactFor(repository: RepositoryRow, reference: string): Promise<ArtifactRow> {
    let ref: Reference;
    try {
      ref = parseReference(reference);
    } catch {
      throw fail('BAD_REQUEST', `invalid reference "${reference}": use a tag or a digest`);
    }
    const a =
      ref.kind === 'digest'
        ? await this.deps.db.selectFrom('artifacts').selectAll().where('repository_id', '=', repository.id).where('digest', '=', ref.digest).executeTakeFirst()
        : await this.deps.db
            .selectFrom('tags')
            .innerJoin('artifacts', 'artifacts.id', 'tags.artifact_id')
            .selectAll('artifacts')
            .where('tags.repository_id', '=', repository.id)
            .where('tags.name', '=', ref.tag)
            .executeTakeFirst();
    if (!a) throw fail('NOT_FOUND', `artifact ${repository.name}:${reference} not found`);
    return a;
  }

  private async projectViews(rows: ProjectRow[]): Promise<ProjectView[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((p) => p.id);
    const counts = await this.deps.db
      .selectFrom('repositories')
      .select(['project_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('project_id', 'in', ids)
      .groupBy('project_id')
      .execute();
    const countOf = new Map(counts.map((c) => [c.project_id, Number(c.n)]));
    const ownerIds = rows.map((p) => p.owner_id).filter((x): x is number => x !== null);
    const owners = ownerIds.length ? await this.deps.db.selectFrom('users').select(['id', 'username']).where('id', 'in', ownerIds).execute() : [];
    const ownerOf = new Map(owners.map((u) => [u.id, u.username]));
    return rows.map((p) => {
      const metadata: ProjectMetadata = { ...readStoredMetadata(p.metadata), public: p.public === 1 ? 'true' : 'false' };
      return {
        project_id: p.id,
        name: p.name,
        owner_id: p.owner_id ?? 0,
        owner_name: p.owner_id === null ? '' : (ownerOf.get(p.owner_id) ?? ''),
        registry_id: null,
        creation_time: iso(p.creation_time),
        update_time: iso(p.update_time),
        deleted: false,
        togglable: true,
        current_user_role_id: 0,
        current_user_role_ids: null,
        repo_count: countOf.get(p.id) ?? 0,
        metadata,
        cve_allowlist: { id: 0, project_id: p.id, items: [], creation_time: zeroTime, update_time: zeroTime },
        storage_limit: p.storage_limit,
      };
    });
  }

  private async repositoryViews(rows: RepositoryRow[]): Promise<RepositoryView[]> {
    if (rows.length === 0) return [];
    const counts = await this.deps.db
      .selectFrom('artifacts')
      .select(['repository_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where(
        'repository_id',
        'in',
        rows.map((r) => r.id),
      )
      .groupBy('repository_id')
      .execute();
    const countOf = new Map(counts.map((c) => [c.repository_id, Number(c.n)]));
    return rows.map((r) => ({
      id: r.id,
      project_id: r.project_id,
      name: r.name,
      description: '',
      artifact_count: countOf.get(r.id) ?? 0,
      pull_count: r.pull_count,
      creation_time: iso(r.creation_time),
      update_time: iso(r.update_time),
    }));
  }

  private async artifactView(
    ctx: CallContext,
    project: ProjectRow,
    repository: RepositoryRow,
    fullName: RepoName,
    a: ArtifactRow,
    tags: TagRow[],
    opts: ArtifactOptions,
  ): Promise<ArtifactView> {
    const type = artifactKind(a.media_type, a.config_media_type, a.artifact_type);
    const refs = await this.deps.db.selectFrom('artifact_references').selectAll().where('artifact_id', '=', a.id).orderBy('id').execute();
    const references: ReferenceView[] = [];
    if (isIndexMediaType(a.media_type)) {
      const children = refs.filter((r) => r.kind === 'manifest');
      const digests = children.map((r) => r.child_digest);
      const rows = digests.length
        ? await this.deps.db.selectFrom('artifacts').select(['id', 'digest']).where('repository_id', '=', repository.id).where('digest', 'in', digests).execute()
        : [];
      const idOf = new Map(rows.map((r) => [r.digest, r.id]));
      for (const r of children) {
        references.push({
          parent_id: a.id,
          child_id: idOf.get(r.child_digest) ?? 0,
          child_digest: r.child_digest,
          platform: parseJsonObject(r.platform),
          annotations: stringRecord(parseJsonObject(r.annotations)),
          urls: [],
        });
      }
    }
    let extra: Record<string, unknown> = {};
    if (type === 'IMAGE' && a.config_media_type !== null) {
      const config = refs.find((r) => r.kind === 'blob' && r.media_type === a.config_media_type);
      if (config) extra = await this.imageExtraAttrs(ctx, fullName, config.child_digest);
    }
    return {
      id: a.id,
      type,
      media_type: a.config_media_type ?? a.media_type,
      manifest_media_type: a.media_type,
      artifact_type: a.artifact_type ?? a.config_media_type ?? a.media_type,
      project_id: project.id,
      repository_id: repository.id,
      repository_name: repository.name,
      digest: a.digest,
      size: a.size,
      icon: '',
      push_time: iso(a.push_time),
      pull_time: iso(a.pull_time),
      extra_attrs: extra,
      annotations: stringRecord(parseJsonObject(a.annotations)),
      references,
      tags: opts.withTag ? tags.map(tagView) : null,
      labels: [],
      addition_links: {},
    };
  }

  /** Harbor's image extra_attrs (architecture, os, author, created, config) from the config blob. */
  private async imageExtraAttrs(ctx: CallContext, repo: RepoName, digest: string): Promise<Record<string, unknown>> {
    const limit = 1024 * 1024;
    try {
      const { info, stream } = await this.deps.registry.readBlob(ctx, repo, parseDigest(digest));
      if (info.size > limit) {
        stream.destroy();
        return {};
      }
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
      const config = parseJsonObject(Buffer.concat(chunks).toString('utf8'));
      if (!config) return {};
      const out: Record<string, unknown> = {};
      for (const k of ['architecture', 'os', 'author', 'created', 'variant', 'os.version'] as const) {
        if (config[k] !== undefined) out[k] = config[k];
      }
      if (config.config !== undefined) out.config = config.config;
      return out;
    } catch {
      // The config blob is optional detail: a missing or unreadable blob leaves extra_attrs empty.
      return {};
    }
  }
}

function groupTags(tags: TagRow[]): Map<number, TagRow[]> {
  const out = new Map<number, TagRow[]>();
  const sorted = [...tags].sort((x, y) => y.push_time - x.push_time || y.id - x.id);
  for (const t of sorted) {
    const list = out.get(t.artifact_id);
    if (list) list.push(t);
    else out.set(t.artifact_id, [t]);
  }
  return out;
}

function tagView(t: TagRow): TagView {
  return {
    id: t.id,
    repository_id: t.repository_id,
    artifact_id: t.artifact_id,
    name: t.name,
    push_time: iso(t.push_time),
    pull_time: iso(t.pull_time),
    immutable: false,
  };
}
