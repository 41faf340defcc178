/**
 * OS detection from the release files an image carries: `etc/os-release` (or
 * `usr/lib/os-release`) for the RPM, apk and other distributions, `etc/alpine-release`,
 * `etc/debian_version`, and `etc/lsb-release` for Ubuntu (which also ships a debian_version and
 * must win over it). Debian is taken from debian_version, with os-release's VERSION_ID as the
 * fallback. No release file means no OS, which is not an error (scratch, static Go images).
 */
import type { FileAnalyzer, OsInfo } from './types.ts';
import { readText } from './read-body.ts';

/** One release file, parsed. */
export interface OsFile {
  kind: 'os-release' | 'alpine-release' | 'debian_version' | 'lsb-release';
  /** KEY=value files: their keys; one-line files: `{ LINE: first line }`. */
  fields: Record<string, string>;
}

const FILES: Record<string, OsFile['kind']> = {
  'etc/os-release': 'os-release',
  'usr/lib/os-release': 'os-release',
  'etc/alpine-release': 'alpine-release',
  'etc/debian_version': 'debian_version',
  'etc/lsb-release': 'lsb-release',
};

const LONGEST_FILE = Math.max(...Object.keys(FILES).map((path) => path.length));

/** os-release IDs detected from os-release itself (Debian and Ubuntu have their own files). */
const OS_RELEASE_IDS = new Set([
  'alpine',
  'rhel',
  'centos',
  'rocky',
  'almalinux',
  'ol',
  'fedora',
  'opensuse-leap',
  'opensuse-tumbleweed',
  'sles',
  'photon',
  'wolfi',
  'chainguard',
  'azurelinux',
  'mariner',
  'amzn',
]);

/** Release files are a few hundred bytes; anything much larger is not one. */
const MAX_RELEASE_FILE = 64 * 1024;

/** Parses `KEY=value` lines (values optionally in single or double quotes); `#` lines are comments. */
export function parseKeyValues(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    fields[key] = value;
  }
  return fields;
}

/** Parses one release file's text by kind. */
export function parseOsFile(kind: OsFile['kind'], text: string): OsFile {
  if (kind === 'alpine-release' || kind === 'debian_version') {
    return { kind, fields: { LINE: (text.split('\n')[0] ?? '').trim() } };
  }
  return { kind, fields: parseKeyValues(text) };
}

export const osReleaseAnalyzer: FileAnalyzer<OsFile> = {
  name: 'os-release',
  paths: Object.keys(FILES),
  wants(entry) {
    // Asked of every entry of every layer: the length check spares hashing long paths.
    return entry.path.length <= LONGEST_FILE && Object.hasOwn(FILES, entry.path);
  },
  async read(entry, body) {
    const kind = FILES[entry.path];
    if (!kind) return null;
    return parseOsFile(kind, await readText(body, MAX_RELEASE_FILE));
  },
  collect() {
    return [];
  },
};

function isOsFile(value: unknown): value is OsFile {
  return typeof value === 'object' && value !== null && 'kind' in value && 'fields' in value;
}

function info(family: string, version: string, release: Record<string, string> | undefined): OsInfo {
  const name = release?.PRETTY_NAME || release?.NAME || `${family} ${version}`;
  return { family, version, name };
}

/**
 * The image's OS from its parsed release files (path → {@link OsFile}), or null. Precedence:
 * Ubuntu's lsb-release, then an os-release ID of the list above, then alpine-release, then Debian
 * (debian_version when numeric, else os-release's VERSION_ID, else debian_version as written).
 */
export function detectOs(results: ReadonlyMap<string, unknown>): OsInfo | null {
  const file = (path: string): Record<string, string> | undefined => {
    const value = results.get(path);
    return isOsFile(value) ? value.fields : undefined;
  };
  const release = file('etc/os-release') ?? file('usr/lib/os-release');
  const id = release?.ID?.toLowerCase() ?? '';
  const versionId = release?.VERSION_ID ?? '';

  const lsb = file('etc/lsb-release');
  if (lsb?.DISTRIB_ID?.toLowerCase() === 'ubuntu' && lsb.DISTRIB_RELEASE) {
    return info('ubuntu', lsb.DISTRIB_RELEASE, id === 'ubuntu' ? release : { NAME: lsb.DISTRIB_DESCRIPTION ?? '' });
  }
  if (OS_RELEASE_IDS.has(id) && versionId !== '') return info(id, versionId, release);

  const alpine = file('etc/alpine-release')?.LINE;
  if (alpine) return info('alpine', alpine, id === 'alpine' ? release : undefined);

  const debian = file('etc/debian_version')?.LINE;
  if (debian !== undefined || id === 'debian') {
    const version = debian && /^\d+(\.\d+)*$/.test(debian) ? debian : versionId || debian || '';
    if (version !== '') return info('debian', version, id === 'debian' ? release : undefined);
  }
  if (id === 'ubuntu' && versionId !== '') return info('ubuntu', versionId, release);
  return null;
}
