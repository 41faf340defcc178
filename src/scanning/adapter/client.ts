/**
 * The adapter client: Wharf talking to any scanner adapter that implements Harbor's Pluggable
 * Scanner API v1.1/v1.2 (Trivy's and Clair's adapters, Wharf's own built-in scanner), as Harbor's
 * own client does: one timeout per request, redirects never followed (a 302 from the report
 * endpoint means "not ready"), the registration's auth header on every request, TLS verification
 * off only for a registration that asks for it. Errors are {@link AdapterError}s whose messages
 * read like Harbor's (`<adapter message>: unexpected status code: 422, expected: 202`), for the
 * task log and SCANNING_FAILED. Credentials never appear in a message or a log line.
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { trustedCa } from '../../platform/index.ts';
import { withTraceHeaders } from '../../observability/index.ts';
import {
  DOCKER_MANIFEST,
  KNOWN_REPORT_MIMES,
  METADATA_MIME,
  METADATA_MIME_1_1,
  SCAN_REQUEST_MIME,
  SCAN_RESPONSE_MIME,
  VULN_REPORT_MIME_1_1,
  VULN_REPORT_MIME_HARBOR,
  PREFER_HEADER,
  REFRESH_AFTER_HEADER,
  type ScanRequest,
  type ScannerAdapterMetadata,
  type ScannerCapability,
} from './protocol.ts';

/** How a registration authenticates to its adapter (Harbor's `auth` field). */
export type AdapterAuth = '' | 'Basic' | 'Bearer' | 'APIKey';

/** Where an adapter is and how to reach it: a scanner registration's connection fields. */
export type AdapterEndpoint = {
  /** The adapter's base URL; the API is under `<url>/api/v1`. */
  url: string;
  auth: AdapterAuth;
  /** Basic: the plain `user:pass` (sent base64-encoded); Bearer: the token; APIKey: the key. */
  accessCredential: string;
  /** Accept any TLS certificate from this adapter (Harbor's `skip_certVerify`). */
  skipCertVerify: boolean;
};

/** Why a call to an adapter failed. */
export type AdapterErrorKind =
  /** The adapter answered with a status the call does not accept. */
  | 'status'
  /** No complete answer within the per-request timeout. */
  | 'timeout'
  /** The connection failed: refused, reset, DNS, TLS (a certificate not trusted). */
  | 'network'
  /** The caller's signal aborted the call (a stopped scan). */
  | 'aborted'
  /** The answer or the registration is unusable: a bad URL or credential, a body that is not the expected JSON, too large. */
  | 'protocol';

