/** Harbor's project model: projects, repositories, artifacts and tags as Harbor's API shows them. */
export * from './project-service.ts';
export { artifactKind, isIndexMediaType, type ArtifactKind } from './artifact-type.ts';
export { QuotaService, QuotaExceededError, formatBytes, type QuotaDeps, type QuotaView } from './quotas.ts';
