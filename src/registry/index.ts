/** The OCI registry: blobs, uploads, manifests, tags, referrers, catalog, garbage collection. */
export * from './types.ts';
export * from './quota-guard.ts';
export * from './pull-gate.ts';
export * from './immutability-guard.ts';
export { projectRef, maxRepositoryDescriptionLength } from './repositories.ts';
export { parseCopySource, type CopySource } from './artifact-copy.ts';
export { RegistryService, type RegistryDeps } from './registry-service.ts';
export { runGc, type GcReport, type GcDeps } from './gc.ts';
