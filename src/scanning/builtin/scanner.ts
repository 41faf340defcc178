/**
 * Wharf's built-in scanner: a scanner adapter speaking Harbor's Pluggable Scanner API v1.2 (and
 * v1.1), as a Fastify plugin. `wharf serve` mounts it under /scanner (scanning.builtin) and
 * `wharf scanner` serves it alone; either way it is reached only over HTTP, like any adapter.
 *
 *   GET  /api/v1/metadata              the scanner, its two capabilities, the database's state
 *   POST /api/v1/scan                  202 {"id"}; 400 bad JSON, 415 content type, 422 bad field,
 *                                      501 no such capability, 429 too many scans in flight
 *   GET  /api/v1/scan/{id}/report      302 + Refresh-After while queued or running; 200 the report
 *                                      for the Accept'ed type (`?sbom_media_type=` for the SBOM
 *                                      report, 400 without it); 404 unknown id; 500 the scan
 *                                      failed; 501 a type the scanner does not produce. With
 *                                      `Prefer: wait=N` (Wharf's extension) a scan still queued
 *                                      or running is waited for up to N seconds (at most 60) first
 *
 * A scan pulls the image from the registry the request names (registry-client.ts), streams its
 * layers through the analyzer once, matches the inventory against the vulnerability database,
 * and writes its report bodies right away (the vulnerability report, and both SBOM formats when
 * the sbom capability is on); only those bodies, gzip-compressed, stay in memory for the report
 * polls (scan-store.ts, bounded by bytes and a TTL), never the inventory or findings objects. An
 * analysis cache by manifest digest keeps the inventory and the last matches, compressed too and
 * bounded by bytes. A restart loses every scan in memory (see scan-store.ts). The API itself has no
 * authentication (docs/scanning.md says how to fence it). Inside `wharf serve`, a request naming
 * this Wharf's own registry is read in-process (`deps.local`), with the same credential checks.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  CYCLONEDX_JSON,
  ERROR_MIME,
  METADATA_MIME,
  METADATA_MIME_1_1,
  MAX_REPORT_WAIT_SECONDS,
  PREFER_HEADER,
  PREFERENCE_APPLIED_HEADER,
  REFRESH_AFTER_HEADER,
  SCAN_RESPONSE_MIME,
  SPDX_JSON,
  normalizeMediaType,
  preferredWaitSeconds,
  type Scanner,
  type VulnerabilityItem,
} from '../adapter/index.ts';
import { analyzeImage, type GzipDecoder, type Inventory, type ZstdDecoder } from '../analyzer/index.ts';
import { loadCycloneDx, spdxDocument, type SbomTool } from '../sbom/index.ts';
import { RegistryClient, type LocalRegistry, type RegistryClientOptions } from './registry-client.ts';
import { checkScanRequest, type ParsedScanRequest } from './scan-request.ts';
import { ScanQueueFull, ScanStore } from './scan-store.ts';
import { chooseReportMime, isSbomMediaType, isVulnerabilityMime, sbomReport, scannerMetadata, vulnerabilityReport, wharfScanner, type ReportArtifact } from './reports.ts';

/** What the scanner needs of the vulnerability database (src/scanning/vulndb's VulnDb implements it). */
export interface VulnMatcher {
  match(inv: Inventory): Promise<VulnerabilityItem[]>;
  meta(): Promise<{ updatedAt: string | null; advisories: number; source: string | null }>;
}

