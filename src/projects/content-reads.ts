/**
 * What projects hold, read as Harbor's API shows it: repositories (of a project, or of every
 * project the caller may pull from), artifacts and tags, with Harbor's list semantics
 * (src/domain/listing.ts) over the fields declared here. Reads only: changes go through the
 * registry (./content-changes.ts).
 */
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { ArtifactReferenceRow, ArtifactRow, Database, ProjectRow, RepositoryRow, TagRow } from '../db/index.ts';
import type { Authorizer } from '../auth/index.ts';
import type { CallContext, ImmutabilityGuard, Registry } from '../registry/index.ts';
import { pathInProject } from '../registry/index.ts';
import { accessoryType, conditionMatches, conditionMatchesAny, fail, filterOf, pageOf, parseDigest, parseRepoName, type ListQuery, type ListSpec, type Page, type RepoName, type ResolvedFilter, type TypedCondition } from '../domain/index.ts';
import { artifactsWithLabels, filterSql, labelsOfArtifacts, listPage, orderBy, orderTerms, resolveList } from '../db/index.ts';
import { labelView, parseLabelsCondition } from './labels.ts';
import { artifactKind, harborSbomMediaType, isIndexMediaType } from '../domain/index.ts';
import {
  accessoryView,
  additionLinks,
  artifactView,
  groupTags,
  imageExtraAttrs,
  parseJsonObject,
  repositoryView,
  tagView,
  type AccessoryView,
  type ArtifactOptions,
  type ArtifactView,
  type RepositoryView,
  type RepositoryViewRow,
  type TagView,
} from './project-views.ts';
import type { ProjectKey, ProjectLookup } from './project-lookup.ts';
import { defaultAcceptVulnerabilities, type ScanReads, type ScanTarget } from './scan-reads.ts';
import { readChartFiles, type ChartFiles } from './chart-files.ts';

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

/**
 * The fields of a project's artifact list (Harbor's `GET /projects/{p}/artifacts`): the repository
 * list's fields over a join with repositories, plus `repository_name` (the full name).
 */
export const projectArtifactListSpec = {
  ...Object.fromEntries(Object.entries(artifactListSpec).map(([k, f]) => [k, 'column' in f ? { ...f, column: `artifacts.${f.column}` } : f])),
  repository_name: { type: 'text', column: 'repositories.name' },
} satisfies ListSpec;

/**
 * The fields of an artifact's accessory list (Harbor's Accessory columns): `type` (Harbor's
 * accessory types, `signature.cosign` and the like) is matched in memory; `creation_time` is the push.
 */
export const accessoryListSpec = {
  id: { type: 'int', column: 'id' },
  artifact_id: { type: 'int', column: 'id' },
  digest: { type: 'text', column: 'digest' },
  size: { type: 'int', column: 'size' },
  creation_time: { type: 'time', column: 'push_time' },
  subject_artifact_digest: { type: 'text', column: 'subject_digest' },
  type: { type: 'text' },
} as const satisfies ListSpec;

/** Harbor's layer annotation naming an artifact's icon (the layer is a PNG, GIF or JPEG of at most 1 MiB). */
export const iconAnnotation = 'io.goharbor.artifact.v1alpha1.icon';

/** Artifact read options: Harbor's flags (ArtifactOptions) and `with_inherited_accessory`. */
export interface ArtifactReadOptions extends ArtifactOptions {
  /**
   * Harbor's `with_inherited_accessory`: an artifact without a signature of its own gets
   * `inherited_accessories`, the signatures of the indexes of its repository that reference it.
   */
  withInheritedAccessory?: boolean;
}

/** Options of a project's artifact list beyond the repository list's. */
export interface ProjectArtifactOptions extends ArtifactReadOptions {
  /** Harbor's `with_immutable_status`: `immutable` on tags is computed only with it (else false). */
  withImmutableStatus: boolean;
  /** Harbor's `latest_in_repository`: the newest match of each repository; needs `media_type` or `artifact_type` in `q`, not both. */
  latestInRepository: boolean;
}

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

/** The additions Harbor's swagger names for `…/additions/{addition}` (its enum, in its order). */
const additionNames: readonly string[] = ['build_history', 'values.yaml', 'readme.md', 'dependencies', 'sbom', 'license', 'files'];

/** The largest chart archive the chart additions read. */
const chartArchiveLimit = 64 * 1024 * 1024;

/** Docker's schema 1 manifests: Harbor's manifest-v1 processor has no additions. */
const schema1MediaTypes = new Set(['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws']);

