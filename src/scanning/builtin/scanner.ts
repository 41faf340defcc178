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
 *                                      failed; 501 a type the scanner does not produce
 *
 * A scan pulls the image from the registry the request names (registry-client.ts), streams its
 * layers through the analyzer once, matches the inventory against the vulnerability database,
 * and keeps the result in memory (scan-store.ts) for the report polls; SBOM documents are written
 * from the kept inventory at each poll (the same document every time). A restart loses every scan in memory (see
 * scan-store.ts). The API itself has no authentication (docs/scanning.md says how to fence it).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  CYCLONEDX_JSON,
  ERROR_MIME,
  METADATA_MIME,
  METADATA_MIME_1_1,
  REFRESH_AFTER_HEADER,
  SCAN_RESPONSE_MIME,
  SPDX_JSON,
  normalizeMediaType,
  type VulnerabilityItem,
} from '../adapter/index.ts';
import { analyzeImage, type Inventory } from '../analyzer/index.ts';
import { cycloneDxDocument, spdxDocument, type SbomTool } from '../sbom/index.ts';
import { RegistryClient, type RegistryClientOptions } from './registry-client.ts';
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
  /** The scanner version in metadata and reports (Wharf's version). */
  version: string;
  /** Where the API is mounted: `/scanner` inside `wharf serve`, "" when served alone. */
  prefix?: string;
  /** The Refresh-After of a 302 (seconds, 1–127); default 1: polling the local scanner is cheap, and most scans take about a second. */
  refreshAfterSeconds?: number;
  /** A scan still running after this long fails; default 30 minutes. */
  scanTimeoutMs?: number;
  /** Finished scans kept for their reports, and for how long; defaults 256 and 30 minutes (each keeps its inventory: a few hundred bytes per package). */
  maxFinished?: number;
  finishedTtlMs?: number;
  /** Scans queued or running at once; one more is a 429. Default 1000. */
  maxInFlight?: number;
  /** Inventories (and their matches) kept by manifest digest; default 64. */
  cacheEntries?: number;
  registry?: RegistryClientOptions;
}

/** What a finished scan keeps. */
interface ScanResult {
  generatedAt: string;
  inventory: Inventory;
  /** null when the request did not enable the vulnerability capability. */
  vulnerabilities: VulnerabilityItem[] | null;
}

/** A cached analysis of one manifest digest, with the matches of one database state. */
interface CachedAnalysis {
  inventory: Inventory;
  matches: { dbState: string; items: VulnerabilityItem[] } | null;
}

const scanRequestBodyLimit = 1024 * 1024;

/** A small LRU map. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }
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

/** The scanner's engine: scans, their results, the analysis cache. */
class BuiltinScannerEngine {
  readonly store: ScanStore<ParsedScanRequest, ScanResult>;
  private readonly registry: RegistryClient;
  private readonly cache: Lru<string, CachedAnalysis>;
  private readonly scanTimeoutMs: number;
  private readonly tool: SbomTool;

  constructor(private readonly deps: BuiltinScannerDeps) {
    this.registry = new RegistryClient({ logger: deps.logger, ...deps.registry });
    this.cache = new Lru(deps.cacheEntries ?? 64);
    this.scanTimeoutMs = deps.scanTimeoutMs ?? 30 * 60_000;
    this.tool = { vendor: 'Wharf', name: 'wharf-scanner', version: deps.version };
    this.store = new ScanStore({
      concurrency: deps.concurrency,
      maxFinished: deps.maxFinished,
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
      const image = await this.registry.openImage(req.registry, repository, digest, { signal });
      const cached = this.cache.get(digest);
      const inventory = cached?.inventory ?? (await analyzeImage(image.source, { signal }));
      let matches = cached?.matches ?? null;
      let vulnerabilities: VulnerabilityItem[] | null = null;
      if (req.vulnerability) {
        const meta = await this.deps.vulndb.meta();
        const dbState = `${meta.updatedAt ?? ''}|${meta.advisories}`;
        if (matches?.dbState !== dbState) matches = { dbState, items: await this.deps.vulndb.match(inventory) };
        vulnerabilities = matches.items;
      }
      this.cache.set(digest, { inventory, matches });
      signal.throwIfAborted();
      this.deps.logger.info(
        { scan_id: id, repository, digest, os: inventory.os ? `${inventory.os.family} ${inventory.os.version}` : null, packages: inventory.packages.length, vulnerabilities: vulnerabilities?.length ?? null, cached: cached !== undefined, ms: Date.now() - started },
        'scanner: scan finished',
      );
      return { generatedAt: new Date().toISOString(), inventory, vulnerabilities };
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
   * The SBOM document of a finished scan in one format, written at each poll rather than kept:
   * the scan's id is the document's UUID (SPDX namespace, CycloneDX serial number) and its end the
   * creation time, so every poll gets the same document.
   */
  sbom(id: string, req: ParsedScanRequest, result: ScanResult, mediaType: string): Record<string, unknown> {
    const subject = { repository: req.artifact.repository, digest: req.artifact.digest, ...(req.artifact.tag ? { tag: req.artifact.tag } : {}) };
    const now = new Date(result.generatedAt);
    return mediaType === CYCLONEDX_JSON
      ? cycloneDxDocument(result.inventory, subject, { now, tool: this.tool, serialNumber: id })
      : asRecord(spdxDocument(result.inventory, subject, { now, tool: this.tool, uuid: id, namespaceBase: req.registry.url.replace(/\/+$/, '') }));
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
  const scanner = wharfScanner(deps.version);
  return async (root) => {
    const engine = new BuiltinScannerEngine(deps);
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
          if (entry.state === 'queued' || entry.state === 'running') return reply.code(302).header(REFRESH_AFTER_HEADER, String(refreshAfter)).send();
          if (entry.state === 'failed' || !entry.result) return sendError(reply, 500, entry.error ?? 'the scan failed');
          const r = entry.result;
          const artifact: ReportArtifact = { ...req2.artifact };
          const body = vuln
            ? vulnerabilityReport(scanner, artifact, r.vulnerabilities ?? [], r.generatedAt)
            : sbomReport(scanner, artifact, r.inventory, sbomType, engine.sbom(entry.id, req2, r, sbomType), r.generatedAt);
          return reply.code(200).header('content-type', mime).send(jsonBytes(body));
        });
      },
      { prefix: deps.prefix ?? '' },
    );
  };
}