/** A failed adapter call. `message` is fit for a task log; `status` is the HTTP status when there was one. */
export class AdapterError extends Error {
  override readonly name = 'AdapterError';
  constructor(
    readonly kind: AdapterErrorKind,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

/** One poll of a report: the parsed report, or "not ready, ask again after N seconds". */
export type ReportPoll = { state: 'ready'; body: unknown } | { state: 'pending'; refreshAfterSeconds: number };

/** What `capabilitiesOf` derives from metadata (the `capabilities` of Harbor's scanner registration). */
export interface AdapterCapabilities {
  support_vulnerability: boolean;
  support_sbom: boolean;
}

/** Options of an {@link AdapterClient}. */
export interface AdapterClientOptions {
  /** Per request, connection to last body byte (`scanning.adapter_timeout_seconds`). */
  timeoutSeconds: number;
  logger?: Logger;
  /** The largest report body accepted (default 256 MiB); metadata and scan answers are capped at 1 MiB. */
  maxReportBytes?: number;
}

/** The Refresh-After default when the header is missing or unusable, as Harbor's. */
export const DEFAULT_REFRESH_AFTER_SECONDS = 5;

const smallBodyLimit = 1 << 20;

/**
 * The seconds a 302 report answer asks to wait. Harbor reads the header as a signed 8-bit integer,
 * so a missing header, a non-integer or a value outside 1–127 means the default of 5 seconds.
 */
export function parseRefreshAfter(value: string | string[] | undefined): number {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || !/^\s*\+?\d{1,3}\s*$/.test(v)) return DEFAULT_REFRESH_AFTER_SECONDS;
  const n = Number(v);
  return n >= 1 && n <= 127 ? n : DEFAULT_REFRESH_AFTER_SECONDS;
}

/**
 * Harbor's checks on an adapter's metadata (a ping, a registration): null when it is usable, else
 * Harbor's message. The scanner needs a name, vendor and version; there is at least one
 * capability; every capability consumes the Docker v2 manifest type and produces one report type
 * Harbor knows (the two vulnerability types or the SBOM report).
 */
export function validateMetadata(md: ScannerAdapterMetadata): string | null {
  const s = md.scanner;
  if (!s || !s.name || !s.version || !s.vendor) return 'invalid scanner in metadata';
  if (md.capabilities.length === 0) return 'invalid capabilities in metadata';
  for (const c of md.capabilities) {
    if (!c.consumes_mime_types.includes(DOCKER_MANIFEST)) return `missing ${DOCKER_MANIFEST} in consumes_mime_types`;
    if (!c.produces_mime_types.some((p) => KNOWN_REPORT_MIMES.includes(p))) return `missing ${VULN_REPORT_MIME_HARBOR} or ${VULN_REPORT_MIME_1_1} in produces_mime_types`;
  }
  return null;
}

/** The capability flags of a registration: a capability without a `type` is a vulnerability one. */
export function capabilitiesOf(md: ScannerAdapterMetadata): AdapterCapabilities {
  return {
    support_vulnerability: md.capabilities.some((c) => (c.type ?? 'vulnerability') === 'vulnerability'),
    support_sbom: md.capabilities.some((c) => c.type === 'sbom'),
  };
}

/** The headers that authenticate Wharf to an adapter. Throws AdapterError (never showing the credential) when it cannot be sent. */
export function adapterAuthHeaders(ep: AdapterEndpoint): Record<string, string> {
  if (ep.auth === '') return {};
  if (ep.accessCredential === '') throw new AdapterError('protocol', `the registration's auth is ${ep.auth} but it has no access credential`);
  // A header value cannot carry line breaks or NUL; undici would refuse it with a less clear error.
  if (/[\r\n\0]/.test(ep.accessCredential)) throw new AdapterError('protocol', 'the access credential contains a line break or NUL character');
  switch (ep.auth) {
    case 'Basic':
      return { authorization: `Basic ${Buffer.from(ep.accessCredential, 'utf8').toString('base64')}` };
    case 'Bearer':
      return { authorization: `Bearer ${ep.accessCredential}` };
    case 'APIKey':
      return { 'x-scanneradapter-api-key': ep.accessCredential };
  }
}

/** `<url>/api/v1` as a URL object; throws AdapterError for anything but an http(s) URL. */
function apiBase(ep: AdapterEndpoint): URL {
  let u: URL;
  try {
    u = new URL(ep.url);
  } catch {
    throw new AdapterError('protocol', `invalid adapter URL: ${JSON.stringify(ep.url.slice(0, 200))}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new AdapterError('protocol', `invalid adapter URL scheme ${u.protocol} (http or https)`);
  u.pathname = u.pathname.replace(/\/+$/, '') + '/api/v1';
  u.search = '';
  u.hash = '';
  return u;
}

/** A URL as it may be shown: no user info, no query. */
function shown(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown): string[] | null {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return null;
  const out: string[] = [];
  for (const x of v) {
    if (typeof x !== 'string') return null;
    out.push(x);
  }
  return out;
}

/**
 * Reads metadata JSON the way Harbor's client unmarshals it: missing fields become empty, wrong
 * JSON types are an error. Returns null when the document cannot be read as metadata.
 */
export function parseMetadata(doc: unknown): ScannerAdapterMetadata | null {
  if (!isPlainObject(doc)) return null;
  const scannerRaw = doc.scanner;
  if (scannerRaw !== undefined && scannerRaw !== null && !isPlainObject(scannerRaw)) return null;
  const field = (k: string): string | null => {
    if (!isPlainObject(scannerRaw)) return '';
    const v = scannerRaw[k];
    return v === undefined || v === null ? '' : typeof v === 'string' ? v : null;
  };
  const name = field('name');
  const vendor = field('vendor');
  const version = field('version');
  if (name === null || vendor === null || version === null) return null;
  const capsRaw = doc.capabilities ?? [];
  if (!Array.isArray(capsRaw)) return null;
  const capabilities: ScannerCapability[] = [];
  for (const c of capsRaw) {
    if (!isPlainObject(c)) return null;
    const consumes = stringList(c.consumes_mime_types);
    const produces = stringList(c.produces_mime_types);
    if (consumes === null || produces === null) return null;
    const cap: ScannerCapability = { consumes_mime_types: consumes, produces_mime_types: produces };
    if (c.type === 'vulnerability' || c.type === 'sbom') cap.type = c.type;
    else if (c.type !== undefined && c.type !== null && c.type !== '') return null;
    if (isPlainObject(c.additional_attributes)) cap.additional_attributes = c.additional_attributes;
    capabilities.push(cap);
  }
  const md: ScannerAdapterMetadata = { scanner: { name, vendor, version }, capabilities };
  if (doc.properties !== undefined && doc.properties !== null) {
    if (!isPlainObject(doc.properties)) return null;
    const props: Record<string, string> = {};
    for (const [k, v] of Object.entries(doc.properties)) if (typeof v === 'string') props[k] = v;
    md.properties = props;
  }
  return md;
}

/** The `error.message` of an adapter's error body, or null. */
function adapterMessage(text: string): string | null {
  if (text.trim() === '') return null;
  try {
    const doc: unknown = JSON.parse(text);
    if (isPlainObject(doc) && isPlainObject(doc.error) && typeof doc.error.message === 'string' && doc.error.message !== '') return doc.error.message;
  } catch {
    /* not JSON */
  }
  return null;
}

/** The error for an answer with an unexpected status, in Harbor's words. */
function statusError(status: number, expected: number, text: string): AdapterError {
  const msg = adapterMessage(text);
  const tail = `unexpected status code: ${status}, expected: ${expected}`;
  return new AdapterError('status', msg ? `${msg.slice(0, 2000)}: ${tail}` : tail, status);
}

/** A response read whole (bounded). */
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * Talks to scanner adapters. One instance serves every registration: it keeps two connection
 * pools (certificates verified, and not verified for registrations with skip-verify). `close()`
 * ends both.
 */
export class AdapterClient {
  private readonly timeoutMs: number;
  private readonly logger: Logger | undefined;
  private readonly maxReportBytes: number;
  private verifying: Agent | null = null;
  private trusting: Agent | null = null;

  constructor(opts: AdapterClientOptions) {
    this.timeoutMs = opts.timeoutSeconds * 1000;
    this.logger = opts.logger;
    this.maxReportBytes = opts.maxReportBytes ?? 256 * 1024 * 1024;
  }

  /** `GET /api/v1/metadata`, read as metadata (not validated: see {@link validateMetadata}). */
  async metadata(ep: AdapterEndpoint, opts: { signal?: AbortSignal } = {}): Promise<ScannerAdapterMetadata> {
    const url = apiBase(ep);
    url.pathname += '/metadata';
    const a = await this.call(ep, 'GET', url, { accept: `${METADATA_MIME_1_1}, ${METADATA_MIME}` }, undefined, smallBodyLimit, opts.signal);
    if (a.status !== 200) throw statusError(a.status, 200, a.text);
    const md = parseMetadata(jsonOf(a.text));
    if (!md) throw new AdapterError('protocol', `GET ${shown(url)}: the answer is not scanner adapter metadata`, a.status);
    return md;
  }

  /** `POST /api/v1/scan`: the scan request's id (from a 202 `{"id"}`). */
  async submit(ep: AdapterEndpoint, req: ScanRequest, opts: { signal?: AbortSignal } = {}): Promise<string> {
    const url = apiBase(ep);
    url.pathname += '/scan';
    const a = await this.call(ep, 'POST', url, { 'content-type': SCAN_REQUEST_MIME, accept: SCAN_RESPONSE_MIME }, JSON.stringify(req), smallBodyLimit, opts.signal);
    if (a.status !== 202) throw statusError(a.status, 202, a.text);
    const doc = jsonOf(a.text);
    if (!isPlainObject(doc) || typeof doc.id !== 'string' || doc.id === '') throw new AdapterError('protocol', `POST ${shown(url)}: the 202 answer has no scan request id`, a.status);
    return doc.id;
  }

  /**
   * `GET /api/v1/scan/{id}/report` for one report type: `ready` with the parsed JSON body (200),
   * or `pending` (302, with Refresh-After). 404 (unknown id), 500 (the scan failed), 501 (type
   * not supported) and anything else are AdapterErrors carrying the adapter's message.
   * `waitSeconds` asks the adapter to hold a "not ready" answer that long (`Prefer: wait`, at most
   * half the per-request timeout); adapters that do not know the preference answer at once.
   */
  async report(ep: AdapterEndpoint, id: string, mime: string, sbomMediaType?: string, opts: { signal?: AbortSignal; waitSeconds?: number } = {}): Promise<ReportPoll> {
    const url = apiBase(ep);
    url.pathname += `/scan/${encodeURIComponent(id)}/report`;
    if (sbomMediaType !== undefined) url.searchParams.set('sbom_media_type', sbomMediaType);
    const wait = Math.min(Math.floor(opts.waitSeconds ?? 0), Math.floor(this.timeoutMs / 2000));
    const headers: Record<string, string> = wait >= 1 ? { accept: mime, [PREFER_HEADER]: `wait=${wait}` } : { accept: mime };
    const a = await this.call(ep, 'GET', url, headers, undefined, this.maxReportBytes, opts.signal);
    if (a.status === 302) return { state: 'pending', refreshAfterSeconds: parseRefreshAfter(a.headers[REFRESH_AFTER_HEADER]) };
    if (a.status !== 200) throw statusError(a.status, 200, a.text);
    const body = jsonOf(a.text);
    if (body === undefined) throw new AdapterError('protocol', `GET ${shown(url)}: the report is not JSON`, a.status);
    return { state: 'ready', body };
  }

  /** Ends the connection pools. */
  async close(): Promise<void> {
    const agents = [this.verifying, this.trusting];
    this.verifying = this.trusting = null;
    await Promise.all(agents.map((a) => a?.close()));
  }

  private agent(ep: AdapterEndpoint): Dispatcher {
    if (ep.skipCertVerify) return (this.trusting ??= new Agent({ connect: { rejectUnauthorized: false } }));
    // The system roots plus tls.trusted_ca_files and Wharf's own CA (the built-in scanner at Wharf's https address).
    return (this.verifying ??= new Agent({ connect: { ca: trustedCa() } }));
  }

  private async call(ep: AdapterEndpoint, method: 'GET' | 'POST', url: URL, headers: Record<string, string>, body: string | undefined, limit: number, signal: AbortSignal | undefined): Promise<Answer> {
    const auth = adapterAuthHeaders(ep);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const both = signal ? AbortSignal.any([timeout, signal]) : timeout;
    const started = Date.now();
    const where = `${method} ${shown(url)}`;
    try {
      // With tracing on, the adapter gets the caller's traceparent (the scan job's span).
      const res = await request(url, { method, headers: withTraceHeaders({ ...headers, ...auth }), body, signal: both, dispatcher: this.agent(ep) });
      let size = 0;
      const chunks: Buffer[] = [];
      for await (const chunk of res.body) {
        // res.body yields Buffers; the check keeps the type honest.
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        size += b.length;
        if (size > limit) {
          // The no-op listener keeps the stream's abort error from being an uncaught exception.
          res.body.on('error', () => {});
          res.body.destroy();
          throw new AdapterError('protocol', `${where}: the answer is larger than ${limit} bytes`, res.statusCode);
        }
        chunks.push(b);
      }
      this.logger?.debug({ method, url: shown(url), status: res.statusCode, ms: Date.now() - started }, 'scanner adapter call');
      return { status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') };
    } catch (err) {
      if (err instanceof AdapterError) throw err;
      if (signal?.aborted) throw new AdapterError('aborted', `${where}: stopped`);
      if (timeout.aborted) throw new AdapterError('timeout', `${where}: no answer within ${this.timeoutMs / 1000} s`);
      const e = err instanceof Error ? err : new Error(String(err));
      const code = 'code' in e && typeof e.code === 'string' ? ` (${e.code})` : '';
      this.logger?.debug({ method, url: shown(url), err: e.message }, 'scanner adapter call failed');
      throw new AdapterError('network', `${where}: ${e.message}${code}`);
    }
  }
}

/** Parses JSON text; undefined when it is not JSON. */
function jsonOf(text: string): unknown {
  try {
    const doc: unknown = JSON.parse(text);
    return doc;
  } catch {
    return undefined;
  }
}
