/**
 * rpm: the SQLite package database (`var/lib/rpm/rpmdb.sqlite`, `usr/lib/sysimage/rpm/rpmdb.sqlite`;
 * RHEL 9, Fedora 33+, Amazon Linux 2023). Each row of `Packages` is an rpm header without its
 * magic: `il` and `dl` (u32 big-endian), `il` 16-byte index entries (tag, type, offset, count),
 * then `dl` bytes of data. The BerkeleyDB (`Packages`, RHEL 8 and older) and NDB (`Packages.db`,
 * SUSE) formats are not read; such an image gets a warning instead of packages.
 */
import SQLite from 'better-sqlite3';
import type { FileAnalyzer, InstalledPackage } from './types.ts';
import { readAll } from './read-body.ts';
import { dedupePackages, osPurl } from './os-purl.ts';

export interface RpmPackage {
  name: string;
  /** `[epoch:]version-release` */
  version: string;
  srcName: string;
  srcVersion: string;
  arch?: string;
  license?: string;
}

/** The header fields the scanner uses. */
export interface RpmHeader {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  license?: string;
  arch?: string;
  sourceRpm?: string;
}

const TAG = { NAME: 1000, VERSION: 1001, RELEASE: 1002, EPOCH: 1003, LICENSE: 1014, ARCH: 1022, SOURCERPM: 1044 } as const;
const TYPE = { INT32: 4, STRING: 6, STRING_ARRAY: 8, I18NSTRING: 9 } as const;

const SQLITE_PATHS = ['var/lib/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/rpmdb.sqlite'];
const UNSUPPORTED_PATHS = [
  'var/lib/rpm/Packages',
  'usr/lib/sysimage/rpm/Packages',
  'var/lib/rpm/Packages.db',
  'usr/lib/sysimage/rpm/Packages.db',
];

/** Parses a header blob; null when it is malformed or lacks a name, version or release. */
export function parseRpmHeader(blob: Uint8Array): RpmHeader | null {
  if (blob.length < 8) return null;
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const il = view.getUint32(0);
  const dl = view.getUint32(4);
  const dataStart = 8 + il * 16;
  if (il > 0xffff || dataStart + dl > blob.length) return null;
  const dataEnd = dataStart + dl;
  const cString = (offset: number): string | undefined => {
    const start = dataStart + offset;
    if (offset < 0 || start >= dataEnd) return undefined;
    const end = blob.indexOf(0, start);
    if (end < 0 || end > dataEnd) return undefined;
    return Buffer.from(blob.buffer, blob.byteOffset + start, end - start).toString('utf8');
  };
  const strings = new Map<number, string>();
  let epoch: number | undefined;
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = view.getUint32(at);
    const type = view.getUint32(at + 4);
    const offset = view.getInt32(at + 8);
    const count = view.getUint32(at + 12);
    if (tag === TAG.EPOCH && type === TYPE.INT32 && count >= 1) {
      if (offset >= 0 && dataStart + offset + 4 <= dataEnd) epoch = view.getInt32(dataStart + offset);
      continue;
    }
    if (!Object.values(TAG).some((t) => t === tag)) continue;
    // STRING, or the first of an I18NSTRING / STRING_ARRAY.
    if (type !== TYPE.STRING && type !== TYPE.I18NSTRING && type !== TYPE.STRING_ARRAY) continue;
    const value = cString(offset);
    if (value !== undefined) strings.set(tag, value);
  }
  const name = strings.get(TAG.NAME);
  const version = strings.get(TAG.VERSION);
  const release = strings.get(TAG.RELEASE);
  if (!name || !version || release === undefined) return null;
  const header: RpmHeader = { name, version, release };
  if (epoch !== undefined) header.epoch = epoch;
  const license = strings.get(TAG.LICENSE);
  if (license) header.license = license;
  const arch = strings.get(TAG.ARCH);
  if (arch) header.arch = arch;
  const sourceRpm = strings.get(TAG.SOURCERPM);
  if (sourceRpm && sourceRpm !== '(none)') header.sourceRpm = sourceRpm;
  return header;
}

