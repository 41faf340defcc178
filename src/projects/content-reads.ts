/**
 * What projects hold, read as Harbor's API shows it: repositories (of a project, or of every
 * project the caller may pull from), artifacts and tags, with Harbor's list semantics
 * (src/domain/listing.ts) over the fields declared here. Reads only: changes go through the
 * registry (./content-changes.ts).
 */
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { ArtifactRow, Database, RepositoryRow, TagRow } from '../db/index.ts';
import type { Authorizer } from '../auth/index.ts';
import type { CallContext, ImmutabilityGuard, Registry } from '../registry/index.ts';
import { pathInProject } from '../registry/index.ts';
import { conditionMatches, conditionMatchesAny, fail, filterOf, pageOf, parseDigest, type ListQuery, type ListSpec, type Page, type RepoName, type TypedCondition } from '../domain/index.ts';
import { artifactsWithLabels, filterSql, labelsOfArtifacts, listPage, orderBy, orderTerms, resolveList } from '../db/index.ts';
import { labelView, parseLabelsCondition } from './labels.ts';
import { artifactKind, isIndexMediaType } from '../domain/index.ts';
import {
  additionLinks,
  artifactView,
  groupTags,
  imageExtraAttrs,
  parseJsonObject,
  repositoryView,
  tagView,
  type ArtifactOptions,
  type ArtifactView,
  type RepositoryView,
  type RepositoryViewRow,
  type TagView,
} from './project-views.ts';
import type { ProjectKey, ProjectLookup } from './project-lookup.ts';
import { defaultAcceptVulnerabilities, type ScanReads, type ScanTarget } from './scan-reads.ts';

/** What the content reads need. */
export interface ContentReadsDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  /** Reads image config blobs for `extra_attrs`. */
  registry: Pick<Registry, 'readBlob'>;
  lookup: ProjectLookup;
  /** Scan overviews and the vulnerabilities addition (src/projects/scan-reads.ts); absent: none shown. */
  scanReads?: ScanReads;
  /** Tag immutability (the registry's port, cached per project): `immutable` on tags; absent: never. */
  immutability?: ImmutabilityGuard;
}

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
 * lists index children too) are matched in memory; `labels=(1 2)` keeps the artifacts carrying
 * every one of those label ids.
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
  labels: { type: 'text' },
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

/** An artifact addition: JSON (an object or array) or a stream of the stored document. */
export interface ArtifactAddition {
  contentType: string;
  body: Record<string, unknown> | unknown[] | Readable;
}

/** Repositories, artifacts and tags as Harbor's API lists and shows them. */
export class ContentReads {
  constructor(private readonly deps: ContentReadsDeps) {}

