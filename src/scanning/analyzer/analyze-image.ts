/**
 * analyzeImage: reads an image's layers once each, in manifest order, into a merged tree that
 * keeps only the analyzers' small results; then resolves links at wanted paths, detects the OS
 * and lets each analyzer turn its surviving results into packages.
 *
 * A file reached through a link whose target no analyzer asked for while streaming (say
 * `lib/apk/db/installed -> ../../etc/apk/installed`) is read in a second, targeted pass over the
 * one layer that holds the target. That pass happens only for such links.
 */
import { PassThrough } from 'node:stream';
import type { FileAnalyzer, FileEntry, ImageSource, InstalledPackage, Inventory } from './types.ts';
import { MergedTree } from './merged-tree.ts';
import { walkLayer, type EntryBody, type LayerEntry } from './layer-walker.ts';
import { DEFAULT_MAX_FILE_BYTES } from './read-body.ts';
import { detectOs, osReleaseAnalyzer } from './os-release.ts';
import { defaultAnalyzers } from './default-analyzers.ts';

export interface AnalyzeOptions {
  signal?: AbortSignal;
  /** The package analyzers to run; default {@link defaultAnalyzers}. OS detection always runs. */
  analyzers?: FileAnalyzer[];
  /** Files larger than this are not handed to analyzers (a warning says so). */
  maxFileBytes?: number;
}

/** Top-level folders the analyzer never records (pseudo file systems in a build's snapshot). */
const SKIPPED_ROOTS = new Set(['proc', 'sys', 'dev']);

function isSkippedPath(path: string): boolean {
  const slash = path.indexOf('/');
  return SKIPPED_ROOTS.has(slash < 0 ? path : path.slice(0, slash));
}

