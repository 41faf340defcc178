/**
 * The built-in scanner's image analysis: what it reads from an image and what it finds. The
 * analyzer streams each layer once (gzip, zstd or plain tar), applies whiteouts, and hands the
 * files that some {@link FileAnalyzer} wants to it while streaming; only the analyzers' small
 * results are kept, never a layer. After the last layer, each analyzer turns the merged results
 * (whiteouts applied) into packages.
 */
import type { Readable } from 'node:stream';
import type { BlobFile } from './layer-walker.ts';

export type { BlobFile };

/** The operating system of an image, from /etc/os-release and its fallbacks. */
export interface OsInfo {
  /** debian, ubuntu, alpine, rhel, centos, rocky, almalinux, fedora, ol, amzn, opensuse-leap, sles, photon, wolfi, chainguard, azurelinux, mariner, ... */
  family: string;
  /** The release as the distribution writes it: `12.5` (Debian), `22.04` (Ubuntu), `3.20.3` (Alpine), `9.3` (Rocky). */
  version: string;
  /** PRETTY_NAME or NAME when the image has one, else `<family> <version>`. */
  name: string;
}

/** purl types Wharf emits and matches. */
export type PackageType = 'deb' | 'apk' | 'rpm' | 'npm' | 'pypi' | 'golang' | 'maven';

/** One installed package. */
export interface InstalledPackage {
  type: PackageType;
  /** The binary package name (OS packages), the npm name (`@scope/x`), the Python project name as written, the Go module path, `group:artifact` for Maven. */
  name: string;
  /** The full version as the package manager writes it: deb `[epoch:]upstream[-revision]`, apk `1.2.3-r0`, rpm `[epoch:]version-release`, npm/semver, PEP 440, Go `v1.2.3`, Maven. */
  version: string;
  /** OS packages: the source package (dpkg `Source:`, apk origin `o:`, rpm SOURCERPM name); advisories are keyed by it. */
  srcName?: string;
  /** OS packages: the source package's version when it differs (dpkg `Source: name (version)`); else the package's own. */
  srcVersion?: string;
  arch?: string;
  /** Declared licenses, as written (SPDX expressions where the package manager has them). */
  licenses: string[];
  /** The file it was read from, without a leading `/` (`var/lib/dpkg/status`, `usr/app/node_modules/x/package.json`). */
  path: string;
  /** Package URL as Trivy writes it (see docs/scanning.md): `pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.5`. */
  purl: string;
}

/** What an image holds. */
export interface Inventory {
  /** null when no OS was detected (scratch, distroless static): not an error. */
  os: OsInfo | null;
  packages: InstalledPackage[];
  /** Layers read and their compressed bytes, for the log and the benchmarks. */
  layers: number;
  compressedBytes: number;
  /** What was skipped and why (an analyzer that failed on a file, a file over the size cap, an unsupported database). */
  warnings?: string[];
}

/** An image as the analyzer reads it. */
export interface ImageSource {
  /** Layer descriptors in manifest order (= rootfs.diff_ids order). */
  layers: Array<{ digest: string; mediaType: string; size: number }>;
  /**
   * Opens a blob's bytes as a stream (from the registry over HTTP, or from a blob store), or as a
   * {@link BlobFile} when they are a file on this machine (Wharf's filesystem store, in-process).
   */
  openBlob(digest: string, signal?: AbortSignal): Promise<Readable | BlobFile>;
}

/** A file entry seen while streaming a layer. */
export interface FileEntry {
  /** Path without a leading `/` or `./`, e.g. `var/lib/dpkg/status`. */
  path: string;
  size: number;
  /** Unix mode bits (executables: mode & 0o111). */
  mode: number;
}

/**
 * One kind of package or OS detection. `wants` is asked for every regular file of every layer;
 * when it says yes, `read` gets that file's bytes as a stream (read them or not; the walker
 * drains the rest) and returns a small result (or null for nothing found). Results are merged
 * across layers by path (an upper layer's file replaces a lower one's; a whiteout removes it),
 * then `collect` turns the surviving results into packages.
 */
export interface FileAnalyzer<R = unknown> {
  name: string;
  /**
   * The exact paths this analyzer reads, when it has a fixed list. Optional: with it, a wanted
   * path reached through a directory symlink (`var/lib/rpm -> ../../usr/lib/sysimage/rpm`) is
   * found too. Links at a wanted path itself are followed either way.
   */
  paths?: readonly string[];
  wants(entry: FileEntry): boolean;
  read(entry: FileEntry, body: Readable): Promise<R | null>;
  collect(results: Map<string, R>, os: OsInfo | null): InstalledPackage[];
}
