/**
 * Harbor's project model as one service for the /api/v2.0 adapter, made of parts split by job:
 *   project-spec.ts     parsing Harbor's ProjectReq (pure; metadata keys in project-metadata-spec.ts)
 *   project-views.ts    Harbor's Project, Repository, Artifact and Tag objects from rows (pure)
 *   project-lookup.ts   what a path names, and the caller's permission on it
 *   project-admin.ts    projects: create, list, read, change, delete (events and audit in the change's transaction)
 *   content-reads.ts    repositories, artifacts and tags, listed with Harbor's list semantics
 *   content-changes.ts  deleting repositories and artifacts, tags, copies, descriptions, through the registry
 *   labels.ts           global and project labels, adding them to artifacts and removing them
 *   project-metadatas.ts /projects/{p}/metadatas/: project metadata one key at a time
 *   discovery.ts        /search, /statistics, /systeminfo/volumes, /icons/{digest}
 *   chart-files.ts      what a Helm chart's archive shows to the chart additions (pure streaming)
 * This class only wires them and keeps one object for the routes.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { Outbox } from '../events/index.ts';
import type { AuditTrail, Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { CallContext, ImmutabilityGuard, Registry } from '../registry/index.ts';
import type { ListQuery, Page, TextFilter } from '../domain/index.ts';
import { ProjectAdmin, type ProjectCreationSettings, type ProjectDeletable } from './project-admin.ts';
import { ContentReads, type ArtifactAddition, type ArtifactReadOptions, type ProjectArtifactOptions } from './content-reads.ts';
import { Discovery } from './discovery.ts';
import type { ScanReads } from './scan-reads.ts';
import { ContentChanges } from './content-changes.ts';
import { ProjectLookup, type ProjectKey } from './project-lookup.ts';
import { LabelService } from './labels.ts';
import { ProjectMetadatas } from './project-metadatas.ts';
import type { AccessoryView, ArtifactView, ProjectSummary, ProjectView, RepositoryView, TagView } from './project-views.ts';
import type { RetentionLinks } from './retention-links.ts';
import type { ProxyCacheProject, UpstreamRegistries } from './upstream-registries.ts';

/** What the project service needs. */
export interface ProjectDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  authorizer: Authorizer;
  config: Config;
  registry: Registry;
  /** Records project setting changes (the audit log). */
  audit: AuditTrail;
  /** What artifact reads show about scans (implemented by scanning); absent: no overviews. */
  scanReads?: ScanReads;
  /** Tag immutability (the registry's port): `immutable` on tags in listings; absent: never. */
  immutability?: ImmutabilityGuard;
  /** Tag retention's port: `retention_id` in project reads (src/projects/retention-links.ts); absent: none. */
  retentionLinks?: RetentionLinks;
  /** Registry endpoints (src/projects/upstream-registries.ts), for proxy-cache projects; absent: none can be created. */
  upstreamRegistries?: UpstreamRegistries;
  /** The system settings project creation reads (src/settings/); absent: Harbor's defaults. */
  creation?: ProjectCreationSettings;
}

/** Projects, repositories, artifacts and tags as Harbor's API shows them. */
export class ProjectService {
  private readonly admin: ProjectAdmin;
  private readonly reads: ContentReads;
  private readonly changes: ContentChanges;
  /** Labels and their links to artifacts (src/projects/labels.ts). */
  readonly labels: LabelService;
  /** `/projects/{p}/metadatas/` (src/projects/project-metadatas.ts). */
  readonly metadatas: ProjectMetadatas;
  /** `/search`, `/statistics`, `/systeminfo/volumes`, `/icons/{digest}` (src/projects/discovery.ts). */
  readonly discovery: Discovery;

  constructor(deps: ProjectDeps) {
    const lookup = new ProjectLookup(deps.db, deps.authorizer);
    const links = deps.retentionLinks ? { retentionLinks: deps.retentionLinks } : {};
    this.admin = new ProjectAdmin({ db: deps.db, outbox: deps.outbox, authorizer: deps.authorizer, audit: deps.audit, lookup, ...links, ...(deps.upstreamRegistries ? { upstreamRegistries: deps.upstreamRegistries } : {}), ...(deps.creation ? { creation: deps.creation } : {}) });
    this.reads = new ContentReads({ db: deps.db, authorizer: deps.authorizer, registry: deps.registry, lookup, ...(deps.scanReads ? { scanReads: deps.scanReads } : {}), ...(deps.immutability ? { immutability: deps.immutability } : {}) });
    this.changes = new ContentChanges({ db: deps.db, registry: deps.registry, lookup, ...(deps.immutability ? { immutability: deps.immutability } : {}) });
    this.labels = new LabelService({ db: deps.db, authorizer: deps.authorizer, outbox: deps.outbox });
    this.metadatas = new ProjectMetadatas({ db: deps.db, audit: deps.audit, lookup, ...links });
    this.discovery = new Discovery({ db: deps.db, authorizer: deps.authorizer, config: deps.config, registry: deps.registry, listProjects: (ctx, filter, list) => this.admin.listProjects(ctx, filter, list) });
  }

  /** Creates the project when missing (first start creates the public `library`). Idempotent. */
  ensureProject(name: string, isPublic: boolean): Promise<void> {
    return this.admin.ensureProject(name, isPublic);
  }

  /** Creates a project from Harbor's ProjectReq (see ProjectAdmin.createProject for who may); returns its id. */
  createProject(ctx: CallContext, body: unknown): Promise<number> {
    return this.admin.createProject(ctx, body);
  }