/** The built-in scanner's dependencies and limits. */
export interface BuiltinScannerDeps {
  vulndb: VulnMatcher;
  logger: Logger;
  /** Scans running at once (`scanning.concurrency`). */
  concurrency: number;
  /** How gzip layers are inflated (`scanning.gzip_decoder`); default `auto`. */
  gzipDecoder?: GzipDecoder;
  /** How zstd layers are decompressed (`scanning.zstd_decoder`); default `auto`. */
  zstdDecoder?: ZstdDecoder;
  /**
   * Inside `wharf serve`: Wharf's own registry, read in-process when a scan request names it
   * (same credential checks, no HTTP round trip through this process). Absent: always over HTTP.
   */
  local?: LocalRegistry;
  /** The scanner version in metadata and reports (Wharf's version). */
  version: string;
  /** Where the API is mounted: `/scanner` inside `wharf serve`, "" when served alone. */
  prefix?: string;
  /** The Refresh-After of a 302 (seconds, 1–127); default 1: polling the local scanner is cheap, and most scans take about a second. */
  refreshAfterSeconds?: number;
  /** A scan still running after this long fails; default 30 minutes. */
  scanTimeoutMs?: number;
  /**
   * Finished scans kept for their report polls: at most this many (default 256), holding at most
   * `maxFinishedBytes` together (default 32 MiB of gzip-compressed report bodies; a scan of a
   * 1,120-package image with 5,314 findings keeps 0.3 MiB), each for `finishedTtlMs` after it
   * ended (default 10 minutes: Wharf fetches the reports as soon as the scan is done).
   */
  maxFinished?: number;
  maxFinishedBytes?: number;
  finishedTtlMs?: number;
  /** Scans queued or running at once; one more is a 429. Default 1000. */
  maxInFlight?: number;
  /** Analyses (inventory and last matches, compressed) kept by manifest digest: at most this many, default 64 ... */
  cacheEntries?: number;
  /** ... holding at most this many bytes together; default 32 MiB. */
  cacheBytes?: number;
  registry?: RegistryClientOptions;
}

/** What a finished scan keeps: its report bodies, gzip-compressed JSON, ready to send. */
interface ScanResult {
  /** null when the request did not enable the vulnerability capability. */
  vulnerability: Buffer | null;
  /** The SBOM report body for each sbom_media_type (both formats when the capability is on). */
  sboms: Map<string, Buffer>;
}

/** A cached analysis of one manifest digest, with the matches of one database state; gzip-compressed JSON. */
interface CachedAnalysis {
  inventory: Buffer;
  matches: { dbState: string; items: Buffer } | null;
}

const scanRequestBodyLimit = 1024 * 1024;

/** Bookkeeping bytes counted for each kept scan or cache entry beyond its buffers (ids, request, maps). */
const ENTRY_OVERHEAD_BYTES = 1024;

function resultBytes(r: ScanResult): number {
  let n = ENTRY_OVERHEAD_BYTES + (r.vulnerability?.length ?? 0);
  for (const body of r.sboms.values()) n += body.length;
  return n;
}

function analysisBytes(a: CachedAnalysis): number {
  return ENTRY_OVERHEAD_BYTES + a.inventory.length + (a.matches?.items.length ?? 0);
}

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

/** JSON, gzip-compressed (level 1: report JSON shrinks about tenfold at a few ms per MiB, off the event loop). */
async function pack(value: unknown): Promise<Buffer> {
  return gzip(Buffer.from(JSON.stringify(value), 'utf8'), { level: 1 });
}

/** The value {@link pack} wrote. */
async function unpack(buf: Buffer): Promise<unknown> {
  return JSON.parse((await gunzip(buf)).toString('utf8'));
}

/** An LRU map bounded by entry count and by the bytes `size` counts. */
export class BoundedLru<K, V> {
  private readonly map = new Map<K, { value: V; bytes: number }>();
  private total = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly size: (v: V) => number,
  ) {}
  get(k: K): V | undefined {
    const e = this.map.get(k);
    if (e !== undefined) {
      this.map.delete(k);
      this.map.set(k, e);
    }
    return e?.value;
  }
  /** Stores `v` (an entry larger than the byte bound alone is not stored) and drops the least recently used above the bounds. */
  set(k: K, v: V): void {
    this.delete(k);
    const bytes = this.size(v);
    if (bytes > this.maxBytes) return;
    this.map.set(k, { value: v, bytes });
    this.total += bytes;
    while (this.map.size > this.maxEntries || this.total > this.maxBytes) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }
  delete(k: K): void {
    const e = this.map.get(k);
    if (e === undefined) return;
    this.map.delete(k);
    this.total -= e.bytes;
  }
  /** Entries and bytes held. */
  stats(): { entries: number; bytes: number } {
    return { entries: this.map.size, bytes: this.total };
  }
}

/** True when an Accept-Encoding header takes gzip (a `gzip` or `*` coding without q=0). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const part of value.split(',')) {
    const [name = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (name !== 'gzip' && name !== 'x-gzip' && name !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/** JSON as bytes: Fastify sends a Buffer with the content type exactly as set (a string would get a charset and quoted parameters). */
function jsonBytes(doc: unknown): Buffer {
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).header('content-type', ERROR_MIME).send(jsonBytes({ error: { message } }));
}

