/**
 * Java archives (`.jar`, `.war`, `.ear`): each `META-INF/maven/<g>/<a>/pom.properties` names a
 * package; without one, `META-INF/MANIFEST.MF` does when it gives the group
 * (`Implementation-Vendor-Id`) and the version and the file is named `<artifact>-<version>.jar`.
 * Jars nested in `BOOT-INF/lib/`, `WEB-INF/lib/` (and an ear's modules) are read the same way.
 * An archive is buffered up to {@link JAVA_ARCHIVE_CAP}; only the entries needed are inflated, up to
 * {@link JAVA_INFLATE_CAP} in all.
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { lazyModule } from '../../../platform/index.ts';
import { PackageURL } from 'packageurl-js';
import type { FileAnalyzer, FileEntry, InstalledPackage } from '../types.ts';
import { readCapped } from './read-stream.ts';

/** fflate, loaded by the first Java archive read (platform/lazy-module.ts). */
const fflate = lazyModule<typeof import('fflate')>('fflate');

/** An archive larger than this is skipped. */
export const JAVA_ARCHIVE_CAP = 64 * 1024 * 1024;
/** What one archive's reading inflates (metadata and nested archives, at every level) in all. */
export const JAVA_INFLATE_CAP = 64 * 1024 * 1024;
/** Jars in jars in jars: no deeper. */
const MAX_NESTING = 2;
/** pom.properties and MANIFEST.MF larger than this are ignored. */
const MAX_METADATA_SIZE = 1024 * 1024;

/** A Maven artifact. */
export interface MavenCoordinates {
  groupId: string;
  artifactId: string;
  version: string;
}

const ARCHIVE = /\.(jar|war|ear)$/i;
const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;
const LIB_JAR = /^(BOOT-INF|WEB-INF)\/lib\/[^/]+\.jar$/i;
const EAR_MODULE = /\.(jar|war)$/i;

/** True for `.jar`, `.war` and `.ear` files. */
export function isJavaArchive(path: string): boolean {
  return ARCHIVE.test(path);
}

/** `key=value` (or `key: value`) lines; `#` and `!` start comments. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m?.[1] !== undefined) out.set(m[1], (m[2] ?? '').trim());
  }
  return out;
}

/** The coordinates of a pom.properties, or null when one of the three is missing. */
export function parsePomProperties(text: string): MavenCoordinates | null {
  const p = parseProperties(text);
  const groupId = p.get('groupId') ?? '';
  const artifactId = p.get('artifactId') ?? '';
  const version = p.get('version') ?? '';
  return groupId && artifactId && version ? { groupId, artifactId, version } : null;
}

/** A manifest's main section: `Name: value`, continuation lines start with one space. */
export function parseManifest(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (line.startsWith(' ') && last !== null) {
      out.set(last, (out.get(last) ?? '') + line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim();
    out.set(last, line.slice(colon + 1).trim());
  }
  return out;
}

/**
 * Coordinates from a manifest, only when they are certain: the group from
 * `Implementation-Vendor-Id` (which Maven's archiver sets to the groupId), the version from
 * `Implementation-Version` (else `Bundle-Version`), and the artifact from a file name
 * `<artifact>-<version>.<ext>` with that version. Titles and symbolic names are not artifact ids.
 */
export function manifestCoordinates(text: string, fileName: string): MavenCoordinates | null {
  const m = parseManifest(text);
  const groupId = m.get('Implementation-Vendor-Id') ?? '';
  const version = m.get('Implementation-Version') || m.get('Bundle-Version') || '';
  const stem = fileName.replace(ARCHIVE, '');
  const suffix = `-${version}`;
  if (!groupId || !version || !stem.endsWith(suffix) || stem.length === suffix.length) return null;
  return { groupId, artifactId: stem.slice(0, -suffix.length), version };
}

/** Bytes left to inflate for one top-level archive, shared by the archives inside it. */
interface InflateBudget {
  left: number;
}

/**
 * The Maven artifacts an archive (and the archives inside it) holds; an unreadable zip holds none.
 * Entries are inflated only while the shared budget lasts, so a zip bomb costs at most the budget.
 */
export function readJavaArchive(
  data: Uint8Array,
  fileName: string,
  depth = 0,
  budget: InflateBudget = { left: JAVA_INFLATE_CAP },
): MavenCoordinates[] {
  const isEar = /\.ear$/i.test(fileName);
  let files: Record<string, Uint8Array>;
  try {
    files = fflate().unzipSync(data, {
      filter: (f) => {
        const metadata = f.name === 'META-INF/MANIFEST.MF' || POM_PROPERTIES.test(f.name);
        const nested = depth < MAX_NESTING && (LIB_JAR.test(f.name) || (isEar && EAR_MODULE.test(f.name)));
        if (!(metadata && f.originalSize <= MAX_METADATA_SIZE) && !nested) return false;
        if (f.originalSize > budget.left) return false;
        budget.left -= f.originalSize;
        return true;
      },
    });
  } catch {
    return [];
  }
  const out: MavenCoordinates[] = [];
  const text = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  for (const [name, bytes] of Object.entries(files)) {
    if (!POM_PROPERTIES.test(name)) continue;
    const c = parsePomProperties(text(bytes));
    if (c !== null) out.push(c);
  }
  const manifest = files['META-INF/MANIFEST.MF'];
  if (out.length === 0 && manifest !== undefined) {
    const c = manifestCoordinates(text(manifest), fileName);
    if (c !== null) out.push(c);
  }
  for (const [name, bytes] of Object.entries(files)) {
    if (name === 'META-INF/MANIFEST.MF' || POM_PROPERTIES.test(name)) continue;
    out.push(...readJavaArchive(bytes, posix.basename(name), depth + 1, budget));
  }
  return dedupe(out);
}

function dedupe(list: MavenCoordinates[]): MavenCoordinates[] {
  const seen = new Set<string>();
  return list.filter((c) => {
    const key = `${c.groupId}:${c.artifactId}@${c.version}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `pkg:maven/<group>/<artifact>@<version>` */
export function mavenPurl(c: MavenCoordinates): string {
  return new PackageURL('maven', c.groupId, c.artifactId, c.version, undefined, undefined).toString();
}

/** The Java archive analyzer. */
export function javaAnalyzer(): FileAnalyzer<MavenCoordinates[]> {
  return {
    name: 'jar',
    wants(entry: FileEntry): boolean {
      return isJavaArchive(entry.path);
    },
    async read(entry: FileEntry, body: Readable): Promise<MavenCoordinates[] | null> {
      if (entry.size > JAVA_ARCHIVE_CAP) return null;
      const data = await readCapped(body, JAVA_ARCHIVE_CAP);
      if (data === null) return null;
      const found = readJavaArchive(data, posix.basename(entry.path));
      return found.length > 0 ? found : null;
    },
    collect(results: Map<string, MavenCoordinates[]>): InstalledPackage[] {
      return [...results].flatMap(([path, list]) =>
        list.map((c) => ({
          type: 'maven' as const,
          name: `${c.groupId}:${c.artifactId}`,
          version: c.version,
          licenses: [],
          path,
          purl: mavenPurl(c),
        })),
      );
    },
  };
}
