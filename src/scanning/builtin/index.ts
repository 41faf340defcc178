/**
 * Wharf's built-in scanner: a scanner adapter (Harbor's Pluggable Scanner API) as a Fastify
 * plugin, its registry client, its scan request checks and its in-memory scans.
 */
export { builtinScanner, type BuiltinScannerDeps, type VulnMatcher } from './scanner.ts';
export { RegistryClient, RegistryPullError, parseChallenge, parseImageManifest, type BlobDescriptor, type Challenge, type LocalRegistry, type PulledImage, type RegistryClientOptions, type RegistryTarget } from './registry-client.ts';
export { checkScanRequest, isRepositoryName, CONSUMED_MIME_TYPES, type ParsedScanRequest, type ScanRequestCheck } from './scan-request.ts';
export { ScanStore, ScanQueueFull, type ScanEntry, type ScanState, type ScanStoreOptions } from './scan-store.ts';
export { chooseReportMime, scannerMetadata, vulnerabilityReport, sbomReport, wharfScanner, PRODUCED_REPORT_MIMES, ADVISORIES_PROPERTY, DB_SOURCE_PROPERTY, type ReportArtifact } from './reports.ts';
export { startStandaloneScanner, type StandaloneScanner } from './standalone.ts';