/** A JSON-safe, bounded rendering of client input for a message. */
function quoted(s: string): string {
  return JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);
}

/** True for the request content types the scan endpoint reads. */
function isScanRequestType(ct: string | undefined): boolean {
  if (!ct) return false;
  const parts = normalizeMediaType(ct).split('; ');
  const base = parts[0];
  const params = parts.slice(1).filter((p) => !p.startsWith('charset='));
  if (base === 'application/json') return params.length === 0;
  if (base !== 'application/vnd.scanner.adapter.scan.request+json') return false;
  return params.length === 0 || (params.length === 1 && (params[0] === 'version=1.0' || params[0] === 'version=1.1'));
}

/** A document object as a plain record (the SBOM report's `sbom`). */
function asRecord(doc: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(doc));
}

/** The SBOM formats the scanner writes, in the order it writes them. */
const SBOM_TYPES = [SPDX_JSON, CYCLONEDX_JSON] as const;

/** The scanner's engine: scans, their results, the analysis cache. */
class BuiltinScannerEngine {
  readonly store: ScanStore<ParsedScanRequest, ScanResult>;
  private readonly registry: RegistryClient;
  readonly cache: BoundedLru<string, CachedAnalysis>;
  private readonly scanTimeoutMs: number;
  private readonly tool: SbomTool;
  private readonly scanner: Scanner;

  constructor(private readonly deps: BuiltinScannerDeps) {
    this.registry = new RegistryClient({ logger: deps.logger, ...deps.registry });
    this.cache = new BoundedLru(deps.cacheEntries ?? 64, deps.cacheBytes ?? 32 * 1024 * 1024, analysisBytes);
    this.scanner = wharfScanner(deps.version);
    this.scanTimeoutMs = deps.scanTimeoutMs ?? 30 * 60_000;
    this.tool = { vendor: 'Wharf', name: 'wharf-scanner', version: deps.version };
    this.store = new ScanStore({
      concurrency: deps.concurrency,
      maxFinished: deps.maxFinished,
      maxFinishedBytes: deps.maxFinishedBytes,
      sizeOf: resultBytes,
      ttlMs: deps.finishedTtlMs,
      maxInFlight: deps.maxInFlight,
      run: (req, signal, id) => this.scan(req, signal, id),
      onFailed: (id, err) => deps.logger.warn({ scan_id: id, err: err instanceof Error ? err.message : String(err) }, 'scanner: scan failed'),
    });
  }

  private async scan(req: ParsedScanRequest, stop: AbortSignal, id: string): Promise<ScanResult> {
    const started = Date.now();
    const timeout = AbortSignal.timeout(this.scanTimeoutMs);
    const signal = AbortSignal.any([stop, timeout]);
    const { repository, digest } = req.artifact;
    this.deps.logger.info({ scan_id: id, repository, digest, registry: req.registry.url }, 'scanner: scan started');
    try {
      // Always pull and verify the manifest: it is the proof that the request's credential may read the image.
      const image = await this.registry.openImage(req.registry, repository, digest, { signal, ...(this.deps.local ? { local: this.deps.local } : {}) });
      const cached = this.cache.get(digest);
      const analyzing = Date.now();
      // Our own JSON, written by pack() from an Inventory.
      const inventory = cached ? ((await unpack(cached.inventory)) as Inventory) : await analyzeImage(image.source, { signal, gzip: this.deps.gzipDecoder, zstd: this.deps.zstdDecoder });
      const analyzeMs = Date.now() - analyzing;
      let matches = cached?.matches ?? null;
      let vulnerabilities: VulnerabilityItem[] | null = null;
      if (req.vulnerability) {
        const meta = await this.deps.vulndb.meta();
        const dbState = `${meta.updatedAt ?? ''}|${meta.advisories}`;
        if (matches?.dbState === dbState) {
          // Our own JSON, written by pack() from the matcher's items.
          vulnerabilities = (await unpack(matches.items)) as VulnerabilityItem[];
        } else {
          vulnerabilities = await this.deps.vulndb.match(inventory);
          matches = { dbState, items: await pack(vulnerabilities) };
        }
      }
      this.cache.set(digest, { inventory: cached?.inventory ?? (await pack(inventory)), matches });
      signal.throwIfAborted();
      const result = await this.reports(id, req, inventory, vulnerabilities);
      signal.throwIfAborted();
      this.deps.logger.info(
        {
          scan_id: id,
          repository,
          digest,
          os: inventory.os ? `${inventory.os.family} ${inventory.os.version}` : null,
          packages: inventory.packages.length,
          vulnerabilities: vulnerabilities?.length ?? null,
          cached: cached !== undefined,
          ms: Date.now() - started,
          // The layers read (compressed) and how long reading and analyzing them took: the scan's layer throughput.
          ...(cached ? {} : { layers: inventory.layers, layer_bytes: inventory.compressedBytes, analyze_ms: analyzeMs }),
        },
        'scanner: scan finished',
      );
      return result;
    } catch (err) {
      if (timeout.aborted) throw new Error(`the scan did not finish within ${Math.round(this.scanTimeoutMs / 1000)} s`);
      if (stop.aborted) throw new Error('the scan was stopped: the scanner is shutting down');
      throw err;
    } finally {
      // The finished scan stays in memory for its report polls; its registry credential need not.
      req.registry.authorization = '';
    }
  }

