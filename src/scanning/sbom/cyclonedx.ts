/**
 * CycloneDX 1.5 / 1.6 JSON for an image's inventory, built with the OWASP CycloneDX library's
 * models and normalised by its JSON normalizer for the chosen spec (so the output follows that
 * spec's rules, not a hand-written shape), and validated with the library's bundled JSON schemas.
 *
 * Layout: `metadata.component` is the image (type `container`, name = repository, version =
 * manifest digest); each installed package is a `library` component with its purl as bom-ref;
 * the detected OS is an `operating-system` component; the image depends on every component.
 */
import { randomUUID } from 'node:crypto';
import { Enums, Models, Serialize, Spec, SPDX, Validation } from '@cyclonedx/cyclonedx-library';
import type { InstalledPackage, Inventory } from '../analyzer/types.ts';
import { resolveLicense, type ResolvedLicense } from './licenses.ts';
import { wharfScannerTool, type SbomSubject, type SbomTool } from './types.ts';

/** The CycloneDX versions Wharf writes. */
export type CycloneDxSpecVersion = '1.5' | '1.6';

/** Options of {@link cycloneDxDocument}; `now` and `serialNumber` make the output reproducible. */
export interface CycloneDxOptions {
  /** Default 1.6. */
  specVersion?: CycloneDxSpecVersion;
  /** `metadata.timestamp`; default: the current time. */
  now?: Date;
  /** A UUID or `urn:uuid:…`; default: a random UUID. */
  serialNumber?: string;
  /** The tool named in `metadata.tools`; default: Wharf's built-in scanner. */
  tool?: SbomTool;
}

const specs: Readonly<Record<CycloneDxSpecVersion, Spec.Version>> = { '1.5': Spec.Version.v1dot5, '1.6': Spec.Version.v1dot6 };

/** Property names Wharf adds to components (CycloneDX leaves the namespace to the producer). */
export const cdxProperty = {
  path: 'wharf:package:path',
  sourceName: 'wharf:package:source_name',
  sourceVersion: 'wharf:package:source_version',
  tag: 'wharf:image:tag',
} as const;

/** The component's licenses: SPDX ids as ids, one expression when any is compound, names for text. */
function licensesOf(raw: readonly string[]): Models.License[] {
  const resolved = raw.map(resolveLicense).filter((l): l is ResolvedLicense => l !== null);
  if (resolved.length === 0) return [];
  const isId = (l: ResolvedLicense): boolean => l.kind === 'spdx' && !('conjunction' in l.node) && SPDX.isSupportedSpdxId(l.expression);
  const spdxOnly = resolved.filter((l): l is Extract<ResolvedLicense, { kind: 'spdx' }> => l.kind === 'spdx');
  if (spdxOnly.length === resolved.length && !resolved.every(isId)) {
    // A CycloneDX component carries either license entries or exactly one expression.
    const exprs = [...new Set(spdxOnly.map((l) => l.expression))];
    const joined = exprs.length === 1 ? (exprs[0] ?? '') : exprs.map((e) => (/\sOR\s/.test(e) ? `(${e})` : e)).join(' AND ');
    return [new Models.LicenseExpression(joined)];
  }
  const out: Models.License[] = [];
  const seen = new Set<string>();
  for (const l of resolved) {
    const key = l.kind === 'spdx' ? l.expression : l.text;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(isId(l) ? new Models.SpdxLicense(key) : new Models.NamedLicense(key));
  }
  return out;
}

/** Maven `group:artifact` and npm `@scope/name` split into CycloneDX's group and name. */
function groupAndName(p: InstalledPackage): { group?: string; name: string } {
  if (p.type === 'maven') {
    const i = p.name.indexOf(':');
    if (i > 0) return { group: p.name.slice(0, i), name: p.name.slice(i + 1) };
  }
  if (p.type === 'npm' && p.name.startsWith('@')) {
    const i = p.name.indexOf('/');
    if (i > 0) return { group: p.name.slice(0, i), name: p.name.slice(i + 1) };
  }
  return { name: p.name };
}