/** `openssl-3.0.7-27.el9.src.rpm` → name `openssl`, version `3.0.7`, release `27.el9`. */
export function parseSourceRpm(file: string): { name: string; version: string; release: string } | null {
  const base = file.replace(/\.(no)?src\.rpm$/, '');
  const lastDash = base.lastIndexOf('-');
  const secondDash = lastDash > 0 ? base.lastIndexOf('-', lastDash - 1) : -1;
  if (secondDash <= 0) return null;
  return { name: base.slice(0, secondDash), version: base.slice(secondDash + 1, lastDash), release: base.slice(lastDash + 1) };
}

/** The package an rpm header describes; null for gpg-pubkey pseudo-packages. */
export function rpmPackage(header: RpmHeader): RpmPackage | null {
  if (header.name === 'gpg-pubkey') return null;
  const epochPrefix = header.epoch ? `${header.epoch}:` : '';
  const version = `${epochPrefix}${header.version}-${header.release}`;
  const source = header.sourceRpm ? parseSourceRpm(header.sourceRpm) : null;
  const pkg: RpmPackage = {
    name: header.name,
    version,
    srcName: source?.name ?? header.name,
    srcVersion: source ? `${epochPrefix}${source.version}-${source.release}` : version,
  };
  if (header.arch) pkg.arch = header.arch;
  if (header.license) pkg.license = header.license;
  return pkg;
}

/** Reads every package of an rpmdb.sqlite held in memory. */
export function readRpmSqlite(bytes: Buffer): RpmPackage[] {
  // A database left in WAL mode (header bytes 18-19 = 2) cannot be opened from memory; the WAL
  // file is not part of the copy anyway, so read it as a rollback-journal database.
  if (bytes.length > 19 && bytes[18] === 2 && bytes[19] === 2) {
    bytes[18] = 1;
    bytes[19] = 1;
  }
  const db = new SQLite(bytes, { readonly: true });
  try {
    const out: RpmPackage[] = [];
    for (const row of db.prepare('SELECT blob FROM Packages').iterate()) {
      const blob: unknown = typeof row === 'object' && row !== null && 'blob' in row ? row.blob : null;
      if (!(blob instanceof Uint8Array)) continue;
      const header = parseRpmHeader(blob);
      const pkg = header ? rpmPackage(header) : null;
      if (pkg) out.push(pkg);
    }
    return out;
  } finally {
    db.close();
  }
}

export const rpmAnalyzer: FileAnalyzer<RpmPackage[]> = {
  name: 'rpm',
  paths: [...SQLITE_PATHS, ...UNSUPPORTED_PATHS],
  wants(entry) {
    return SQLITE_PATHS.includes(entry.path) || UNSUPPORTED_PATHS.includes(entry.path);
  },
  async read(entry, body) {
    if (!SQLITE_PATHS.includes(entry.path)) {
      throw new Error('BerkeleyDB and NDB rpm databases are not supported; no rpm packages read');
    }
    const packages = readRpmSqlite(await readAll(body));
    return packages.length > 0 ? packages : null;
  },
  collect(results, os) {
    const withPath = [...results].map(([path, list]) => list.map((pkg) => ({ ...pkg, path })));
    return dedupePackages(withPath).map((pkg): InstalledPackage => {
      const out: InstalledPackage = {
        type: 'rpm',
        name: pkg.name,
        version: pkg.version,
        srcName: pkg.srcName,
        srcVersion: pkg.srcVersion,
        licenses: pkg.license ? [pkg.license] : [],
        path: pkg.path,
        purl: osPurl({ type: 'rpm', name: pkg.name, version: pkg.version, arch: pkg.arch }, os),
      };
      if (pkg.arch) out.arch = pkg.arch;
      return out;
    });
  },
};
