/**
 * Vulnerability scanning and SBOMs (docs/scanning.md): scanner registrations and the project
 * scanner, CVE allowlists, the adapter client, the built-in scanner.
 */
export {
  ScannerRegistrations,
  noScannerMessage,
  deactivatedMessage,
  type ScannerRegistrationRecord,
  type ScannerRegistrationsDeps,
  type ScanCallContext,
  type ScanProjectKey,
} from './registrations.ts';
export type { LegacyScannerFilters, ScannerRegistrationView } from './registration-spec.ts';
export type { MetadataSource } from './metadata-source.ts';
export { CveAllowlists, type CveAllowlistsDeps } from './allowlists.ts';
export { AdapterClient } from './adapter/index.ts';
export { builtinScanner, startStandaloneScanner, type BuiltinScannerDeps, type StandaloneScanner } from './builtin/index.ts';
export { VulnDb, vulndbUpdateJob, vulndbScheduleOf, vulndbUpdateType, type ImportResult, type VulnDbMeta } from './vulndb/index.ts';
export { SecurityHub, vulnerabilityFilters, type SecurityHubDeps, type SecuritySummaryView, type VulnerabilityItemView, type VulnerabilityListRequest } from './security-hub.ts';
