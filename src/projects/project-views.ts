/**
 * Harbor's Project, Repository, Artifact and Tag objects and the pure functions that shape
 * database rows into them (the /api/v2.0 adapter serialises these objects as they are). Counts,
 * owners, references and image attributes are looked up by the callers and passed in.
 */
import type { ProjectRow, RepositoryRow, ArtifactRow, TagRow, ArtifactReferenceRow } from '../db/index.ts';
import { accessoryType, artifactKind, isIndexMediaType, type AccessoryType, type ArtifactKind } from '../domain/index.ts';
import { readStoredMetadata, type StoredMetadata } from './project-metadata-spec.ts';
import type { LabelView } from './labels.ts';
import { cveAllowlistView, type CveAllowlistView, type StoredCveAllowlist } from '../domain/index.ts';

/**
 * Harbor's project metadata as Wharf shows it: `public` always, then the stored keys with valid
 * values only (src/projects/project-metadata-spec.ts), whatever an older version stored.
 */
export type ProjectMetadata = StoredMetadata & { public: 'true' | 'false'; retention_id?: string };

/** Harbor's Project object. `storage_limit` is a Wharf extension (Harbor keeps it on the quota). */
export interface ProjectView {
  project_id: number;
  name: string;
  owner_id: number;
  owner_name: string;
  /** A proxy-cache project's upstream registry endpoint; absent for an ordinary project (Harbor omits its 0). */
  registry_id?: number;
  creation_time: string;
  update_time: string;
  deleted: boolean;
  togglable: boolean;
  current_user_role_id: number;
  /** Every role id of the caller in the project; [] when not a member (the swagger has no null here). */
  current_user_role_ids: number[];
  repo_count: number;
  metadata: ProjectMetadata;
  /** The project's own CVE allowlist (used by the pull gate when `reuse_sys_cve_allowlist` is false). */
  cve_allowlist: CveAllowlistView;
  storage_limit: number;
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
  /** Harbor's Label objects with `with_label`; else null. */
  labels: LabelView[] | null;
  addition_links: Record<string, unknown>;
  /** Manifests whose subject is this artifact (SBOMs, signatures) with `with_accessory`; else null. */
  accessories: AccessoryView[] | null;
  /** With `with_scan_overview`, when the artifact (or an index's child) has a report: keyed by report media type. */
  scan_overview?: Record<string, unknown>;
  /** With `with_sbom_overview`, when an SBOM was generated (or is being generated). */
  sbom_overview?: Record<string, unknown>;
}

/** Harbor's Accessory object: a manifest whose `subject` is an artifact. */
export interface AccessoryView {
  id: number;
  artifact_id: number;
  subject_artifact_id: number;
  subject_artifact_digest: string;
  subject_artifact_repo: string;
  size: number;
  digest: string;
  type: AccessoryType;
  icon: string;
  creation_time: string;
}

/** Options for artifact reads. */
export interface ArtifactOptions {
  /** Include `tags` (Harbor's `with_tag`, default true). */
  withTag: boolean;
  /** Include `accessories` (Harbor's `with_accessory`, default false). */
  withAccessory?: boolean;
  /** Include `scan_overview` (Harbor's `with_scan_overview`, default false). */
  withScanOverview?: boolean;
  /** Include `sbom_overview` (Harbor's `with_sbom_overview`, default false). */
  withSbomOverview?: boolean;
  /** Include `labels` (Harbor's `with_label`, default false). */
  withLabel?: boolean;
  /** X-Accept-Vulnerabilities, parsed (src/projects/scan-reads.ts); default 1.1 then 1.0. */
  acceptVulnerabilities?: readonly string[];
}

/** Harbor shows a never-pulled artifact or tag with Go's zero time. */
const zeroTime = '0001-01-01T00:00:00.000Z';

export function iso(ms: number | null): string {
  return ms === null ? zeroTime : new Date(ms).toISOString();
}

