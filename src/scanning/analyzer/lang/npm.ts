/**
 * npm packages: each `node_modules/<name>/package.json` and `node_modules/@scope/<name>/package.json`
 * directly under the last `node_modules/` of its path, and `package-lock.json` files (v1 nested
 * `dependencies`; v2/v3 `packages`). A package found both ways at the same location is reported
 * once, from its package.json.
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { PackageURL } from 'packageurl-js';
import semver from 'semver';
import type { FileAnalyzer, FileEntry, InstalledPackage } from '../types.ts';
import { readCapped } from './read-stream.ts';

/** A package.json is read whole up to this size; a larger one is skipped. */
export const NPM_MANIFEST_CAP = 1024 * 1024;
/** A package-lock.json is read whole up to this size; a larger one is skipped. */
export const NPM_LOCKFILE_CAP = 16 * 1024 * 1024;

/** One package a file names; `location` is its folder relative to that file's folder. */
export interface NpmEntry {
  location: string;
  name: string;
  version: string;
  licenses: string[];
}

/** What the npm analyzer keeps of one file. */
export interface NpmResult {
  kind: 'package' | 'lock';
  packages: NpmEntry[];
}

/** True for `…/node_modules/<name>/package.json` and `…/node_modules/@scope/<name>/package.json`. */
export function isNodeModulesManifest(path: string): boolean {
  if (!path.endsWith('package.json')) return false;
  const parts = path.split('/');
  if (parts[parts.length - 1] !== 'package.json') return false;
  const last = parts.lastIndexOf('node_modules');
  if (last < 0) return false;
  const rest = parts.slice(last + 1, -1);
  const [first, second] = rest;
  if (rest.length === 1) return isNameSegment(first) && !first.startsWith('@');
  if (rest.length === 2) return isNameSegment(first) && first.length > 1 && first.startsWith('@') && isNameSegment(second);
  return false;
}

function isNameSegment(s: string | undefined): s is string {
  return s !== undefined && s.length > 0 && !s.startsWith('.');
}

/** True for a package-lock.json that is not inside node_modules (a dependency's own lockfile says nothing about what is installed). */
export function isLockfile(path: string): boolean {
  if (!path.endsWith('package-lock.json')) return false;
  const parts = path.split('/');
  return parts[parts.length - 1] === 'package-lock.json' && !parts.includes('node_modules');
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string): Json | undefined {
  try {
    // JSON.parse returns JSON values only, which is what Json describes.
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

/** `license` as a string or `{type}`, or the legacy `licenses: [{type}]`. */
export function npmLicenses(pkg: JsonObject): string[] {
  const out: string[] = [];
  const one = (v: Json | undefined): void => {
    if (typeof v === 'string' && v.trim() !== '') out.push(v.trim());
    else if (isObject(v) && typeof v.type === 'string' && v.type.trim() !== '') out.push(v.type.trim());
  };
  one(pkg.license);
  if (Array.isArray(pkg.licenses)) for (const l of pkg.licenses) one(l);
  return out;
}

/** The package a package.json describes, or null without a name and version. */
export function parsePackageJson(text: string): NpmEntry | null {
  const pkg = parseJson(text);
  if (!isObject(pkg)) return null;
  const { name, version } = pkg;
  if (typeof name !== 'string' || name === '' || typeof version !== 'string' || version === '') return null;
  return { location: '', name, version, licenses: npmLicenses(pkg) };
}

/**
 * The installed packages a package-lock.json lists: v2/v3 `packages` (or v1 nested `dependencies`),
 * without the root, workspace links, dev dependencies and versions that are not semver (git, file:).
 */
export function parsePackageLock(text: string): NpmEntry[] {
  const lock = parseJson(text);
  if (!isObject(lock)) return [];
  const out: NpmEntry[] = [];
  if (isObject(lock.packages)) {
    for (const [key, entry] of Object.entries(lock.packages)) {
      const at = key.lastIndexOf('node_modules/');
      if (key === '' || at < 0 || !isObject(entry)) continue;
      if (entry.link === true || entry.dev === true) continue;
      // An alias (`"node_modules/x": {"name": "y"}`) installs y under the folder x.
      const name = typeof entry.name === 'string' ? entry.name : key.slice(at + 'node_modules/'.length);
      const version = typeof entry.version === 'string' ? entry.version : '';
      if (name === '' || semver.valid(version) === null) continue;
      out.push({ location: key, name, version, licenses: npmLicenses(entry) });
    }
    return out;
  }
  // v1: nested `dependencies`, each installed under its parent's node_modules. Walked with an
  // explicit stack, so a deep file cannot overflow the call stack.
  const stack: Array<{ deps: Json | undefined; parent: string }> = [{ deps: lock.dependencies, parent: '' }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (!isObject(item.deps)) continue;
    for (const [folder, dep] of Object.entries(item.deps)) {
      if (!isObject(dep)) continue;
      const location = `${item.parent}node_modules/${folder}`;
      stack.push({ deps: dep.dependencies, parent: `${location}/` });
      if (dep.dev === true) continue;
      let name = folder;
      let version = typeof dep.version === 'string' ? dep.version : '';
      // An alias is written `npm:real-name@1.2.3`.
      if (version.startsWith('npm:')) {
        const spec = version.slice(4);
        const at = spec.lastIndexOf('@');
        if (at > 0) {
          name = spec.slice(0, at);
          version = spec.slice(at + 1);
        }
      }
      if (semver.valid(version) === null) continue;
      out.push({ location, name, version, licenses: [] });
    }
  }
  return out;
}

/** `pkg:npm/%40scope/name@1.2.3` */
export function npmPurl(name: string, version: string): string {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  const namespace = slash > 0 ? name.slice(0, slash) : undefined;
  const bare = slash > 0 ? name.slice(slash + 1) : name;
  return new PackageURL('npm', namespace, bare, version, undefined, undefined).toString();
}

/** The npm analyzer. */
export function npmAnalyzer(): FileAnalyzer<NpmResult> {
  return {
    name: 'npm',
    wants(entry: FileEntry): boolean {
      return isNodeModulesManifest(entry.path) || isLockfile(entry.path);
    },
    async read(entry: FileEntry, body: Readable): Promise<NpmResult | null> {
      if (isLockfile(entry.path)) {
        const bytes = await readCapped(body, NPM_LOCKFILE_CAP);
        if (bytes === null) return null;
        const packages = parsePackageLock(bytes.toString('utf8'));
        return packages.length > 0 ? { kind: 'lock', packages } : null;
      }
      const bytes = await readCapped(body, NPM_MANIFEST_CAP);
      if (bytes === null) return null;
      const pkg = parsePackageJson(bytes.toString('utf8'));
      return pkg === null ? null : { kind: 'package', packages: [pkg] };
    },
    collect(results: Map<string, NpmResult>): InstalledPackage[] {
      const seen = new Set<string>();
      const out: InstalledPackage[] = [];
      // package.json files first, so a lockfile entry for the same folder is the duplicate.
      const ordered = [...results].sort(([, a], [, b]) => (a.kind === b.kind ? 0 : a.kind === 'package' ? -1 : 1));
      for (const [path, result] of ordered) {
        const dir = posix.dirname(path);
        for (const p of result.packages) {
          const location = p.location === '' ? dir : posix.join(dir, p.location);
          const key = `${location}\0${p.name}\0${p.version}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({
            type: 'npm',
            name: p.name,
            version: p.version,
            licenses: p.licenses,
            path,
            purl: npmPurl(p.name, p.version),
          });
        }
      }
      return out;
    },
  };
}
