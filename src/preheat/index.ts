/**
 * P2P preheat (docs/preheat.md): Harbor's provider instances (./instances.ts), the provider
 * drivers, Dragonfly and Kraken (./providers.ts), and the policies of a project (./policies.ts,
 * parsed and matched in ./policy-spec.ts), and their runs on the job framework (./runs.ts).
 */
export { PreheatInstances, instanceView, preheatNamePattern, type InstanceView, type PreheatInstancesDeps, type ProviderUnderProject, type StoredInstance } from './instances.ts';
export { providerMetadata, vendors, authModes, ProviderClient, authHeaders, dragonflyProgress, type Vendor, type AuthMode, type ProviderAccess, type ProviderMetadata, type PreheatImage, type PreheatProgress, type PreheatState } from './providers.ts';
export { PreheatPolicies, managedProject, type PolicyView, type PolicyTriggers, type PreheatPoliciesDeps } from './policies.ts';
export { parsePolicy, parseFilters, parseTrigger, parseExtraAttrs, candidateMatches, projectSecurityFilters, severityCode, type PolicySpec, type PolicyFilter, type PolicyTrigger, type Candidate, type ProjectSecurity } from './policy-spec.ts';
export { PreheatRuns, P2P_PREHEAT, P2P_PREHEAT_SCHEDULE, noArtifactsMessage, projectSecurity, type PreheatRunsDeps } from './runs.ts';