/** Where an artifact list reads: the project, its repositories by id, and the SQL scope of tags and references. */
interface ArtifactScope {
  project: ProjectRow;
  repositories: ReadonlyMap<number, { repository: RepositoryRow; fullName: RepoName }>;
  where: { repositoryId: number } | { projectId: number };
}

/** Harbor's `base` filter accepts only `base=*`. */
function checkBaseFilter(filters: readonly ResolvedFilter[]): void {
  const base = filterOf(filters, 'base');
  if (base && !(base.kind === 'exact' && base.value === '*')) throw fail('BAD_REQUEST', 'q: base accepts only base=*');
}

/** A stored repository name as a RepoName (stored names were validated when pushed). */
function repoNameOf(name: string): RepoName {
  try {
    return parseRepoName(name);
  } catch {
    throw new Error(`stored repository name ${JSON.stringify(name)} does not parse`);
  }
}

/** The newest push of each repository among `rows`, in the order of `rows`. */
function latestOfEachRepository(rows: readonly ArtifactRow[]): ArtifactRow[] {
  const newest = new Map<number, ArtifactRow>();
  for (const a of rows) {
    const n = newest.get(a.repository_id);
    if (!n || a.push_time > n.push_time || (a.push_time === n.push_time && a.id > n.id)) newest.set(a.repository_id, a);
  }
  const keep = new Set([...newest.values()].map((a) => a.id));
  return rows.filter((a) => keep.has(a.id));
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
  async listArtifacts(ctx: CallContext, key: ProjectKey, repo: string, list: ListQuery, opts: ArtifactReadOptions): Promise<Page<ArtifactView>> {
    const { project, repository, fullName } = await this.deps.lookup.repository(ctx, key, repo, 'pull');
    const r = resolveList(list, artifactListSpec);
    checkBaseFilter(r.filters);
    let q = this.deps.db.selectFrom('artifacts').selectAll().where('repository_id', '=', repository.id);
    for (const w of filterSql(r.filters)) q = q.where(w);
    const rows = await orderBy(q, orderTerms(r.sort, [{ column: 'push_time', desc: true }], { column: 'id', desc: true })).execute();
    const scope: ArtifactScope = { project, repositories: new Map([[repository.id, { repository, fullName }]]), where: { repositoryId: repository.id } };
    return this.artifactPage(ctx, scope, rows, r.filters, list, opts, { immutable: true, latest: false });
  }

  /**
   * Artifacts of every repository of a project (Harbor's `GET /projects/{p}/artifacts`), newest push
   * first unless `sort` says otherwise (projectArtifactListSpec). Harbor asks for a signed-in caller
   * even on a public project. With `latestInRepository`, the newest match of each repository.
   */
  async listArtifactsOfProject(ctx: CallContext, key: ProjectKey, list: ListQuery, opts: ProjectArtifactOptions): Promise<Page<ArtifactView>> {
    if (ctx.actor.username === '') throw fail('UNAUTHORIZED', 'unauthorized');
    const project = await this.deps.lookup.project(ctx, key, 'pull');
    const r = resolveList(list, projectArtifactListSpec);
    checkBaseFilter(r.filters);
    if (opts.latestInRepository && (filterOf(r.filters, 'media_type') === undefined) === (filterOf(r.filters, 'artifact_type') === undefined)) {
      throw fail('BAD_REQUEST', "either 'media_type' or 'artifact_type' must be specified, but not both, when querying with latest_in_repository");
    }
    const repos = await this.deps.db.selectFrom('repositories').selectAll().where('project_id', '=', project.id).execute();
    const repositories = new Map<number, { repository: RepositoryRow; fullName: RepoName }>();
    for (const repository of repos) repositories.set(repository.id, { repository, fullName: repoNameOf(repository.name) });
    let q = this.deps.db.selectFrom('artifacts').innerJoin('repositories', 'repositories.id', 'artifacts.repository_id').selectAll('artifacts').where('repositories.project_id', '=', project.id);
    for (const w of filterSql(r.filters)) q = q.where(w);
    const rows = await orderBy(q, orderTerms(r.sort, [{ column: 'artifacts.push_time', desc: true }], { column: 'artifacts.id', desc: true })).execute();
    const scope: ArtifactScope = { project, repositories, where: { projectId: project.id } };
    return this.artifactPage(ctx, scope, rows, r.filters, list, opts, { immutable: opts.withImmutableStatus, latest: opts.latestInRepository });
  }

  /**
   * One page of artifact rows (already filtered by the SQL-backed `q` keys and ordered) after the
   * in-memory filters: Harbor's base filter (untagged index children hidden unless `base=*`),
   * accessories hidden (Harbor lists them under their subject only), tags, type, media_type, labels.
   */
  private async artifactPage(
    ctx: CallContext,
    scope: ArtifactScope,
    rows: ArtifactRow[],
    filters: readonly ResolvedFilter[],
    list: ListQuery,
    opts: ArtifactReadOptions,
    flags: { immutable: boolean; latest: boolean },
  ): Promise<Page<ArtifactView>> {
    const base = filterOf(filters, 'base');
    const tagsF = filterOf(filters, 'tags');
    const typeF = filterOf(filters, 'type');
    const mediaF = filterOf(filters, 'media_type');
    const labelsF = filterOf(filters, 'labels');
    let labelled: Set<number> | null = null;
    if (labelsF) {
      const ids = parseLabelsCondition(labelsF);
      labelled = new Set();
      for (const id of new Set(rows.map((a) => a.repository_id))) for (const a of await artifactsWithLabels(this.deps.db, id, ids)) labelled.add(a);
    }
    const where = scope.where;
    // The repositories in scope: the one listed, or a subquery for the project's.
    const inScope = 'projectId' in where ? this.deps.db.selectFrom('repositories').select('repositories.id').where('repositories.project_id', '=', where.projectId) : [where.repositoryId];
    const tags = await this.deps.db
      .selectFrom('tags')
      .selectAll()
      .where('repository_id', 'in', inScope)
      .execute();
    const tagsOf = groupTags(tags);
    let children = new Set<string>();
    if (!base) {
      const refs = await this.deps.db
        .selectFrom('artifact_references')
        .innerJoin('artifacts', 'artifacts.id', 'artifact_references.artifact_id')
        .select(['artifact_references.child_digest', 'artifacts.repository_id'])
        .where('artifacts.repository_id', 'in', inScope)
        .where('artifact_references.kind', '=', 'manifest')
        .execute();
      children = new Set(refs.map((ref) => `${ref.repository_id}:${ref.child_digest}`));
    }
    let kept = rows.filter((a) => {
      const t = tagsOf.get(a.id) ?? [];
      if (!base && children.has(`${a.repository_id}:${a.digest}`) && t.length === 0) return false;
      // Accessories (manifests with a subject: SBOMs, signatures) are listed under their subject only, tagged or not, as Harbor does.
      if (a.subject_digest !== null) return false;
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
    if (flags.latest) kept = latestOfEachRepository(kept);
    const p = pageOf(kept, list.page, list.pageSize);
    const accessories = new Map<string, ArtifactRow[]>();
    for (const id of new Set(p.items.map((a) => a.repository_id))) {
      const m = await this.accessoriesOf(id, p.items.filter((a) => a.repository_id === id).map((a) => a.digest));
      for (const [digest, list] of m) accessories.set(`${id}:${digest}`, list);
    }
    const items = await Promise.all(
      p.items.map((a) => {
        const found = scope.repositories.get(a.repository_id);
        if (!found) throw new Error(`artifact ${a.id} is outside the listed repositories`);
        return this.artifactView(ctx, scope.project.id, scope.project.name, found.repository, found.fullName, a, tagsOf.get(a.id) ?? [], opts, accessories.get(`${a.repository_id}:${a.digest}`) ?? [], flags.immutable);
      }),
    );
    await this.addScanOverviews(items, scope.project.id, opts);
    await this.addLabels(items, opts);
    await this.addInheritedAccessories(items, opts);
    return { items, total: p.total };
  }

  /**
   * The accessories of one artifact (Harbor's `…/artifacts/{reference}/accessories`): manifests of
   * the repository whose subject it is, newest first unless `sort` says otherwise (accessoryListSpec).
   */
  async listAccessories(ctx: CallContext, key: ProjectKey, repo: string, reference: string, list: ListQuery): Promise<Page<AccessoryView>> {
    const { repository } = await this.deps.lookup.repository(ctx, key, repo, 'pull');
    const subject = await this.deps.lookup.artifact(repository, reference);
    const r = resolveList(list, accessoryListSpec);
    let q = this.deps.db.selectFrom('artifacts').selectAll().where('repository_id', '=', repository.id).where('subject_digest', '=', subject.digest);
    for (const w of filterSql(r.filters)) q = q.where(w);
    const rows = await orderBy(q, orderTerms(r.sort, [{ column: 'push_time', desc: true }], { column: 'id', desc: true })).execute();
    const typeF = filterOf(r.filters, 'type');
    const kept = typeF ? rows.filter((x) => conditionMatches(accessoryType(x.config_media_type, x.artifact_type), typeF)) : rows;
    const p = pageOf(kept, list.page, list.pageSize);
    return { items: p.items.map((x) => accessoryView(x, subject, repository.name)), total: p.total };
  }

  /** One artifact by tag or digest. */
  async getArtifact(ctx: CallContext, key: ProjectKey, repo: string, reference: string, opts: ArtifactReadOptions): Promise<ArtifactView> {
    const { project, repository, fullName } = await this.deps.lookup.repository(ctx, key, repo, 'pull');
    const a = await this.deps.lookup.artifact(repository, reference);
    const tags = await this.deps.db.selectFrom('tags').selectAll().where('artifact_id', '=', a.id).orderBy('push_time', 'desc').orderBy('id', 'desc').execute();
    const accessories = await this.accessoriesOf(repository.id, [a.digest]);
    const view = await this.artifactView(ctx, project.id, project.name, repository, fullName, a, tags, opts, accessories.get(a.digest) ?? []);
    await this.addScanOverviews([view], project.id, opts);
    await this.addLabels([view], opts);
    await this.addInheritedAccessories([view], opts);
    return view;
  }

  /**
   * One of an artifact's additions, as Harbor's `…/additions/vulnerabilities` and
   * `…/additions/{addition}` answer: `vulnerabilities` (the stored report, `{}` when there is none),
   * then the swagger's enum (another name is a 422): an image's `build_history` (its config's
   * `history`), an SBOM accessory's document (Harbor's SBOM processor serves it for any addition);
   * a chart's `values.yaml` (text), `readme.md` (markdown) and `dependencies` (JSON) from its
   * archive; an addition the artifact's type does not have is Harbor's 400.
   */
  async artifactAddition(ctx: CallContext, key: ProjectKey, repo: string, reference: string, addition: string, accept: readonly string[]): Promise<ArtifactAddition> {
    const { project, repository, fullName } = await this.deps.lookup.repository(ctx, key, repo, 'pull');
    if (addition !== 'vulnerabilities' && !additionNames.includes(addition)) {
      throw fail('UNPROCESSABLE', `validation failure list:\naddition in path should be one of [${additionNames.join(' ')}]`);
    }
    const a = await this.deps.lookup.artifact(repository, reference);
    const refs = await this.deps.db.selectFrom('artifact_references').selectAll().where('artifact_id', '=', a.id).orderBy('id').execute();
    const kind = artifactKind(a.media_type, a.config_media_type, a.artifact_type);
    const name = addition.toUpperCase();
    if (addition === 'vulnerabilities') {
      if (!this.deps.scanReads) return { contentType: 'application/json', body: {} };
      const children = isIndexMediaType(a.media_type) ? refs.filter((r) => r.kind === 'manifest').map((r) => r.child_digest) : [];
      return { contentType: 'application/json', body: await this.deps.scanReads.vulnerabilities({ digest: a.digest, children, projectId: project.id }, accept) };
    }
    if (kind === 'SBOM') {
      const layers = refs.filter((r) => r.kind === 'blob' && r.media_type !== a.config_media_type);
      const layer = layers[0];
      if (layers.length !== 1 || !layer) throw fail('NOT_FOUND', 'The sbom is not found');
      const { stream } = await this.deps.registry.readBlob(ctx, fullName, parseDigest(layer.child_digest));
      return { contentType: harborSbomMediaType, body: stream };
    }
    if (isIndexMediaType(a.media_type)) throw fail('BAD_REQUEST', `addition ${name} isn't supported`);
    if (kind === 'IMAGE') {
      if (schema1MediaTypes.has(a.media_type)) throw fail('BAD_REQUEST', `addition ${name} isn't supported for IMAGE(manifest version 1)`);
      if (addition !== 'build_history') throw fail('BAD_REQUEST', `addition ${name} isn't supported for IMAGE(manifest version 2)`);
      const config = a.config_media_type === null ? undefined : refs.find((r) => r.kind === 'blob' && r.media_type === a.config_media_type);
      if (!config) throw fail('NOT_FOUND', `addition build_history of ${a.digest} not found`);
      const parsed = await this.readJsonBlob(ctx, fullName, config.child_digest);
      return { contentType: 'application/json; charset=utf-8', body: Array.isArray(parsed?.history) ? parsed.history : [] };
    }
    if (kind === 'CHART') {
      if (!['values.yaml', 'readme.md', 'dependencies'].includes(addition)) throw fail('BAD_REQUEST', `addition ${name} isn't supported for CHART`);
      const files = await this.chartFiles(ctx, fullName, a, refs);
      if (addition === 'dependencies') return { contentType: 'application/json; charset=utf-8', body: files.dependencies };
      const text = addition === 'values.yaml' ? files.values : files.readme;
      return { contentType: addition === 'values.yaml' ? 'text/plain; charset=utf-8' : 'text/markdown; charset=utf-8', body: Readable.from([Buffer.from(text, 'utf8')]) };
    }
    throw fail('BAD_REQUEST', `the processor for artifact ${kind} not found, cannot get the addition`);
  }

  /** The files of a chart's archive layer (the blob that is not its config); 404 when it has none. */
  private async chartFiles(ctx: CallContext, fullName: RepoName, a: ArtifactRow, refs: ArtifactReferenceRow[]): Promise<ChartFiles> {
    const layer = refs.find((r) => r.kind === 'blob' && r.media_type !== a.config_media_type);
    if (!layer) throw fail('NOT_FOUND', `the chart ${a.digest} has no archive layer`);
    const { info, stream } = await this.deps.registry.readBlob(ctx, fullName, parseDigest(layer.child_digest));
    if (info.size > chartArchiveLimit) {
      stream.destroy();
      throw fail('BAD_REQUEST', `the chart archive of ${a.digest} is larger than ${chartArchiveLimit} bytes`);
    }
    try {
      return await readChartFiles(stream);
    } catch (err) {
      throw fail('BAD_REQUEST', `the chart archive of ${a.digest} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
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

  /**
   * Fills `inherited_accessories` with `with_inherited_accessory`, as Harbor: for an artifact with
   * no signature of its own, the signatures (cosign, notation) of the indexes of its repository that
   * list it, each under its index as subject. Left out when there are none.
   */
  private async addInheritedAccessories(views: ArtifactView[], opts: ArtifactReadOptions): Promise<void> {
    if (!opts.withInheritedAccessory || views.length === 0) return;
    const parents = await this.deps.db
      .selectFrom('artifact_references')
      .innerJoin('artifacts', 'artifacts.id', 'artifact_references.artifact_id')
      .selectAll('artifacts')
      .select('artifact_references.child_digest')
      .where('artifact_references.kind', '=', 'manifest')
      .where('artifact_references.child_digest', 'in', [...new Set(views.map((v) => v.digest))])
      .execute();
    if (parents.length === 0) return;
    const isSignature = (x: ArtifactRow) => accessoryType(x.config_media_type, x.artifact_type).startsWith('signature.');
    for (const repositoryId of new Set(views.map((v) => v.repository_id))) {
      const here = views.filter((v) => v.repository_id === repositoryId);
      const theirParents = parents.filter((p) => p.repository_id === repositoryId);
      if (theirParents.length === 0) continue;
      const own = await this.accessoriesOf(repositoryId, here.map((v) => v.digest));
      const ofParents = await this.accessoriesOf(repositoryId, [...new Set(theirParents.map((p) => p.digest))]);
      for (const v of here) {
        if ((own.get(v.digest) ?? []).some(isSignature)) continue;
        const inherited = theirParents
          .filter((p) => p.child_digest === v.digest)
          .flatMap((p) => (ofParents.get(p.digest) ?? []).filter(isSignature).map((x) => accessoryView(x, p, v.repository_name)));
        if (inherited.length > 0) Object.assign(v, { inherited_accessories: inherited });
      }
    }
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
    withImmutable = true,
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
    const immutable = withImmutable && tags.length > 0 && opts.withTag ? await this.immutableTag(projectId, repository.name) : null;
    const view = artifactView(a, { projectId, repository, tags, refs, childIds, extra, accessories, additionLinks: links, ...(immutable ? { immutableTag: immutable } : {}) }, opts);
    // Harbor's `icon`: the digest of a layer the manifest marks as its icon (served by GET /icons/{digest}).
    const icon = refs.find((r) => r.kind === 'blob' && r.annotations !== null && Object.hasOwn(parseJsonObject(r.annotations) ?? {}, iconAnnotation));
    if (icon) view.icon = icon.child_digest;
    return view;
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
