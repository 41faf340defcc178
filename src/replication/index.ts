/** Replication: registry endpoints (./registries.ts) and the remote client they use (./remote.ts). */
export { RegistryEndpoints, registryView, maskedSecret, unhealthyMessage, type RegistryEndpointsDeps, type RegistryView, type RegistryInfo, type FilterStyle } from './registries.ts';
export { adapterTypes, isAdapterType, normalizeEndpointUrl, parseChallenge, checkCaCertificate, RemoteEndpoint, defaultRemoteLimits, type AdapterType, type EndpointAccess, type RemoteLimits, type PingResult, type Challenge } from './remote.ts';
