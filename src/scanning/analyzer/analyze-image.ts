/**
 * analyzeImage: reads an image's layers, several at once (each decompressed and tar-parsed on its
 * own, so two gzip layers inflate on two libuv threads), each into a small record of its entries
 * and the analyzers' results; the records are merged strictly in manifest order into a tree that
 * keeps only those results, so whiteouts, opaque directories, links and upper files replacing
 * lower ones come out as reading the layers one after the other would. Then it resolves links at
 * wanted paths, detects the OS and lets each analyzer turn its surviving results into packages.
 *
 * A file reached through a link whose target no analyzer asked for while streaming (say
 * `lib/apk/db/installed -> ../../etc/apk/installed`) is read in a second, targeted pass over the
 * one layer that holds the target. That pass happens only for such links.
 */
import { availableParallelism } from 'node:os';
import { PassThrough } from 'node:stream';
import type { FileAnalyzer, FileEntry, ImageSource, InstalledPackage, Inventory } from './types.ts';
import { MergedTree, type NodeKind } from './merged-tree.ts';
import { walkLayer, type EntryBody, type GzipDecoder, type LayerEntry, type ZstdDecoder } from './layer-walker.ts';
import { DEFAULT_MAX_FILE_BYTES } from './read-body.ts';
import { detectOs, osReleaseAnalyzer } from './os-release.ts';
import { defaultAnalyzers } from './default-analyzers.ts';

export interface AnalyzeOptions {
  signal?: AbortSignal;
  /** The package analyzers to run; default {@link defaultAnalyzers}. OS detection always runs. */
  analyzers?: FileAnalyzer[];
  /** Files larger than this are not handed to analyzers (a warning says so). */
  maxFileBytes?: number;
  /**
   * Layers read at once (each inflates on its own libuv thread); default
   * {@link defaultParallelLayers}. The result does not depend on it.
   */
  parallelLayers?: number;
  /** How gzip layers are inflated (`scanning.gzip_decoder`); default `auto`: igzip when installed. */
  gzip?: GzipDecoder;
  /** How zstd layers are decompressed (`scanning.zstd_decoder`); default `auto`: the zstd program when installed. */
  zstd?: ZstdDecoder;
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

/**
 * One entry of a layer as the merged tree will take it: a whiteout, an opaque directory, or a
 * node set at a path (with the analyzers' results for a regular file). Paths and small results
 * only, never file bytes.
 */
type LayerOp =
  | { op: 'whiteout'; path: string }
  | { op: 'opaque'; path: string }
  | { op: 'set'; path: string; kind: NodeKind; size?: number; mode: number; target?: string; results?: Map<number, unknown> };

/** What reading one layer yields: its entries in tar order, its warnings and its compressed size. */
interface LayerRecord {
  ops: LayerOp[];
  warnings: string[];
  compressedBytes: number;
}

/**
 * How many layers are read at once unless told: one more than the cores, at most 4 and at most the
 * layers. A layer's inflating runs in a program of its own (igzip, zstd) or on the thread pool,
 * and the main thread parses every layer's tar: with one layer per core a core sat idle whenever
 * a layer was waiting on the main thread, and while the last layer ran alone (the benchmark's
 * 3-layer image on 2 cores: 152-169 MB/s with 2 at once, 167-185 with 3, alternating).
 */
export function defaultParallelLayers(layers: number): number {
  return Math.max(1, Math.min(layers, availableParallelism() + 1, 4));
}

/**
 * Runs `task(0..count-1)` with at most `limit` running at once, started in index order. The first
 * failure aborts `stop` (the others see it through their signal) and is thrown once all settled.
 */
async function inParallel(count: number, limit: number, stop: AbortController, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (failures.length === 0 && next < count) {
      const i = next++;
      try {
        await task(i);
      } catch (err) {
        if (failures.push(err) === 1) stop.abort(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, count)) }, worker));
  if (failures.length > 0) throw failures[0];
}

/** Applies one layer's entries to the tree, in tar order, as if the layer were read right now. */
function applyLayer(tree: MergedTree, record: LayerRecord, position: number): void {
  for (const op of record.ops) {
    if (op.op === 'whiteout') tree.whiteout(op.path, position);
    else if (op.op === 'opaque') tree.opaque(op.path, position);
    else if (op.op === 'set') {
      const entry: { kind: NodeKind; size?: number; mode: number; target?: string } = { kind: op.kind, mode: op.mode };
      if (op.size !== undefined) entry.size = op.size;
      if (op.target !== undefined) entry.target = op.target;
      const node = tree.set(op.path, position, entry);
      if (op.results) node.results = op.results;
    }
  }
}