/** Unique bom-refs: the purl, then the purl with the file path, then a counter. */
function refAllocator(): (p: InstalledPackage) => string {
  const used = new Set<string>();
  return (p) => {
    const base = p.purl !== '' ? p.purl : `${p.type}:${p.name}@${p.version}`;
    let ref = base;
    if (used.has(ref)) ref = `${base}#${p.path}`;
    for (let n = 2; used.has(ref); n += 1) ref = `${base}#${p.path}#${n}`;
    used.add(ref);
    return ref;
  };
}

/** The library's model of the SBOM (before normalisation to a spec version). */
export function cycloneDxBom(inv: Inventory, subject: SbomSubject, opts: CycloneDxOptions = {}): Models.Bom {
  const serial = opts.serialNumber ?? randomUUID();
  const tool = opts.tool ?? wharfScannerTool;
  const bom = new Models.Bom({ serialNumber: serial.startsWith('urn:uuid:') ? serial : `urn:uuid:${serial}` });
  bom.metadata.timestamp = opts.now ?? new Date();
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, tool.name, { version: tool.version, publisher: tool.vendor }));
  const image = new Models.Component(Enums.ComponentType.Container, subject.repository, {
    version: subject.digest,
    bomRef: `${subject.repository}@${subject.digest}`,
  });
  if (subject.tag !== undefined) image.properties.add(new Models.Property(cdxProperty.tag, subject.tag));
  bom.metadata.component = image;

  if (inv.os !== null) {
    const os = new Models.Component(Enums.ComponentType.OperatingSystem, inv.os.family, {
      version: inv.os.version,
      description: inv.os.name,
      bomRef: `os:${inv.os.family}@${inv.os.version}`,
    });
    bom.components.add(os);
    image.dependencies.add(os.bomRef);
  }

  const refFor = refAllocator();
  for (const p of inv.packages) {
    const { group, name } = groupAndName(p);
    const c = new Models.Component(Enums.ComponentType.Library, name, {
      group,
      version: p.version,
      bomRef: refFor(p),
      purl: p.purl !== '' ? p.purl : undefined,
    });
    for (const l of licensesOf(p.licenses)) c.licenses.add(l);
    if (p.path !== '') c.properties.add(new Models.Property(cdxProperty.path, p.path));
    if (p.srcName !== undefined) c.properties.add(new Models.Property(cdxProperty.sourceName, p.srcName));
    if (p.srcVersion !== undefined) c.properties.add(new Models.Property(cdxProperty.sourceVersion, p.srcVersion));
    bom.components.add(c);
    image.dependencies.add(c.bomRef);
  }
  return bom;
}

/**
 * The CycloneDX JSON document of an image (an object: `JSON.stringify` it to store or serve).
 * Lists are sorted, so the same inventory, `now` and `serialNumber` give the same document.
 */
export function cycloneDxDocument(inv: Inventory, subject: SbomSubject, opts: CycloneDxOptions = {}): Record<string, unknown> {
  const spec = Spec.SpecVersionDict[specs[opts.specVersion ?? '1.6']];
  if (spec === undefined) throw new Error(`CycloneDX ${opts.specVersion ?? '1.6'} is not supported by the library`);
  const normalized = new Serialize.JSON.Normalize.Factory(spec).makeForBom().normalize(cycloneDxBom(inv, subject, opts), { sortLists: true });
  return { ...normalized };
}

/** One schema violation: where (a JSON pointer) and what. */
export interface CycloneDxIssue {
  path: string;
  message: string;
}

function issuesOf(err: unknown): CycloneDxIssue[] {
  if (!Array.isArray(err)) return [{ path: '', message: String(err) }];
  return err.map((e: unknown) => {
    const r = typeof e === 'object' && e !== null ? new Map(Object.entries(e)) : new Map<string, unknown>();
    return { path: String(r.get('instancePath') ?? ''), message: String(r.get('message') ?? JSON.stringify(e)) };
  });
}

/**
 * Validates a CycloneDX JSON document against the library's bundled (strict) schema of that
 * version: null when valid, else the violations.
 */
export async function validateCycloneDx(doc: unknown, specVersion: CycloneDxSpecVersion): Promise<CycloneDxIssue[] | null> {
  const err: unknown = await new Validation.JsonStrictValidator(specs[specVersion]).validate(JSON.stringify(doc));
  return err === null ? null : issuesOf(err);
}