  /**
   * A finished scan's report bodies, written once and kept compressed: the vulnerability report
   * (the same body for both of its media types) and, when the sbom capability is on, the SBOM
   * report in each format. The scan's id is the SBOM's UUID (SPDX namespace, CycloneDX serial
   * number) and its end the creation time.
   */
  private async reports(id: string, req: ParsedScanRequest, inventory: Inventory, vulnerabilities: VulnerabilityItem[] | null): Promise<ScanResult> {
    const generatedAt = new Date().toISOString();
    const now = new Date(generatedAt);
    const artifact: ReportArtifact = { ...req.artifact };
    const vulnerability = req.vulnerability ? await pack(vulnerabilityReport(this.scanner, artifact, vulnerabilities ?? [], generatedAt)) : null;
    const sboms = new Map<string, Buffer>();
    if (req.sbom) {
      const { cycloneDxDocument } = await loadCycloneDx();
      const subject = { repository: req.artifact.repository, digest: req.artifact.digest, ...(req.artifact.tag ? { tag: req.artifact.tag } : {}) };
      for (const mediaType of SBOM_TYPES) {
        const doc =
          mediaType === CYCLONEDX_JSON
            ? cycloneDxDocument(inventory, subject, { now, tool: this.tool, serialNumber: id })
            : asRecord(spdxDocument(inventory, subject, { now, tool: this.tool, uuid: id, namespaceBase: req.registry.url.replace(/\/+$/, '') }));
        sboms.set(mediaType, await pack(sbomReport(this.scanner, artifact, inventory, mediaType, doc, generatedAt)));
      }
    }
    return { vulnerability, sboms };
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.registry.close();
  }
}

/**
 * The built-in scanner as a Fastify plugin: its API under `deps.prefix` (+ `/api/v1`), with its
 * own body parsing, errors (the adapter error type) and 404s. Closing the app stops its scans.
 */