export async function analyzeImage(src: ImageSource, opts: AnalyzeOptions = {}): Promise<Inventory> {
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  // Index 0 is OS detection; its results feed detectOs, not collect.
  const analyzers: FileAnalyzer[] = [osReleaseAnalyzer, ...(opts.analyzers ?? defaultAnalyzers())];
  const tree = new MergedTree();
  const scanned = src.layers.map((layer, position) => ({ layer, position })).filter(({ layer }) => isScannableLayer(layer.mediaType));
  const parallel = Math.max(1, Math.floor(opts.parallelLayers ?? defaultParallelLayers(scanned.length)));
  // One layer's failure stops the others; the caller's signal stops all.
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;

  const readersFor = (entry: FileEntry, warnings: string[]) => {
    const readers: Array<{ index: number; analyzer: FileAnalyzer; entry: FileEntry }> = [];
    for (let index = 0; index < analyzers.length; index++) {
      const analyzer = analyzers[index];
      if (analyzer?.wants(entry)) readers.push({ index, analyzer, entry });
    }
    if (readers.length > 0 && entry.size > maxFileBytes) {
      warnings.push(`${entry.path}: ${entry.size} bytes is over the ${maxFileBytes}-byte cap; not analyzed`);
      return [];
    }
    return readers;
  };

  /** Streams one layer into its record; the analyzers read the files they want on the way. */
  const readLayer = async (digest: string): Promise<LayerRecord> => {
    const ops: LayerOp[] = [];
    const warnings: string[] = [];
    // Returns a promise only for a file an analyzer reads: the other entries cost none.
    const visit = (entry: LayerEntry, body: EntryBody): Promise<void> | undefined => {
      if (isSkippedPath(entry.path)) return undefined;
      switch (entry.type) {
        case 'whiteout':
          ops.push({ op: 'whiteout', path: entry.path });
          return undefined;
        case 'opaque':
          ops.push({ op: 'opaque', path: entry.path });
          return undefined;
        case 'dir':
          ops.push({ op: 'set', path: entry.path, kind: 'dir', mode: entry.mode });
          return undefined;
        case 'symlink':
        case 'hardlink':
          ops.push({ op: 'set', path: entry.path, kind: entry.type, mode: entry.mode, target: entry.linkname ?? '' });
          return undefined;
        case 'other':
          ops.push({ op: 'set', path: entry.path, kind: 'file', mode: entry.mode });
          return undefined;
        case 'file': {
          const op: LayerOp & { op: 'set' } = { op: 'set', path: entry.path, kind: 'file', size: entry.size, mode: entry.mode };
          ops.push(op);
          const readers = readersFor({ path: entry.path, size: entry.size, mode: entry.mode }, warnings);
          if (readers.length === 0) return undefined;
          return readWith(readers, body, warnings, signal).then((results) => {
            if (results.size > 0) op.results = results;
          });
        }
      }
    };
    const blob = await src.openBlob(digest, signal);
    const walked = await walkLayer(blob, visit, signal, { gzip: opts.gzip, zstd: opts.zstd });
    return { ops, warnings, compressedBytes: walked.compressedBytes };
  };

  // Layers are read `parallel` at a time, each into its own record, and merged strictly in
  // manifest order as soon as every lower layer is merged (so records of upper layers wait, not
  // the reads). Each layer's merge is exactly what reading it in order would have done.
  const records: Array<LayerRecord | null | undefined> = new Array<undefined>(scanned.length);
  const streamWarnings: string[][] = [];
  let merged = 0;
  let compressedBytes = 0;
  await inParallel(scanned.length, parallel, stop, async (i) => {
    const item = scanned[i];
    if (!item) return;
    records[i] = await readLayer(item.layer.digest);
    for (let record = records[merged]; merged < scanned.length && record; record = records[merged]) {
      applyLayer(tree, record, scanned[merged]?.position ?? merged);
      streamWarnings.push(record.warnings);
      compressedBytes += record.compressedBytes;
      records[merged] = null;
      merged++;
    }
  });
  const warnings = streamWarnings.flat();

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
  const planned2 = [...plan];
  const linkWarnings = planned2.map((): string[] => []);
  const linkReads = planned2.map(() => new Map<number, Map<string, unknown>>());
  await inParallel(planned2.length, parallel, stop, async (k) => {
    const [position, reads] = planned2[k] ?? [-1, []];
    const layer = src.layers[position];
    const layerWarnings = linkWarnings[k] ?? [];
    const found = linkReads[k] ?? new Map<number, Map<string, unknown>>();
    if (!layer) return;
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
        layerWarnings.push(`${entry.path}: ${entry.size} bytes is over the ${maxFileBytes}-byte cap; not analyzed`);
        return;
      }
      const results = await readWith(
        readers.map(({ index, linkPath, analyzer }) => ({ index, analyzer, entry: { path: linkPath, size: entry.size, mode: entry.mode } })),
        body,
        layerWarnings,
        signal,
      );
      for (const { index, linkPath } of readers) {
        const result = results.get(index);
        if (result === undefined) continue;
        const byPath = found.get(index) ?? new Map<string, unknown>();
        byPath.set(linkPath, result);
        found.set(index, byPath);
      }
    };
    const blob = await src.openBlob(layer.digest, signal);
    await walkLayer(blob, visit, signal, { gzip: opts.gzip, zstd: opts.zstd });
  });
  // In plan order, as reading the layers one after the other would have stored them.
  for (const found of linkReads) for (const [index, byPath] of found) for (const [path, result] of byPath) linkResults[index]?.set(path, result);
  warnings.push(...linkWarnings.flat());

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
