/**
 * SPDX 2.3 JSON for an image's inventory, the document Harbor stores as an SBOM accessory. There
 * is no maintained SPDX 2.3 builder for JavaScript, so the document is written here against
 * typed interfaces of the fields used (names and rules from the SPDX 2.3 specification).
 *
 * Layout: `SPDXRef-Image` (the image, purpose CONTAINER) is what the document DESCRIBES, and it
 * CONTAINS `SPDXRef-OperatingSystem` (when detected) and each package, `SPDXRef-Package-<n>` in
 * inventory order. Licenses are SPDX expressions or `NOASSERTION`; free text becomes a
 * `LicenseRef-…` declared in `hasExtractedLicensingInfos`.
 */
import { randomUUID } from 'node:crypto';
import type { Inventory, InstalledPackage } from '../analyzer/types.ts';
import { conjoin, licenseRefId, resolveLicense } from './licenses.ts';
import { wharfScannerTool, type SbomSubject, type SbomTool } from './types.ts';
import type parse from 'spdx-expression-parse';

/** `NOASSERTION` (not looked at / not known) or `NONE` (known to be absent), as SPDX spells them. */
export type SpdxNoValue = 'NOASSERTION' | 'NONE';

export interface SpdxCreationInfo {
  /** RFC 3339 UTC, whole seconds. */
  created: string;
  creators: string[];
}

export interface SpdxExternalRef {
  referenceCategory: 'PACKAGE-MANAGER' | 'SECURITY' | 'PERSISTENT-ID' | 'OTHER';
  referenceType: string;
  referenceLocator: string;
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  supplier?: string;
  downloadLocation: string;
  filesAnalyzed: boolean;
  licenseConcluded?: string;
  licenseDeclared?: string;
  copyrightText?: string;
  sourceInfo?: string;
  description?: string;
  externalRefs?: SpdxExternalRef[];
  primaryPackagePurpose?: 'CONTAINER' | 'OPERATING-SYSTEM' | 'LIBRARY' | 'APPLICATION';
}

export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'CONTAINS' | 'DEPENDS_ON';
  relatedSpdxElement: string;
}

export interface SpdxExtractedLicensingInfo {
  licenseId: string;
  extractedText: string;
  name: string;
}

/** The SPDX 2.3 JSON document. */
export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: SpdxCreationInfo;
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
  hasExtractedLicensingInfos?: SpdxExtractedLicensingInfo[];
}

/** Options of {@link spdxDocument}; `now` and `uuid` make the output reproducible. */
export interface SpdxOptions {
  /** `creationInfo.created`; default: the current time. */
  now?: Date;
  /** Start of `documentNamespace` (Wharf's external URL); default `https://wharf.invalid`. */
  namespaceBase?: string;
  /** The UUID that makes the namespace unique; default: a random one. */
  uuid?: string;
  /** The tool named in `creators`; default: Wharf's built-in scanner. */
  tool?: SbomTool;
}

/** SPDX element ids: `SPDXRef-` then letters, digits, `.` and `-`. */
export const SPDX_ID_PATTERN = /^SPDXRef-[A-Za-z0-9.-]+$/;

const OS_PACKAGE_TYPES: ReadonlySet<string> = new Set(['deb', 'apk', 'rpm']);

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Turns declared licenses into `licenseDeclared`, recording the LicenseRefs free text needs. */
class LicenseBook {
  readonly #refByText = new Map<string, string>();
  readonly #texts = new Map<string, string>();

