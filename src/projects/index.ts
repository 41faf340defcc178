/** Harbor's project model: projects, repositories, artifacts and tags as Harbor's API shows them. */
export { ProjectService, type ProjectDeps } from './project-service.ts';
export type { ProjectKey } from './project-lookup.ts';
export type { ProjectRequest } from './project-spec.ts';
export type { ArtifactAddition } from './content-reads.ts';
export { parseAcceptVulnerabilities, defaultAcceptVulnerabilities, type ScanReads, type ScanTarget } from './scan-reads.ts';
export type { RetentionLinks } from './retention-links.ts';
export { proxyCacheRegistryTypes, type ProxyCacheProject, type UpstreamRegistries } from './upstream-registries.ts';
export type { AccessoryView, ArtifactOptions, ArtifactView, PlatformView, ProjectMetadata, ProjectSummary, ProjectView, ReferenceView, RepositoryView, TagView } from './project-views.ts';
export { projectListSpec, type ProjectCreationSettings, type ProjectDeletable } from './project-admin.ts';
export { artifactListSpec, repositoryListSpec, tagListSpec, type ArtifactReadOptions } from './content-reads.ts';
export { LabelService, labelView, parseLabelsCondition, type LabelFilter, type LabelServiceDeps, type LabelView } from './labels.ts';
export { QuotaService, QuotaExceededError, formatBytes, type QuotaDeps, type QuotaView } from './quotas.ts';