export function builtinScanner(deps: BuiltinScannerDeps): (app: FastifyInstance) => Promise<void> {
  const refreshAfter = Math.min(127, Math.max(1, Math.round(deps.refreshAfterSeconds ?? 1)));
  return async (root) => {
    const engine = new BuiltinScannerEngine(deps);
    // A stopping server answers held report polls at once instead of waiting out their Prefer: wait.
    const closing = new AbortController();
    root.addHook('preClose', async () => closing.abort());
    root.addHook('onClose', async () => engine.close());
    await root.register(
      async (app) => {
        app.removeAllContentTypeParsers();
        app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: scanRequestBodyLimit }, (_req, body, done) => done(null, body));
        app.setErrorHandler(async (err: Error & { statusCode?: number }, req, reply) => {
          const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
          if (status === 500) {
            req.log.error({ err }, 'scanner: unexpected error');
            return sendError(reply, 500, `internal error; request id ${req.id}`);
          }
          return sendError(reply, status, err.message);
        });
        app.setNotFoundHandler(async (req, reply) => sendError(reply, 404, `no such scanner API path: ${req.method} ${quoted(req.url.split('?')[0] ?? '')}`));

        app.get('/api/v1/metadata', async (req, reply) => {
          const meta = await deps.vulndb.meta();
          const accept = req.headers.accept ?? '';
          const type = normalizeMediaType(accept.split(',')[0] ?? '') === normalizeMediaType(METADATA_MIME) ? METADATA_MIME : METADATA_MIME_1_1;
          return reply.header('content-type', type).send(jsonBytes(scannerMetadata(deps.version, meta)));
        });

        app.post('/api/v1/scan', async (req: FastifyRequest<{ Body: unknown }>, reply) => {
          if (!isScanRequestType(req.headers['content-type'])) {
            return sendError(reply, 415, `unsupported content type ${quoted(req.headers['content-type'] ?? '')}: send application/vnd.scanner.adapter.scan.request+json; version=1.0`);
          }
          let doc: unknown;
          try {
            doc = JSON.parse(typeof req.body === 'string' ? req.body : '');
          } catch {
            return sendError(reply, 400, 'the scan request is not valid JSON');
          }
          const check = checkScanRequest(doc);
          if (!check.ok) return sendError(reply, check.status, check.message);
          let id: string;
          try {
            id = engine.store.submit(check.request);
          } catch (err) {
            if (err instanceof ScanQueueFull) return sendError(reply, 429, err.message);
            throw err;
          }
          req.log.info({ scan_id: id, repository: check.request.artifact.repository, digest: check.request.artifact.digest }, 'scanner: scan accepted');
          return reply.code(202).header('content-type', SCAN_RESPONSE_MIME).send(jsonBytes({ id }));
        });

        app.get('/api/v1/scan/:id/report', async (req: FastifyRequest<{ Params: { id: string }; Querystring: Record<string, unknown> }>, reply) => {
          const entry = engine.store.get(req.params.id);
          if (!entry) return sendError(reply, 404, `scan request ${quoted(req.params.id)} not found`);
          reply.header('vary', 'Accept');
          const mime = chooseReportMime(req.headers.accept);
          if (mime === null) return sendError(reply, 501, `the scanner does not produce ${quoted(req.headers.accept ?? '')}`);
          const vuln = isVulnerabilityMime(mime);
          let sbomType = '';
          if (!vuln) {
            const q = req.query.sbom_media_type;
            if (q === undefined || q === '') return sendError(reply, 400, `missing the sbom_media_type query parameter (${SPDX_JSON} or ${CYCLONEDX_JSON})`);
            if (typeof q !== 'string' || !isSbomMediaType(q)) return sendError(reply, 400, `unsupported sbom_media_type ${quoted(String(q))}: ${SPDX_JSON} or ${CYCLONEDX_JSON}`);
            sbomType = q;
          }
          const req2 = entry.request;
          if (vuln ? !req2.vulnerability : !req2.sbom) return sendError(reply, 400, `scan request ${quoted(entry.id)} did not enable the ${vuln ? 'vulnerability' : 'sbom'} capability`);
          const wait = Math.min(MAX_REPORT_WAIT_SECONDS, preferredWaitSeconds(req.headers[PREFER_HEADER]));
          if (wait > 0 && (entry.state === 'queued' || entry.state === 'running')) {
            // Held until the scan settles, the wait is over, the client goes away or the server stops.
            const gone = new AbortController();
            const onClose = (): void => gone.abort();
            reply.raw.once('close', onClose);
            await engine.store.settled(entry.id, wait * 1000, AbortSignal.any([gone.signal, closing.signal]));
            reply.raw.off('close', onClose);
            reply.header(PREFERENCE_APPLIED_HEADER, `wait=${wait}`);
          }
          if (entry.state === 'queued' || entry.state === 'running') return reply.code(302).header(REFRESH_AFTER_HEADER, String(refreshAfter)).send();
          if (entry.state === 'failed' || !entry.result) return sendError(reply, 500, entry.error ?? 'the scan failed');
          const packed = vuln ? entry.result.vulnerability : entry.result.sboms.get(sbomType);
          if (!packed) return sendError(reply, 500, 'the scan kept no such report');
          reply.header('vary', 'Accept, Accept-Encoding').code(200).header('content-type', mime);
          // Harbor's Go client asks for gzip and inflates it itself; others get the JSON as is.
          if (acceptsGzip(req.headers['accept-encoding'])) return reply.header('content-encoding', 'gzip').send(packed);
          return reply.send(await gunzip(packed));
        });
      },
      { prefix: deps.prefix ?? '' },
    );
  };
}
