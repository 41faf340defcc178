/**
 * The one outbound HTTP client of Wharf's webhooks (undici).
 *
 * - Keep-alive connection pools, one per origin, at most `connections` sockets each. Requests
 *   waiting for a socket inside undici would share one queue per origin (a dead path could hold
 *   up a healthy one on the same host), so the engine sets `connections` to its global in-flight
 *   cap and enforces per-target concurrency itself.
 * - A per-request deadline covering connect, headers and body (`timeoutMs`).
 * - Redirects are never followed: a 3xx is returned as it is, and the caller records a failure.
 * - At most `responseBodyLimit` bytes of the response body are read; the rest is discarded by
 *   destroying the stream (which also closes that connection).
 * - The SSRF policy (./address-policy.ts) runs at connect time on the addresses actually dialled:
 *   IP literals are checked before connecting, host names through a `lookup` that resolves every
 *   address, refuses the connection if ANY of them is refused, and hands only vetted addresses
 *   to the socket, so there is no window between check and connect (DNS rebinding).
 * - `skipCertVerify` picks a second pool set with certificate verification off; `trusted` (a
 *   target a system admin saved) picks pools whose policy allows private addresses. Trusted and
 *   untrusted requests never share a connection.
 * - `caCert` (a target's own CA, ./ca-cert.ts) is trusted besides the system roots and
 *   `tls.trusted_ca_files`, in pools of its own keyed by the CA's sha256; at most `caPools`
 *   (default {@link maxCaPools}) such pools are kept, the least recently used one is closed when
 *   another is needed (its requests in flight finish first). With `skipCertVerify` the CA is
 *   ignored.
 * - Answers from non-public addresses to untrusted requests are sealed: the status is kept, the
 *   response headers and body are dropped and a failure without a response gets one uniform
 *   message, so a caller who may not reach private networks learns nothing about them (which port
 *   is open, what a service answers).
 * - Secrets the request carried (the `Authorization` value, the other headers the caller marks
 *   secret, the URL's userinfo and secret query values) are replaced by `<redacted>` in the kept
 *   response headers and body (./redaction.ts), so an echoing receiver cannot put them into the
 *   delivery history.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { trustedCa } from '../platform/index.ts';
import { Agent, buildConnector } from 'undici';
import { AddressPolicy, classifyAddress, describeRefusal, type Refusal } from './address-policy.ts';
import { caKey } from './ca-cert.ts';
import { addressSecrets, headerSecrets, scrubSecrets } from './redaction.ts';

/** Resolves a host name to all its addresses (replaceable in tests, where only loopback exists). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

/** The system resolver (getaddrinfo), every address. */
export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** Options of {@link WebhookHttpClient}. */
export interface HttpClientOptions {
  policy: AddressPolicy;
  /** Connections per origin. */
  connections: number;
  /** Bytes of a response body kept. */
  responseBodyLimit: number;
  /** Pools of targets with their own CA kept at once. Default {@link maxCaPools}. */
  caPools?: number;
  /** Connect timeout, ms (the request deadline still applies). Default 5000. */
  connectTimeoutMs?: number;
  resolver?: Resolver;
}

/** One request to send. */
export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  skipCertVerify: boolean;
  /** PEM certificates trusted for this request besides the system store (a target's `ca_cert`); ignored with skipCertVerify. */
  caCert?: string | null;
  /** Aborts the request early (shutdown). */
  signal?: AbortSignal;
  /**
   * A system admin vouched for the target: private addresses are allowed whatever the
   * configuration, and answers from them are returned in full. Default false.
   */
  trusted?: boolean;
  /**
   * `headers` with secret values replaced (signer's `redacted`): the values that differ are
   * scrubbed from the response. Without it, only `Authorization` counts as secret.
   */
  redactedHeaders?: Record<string, string>;
}

/** Connection pools for targets with their own CA kept at once by default (least recently used closed first). */
export const maxCaPools = 32;

/** The error text of an untrusted request to a private address that got no response. */
export const sealedError = 'no response from a private address (details are shown only for targets saved by a system admin)';

/** Why a request got no response. */
export type OutboundErrorKind = 'timeout' | 'blocked' | 'invalid_url' | 'network' | 'aborted';

/** What happened. */
export interface OutboundResult {
  /** HTTP status, or null when no response arrived. */
  status: number | null;
  /** Response headers, lower-case names; null without a response. */
  headers: Record<string, string> | null;
  /** The first `responseBodyLimit` bytes of the response body; null without a response. */
  body: Buffer | null;
  /** True when the body was longer than what was kept. */
  bodyTruncated: boolean;
  durationMs: number;
  /** Error text when no response arrived. */
  error: string | null;
  errorKind: OutboundErrorKind | null;
}

/** The error the guard raises when the SSRF policy refuses an address. */
export class BlockedAddressError extends Error {
  /** Stable code, so the refusal is recognised through undici's error wrapping. */
  readonly code = 'WHARF_SSRF_BLOCKED';
  constructor(
    readonly host: string,
    readonly refusal: Refusal,
  ) {
    super(describeRefusal(host, refusal));
    this.name = 'BlockedAddressError';
  }
}

