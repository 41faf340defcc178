/**
 * What the SBOM writers share: the image an SBOM describes, the tool that wrote it, and the
 * media types SBOM documents are stored and served under.
 */

/** The image an SBOM is about. */
export interface SbomSubject {
  /** Full repository name, `library/alpine`. */
  repository: string;
  /** The manifest digest, `sha256:…`. */
  digest: string;
  /** The tag the scan was asked for, when there was one. */
  tag?: string;
}

/** The program named as an SBOM's creator. */
export interface SbomTool {
  vendor: string;
  name: string;
  version: string;
}

/** Wharf's built-in scanner, as SBOMs name it unless the caller says otherwise. */
export const wharfScannerTool: Readonly<SbomTool> = { vendor: 'Wharf', name: 'wharf-scanner', version: '0.1.0' };

/** SPDX 2.3 JSON. */
export const SPDX_MEDIA_TYPE = 'application/spdx+json';
/** CycloneDX JSON. */
export const CYCLONEDX_MEDIA_TYPE = 'application/vnd.cyclonedx+json';
