/**
 * P2P preheat (docs/preheat.md): Harbor's provider instances (./instances.ts) and the provider
 * drivers, Dragonfly and Kraken (./providers.ts).
 */
export { PreheatInstances, instanceView, preheatNamePattern, type InstanceView, type PreheatInstancesDeps, type ProviderUnderProject, type StoredInstance } from './instances.ts';
export { providerMetadata, vendors, authModes, ProviderClient, authHeaders, dragonflyProgress, type Vendor, type AuthMode, type ProviderAccess, type ProviderMetadata, type PreheatImage, type PreheatProgress, type PreheatState } from './providers.ts';