function stripBrackets(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Finds an error with `code` in an error's cause chain. */
function findCode(err: unknown, code: string): unknown {
  let e: unknown = err;
  for (let i = 0; i < 5 && e instanceof Error; i++) {
    if ((e as { code?: unknown }).code === code) return e; // reading an optional property of an Error
    e = e.cause;
  }
  return undefined;
}

function errorText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 4 && e instanceof Error; i++) {
    const code = (e as { code?: unknown }).code; // optional property of Node/undici errors
    const text = typeof code === 'string' && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
    if (!parts.includes(text)) parts.push(text);
    e = e.cause;
  }
  return parts.join(' <- ') || String(err);
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** `headers` with `authorization` marked secret (its copy differs), everything else not. */
function omitAuthorization(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = k.toLowerCase() === 'authorization' ? '' : v;
  return out;
}

function scrubHeaders(headers: Record<string, string>, secrets: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = scrubSecrets(v, secrets);
  return out;
}

/** The body with secrets replaced; the same Buffer when none occurs (a binary body is left alone). */
function scrubBody(body: Buffer, secrets: readonly string[], truncated: boolean): Buffer {
  if (body.length === 0 || secrets.length === 0) return body;
  const text = body.toString('utf8');
  const scrubbed = scrubSecrets(text, secrets, truncated);
  return scrubbed === text ? body : Buffer.from(scrubbed, 'utf8');
}

/** The guarded outbound client. One per process; {@link close} at shutdown. */
export class WebhookHttpClient {
  /** Pools by `${insecure}/${trusted}`. */
  private readonly agents = new Map<string, Agent>();
  /** Pools of targets with their own CA by `${trusted}/${sha256 of the CA}`, least recently used first. */
  private readonly caAgents = new Map<string, Agent>();
  private readonly resolver: Resolver;
  private readonly trustedPolicy: AddressPolicy;
  /** Host names that resolved to a non-public address (their answers are sealed for untrusted requests). */
  private readonly privateHosts = new Set<string>();

  constructor(private readonly opts: HttpClientOptions) {
    this.resolver = opts.resolver ?? systemResolver;
    this.trustedPolicy = opts.policy.withPrivateAllowed();
  }

  /** True when `host` is a non-public IP literal or a name that resolved to a non-public address. */
  private isPrivateDestination(host: string): boolean {
    const bare = stripBrackets(host);
    if (isIP(bare) !== 0) return classifyAddress(bare) !== 'public';
    return this.privateHosts.has(bare.toLowerCase());
  }