export function parseJsonObject(text: string | null): Record<string, unknown> | null {
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

/**
 * A project as Harbor shows it, given its repository count, owner's name, stored CVE allowlist,
 * retention policy, the caller's (strongest) role id in it (0: not a member) and all its role ids
 * there (its own and its groups').
 */
export function projectView(p: ProjectRow, repoCount: number, ownerName: string, allowlist: StoredCveAllowlist | null = null, retentionId?: number, roleId = 0, allRoleIds: readonly number[] = []): ProjectView {
  const metadata: ProjectMetadata = { ...readStoredMetadata(p.metadata), public: p.public === 1 ? 'true' : 'false', ...(retentionId === undefined ? {} : { retention_id: String(retentionId) }) };
  return {
    project_id: p.id,
    name: p.name,
    owner_id: p.owner_id ?? 0,
    owner_name: ownerName,
    ...(p.registry_id === null ? {} : { registry_id: Number(p.registry_id) }),
    creation_time: iso(p.creation_time),
    update_time: iso(p.update_time),
    deleted: false,
    togglable: true,
    current_user_role_id: roleId,
    current_user_role_ids: roleId === 0 ? [] : allRoleIds.length > 0 ? [...allRoleIds] : [roleId],
    repo_count: repoCount,
    metadata,
    cve_allowlist: cveAllowlistView(allowlist, p.id),
    storage_limit: p.storage_limit,
  };
}

/** Harbor's ProjectSummary (the proxy-cache `registry` is not included). */
export interface ProjectSummary {
  repo_count: number;
  project_admin_count?: number;
  maintainer_count?: number;
  developer_count?: number;
  guest_count?: number;
  limited_guest_count?: number;
  quota?: { hard: { storage: number }; used: { storage: number } };
}

/** The repository columns a view needs. */
export type RepositoryViewRow = Pick<RepositoryRow, 'id' | 'project_id' | 'name' | 'pull_count' | 'creation_time' | 'update_time'> & { description: string };

/** A repository as Harbor shows it, given its artifact count. */
export function repositoryView(r: RepositoryViewRow, artifactCount: number): RepositoryView {
  return {
    id: r.id,
    project_id: r.project_id,
    name: r.name,
    description: r.description,
    artifact_count: artifactCount,
    pull_count: r.pull_count,
    creation_time: iso(r.creation_time),
    update_time: iso(r.update_time),
  };
}

/** What an artifact view is made of besides its row: where it lives, its tags, the ids of its index children, its image attributes. */
export interface ArtifactParts {
  projectId: number;
  repository: Pick<RepositoryRow, 'id' | 'name'>;
  tags: TagRow[];
  /** The artifact's reference rows (children of an index, blobs). */
  refs: ArtifactReferenceRow[];
  /** Artifact ids of index children stored in the same repository, by digest. */
  childIds: ReadonlyMap<string, number>;
  /** Harbor's extra_attrs (from the image config; empty when none). */
  extra: Record<string, unknown>;
  /** Manifests in the repository whose subject is this artifact. */
  accessories?: ArtifactRow[];
  /** Harbor's addition_links ({@link additionLinks}). */
  additionLinks?: Record<string, unknown>;
  /** True for a tag name the project's immutability rules protect; absent: none. */
  immutableTag?: (tag: string) => boolean;
  /** The artifact's labels (src/projects/labels.ts). */
  labels?: LabelView[];
}

/** An artifact as Harbor shows it. */
export function artifactView(a: ArtifactRow, parts: ArtifactParts, opts: ArtifactOptions): ArtifactView {
  const references: ReferenceView[] = [];
  if (isIndexMediaType(a.media_type)) {
    for (const r of parts.refs) {
      if (r.kind !== 'manifest') continue;
      references.push({
        parent_id: a.id,
        child_id: parts.childIds.get(r.child_digest) ?? 0,
        child_digest: r.child_digest,
        platform: parseJsonObject(r.platform),
        annotations: stringRecord(parseJsonObject(r.annotations)),
        urls: [],
      });
    }
  }
  return {
    id: a.id,
    type: artifactKind(a.media_type, a.config_media_type, a.artifact_type),
    media_type: a.config_media_type ?? a.media_type,
    manifest_media_type: a.media_type,
    artifact_type: a.artifact_type ?? a.config_media_type ?? a.media_type,
    project_id: parts.projectId,
    repository_id: parts.repository.id,
    repository_name: parts.repository.name,
    digest: a.digest,
    size: a.size,
    icon: '',
    push_time: iso(a.push_time),
    pull_time: iso(a.pull_time),
    extra_attrs: parts.extra,
    annotations: stringRecord(parseJsonObject(a.annotations)),
    references,
    tags: opts.withTag ? parts.tags.map((t) => tagView(t, parts.immutableTag?.(t.name) ?? false)) : null,
    labels: opts.withLabel ? (parts.labels ?? []) : null,
    addition_links: parts.additionLinks ?? {},
    accessories: opts.withAccessory ? (parts.accessories ?? []).map((x) => accessoryView(x, a, parts.repository.name)) : null,
  };
}

/** An accessory row as Harbor shows it under its subject. */
export function accessoryView(x: ArtifactRow, subject: ArtifactRow, repositoryName: string): AccessoryView {
  return {
    id: x.id,
    artifact_id: x.id,
    subject_artifact_id: subject.id,
    subject_artifact_digest: subject.digest,
    subject_artifact_repo: repositoryName,
    size: x.size,
    digest: x.digest,
    type: accessoryType(x.config_media_type, x.artifact_type),
    icon: '',
    creation_time: iso(x.push_time),
  };
}

/**
 * Harbor's `addition_links` of an artifact: `build_history` for images with a config,
 * `vulnerabilities` for images and indexes (what a scanner can report on), and `sboms`, pointing at
 * the SBOM accessory's digest (`…/artifacts//additions/sbom` before there is one).
 */
export function additionLinks(a: ArtifactRow, projectName: string, repositoryName: string, sbomDigest: string | null): Record<string, unknown> {
  const kind = artifactKind(a.media_type, a.config_media_type, a.artifact_type);
  if (kind !== 'IMAGE') return {};
  const inProject = repositoryName.startsWith(`${projectName}/`) ? repositoryName.slice(projectName.length + 1) : repositoryName;
  const base = `/api/v2.0/projects/${projectName}/repositories/${inProject.replaceAll('/', '%252F')}/artifacts`;
  const links: Record<string, unknown> = {};
  if (!isIndexMediaType(a.media_type)) links.build_history = { href: `${base}/${a.digest}/additions/build_history`, absolute: false };
  links.vulnerabilities = { href: `${base}/${a.digest}/additions/vulnerabilities`, absolute: false };
  links.sboms = { href: `${base}/${sbomDigest ?? ''}/additions/sbom`, absolute: false };
  return links;
}

/** Harbor's image extra_attrs (architecture, os, author, created, config) from a parsed image config. */
export function imageExtraAttrs(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['architecture', 'os', 'author', 'created', 'variant', 'os.version'] as const) {
    if (config[k] !== undefined) out[k] = config[k];
  }
  if (config.config !== undefined) out.config = config.config;
  return out;
}

/** Tags by artifact id, newest push first. */
export function groupTags(tags: TagRow[]): Map<number, TagRow[]> {
  const out = new Map<number, TagRow[]>();
  const sorted = [...tags].sort((x, y) => y.push_time - x.push_time || y.id - x.id);
  for (const t of sorted) {
    const list = out.get(t.artifact_id);
    if (list) list.push(t);
    else out.set(t.artifact_id, [t]);
  }
  return out;
}


/** Harbor's Tag object of a row; `immutable` from the project's tag immutability rules. */
export function tagView(t: TagRow, immutable = false): TagView {
  return {
    id: t.id,
    repository_id: t.repository_id,
    artifact_id: t.artifact_id,
    name: t.name,
    push_time: iso(t.push_time),
    pull_time: iso(t.pull_time),
    immutable,
  };
}
