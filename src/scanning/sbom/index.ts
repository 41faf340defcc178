/**
 * SBOM documents of an image's inventory: CycloneDX 1.5/1.6 JSON (through the CycloneDX
 * library) and SPDX 2.3 JSON (the format Harbor stores as its SBOM accessory).
 */
export type { CycloneDxOptions, CycloneDxSpecVersion, CycloneDxIssue } from './cyclonedx.ts';
/**
 * The CycloneDX builder and validator (`cycloneDxDocument`, `cycloneDxBom`, `validateCycloneDx`,
 * `cdxProperty`), loaded on first use: the CycloneDX library is about a hundred modules that a
 * process which never makes an SBOM need not load at start.
 */
export const loadCycloneDx = (): Promise<typeof import('./cyclonedx.ts')> => import('./cyclonedx.ts');
export { spdxDocument, SPDX_ID_PATTERN } from './spdx.ts';
export type {
  SpdxDocument,
  SpdxOptions,
  SpdxPackage,
  SpdxRelationship,
  SpdxExternalRef,
  SpdxExtractedLicensingInfo,
  SpdxCreationInfo,
} from './spdx.ts';
export { resolveLicense, licenseRefId } from './licenses.ts';
export type { ResolvedLicense } from './licenses.ts';
export { SPDX_MEDIA_TYPE, CYCLONEDX_MEDIA_TYPE, wharfScannerTool } from './types.ts';
export type { SbomSubject, SbomTool } from './types.ts';
