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
export { ScanService, IMAGE_SCAN, SBOM_JOB, SCAN_ON_PUSH, sbomFormat, parseScanType, platformString, cvssBuckets, type ScanServiceDeps, type ScanConfig, type ScanType, type Submitted } from './scan-service.ts';
export { ScanAll, SCAN_ALL, scanAllScheduleOperator, type ScanAllDeps, type ScanAllSummary } from './scan-all.ts';
export { reportOverview, mergedOverview, mergeStatus, mergedReportId, splitReportId, sbomOverview, vulnerabilitiesAddition, summaryOf, type ReportState, type SbomState } from './overview.ts';
export { ingestVulnerabilityReport, ingestSbomReport, normalizeSeverity, type IngestedReport, type IngestedItem, type StoredSeverity } from './report-ingest.ts';
export { sbomAccessory, pushSbomAccessory, sbomLayerMediaType, type SbomAccessory } from './sbom-accessory.ts';
export { CveExports, SCAN_DATA_EXPORT, exportColumns, nothingMatched, parseCriteria, safeCell, type CveExportsDeps, type ExportCriteria, type ExportExecutionView, type ExportFile } from './cve-export.ts';
export { SecurityHub, vulnerabilityFilters, type SecurityHubDeps, type SecuritySummaryView, type VulnerabilityItemView, type VulnerabilityListRequest } from './security-hub.ts';
export { VulnerabilityGate, type VulnerabilityGateDeps } from './pull-gate.ts';
export { decideGate, severityCode as gateSeverityCode, type GateFacts, type GateDecision } from './gate.ts';