  /** Repositories of a project, by name unless `sort` says otherwise (repositoryListSpec; `name` is the full name). */
  async listRepositories(ctx: CallContext, key: ProjectKey, list: ListQuery): Promise<Page<RepositoryView>> {
    const p = await this.deps.lookup.project(ctx, key, 'pull');
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
        p.items.map((row) => ({ id: row.id, project_id: row.project_id, name: row.name, pull_count: row.pull_count, creation_time: row.creation_time, update_time: row.update_time, description: row.description })),
      ),
      total: p.total,
    };
  }

  /** One repository; `repo` is the name inside the project (`a/b` in `library/a/b`). */
  async getRepository(ctx: CallContext, key: ProjectKey, repo: string): Promise<RepositoryView> {
    const { repository } = await this.deps.lookup.repository(ctx, key, repo, 'pull');
    // The lookup's row leaves out the description (RepositoryRow); read the whole row.
    const row = await this.deps.db.selectFrom('repositories').selectAll().where('id', '=', repository.id).executeTakeFirst();
    if (!row) throw fail('NOT_FOUND', `repository ${repository.name} not found`);
    const [view] = await this.repositoryViews([row]);
    if (!view) throw new Error('repositoryViews returned no view for one row');
    return view;
  }

  /** Artifacts of a repository, newest push first unless `sort` says otherwise (artifactListSpec). */
  async listArtifacts(ctx: CallContext, key: ProjectKey, repo: string, list: ListQuery, opts: ArtifactOptions): Promise<Page<ArtifactView>> {
    const { project, repository, fullName } = await this.deps.lookup.repository(ctx, key, repo, 'pull');
    const r = resolveList(list, artifactListSpec);
    const base = filterOf(r.filters, 'base');
    if (base && !(base.kind === 'exact' && base.value === '*')) throw fail('BAD_REQUEST', 'q: base accepts only base=*');
    const tagsF = filterOf(r.filters, 'tags');
    const typeF = filterOf(r.filters, 'type');
    const mediaF = filterOf(r.filters, 'media_type');
    const labelsF = filterOf(r.filters, 'labels');
    const labelled = labelsF ? await artifactsWithLabels(this.deps.db, repository.id, parseLabelsCondition(labelsF)) : null;
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
      // Accessories (manifests with a subject: SBOMs, signatures) are listed under their subject, as Harbor does.
      if (a.subject_digest !== null && t.length === 0) return false;
      if (labelled && !labelled.has(a.id)) return false;
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
    const accessories = await this.accessoriesOf(repository.id, p.items.map((a) => a.digest));
    const items = await Promise.all(
      p.items.map((a) => this.artifactView(ctx, project.id, project.name, repository, fullName, a, tagsOf.get(a.id) ?? [], opts, accessories.get(a.digest) ?? [])),
    );
    await this.addScanOverviews(items, project.id, opts);
    await this.addLabels(items, opts);
    return { items, total: p.total };
  }

  /** One artifact by tag or digest. */
  async getArtifact(ctx: CallContext, key: ProjectKey, repo: string, reference: string, opts: ArtifactOptions): Promise<ArtifactView> {
    const { project, repository, fullName } = await this.deps.lookup.repository(ctx, key, repo, 'pull');
    const a = await this.deps.lookup.artifact(repository, reference);
    const tags = await this.deps.db.selectFrom('tags').selectAll().where('artifact_id', '=', a.id).orderBy('push_time', 'desc').orderBy('id', 'desc').execute();
    const accessories = await this.accessoriesOf(repository.id, [a.digest]);
    const view = await this.artifactView(ctx, project.id, project.name, repository, fullName, a, tags, opts, accessories.get(a.digest) ?? []);
    await this.addScanOverviews([view], project.id, opts);
    await this.addLabels([view], opts);
    return view;
  }

  /**
   * One of an artifact's additions (Harbor's `…/additions/{addition}`): `vulnerabilities` (the stored
   * report, `{}` when there is none), `sbom` (the raw document of an SBOM accessory: its one layer),
   * `build_history` (an image config's `history`).
   */
  async artifactAddition(ctx: CallContext, key: ProjectKey, repo: string, reference: string, addition: string, accept: readonly string[]): Promise<ArtifactAddition> {
    const { project, repository, fullName } = await this.deps.lookup.repository(ctx, key, repo, 'pull');
    const a = await this.deps.lookup.artifact(repository, reference);
    const refs = await this.deps.db.selectFrom('artifact_references').selectAll().where('artifact_id', '=', a.id).orderBy('id').execute();
    switch (addition) {
      case 'vulnerabilities': {
        if (!this.deps.scanReads) return { contentType: 'application/json', body: {} };
        const children = isIndexMediaType(a.media_type) ? refs.filter((r) => r.kind === 'manifest').map((r) => r.child_digest) : [];
        return { contentType: 'application/json', body: await this.deps.scanReads.vulnerabilities({ digest: a.digest, children, projectId: project.id }, accept) };
      }
      case 'sbom': {
        const layers = refs.filter((r) => r.kind === 'blob' && r.media_type !== a.config_media_type);
        const layer = layers[0];
        if (artifactKind(a.media_type, a.config_media_type, a.artifact_type) !== 'SBOM' || layers.length !== 1 || !layer) throw fail('NOT_FOUND', 'The sbom is not found');
        const { stream } = await this.deps.registry.readBlob(ctx, fullName, parseDigest(layer.child_digest));
        return { contentType: 'application/vnd.goharbor.harbor.sbom.v1', body: stream };
      }
      case 'build_history': {
        const config = a.config_media_type === null ? undefined : refs.find((r) => r.kind === 'blob' && r.media_type === a.config_media_type);
        if (artifactKind(a.media_type, a.config_media_type, a.artifact_type) !== 'IMAGE' || !config) throw fail('NOT_FOUND', `addition build_history of ${a.digest} not found`);
        const parsed = await this.readJsonBlob(ctx, fullName, config.child_digest);
        return { contentType: 'application/json', body: Array.isArray(parsed?.history) ? parsed.history : [] };
      }
      default:
        throw fail('NOT_FOUND', `addition ${addition} of ${a.digest} not found`);
    }
  }

  /** Accessories (manifests naming a subject) of the given digests in one repository, newest first. */
  private async accessoriesOf(repositoryId: number, digests: string[]): Promise<Map<string, ArtifactRow[]>> {
    const out = new Map<string, ArtifactRow[]>();
    if (digests.length === 0) return out;
    const rows = await this.deps.db
      .selectFrom('artifacts')
      .selectAll()
      .where('repository_id', '=', repositoryId)
      .where('subject_digest', 'in', digests)
      .orderBy('push_time', 'desc')
      .orderBy('id', 'desc')
      .execute();
    for (const r of rows) {
      if (r.subject_digest === null) continue;
      const list = out.get(r.subject_digest) ?? [];
      list.push(r);
      out.set(r.subject_digest, list);
    }
    return out;
  }

  /** Fills `labels` with `with_label`, one query for all views. */
  private async addLabels(views: ArtifactView[], opts: ArtifactOptions): Promise<void> {
    if (!opts.withLabel || views.length === 0) return;
    const m = await labelsOfArtifacts(this.deps.db, views.map((v) => v.id));
    for (const v of views) v.labels = (m.get(v.id) ?? []).map(labelView);
  }

  /** Fills `scan_overview` and `sbom_overview` from the scan port, one call each for all views. */
  private async addScanOverviews(views: ArtifactView[], projectId: number, opts: ArtifactOptions): Promise<void> {
    const reads = this.deps.scanReads;
    if (!reads || views.length === 0 || (!opts.withScanOverview && !opts.withSbomOverview)) return;
    const targets: ScanTarget[] = views.map((v) => ({ digest: v.digest, children: v.references.map((r) => r.child_digest), projectId }));
    if (opts.withScanOverview) {
      const m = await reads.scanOverviews(targets, opts.acceptVulnerabilities ?? defaultAcceptVulnerabilities);
      for (const v of views) {
        const o = m.get(v.digest);
        if (o) v.scan_overview = o;
      }
    }
    if (opts.withSbomOverview) {
      const m = await reads.sbomOverviews(targets);
      for (const v of views) {
        const o = m.get(v.digest);
        if (o) v.sbom_overview = o;
      }
    }
  }

  /** Tags of one artifact, newest push first unless `sort` says otherwise (tagListSpec). */
  async listTags(ctx: CallContext, key: ProjectKey, repo: string, reference: string, list: ListQuery): Promise<Page<TagView>> {
    const { project, repository } = await this.deps.lookup.repository(ctx, key, repo, 'pull');
    const a = await this.deps.lookup.artifact(repository, reference);
    const immutable = await this.immutableTag(project.id, repository.name);
    const page = await listPage(this.deps.db.selectFrom('tags').selectAll().where('artifact_id', '=', a.id), list, tagListSpec, {
      fallback: [{ column: 'push_time', desc: true }],
      tieBreak: { column: 'id', desc: true },
    });
    return { items: page.items.map((t) => tagView(t, immutable?.(t.name) ?? false)), total: page.total };
  }

  /** The repository's immutable-tag test from the cached rules, or null when no tag of the project is immutable. */
  private async immutableTag(projectId: number, repositoryName: string): Promise<((tag: string) => boolean) | null> {
    const test = this.deps.immutability ? await this.deps.immutability.immutableTags(projectId) : null;
    if (!test) return null;
    const path = pathInProject(repositoryName);
    return (tag) => test(path, tag);
  }

  /** Views of repository rows: one query for their artifact counts. */
  private async repositoryViews(rows: RepositoryViewRow[]): Promise<RepositoryView[]> {
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
    return rows.map((r) => repositoryView(r, countOf.get(r.id) ?? 0));
  }

  /** The view of one artifact: its references, the ids of index children here, and image attributes from the config blob. */
  private async artifactView(
    ctx: CallContext,
    projectId: number,
    projectName: string,
    repository: RepositoryRow,
    fullName: RepoName,
    a: ArtifactRow,
    tags: TagRow[],
    opts: ArtifactOptions,
    accessories: ArtifactRow[],
  ): Promise<ArtifactView> {
    const refs = await this.deps.db.selectFrom('artifact_references').selectAll().where('artifact_id', '=', a.id).orderBy('id').execute();
    let childIds = new Map<string, number>();
    if (isIndexMediaType(a.media_type)) {
      const digests = refs.filter((r) => r.kind === 'manifest').map((r) => r.child_digest);
      const rows = digests.length
        ? await this.deps.db.selectFrom('artifacts').select(['id', 'digest']).where('repository_id', '=', repository.id).where('digest', 'in', digests).execute()
        : [];
      childIds = new Map(rows.map((r) => [r.digest, r.id]));
    }
    let extra: Record<string, unknown> = {};
    if (artifactKind(a.media_type, a.config_media_type, a.artifact_type) === 'IMAGE' && a.config_media_type !== null) {
      const config = refs.find((r) => r.kind === 'blob' && r.media_type === a.config_media_type);
      if (config) extra = await this.imageConfig(ctx, fullName, config.child_digest);
    }
    // Harbor's link names its SPDX SBOM; a CycloneDX one (Wharf's extension) is linked only when it is the only one.
    const sboms = accessories.filter((x) => artifactKind(x.media_type, x.config_media_type, x.artifact_type) === 'SBOM');
    const sbom = sboms.find((x) => !(x.annotations ?? '').includes('CycloneDX')) ?? sboms[0];
    const links = additionLinks(a, projectName, repository.name, sbom?.digest ?? null);
    const immutable = tags.length > 0 && opts.withTag ? await this.immutableTag(projectId, repository.name) : null;
    return artifactView(a, { projectId, repository, tags, refs, childIds, extra, accessories, additionLinks: links, ...(immutable ? { immutableTag: immutable } : {}) }, opts);
  }

  /** Harbor's image extra_attrs from the config blob (at most 1 MiB); empty when it cannot be read. */
  private async imageConfig(ctx: CallContext, repo: RepoName, digest: string): Promise<Record<string, unknown>> {
    const config = await this.readJsonBlob(ctx, repo, digest);
    return config ? imageExtraAttrs(config) : {};
  }

  /** A JSON object blob of at most 1 MiB; null when it is larger, missing or not an object. */
  private async readJsonBlob(ctx: CallContext, repo: RepoName, digest: string): Promise<Record<string, unknown> | null> {
    const limit = 1024 * 1024;
    try {
      const { info, stream } = await this.deps.registry.readBlob(ctx, repo, parseDigest(digest));
      if (info.size > limit) {
        stream.destroy();
        return null;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
      return parseJsonObject(Buffer.concat(chunks).toString('utf8'));
    } catch {
      // The config blob is optional detail: a missing or unreadable blob leaves extra_attrs empty.
      return null;
    }
  }
}
