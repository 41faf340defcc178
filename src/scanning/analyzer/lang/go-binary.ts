/**
 * Go binaries: every executable (an executable bit, or a file in a `bin`/`sbin` folder) of at
 * least {@link GO_MIN_SIZE} bytes is streamed through {@link GoBuildInfoScanner}; the main
 * module, each dependency and the standard library (`stdlib` at the Go version) are reported.
 */
import type { Readable } from 'node:stream';
import { PackageURL } from 'packageurl-js';
import type { FileAnalyzer, FileEntry, InstalledPackage } from '../types.ts';
import { type GoBuildInfo, GoBuildInfoScanner } from './go-buildinfo.ts';
import { consume } from './read-stream.ts';

/** Smaller files are not read: the smallest Go executables are over a megabyte. */
export const GO_MIN_SIZE = 256 * 1024;

/** True for a file that may be a Go executable. */
export function isCandidateExecutable(entry: FileEntry): boolean {
  if (entry.size < GO_MIN_SIZE) return false;
  if ((entry.mode & 0o111) !== 0) return true;
  const dirs = entry.path.split('/').slice(0, -1);
  return dirs.includes('bin') || dirs.includes('sbin');
}

/** `pkg:golang/<module path>@<version>`; the last path element is the purl name. */
export function golangPurl(module: string, version: string): string {
  const slash = module.lastIndexOf('/');
  const namespace = slash > 0 ? module.slice(0, slash) : undefined;
  const name = slash > 0 ? module.slice(slash + 1) : module;
  return new PackageURL('golang', namespace, name, version, undefined, undefined).toString();
}

/** The standard library's version: `go1.22.1 X:boringcrypto` → `1.22.1`; null for devel toolchains. */
export function stdlibVersion(goVersion: string): string | null {
  if (!goVersion.startsWith('go')) return null;
  const v = goVersion.slice(2).split(' ')[0] ?? '';
  return v === '' ? null : v;
}

/** The packages one binary's build info names: the main module, its dependencies, stdlib. */
export function goPackages(path: string, info: GoBuildInfo): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  const add = (name: string, version: string): void => {
    out.push({ type: 'golang', name, version, licenses: [], path, purl: golangPurl(name, version) });
  };
  // `(devel)` is a module built from a work tree; an empty version is a local replacement.
  const real = (version: string): boolean => version !== '' && version !== '(devel)';
  if (info.main !== null && real(info.main.version)) add(info.main.path, info.main.version);
  for (const dep of info.deps) if (real(dep.version)) add(dep.path, dep.version);
  const std = stdlibVersion(info.goVersion);
  if (std !== null) add('stdlib', std);
  return out;
}

/** Streams a file through the build-info scanner, keeping at most one chunk and a short tail. */
export async function readGoBuildInfo(body: Readable): Promise<GoBuildInfo | null> {
  const scanner = new GoBuildInfoScanner();
  await consume(body, (chunk) => scanner.push(chunk));
  return scanner.end();
}

/** The Go binary analyzer. */
export function goBinaryAnalyzer(): FileAnalyzer<GoBuildInfo> {
  return {
    name: 'gobinary',
    wants: isCandidateExecutable,
    read(_entry: FileEntry, body: Readable): Promise<GoBuildInfo | null> {
      return readGoBuildInfo(body);
    },
    collect(results: Map<string, GoBuildInfo>): InstalledPackage[] {
      return [...results].flatMap(([path, info]) => goPackages(path, info));
    },
  };
}