  declared(raw: readonly string[]): string {
    const nodes: parse.Info[] = [];
    const seen = new Set<string>();
    for (const r of raw) {
      const l = resolveLicense(r);
      if (l === null) continue;
      const node: parse.Info = l.kind === 'spdx' ? l.node : { license: this.#refFor(l.text) };
      if (l.kind === 'spdx') this.#noteRefs(l.node, r);
      const key = l.kind === 'spdx' ? l.expression : l.text;
      if (seen.has(key)) continue;
      seen.add(key);
      nodes.push(node);
    }
    return nodes.length === 0 ? 'NOASSERTION' : conjoin(nodes);
  }

  /** `hasExtractedLicensingInfos`: every LicenseRef the document uses, once. */
  extracted(): SpdxExtractedLicensingInfo[] {
    return [...this.#texts].map(([licenseId, text]) => ({ licenseId, extractedText: text, name: text }));
  }

  #refFor(text: string): string {
    const known = this.#refByText.get(text);
    if (known !== undefined) return known;
    const base = licenseRefId(text);
    let id = base;
    for (let n = 2; this.#texts.has(id); n += 1) id = `${base}-${n}`;
    this.#refByText.set(text, id);
    this.#texts.set(id, text);
    return id;
  }

  /** A LicenseRef written in an expression must be declared too; its text is the declaration. */
  #noteRefs(node: parse.Info, raw: string): void {
    if ('conjunction' in node) {
      this.#noteRefs(node.left, raw);
      this.#noteRefs(node.right, raw);
    } else if (node.license.startsWith('LicenseRef-') && !this.#texts.has(node.license)) {
      this.#texts.set(node.license, raw.trim());
    }
  }
}

function packageOf(p: InstalledPackage, id: string, licenses: LicenseBook): SpdxPackage {
  const sourceInfo =
    OS_PACKAGE_TYPES.has(p.type) && p.srcName !== undefined ? `built package from: ${p.srcName} ${p.srcVersion ?? p.version}` : undefined;
  return {
    SPDXID: id,
    name: p.name,
    versionInfo: p.version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: licenses.declared(p.licenses),
    copyrightText: 'NOASSERTION',
    sourceInfo,
    externalRefs: p.purl !== '' ? [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl }] : undefined,
    primaryPackagePurpose: 'LIBRARY',
  };
}

/** The SPDX 2.3 JSON document of an image (an object: `JSON.stringify` it to store or serve). */
export function spdxDocument(inv: Inventory, subject: SbomSubject, opts: SpdxOptions = {}): SpdxDocument {
  const tool = opts.tool ?? wharfScannerTool;
  const base = (opts.namespaceBase ?? 'https://wharf.invalid').replace(/\/+$/, '');
  const hex = subject.digest.slice(subject.digest.indexOf(':') + 1);
  const licenses = new LicenseBook();
  const image: SpdxPackage = {
    SPDXID: 'SPDXRef-Image',
    name: subject.repository,
    versionInfo: subject.digest,
    downloadLocation: 'NONE',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'CONTAINER',
  };
  const packages: SpdxPackage[] = [image];
  const relationships: SpdxRelationship[] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image.SPDXID }];
  if (inv.os !== null) {
    packages.push({
      SPDXID: 'SPDXRef-OperatingSystem',
      name: inv.os.family,
      versionInfo: inv.os.version,
      downloadLocation: 'NONE',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      description: inv.os.name,
      primaryPackagePurpose: 'OPERATING-SYSTEM',
    });
    relationships.push({ spdxElementId: image.SPDXID, relationshipType: 'CONTAINS', relatedSpdxElement: 'SPDXRef-OperatingSystem' });
  }
  inv.packages.forEach((p, i) => {
    const pkg = packageOf(p, `SPDXRef-Package-${i + 1}`, licenses);
    packages.push(pkg);
    relationships.push({ spdxElementId: image.SPDXID, relationshipType: 'CONTAINS', relatedSpdxElement: pkg.SPDXID });
  });
  const extracted = licenses.extracted();
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${subject.repository}@${subject.digest}`,
    documentNamespace: `${base}/spdx/${subject.repository}/${hex}-${opts.uuid ?? randomUUID()}`,
    creationInfo: { created: rfc3339(opts.now ?? new Date()), creators: [`Organization: ${tool.vendor}`, `Tool: ${tool.name}-${tool.version}`] },
    packages,
    relationships,
    hasExtractedLicensingInfos: extracted.length > 0 ? extracted : undefined,
  };
}