  /** A `lookup` for net/tls.connect that resolves, vets every address and returns only vetted ones. */
  private guardedLookup = (policy: AddressPolicy) => (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    this.resolver(hostname).then(
      (all) => {
        const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
        const addrs = family === 0 ? all : all.filter((a) => a.family === family);
        if (all.some((a) => classifyAddress(a.address) !== 'public')) {
          if (this.privateHosts.size >= 10_000) this.privateHosts.clear();
          this.privateHosts.add(hostname.toLowerCase());
        }
        for (const a of all) {
          const refusal = policy.check(hostname, a.address);
          if (refusal) {
            callback(new BlockedAddressError(hostname, refusal), '');
            return;
          }
        }
        const first = addrs[0];
        if (!first) {
          const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          err.code = 'ENOTFOUND';
          callback(err, '');
          return;
        }
        if (options.all) callback(null, addrs);
        else callback(null, first.address, first.family);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), ''),
    );
  };

  private agent(insecure: boolean, trusted: boolean, caCert: string | null): Agent {
    if (caCert !== null && !insecure) return this.caAgent(trusted, caCert);
    const key = `${insecure}/${trusted}`;
    const existing = this.agents.get(key);
    if (existing) return existing;
    const agent = this.newAgent(insecure, trusted, null);
    this.agents.set(key, agent);
    return agent;
  }

  /** The pool of a target's own CA: found and moved to the most recent end, or made (closing the least recently used past the cap). */
  private caAgent(trusted: boolean, caCert: string): Agent {
    const key = `${trusted}/${caKey(caCert)}`;
    const existing = this.caAgents.get(key);
    if (existing) {
      this.caAgents.delete(key);
      this.caAgents.set(key, existing);
      return existing;
    }
    while (this.caAgents.size >= Math.max(1, this.opts.caPools ?? maxCaPools)) {
      const [oldestKey, oldest] = this.caAgents.entries().next().value ?? [];
      if (oldestKey === undefined || oldest === undefined) break;
      this.caAgents.delete(oldestKey);
      // close() lets the requests already on it finish, then ends its connections.
      oldest.close().catch(() => undefined);
    }
    const agent = this.newAgent(false, trusted, caCert);
    this.caAgents.set(key, agent);
    return agent;
  }

  /** CA pools open right now (tests). */
  get caPoolCount(): number {
    return this.caAgents.size;
  }

  private newAgent(insecure: boolean, trusted: boolean, caCert: string | null): Agent {
    const policy = trusted ? this.trustedPolicy : this.opts.policy;
    const base = buildConnector({
      timeout: this.opts.connectTimeoutMs ?? 5000,
      rejectUnauthorized: !insecure,
      // The system roots plus tls.trusted_ca_files plus the target's CA (undefined: Node's roots alone).
      ca: trustedCa(caCert),
      lookup: this.guardedLookup(policy),
    });
    const connect: buildConnector.connector = (options, cb) => {
      const host = stripBrackets(options.hostname);
      if (isIP(host) !== 0) {
        // net.connect does not call lookup for IP literals: check them here.
        const refusal = policy.check(host, host);
        if (refusal) {
          cb(new BlockedAddressError(host, refusal), null);
          return;
        }
      }
      base(options, cb);
    };
    return new Agent({ connections: this.opts.connections, connect, keepAliveTimeout: 4000, allowH2: false });
  }

  /** Sends one POST. Never throws: every failure is described in the result. */
  async send(req: OutboundRequest): Promise<OutboundResult> {
    const started = performance.now();
    const done = (r: Omit<OutboundResult, 'durationMs'>): OutboundResult => ({ ...r, durationMs: Math.round(performance.now() - started) });
    const noResponse = (kind: OutboundErrorKind, error: string) =>
      done({ status: null, headers: null, body: null, bodyTruncated: false, error, errorKind: kind });

    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return noResponse('invalid_url', `invalid target URL: ${req.url}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return noResponse('invalid_url', `unsupported URL scheme ${url.protocol}`);
    const headers = { ...req.headers };
    const secrets = req.redactedHeaders ? headerSecrets(req.headers, req.redactedHeaders) : headerSecrets(req.headers, omitAuthorization(req.headers));
    secrets.push(...addressSecrets(req.url));
    if ((url.username || url.password) && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      headers['authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      secrets.push(...headerSecrets({ authorization: headers['authorization'] }, {}));
    }
    const trusted = req.trusted === true;
    const sealed = () => !trusted && this.isPrivateDestination(url.hostname);

    const deadline = AbortSignal.timeout(req.timeoutMs);
    const signal = req.signal ? AbortSignal.any([deadline, req.signal]) : deadline;
    const limit = this.opts.responseBodyLimit;
    try {
      const res = await this.agent(req.skipCertVerify, trusted, req.caCert ?? null).request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers,
        body: req.body,
        signal,
        headersTimeout: req.timeoutMs + 1000,
        bodyTimeout: req.timeoutMs + 1000,
      });
      const chunks: Buffer[] = [];
      let kept = 0;
      let truncated = false;
      try {
        if (limit === 0) {
          truncated = true;
        } else {
          for await (const chunk of res.body) {
            const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array); // undici yields Buffers
            const room = limit - kept;
            if (buf.length >= room) {
              chunks.push(buf.subarray(0, room));
              kept += room;
              truncated = buf.length > room;
              break; // leaving the loop destroys the stream
            }
            chunks.push(buf);
            kept += buf.length;
          }
          if (kept >= limit && !res.body.readableEnded) truncated = true;
        }
      } catch {
        // The body failed midway (reset, deadline): the status and what arrived still count.
        truncated = true;
      } finally {
        if (!res.body.destroyed && !res.body.readableEnded) res.body.destroy();
      }
      if (sealed()) return done({ status: res.statusCode, headers: {}, body: Buffer.alloc(0), bodyTruncated: false, error: null, errorKind: null });
      return done({
        status: res.statusCode,
        headers: scrubHeaders(flattenHeaders(res.headers), secrets),
        body: scrubBody(Buffer.concat(chunks), secrets, truncated),
        bodyTruncated: truncated,
        error: null,
        errorKind: null,
      });
    } catch (err) {
      const blocked = findCode(err, 'WHARF_SSRF_BLOCKED');
      if (blocked instanceof Error) return noResponse('blocked', blocked.message);
      if (req.signal?.aborted && !deadline.aborted) return noResponse('aborted', 'aborted: Wharf is shutting down');
      const timedOut = deadline.aborted || findCode(err, 'UND_ERR_HEADERS_TIMEOUT') !== undefined || findCode(err, 'UND_ERR_BODY_TIMEOUT') !== undefined || findCode(err, 'UND_ERR_CONNECT_TIMEOUT') !== undefined;
      // Refused, reset, closed or silent: all the same to a caller who may not see private networks.
      if (sealed()) return noResponse(timedOut ? 'timeout' : 'network', sealedError);
      if (deadline.aborted || findCode(err, 'UND_ERR_HEADERS_TIMEOUT') || findCode(err, 'UND_ERR_BODY_TIMEOUT') || findCode(err, 'UND_ERR_CONNECT_TIMEOUT')) {
        return noResponse('timeout', `timed out after ${req.timeoutMs} ms (${errorText(err)})`);
      }
      if (req.signal?.aborted) return noResponse('aborted', 'aborted: Wharf is shutting down');
      return noResponse('network', errorText(err));
    }
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    const agents = [...this.agents.values(), ...this.caAgents.values()];
    this.agents.clear();
    this.caAgents.clear();
    await Promise.all(agents.map((a) => a.destroy().catch(() => undefined)));
  }
}
