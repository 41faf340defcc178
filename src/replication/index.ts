/**
 * Replication (docs/replication-design.md): registry endpoints (./registries.ts, ./remote.ts),
 * policies (./policies.ts), runs and REPLICATION events (./runs.ts), the copy engine between two
 * sides (./copy.ts, ./local-side.ts, ./remote-side.ts) and proxy-cache projects (./proxy-cache.ts).
 */
export { RegistryEndpoints, registryView, maskedSecret, unhealthyMessage, REGISTRY_HEALTH, registryHealthCron, type EndpointOf, type RegistryEndpointsDeps, type RegistryView, type RegistryInfo, type FilterStyle } from './registries.ts';
export { ReplicationPolicies, REPLICATION, REPLICATION_SCHEDULE, replicationScheduleOperator, type ReplicationPoliciesDeps, type StartReplication, type StoredPolicy } from './policies.ts';
export { adapterTypes, isAdapterType, normalizeEndpointUrl, parseChallenge, checkCaCertificate, RemoteEndpoint, defaultRemoteLimits, type AdapterType, type EndpointAccess, type RemoteLimits, type PingResult, type Challenge } from './remote.ts';
export { RemoteSide, type RemoteSideLimits } from './remote-side.ts';
export { LocalSide, type LocalSideDeps } from './local-side.ts';
export { copyArtifact, deleteArtifact, defaultRetry, type CopyOptions, type CopyResult, type DeleteOptions, type CopyLog, type CopyLogLevel, type RetryPolicy } from './copy.ts';
export { SideError, type ReplicationSide, type SideManifest } from './side.ts';
export { ReplicationRuns, replicationActorName, replicationChunkSize, noResourcesMessage, skippedMessage, type ReplicationRunsDeps, type RunPolicies } from './runs.ts';
export { ProxyCacheRegistry, ProxyUpstreams, proxyCacheWriter, proxyPushRefusal, type ProxyCacheDeps, type ProxyProject, type ProxyUpstreamSource, type ProxyUpstreamsDeps } from './proxy-cache.ts';