/** Foreign (Windows base) and nondistributable layers live elsewhere and are not scanned. */
export function isScannableLayer(mediaType: string): boolean {
  return !mediaType.includes('foreign') && !mediaType.includes('nondistributable');
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves when `out` can take more bytes or is gone (its reader returned or failed). */
async function waitWritable(out: PassThrough): Promise<void> {
  if (out.destroyed) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

/**
 * Hands one file body to several analyzers at once (a tee with back-pressure: the slowest reader
 * sets the pace). An analyzer that returns early or fails stops receiving; the rest of the body
 * still flows to the others.
 */
async function readWith(
  readers: ReadonlyArray<{ index: number; analyzer: FileAnalyzer; entry: FileEntry }>,
  body: EntryBody,
  warnings: string[],
  signal: AbortSignal | undefined,
): Promise<Map<number, unknown>> {
  const outs = readers.map(() => new PassThrough());
  const reads = readers.map(async ({ index, analyzer, entry }, k) => {
    const out = outs[k] ?? new PassThrough();
    try {
      return { index, result: await analyzer.read(entry, out) };
    } catch (err) {
      if (signal?.aborted) throw err;
      warnings.push(`${analyzer.name}: ${entry.path}: ${message(err)}`);
      return { index, result: null };
    } finally {
      out.destroy();
    }
  });
  const pump = (async () => {
    try {
      for await (const raw of body) {
        const chunk = raw instanceof Uint8Array ? raw : Buffer.from(String(raw));
        for (const out of outs) {
          if (!out.destroyed && !out.write(chunk)) await waitWritable(out);
        }
      }
      for (const out of outs) if (!out.destroyed) out.end();
    } catch (err) {
      for (const out of outs) out.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  })();
  const [settled] = await Promise.all([Promise.all(reads), pump]);
  const results = new Map<number, unknown>();
  for (const { index, result } of settled) if (result !== null && result !== undefined) results.set(index, result);
  return results;
}

/** A read of one file for one analyzer in the second pass, stored under the link's path. */
interface LinkRead {
  index: number;
  linkPath: string;
  targetPath: string;
}

export async function analyzeImage(src: ImageSource, opts: AnalyzeOptions = {}): Promise<Inventory> {
  const { signal } = opts;
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  // Index 0 is OS detection; its results feed detectOs, not collect.
  const analyzers: FileAnalyzer[] = [osReleaseAnalyzer, ...(opts.analyzers ?? defaultAnalyzers())];
  const tree = new MergedTree();
  const warnings: string[] = [];
  const scanned = src.layers.map((layer, position) => ({ layer, position })).filter(({ layer }) => isScannableLayer(layer.mediaType));
  let compressedBytes = 0;

  const readersFor = (entry: FileEntry, only?: (index: number) => boolean) => {
    const readers: Array<{ index: number; analyzer: FileAnalyzer; entry: FileEntry }> = [];
    analyzers.forEach((analyzer, index) => {
      if ((only === undefined || only(index)) && analyzer.wants(entry)) readers.push({ index, analyzer, entry });
    });
    if (readers.length > 0 && entry.size > maxFileBytes) {
      warnings.push(`${entry.path}: ${entry.size} bytes is over the ${maxFileBytes}-byte cap; not analyzed`);
      return [];
    }
    return readers;
  };

  for (const { layer, position } of scanned) {
    const visit = async (entry: LayerEntry, body: EntryBody): Promise<void> => {
      if (isSkippedPath(entry.path)) return;
      switch (entry.type) {
        case 'whiteout':
          tree.whiteout(entry.path, position);
          return;
        case 'opaque':
          tree.opaque(entry.path, position);
          return;
        case 'dir':
          tree.set(entry.path, position, { kind: 'dir', mode: entry.mode });
          return;
        case 'symlink':
        case 'hardlink':
          tree.set(entry.path, position, { kind: entry.type, mode: entry.mode, target: entry.linkname ?? '' });
          return;
        case 'other':
          tree.set(entry.path, position, { kind: 'file', mode: entry.mode });
          return;
        case 'file': {
          const node = tree.set(entry.path, position, { kind: 'file', size: entry.size, mode: entry.mode });
          const readers = readersFor({ path: entry.path, size: entry.size, mode: entry.mode });
          if (readers.length === 0) return;
          const results = await readWith(readers, body, warnings, signal);
          if (results.size > 0) node.results = results;
          return;
        }
      }
    };
    const blob = await src.openBlob(layer.digest, signal);
    const walked = await walkLayer(blob, visit, signal);
    compressedBytes += walked.compressedBytes;
  }

  // Links at wanted paths (and wanted paths under directory links) whose target no analyzer
  // read: plan a targeted read of the layer that wrote the target.
  const candidates = new Set<string>();
  for (const [path, node] of tree.walk()) if (node.kind === 'symlink' || node.kind === 'hardlink') candidates.add(path);
  for (const analyzer of analyzers) for (const path of analyzer.paths ?? []) candidates.add(path);
  const plan = new Map<number, LinkRead[]>();
  const planned = new Set<string>();
  for (const linkPath of candidates) {
    if (tree.get(linkPath)?.kind === 'file') continue;
    const resolved = tree.resolve(linkPath);
    if (!resolved || resolved.node.kind !== 'file' || resolved.path === linkPath) continue;
    const target = resolved.node;
    analyzers.forEach((analyzer, index) => {
      const asLink: FileEntry = { path: linkPath, size: target.size, mode: target.mode };
      if (!analyzer.wants(asLink)) return;
      if (analyzer.wants({ path: resolved.path, size: target.size, mode: target.mode })) return; // read already
      const key = `${index}\u0000${resolved.path}`;
      if (planned.has(key)) return;
      planned.add(key);
      const reads = plan.get(target.layer) ?? [];
      reads.push({ index, linkPath, targetPath: resolved.path });
      plan.set(target.layer, reads);
    });
  }
  const linkResults = analyzers.map(() => new Map<string, unknown>());
  for (const [position, reads] of plan) {
    const layer = src.layers[position];
    if (!layer) continue;
    const byTarget = new Map<string, LinkRead[]>();
    for (const read of reads) byTarget.set(read.targetPath, [...(byTarget.get(read.targetPath) ?? []), read]);
    const visit = async (entry: LayerEntry, body: EntryBody): Promise<void> => {
      const wanted = entry.type === 'file' ? byTarget.get(entry.path) : undefined;
      if (!wanted) return;
      // A path written twice in one tar: the later read replaces the earlier, as in the tree.
      const readers = wanted
        .map(({ index, linkPath }) => ({ index, linkPath, analyzer: analyzers[index] }))
        .filter((r): r is { index: number; linkPath: string; analyzer: FileAnalyzer } => r.analyzer !== undefined);
      if (entry.size > maxFileBytes) {
        warnings.push(`${entry.path}: ${entry.size} bytes is over the ${maxFileBytes}-byte cap; not analyzed`);
        return;
      }
      const results = await readWith(
        readers.map(({ index, linkPath, analyzer }) => ({ index, analyzer, entry: { path: linkPath, size: entry.size, mode: entry.mode } })),
        body,
        warnings,
        signal,
      );
      for (const { index, linkPath } of readers) {
        const result = results.get(index);
        if (result !== undefined) linkResults[index]?.set(linkPath, result);
      }
    };
    const blob = await src.openBlob(layer.digest, signal);
    await walkLayer(blob, visit, signal);
  }

  const perAnalyzer = analyzers.map(() => new Map<string, unknown>());
  for (const [path, node] of tree.walk()) {
    if (node.kind !== 'file' || !node.results) continue;
    for (const [index, result] of node.results) perAnalyzer[index]?.set(path, result);
  }
  linkResults.forEach((links, index) => {
    for (const [path, result] of links) perAnalyzer[index]?.set(path, result);
  });

  const os = detectOs(perAnalyzer[0] ?? new Map());
  const packages: InstalledPackage[] = [];
  analyzers.forEach((analyzer, index) => {
    if (index === 0) return;
    packages.push(...analyzer.collect(perAnalyzer[index] ?? new Map(), os));
  });
  packages.sort((a, b) => cmp(a.path, b.path) || cmp(a.name, b.name) || cmp(a.version, b.version));
  const inventory: Inventory = { os, packages, layers: scanned.length, compressedBytes };
  if (warnings.length > 0) inventory.warnings = warnings;
  return inventory;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