  /** Harbor's `GET /projects/{p}/_deletable`. */
  deletable(ctx: CallContext, key: ProjectKey): Promise<ProjectDeletable> {
    return this.admin.deletable(ctx, key);
  }

  /** The proxy-cache settings of project `name` (no permission check: for the registry's proxy cache); null when it is not one. */
  proxyCacheOf(name: string): Promise<ProxyCacheProject | null> {
    return this.admin.proxyCacheOf(name);
  }

  /** The projects the caller may see; `filter` holds Harbor's `name` and `public` parameters. */
  listProjects(ctx: CallContext, filter: { name?: TextFilter; public?: boolean }, list: ListQuery): Promise<Page<ProjectView>> {
    return this.admin.listProjects(ctx, filter, list);
  }

  /** One project, by name or id. */
  getProject(ctx: CallContext, key: ProjectKey): Promise<ProjectView> {
    return this.admin.getProject(ctx, key);
  }

  /** Harbor's project summary: repositories, members per role, storage quota. */
  projectSummary(ctx: CallContext, key: ProjectKey): Promise<ProjectSummary> {
    return this.admin.summary(ctx, key);
  }

  /** True when a project of that name exists. */
  projectExists(ctx: CallContext, name: string): Promise<boolean> {
    return this.admin.projectExists(ctx, name);
  }

  /** Changes a project's metadata and storage limit. */
  updateProject(ctx: CallContext, key: ProjectKey, body: unknown): Promise<void> {
    return this.admin.updateProject(ctx, key, body);
  }

  /** Deletes an empty project. */
  deleteProject(ctx: CallContext, key: ProjectKey): Promise<void> {
    return this.admin.deleteProject(ctx, key);
  }

  /** Repositories of a project. */
  listRepositories(ctx: CallContext, key: ProjectKey, list: ListQuery): Promise<Page<RepositoryView>> {
    return this.reads.listRepositories(ctx, key, list);
  }

  /** Repositories of every project the caller may pull from. */
  listAllRepositories(ctx: CallContext, list: ListQuery): Promise<Page<RepositoryView>> {
    return this.reads.listAllRepositories(ctx, list);
  }

  /** One repository (`repo` is the name inside the project). */
  getRepository(ctx: CallContext, key: ProjectKey, repo: string): Promise<RepositoryView> {
    return this.reads.getRepository(ctx, key, repo);
  }

  /** Changes a repository's description (Harbor's repository update). */
  updateRepository(ctx: CallContext, key: ProjectKey, repo: string, body: unknown): Promise<void> {
    return this.changes.updateRepository(ctx, key, repo, body);
  }

  /** Copies an artifact (`from`: `project/repository:tag` or `@digest`) into a repository; returns the copy's reference (tag or digest). */
  copyArtifact(ctx: CallContext, key: ProjectKey, repo: string, from: unknown): Promise<string> {
    return this.changes.copyArtifact(ctx, key, repo, from);
  }

  /** Deletes a repository with its artifacts and tags. */
  deleteRepository(ctx: CallContext, key: ProjectKey, repo: string): Promise<void> {
    return this.changes.deleteRepository(ctx, key, repo);
  }

  /** Artifacts of a repository. */
  listArtifacts(ctx: CallContext, key: ProjectKey, repo: string, list: ListQuery, opts: ArtifactReadOptions): Promise<Page<ArtifactView>> {
    return this.reads.listArtifacts(ctx, key, repo, list, opts);
  }

  /** Artifacts of every repository of a project (Harbor's `GET /projects/{p}/artifacts`). */
  listArtifactsOfProject(ctx: CallContext, key: ProjectKey, list: ListQuery, opts: ProjectArtifactOptions): Promise<Page<ArtifactView>> {
    return this.reads.listArtifactsOfProject(ctx, key, list, opts);
  }

  /** The accessories of one artifact (signatures, SBOMs and other referrers). */
  listAccessories(ctx: CallContext, key: ProjectKey, repo: string, reference: string, list: ListQuery): Promise<Page<AccessoryView>> {
    return this.reads.listAccessories(ctx, key, repo, reference, list);
  }

  /** One artifact by tag or digest. */
  getArtifact(ctx: CallContext, key: ProjectKey, repo: string, reference: string, opts: ArtifactReadOptions): Promise<ArtifactView> {
    return this.reads.getArtifact(ctx, key, repo, reference, opts);
  }

  /** One addition of an artifact (`vulnerabilities`, `sbom`, `build_history`). */
  artifactAddition(ctx: CallContext, key: ProjectKey, repo: string, reference: string, addition: string, accept: readonly string[]): Promise<ArtifactAddition> {
    return this.reads.artifactAddition(ctx, key, repo, reference, addition, accept);
  }

  /** Deletes an artifact (and its tags). */
  deleteArtifact(ctx: CallContext, key: ProjectKey, repo: string, reference: string): Promise<void> {
    return this.changes.deleteArtifact(ctx, key, repo, reference);
  }

  /** Tags of one artifact. */
  listTags(ctx: CallContext, key: ProjectKey, repo: string, reference: string, list: ListQuery): Promise<Page<TagView>> {
    return this.reads.listTags(ctx, key, repo, reference, list);
  }

  /** Adds a tag (`{"name": ...}`) to an artifact. */
  createTag(ctx: CallContext, key: ProjectKey, repo: string, reference: string, body: unknown): Promise<void> {
    return this.changes.createTag(ctx, key, repo, reference, body);
  }

  /** Removes a tag of an artifact. */
  deleteTag(ctx: CallContext, key: ProjectKey, repo: string, reference: string, tag: string): Promise<void> {
    return this.changes.deleteTag(ctx, key, repo, reference, tag);
  }
}
