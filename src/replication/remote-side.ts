/**
 * A replication side over HTTP: a remote registry endpoint (a CNCF registry, Harbor, another
 * Wharf) spoken to through the `/v2/` API with its own keep-alive undici Agent (./remote.ts sets
 * up its TLS). Authentication follows the first 401's challenge: Basic with the endpoint's key and
 * secret, or a Bearer token from the challenge's realm per scope (`repository:<repo>:pull`,
 * `…:pull,push` for writes, plus `repository:<from>:pull` for a mount, `registry:catalog:*`),
 * cached until it expires and fetched again once when a cached one is refused. Blobs stream both
 * ways and are never held whole: reads follow redirects (a redirect to another host goes without
 * Authorization), writes go in one PUT or as PATCH chunks, hashed on the way so bytes that do not
 * match the digest are never committed. Every failure is a {@link SideError} whose message names
 * the method, the path and the registry's error, never a credential or a query string.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { request, type Agent, type Dispatcher } from 'undici';
import { dockerManifest, dockerManifestList, ociIndex, ociManifest } from '../domain/index.ts';
import { SideError, type ReplicationSide, type SideManifest } from './side.ts';
import { describe, endpointAgent, fetchBearerToken, parseChallenge, readBounded, TokenServiceError, type Challenge, type EndpointAccess } from './remote.ts';

/** Bounds on a remote side's requests. */
export interface RemoteSideLimits {
  /** Per request: until the headers, and between body chunks (default 60 s). */
  timeoutMs: number;
}

/** The largest manifest read (4 MiB). */
export const maxManifestBytes = 4 << 20;
/** The largest other body read (errors, tag lists, catalog pages, token answers). */
const maxApiBytes = 4 << 20;
/** Redirects followed for one blob read. */
const maxRedirects = 5;
/** Pages followed for one tag list or catalog. */
const maxPages = 10_000;

const manifestAccept = [ociManifest, ociIndex, dockerManifest, dockerManifestList].join(', ');

type Method = Dispatcher.HttpMethod;
type Response = Dispatcher.ResponseData;

/** How an answer's status reads as an error: transient for 5xx and 429. */
function transientStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

function headerOf(res: Response, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `sha256:<hex>` (or sha512) of `body`, with the algorithm `like` names. */
function digestOf(body: Buffer, like = 'sha256'): string {
  const alg = like.startsWith('sha512:') ? 'sha512' : 'sha256';
  return `${alg}:${createHash(alg).update(body).digest('hex')}`;
}

function isDigest(ref: string): boolean {
  return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(ref);
}

/** The media type of a Content-Type header, without parameters. */
function mediaTypeOf(res: Response): string {
  return (headerOf(res, 'content-type') ?? '').split(';')[0]?.trim() ?? '';
}

/** The `rel="next"` target of a Link header, if any. */
export function nextLink(link: string | undefined): string | undefined {
  if (link === undefined) return undefined;
  for (const part of link.split(',')) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && m[1] !== undefined && /\brel\s*=\s*"?next"?/i.test(m[2] ?? '')) return m[1];
  }
  return undefined;
}

/**
 * A stream stage that hashes and counts the bytes passing and fails at the end when they do not
 * match. It holds back the last chunk until the end is verified, so a receiver waiting for
 * Content-Length bytes never gets all of them when they are wrong.
 */
class VerifyingPassThrough extends Transform {
  private readonly hash: Hash;
  private size = 0;
  private held: Buffer | undefined;
  constructor(
    private readonly digest: string,
    private readonly expectedSize: number,
  ) {
    super();
    this.hash = createHash(digest.startsWith('sha512:') ? 'sha512' : 'sha256');
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    if (this.size > this.expectedSize) return cb(new SideError(`the blob ${this.digest} has more than the ${this.expectedSize} bytes announced`, false));
    const out = this.held;
    this.held = chunk;
    cb(null, out);
  }
  override _flush(cb: TransformCallback): void {
    if (this.size !== this.expectedSize) return cb(new SideError(`the blob ${this.digest} has ${this.size} bytes, not the ${this.expectedSize} announced`, false));
    const got = `${this.digest.split(':')[0] ?? 'sha256'}:${this.hash.digest('hex')}`;
    if (got !== this.digest) return cb(new SideError(`the bytes of blob ${this.digest} hash to ${got}`, false));
    cb(null, this.held);
  }
}

/** One request of {@link RemoteSide.send}. */
interface Call {
  method: Method;
  /** Absolute URL. */
  url: string;
  /** The token scope(s); undefined sends no credentials at all (a foreign host). */
  scope: string | undefined;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  signal: AbortSignal;
}

/** A remote endpoint as a replication side. Close it when done (it owns its connection pool). */
export class RemoteSide implements ReplicationSide {
  readonly label: string;
  readonly type: string;
  readonly endpoint: string;
  private readonly access: EndpointAccess;
  private readonly agent: Agent;
  /** The scheme the registry asked for, once a 401 said so. */
  private scheme: { kind: 'basic' } | { kind: 'bearer'; challenge: Challenge } | undefined;
  /** Bearer tokens per scope key, with the time they stop being used. */
  private readonly tokens = new Map<string, { token: string; until: number }>();

  constructor(opts: { access: EndpointAccess; label: string; limits?: Partial<RemoteSideLimits> }) {
    this.access = opts.access;
    this.label = opts.label;
    this.type = opts.access.type;
    this.endpoint = opts.access.url;
    this.agent = endpointAgent(opts.access, opts.limits?.timeoutMs ?? 60_000);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  // ---- auth -------------------------------------------------------------------------------

  private hasCredentials(): boolean {
    return this.access.accessKey !== '' || this.access.accessSecret !== '';
  }

  private basic(): string {
    return 'Basic ' + Buffer.from(`${this.access.accessKey}:${this.access.accessSecret}`).toString('base64');
  }

  private static pull(repo: string): string {
    return `repository:${repo}:pull`;
  }

  private static push(repo: string): string {
    return `repository:${repo}:pull,push`;
  }

  /** A fresh token for `scope` (plus any scope the challenge named), cached until shortly before it expires. */
  private async newToken(challenge: Challenge, scope: string, signal: AbortSignal): Promise<string> {
    const scopes = [scope, ...(challenge.params.scope !== undefined ? [challenge.params.scope] : [])];
    let t;
    try {
      t = await fetchBearerToken({ agent: this.agent, challenge, scopes, ...(this.hasCredentials() ? { authorization: this.basic() } : {}), maxBodyBytes: maxApiBytes, signal });
    } catch (err) {
      if (err instanceof TokenServiceError) throw new SideError(err.message, err.status !== undefined && transientStatus(err.status));
      throw this.networkError('GET', 'the token service', err, signal);
    }
    const margin = Math.min(10_000, t.expiresInMs / 2);
    this.tokens.set(scope, { token: t.token, until: Date.now() + t.expiresInMs - margin });
    return t.token;
  }

  /** The Authorization for `scope` as far as the registry's scheme is known; `fresh` says whether a token was fetched now. */
  private async authorization(scope: string, signal: AbortSignal): Promise<{ value: string | undefined; fresh: boolean }> {
    const s = this.scheme;
    if (s === undefined) return { value: undefined, fresh: false };
    if (s.kind === 'basic') return { value: this.basic(), fresh: true };
    const cached = this.tokens.get(scope);
    if (cached !== undefined && cached.until > Date.now()) return { value: `Bearer ${cached.token}`, fresh: false };
    return { value: `Bearer ${await this.newToken(s.challenge, scope, signal)}`, fresh: true };
  }

  private networkError(method: string, what: string, err: unknown, signal: AbortSignal): SideError {
    if (err instanceof SideError) return err;
    if (signal.aborted) return new SideError(`${method} ${what} was cancelled`, true, { cause: signal.reason });
    return new SideError(`${method} ${what} failed: ${describe(err)}`, true, { cause: err });
  }

  /** The request's path for messages: never the query (upload states) nor the host. */
  private static pathOf(url: string): string {
    return new URL(url).pathname;
  }

  /** One request, no auth handling. */
  private async raw(call: Call, authorization: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': 'wharf-replication', ...call.headers };
    if (authorization !== undefined) headers.authorization = authorization;
    try {
      return await request(call.url, { method: call.method, headers, body: call.body ?? null, dispatcher: this.agent, signal: call.signal });
    } catch (err) {
      throw this.networkError(call.method, RemoteSide.pathOf(call.url), err, call.signal);
    }
  }

  /**
   * A request with authentication: sent with what is known of the scheme; on a 401 whose body can
   * be sent again, the challenge is learnt and the request repeated once with Basic or a new
   * token. A 401 that stays is a non-transient error (a stream body's 401 is returned as is).
   */
  private async send(call: Call): Promise<Response> {
    if (call.scope === undefined) return this.raw(call, undefined);
    const auth = await this.authorization(call.scope, call.signal);
    const res = await this.raw(call, auth.value);
    if (res.statusCode !== 401 || call.body instanceof Readable) return res;
    const challenge = parseChallenge(headerOf(res, 'www-authenticate'));
    let retry: string | undefined;
    if (challenge?.scheme === 'basic' && this.hasCredentials() && !(auth.value !== undefined && this.scheme?.kind === 'basic')) {
      this.scheme = { kind: 'basic' };
      retry = this.basic();
    } else if (challenge?.scheme === 'bearer' && !(auth.value !== undefined && auth.fresh)) {
      this.scheme = { kind: 'bearer', challenge };
      this.tokens.delete(call.scope);
      await res.body.dump();
      retry = `Bearer ${await this.newToken(challenge, call.scope, call.signal)}`;
    }
    if (retry === undefined) throw await this.failure(call.method, call.url, res);
    await res.body.dump().catch(() => undefined);
    const again = await this.raw(call, retry);
    if (again.statusCode === 401) throw await this.failure(call.method, call.url, again);
    return again;
  }

  /** The SideError of an unexpected answer, with the registry's first error code and message (the body is consumed). */
  private async failure(method: string, url: string, res: Response): Promise<SideError> {
    let detail = '';
    try {
      const body = await readBounded(res.body, 64 << 10, method);
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      const errors = parsed !== null && typeof parsed === 'object' ? (parsed as { errors?: unknown }).errors : undefined; // checked below
      const first: unknown = Array.isArray(errors) ? errors[0] : undefined;
      if (first !== null && typeof first === 'object') {
        const e = first as { code?: unknown; message?: unknown }; // checked: typeof below
        const code = typeof e.code === 'string' ? e.code : '';
        const message = typeof e.message === 'string' ? e.message : '';
        detail = [code, message].filter((x) => x !== '').join(': ');
        if (code !== '' && message !== '') detail = `${code}: ${message}`;
      }
    } catch {
      res.body.destroy();
    }
    const text = `${method} ${RemoteSide.pathOf(url)} answered ${res.statusCode}${detail !== '' ? ` ${detail}` : ''}`;
    return new SideError(text.length > 1000 ? text.slice(0, 1000) + '…' : text, transientStatus(res.statusCode));
  }

  private url(path: string): string {
    return this.access.url + path;
  }

  /** A Location (or Link) target resolved against the endpoint. */
  private resolve(location: string, base?: string): string {
    return new URL(location, base ?? this.access.url + '/').toString();
  }

  /** Same scheme, host and port as the endpoint: credentials may go there. */
  private sameOrigin(url: string): boolean {
    return new URL(url).origin === new URL(this.access.url).origin;
  }

  private async bodyOf(method: string, url: string, res: Response, max: number): Promise<Buffer> {
    try {
      return await readBounded(res.body, max, `${method} ${RemoteSide.pathOf(url)}`);
    } catch (err) {
      if (err instanceof Error && err.message.includes('answered more than')) throw new SideError(err.message, false);
      throw new SideError(`${method} ${RemoteSide.pathOf(url)} failed while reading the answer: ${describe(err)}`, true, { cause: err });
    }
  }

  private async json(method: string, url: string, res: Response): Promise<unknown> {
    const body = await this.bodyOf(method, url, res, maxApiBytes);
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new SideError(`${method} ${RemoteSide.pathOf(url)} answered no JSON`, false);
    }
  }

  // ---- manifests --------------------------------------------------------------------------

  private manifestUrl(repo: string, ref: string): string {
    return this.url(`/v2/${repo}/manifests/${encodeURIComponent(ref).replace(/%3A/g, ':')}`);
  }

  async getManifest(repo: string, ref: string, signal: AbortSignal): Promise<SideManifest | null> {
    const url = this.manifestUrl(repo, ref);
    const res = await this.send({ method: 'GET', url, scope: RemoteSide.pull(repo), headers: { accept: manifestAccept }, signal });
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    if (res.statusCode !== 200) throw await this.failure('GET', url, res);
    const body = await this.bodyOf('GET', url, res, maxManifestBytes);
    let digest = headerOf(res, 'docker-content-digest') ?? '';
    if (isDigest(ref)) {
      const got = digestOf(body, ref);
      if (got !== ref) throw new SideError(`GET ${RemoteSide.pathOf(url)} answered a manifest hashing to ${got}`, false);
      digest = ref;
    } else if (!isDigest(digest)) {
      digest = digestOf(body);
    }
    const declared = mediaTypeOf(res);
    const known = [ociManifest, ociIndex, dockerManifest, dockerManifestList].includes(declared);
    return { digest, mediaType: known ? declared : mediaTypeInBody(body) || declared, body };
  }

  async headManifest(repo: string, ref: string, signal: AbortSignal): Promise<{ digest: string; mediaType: string } | null> {
    const url = this.manifestUrl(repo, ref);
    const res = await this.send({ method: 'HEAD', url, scope: RemoteSide.pull(repo), headers: { accept: manifestAccept }, signal });
    await res.body.dump();
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw new SideError(`HEAD ${RemoteSide.pathOf(url)} answered ${res.statusCode}`, transientStatus(res.statusCode));
    const digest = headerOf(res, 'docker-content-digest');
    const mediaType = mediaTypeOf(res);
    if (digest !== undefined && isDigest(digest) && mediaType !== '') return { digest, mediaType };
    // No digest in the answer: read the manifest instead.
    const m = await this.getManifest(repo, ref, signal);
    return m === null ? null : { digest: m.digest, mediaType: m.mediaType };
  }

  async putManifest(repo: string, ref: string, mediaType: string, body: Buffer, signal: AbortSignal): Promise<string> {
    const url = this.manifestUrl(repo, ref);
    const res = await this.send({ method: 'PUT', url, scope: RemoteSide.push(repo), headers: { 'content-type': mediaType }, body, signal });
    if (res.statusCode !== 201 && res.statusCode !== 200 && res.statusCode !== 202) throw await this.failure('PUT', url, res);
    await res.body.dump();
    const digest = headerOf(res, 'docker-content-digest');
    return digest !== undefined && isDigest(digest) ? digest : digestOf(body);
  }

  async deleteManifest(repo: string, digest: string, signal: AbortSignal): Promise<boolean> {
    const url = this.manifestUrl(repo, digest);
    const res = await this.send({ method: 'DELETE', url, scope: `repository:${repo}:delete`, signal });
    if (res.statusCode === 404) {
      await res.body.dump();
      return false;
    }
    if (res.statusCode !== 202 && res.statusCode !== 200 && res.statusCode !== 204) throw await this.failure('DELETE', url, res);
    await res.body.dump();
    return true;
  }

  // ---- blobs ------------------------------------------------------------------------------

  /** A blob GET or HEAD, redirects followed (a foreign host gets no Authorization). */
  private async blobRequest(method: 'GET' | 'HEAD', repo: string, digest: string, signal: AbortSignal): Promise<{ res: Response; url: string }> {
    let url = this.url(`/v2/${repo}/blobs/${digest}`);
    let res = await this.send({ method, url, scope: RemoteSide.pull(repo), signal });
    for (let hops = 0; res.statusCode >= 300 && res.statusCode < 400 && res.statusCode !== 304; hops++) {
      const location = headerOf(res, 'location');
      await res.body.dump();
      if (location === undefined || hops >= maxRedirects) throw new SideError(`${method} ${RemoteSide.pathOf(url)} answered ${res.statusCode} without a usable redirect`, false);
      url = this.resolve(location, url);
      res = await this.send({ method, url, scope: this.sameOrigin(url) ? RemoteSide.pull(repo) : undefined, signal });
    }
    return { res, url };
  }

  async hasBlob(repo: string, digest: string, signal: AbortSignal): Promise<boolean> {
    const { res, url } = await this.blobRequest('HEAD', repo, digest, signal);
    await res.body.dump();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw new SideError(`HEAD ${RemoteSide.pathOf(url)} answered ${res.statusCode}`, transientStatus(res.statusCode));
  }

  async openBlob(repo: string, digest: string, signal: AbortSignal): Promise<{ size: number; stream: Readable }> {
    const { res, url } = await this.blobRequest('GET', repo, digest, signal);
    if (res.statusCode !== 200) throw await this.failure('GET', url, res);
    const length = Number(headerOf(res, 'content-length'));
    if (!Number.isSafeInteger(length) || length < 0) {
      res.body.destroy();
      throw new SideError(`GET ${RemoteSide.pathOf(url)} answered no Content-Length`, false);
    }
    return { size: length, stream: res.body };
  }

  async mountBlob(repo: string, digest: string, fromRepo: string, signal: AbortSignal): Promise<boolean> {
    const q = new URLSearchParams({ mount: digest, from: fromRepo });
    const url = this.url(`/v2/${repo}/blobs/uploads/?${q.toString()}`);
    const scope = `${RemoteSide.push(repo)} ${RemoteSide.pull(fromRepo)}`;
    const res = await this.send({ method: 'POST', url, scope, headers: { 'content-length': '0' }, signal });
    if (res.statusCode === 201) {
      await res.body.dump();
      return true;
    }
    if (res.statusCode === 202) {
      await res.body.dump();
      const location = headerOf(res, 'location');
      if (location !== undefined) await this.cancelUpload(repo, this.resolve(location), signal);
      return false;
    }
    throw await this.failure('POST', url, res);
  }

  /** Best effort: DELETE an upload session (its failure is ignored). */
  private async cancelUpload(repo: string, url: string, signal: AbortSignal): Promise<void> {
    try {
      const res = await this.send({ method: 'DELETE', url, scope: this.sameOrigin(url) ? RemoteSide.push(repo) : undefined, signal });
      await res.body.dump();
    } catch {
      /* the registry expires abandoned sessions itself */
    }
  }

  async writeBlob(repo: string, digest: string, size: number, data: Readable, opts: { chunkSize?: number }, signal: AbortSignal): Promise<void> {
    const scope = RemoteSide.push(repo);
    const startUrl = this.url(`/v2/${repo}/blobs/uploads/`);
    const start = await this.send({ method: 'POST', url: startUrl, scope, headers: { 'content-length': '0' }, signal });
    if (start.statusCode !== 202) {
      data.destroy();
      throw await this.failure('POST', startUrl, start);
    }
    await start.body.dump();
    const location = headerOf(start, 'location');
    if (location === undefined) {
      data.destroy();
      throw new SideError(`POST ${RemoteSide.pathOf(startUrl)} answered 202 without a Location`, false);
    }
    let session = this.resolve(location);
    try {
      if (opts.chunkSize !== undefined && opts.chunkSize > 0) session = await this.patchChunks(repo, session, digest, size, data, opts.chunkSize, signal);
      await this.finish(repo, session, digest, size, opts.chunkSize !== undefined && opts.chunkSize > 0 ? undefined : data, signal);
    } catch (err) {
      data.destroy();
      await this.cancelUpload(repo, session, signal.aborted ? AbortSignal.timeout(5_000) : signal);
      if (err instanceof SideError) throw err;
      // The source stream failed (the side it is read from): trying again may help.
      throw new SideError(`reading blob ${digest} for ${repo} failed: ${describe(err)}`, true, { cause: err });
    }
  }

  /** Sends `data` as PATCH chunks of at most `chunkSize` bytes, verifying it; answers the last Location. */
  private async patchChunks(repo: string, session: string, digest: string, size: number, data: Readable, chunkSize: number, signal: AbortSignal): Promise<string> {
    const verifier = new VerifyingPassThrough(digest, size);
    const source = data.pipe(verifier);
    data.once('error', (e) => verifier.destroy(e));
    let offset = 0;
    let pending: Buffer[] = [];
    let pendingSize = 0;
    const flush = async (bytes: Buffer): Promise<void> => {
      const res = await this.send({
        method: 'PATCH',
        url: session,
        scope: this.sameOrigin(session) ? RemoteSide.push(repo) : undefined,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length), 'content-range': `${offset}-${offset + bytes.length - 1}` },
        body: bytes,
        signal,
      });
      if (res.statusCode !== 202 && res.statusCode !== 204) throw await this.failure('PATCH', session, res);
      await res.body.dump();
      const next = headerOf(res, 'location');
      if (next !== undefined) session = this.resolve(next, session);
      offset += bytes.length;
    };
    for await (const chunk of source) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      pending.push(b);
      pendingSize += b.length;
      while (pendingSize >= chunkSize) {
        const all = Buffer.concat(pending);
        await flush(all.subarray(0, chunkSize));
        const rest = all.subarray(chunkSize);
        pending = rest.length > 0 ? [rest] : [];
        pendingSize = rest.length;
      }
    }
    if (pendingSize > 0) await flush(Buffer.concat(pending));
    return session;
  }

  /** The closing PUT `?digest=`: with the whole stream (monolithic, verified on the way), or empty after chunks. */
  private async finish(repo: string, session: string, digest: string, size: number, data: Readable | undefined, signal: AbortSignal): Promise<void> {
    const u = new URL(session);
    u.searchParams.set('digest', digest);
    const url = u.toString();
    let body: Buffer | Readable = Buffer.alloc(0);
    let verifier: VerifyingPassThrough | undefined;
    if (data !== undefined) {
      verifier = new VerifyingPassThrough(digest, size);
      // Its refusal is read from `verifier.errored` below; the listener keeps a late one from being unhandled.
      verifier.on('error', () => undefined);
      data.once('error', (e) => verifier?.destroy(e));
      body = data.pipe(verifier);
    }
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': String(data !== undefined ? size : 0) };
    let res: Response;
    try {
      res = await this.send({ method: 'PUT', url, scope: this.sameOrigin(url) ? RemoteSide.push(repo) : undefined, headers, body, signal });
    } catch (err) {
      // The verifier's refusal (wrong bytes) or the source's failure is the real reason the request broke off.
      const own = verifier?.errored;
      throw own ?? err;
    }
    if (verifier?.errored instanceof SideError) {
      await res.body.dump().catch(() => undefined);
      throw verifier.errored;
    }
    if (res.statusCode !== 201 && res.statusCode !== 204 && res.statusCode !== 200) throw await this.failure('PUT', url, res);
    await res.body.dump();
    const stored = headerOf(res, 'docker-content-digest');
    if (stored !== undefined && isDigest(stored) && stored !== digest) throw new SideError(`PUT ${RemoteSide.pathOf(url)} stored the blob as ${stored}, not ${digest}`, false);
  }

  // ---- listings ---------------------------------------------------------------------------

  /** Follows `rel="next"` pages from `first`, collecting `field` of each JSON page. */
  private async pages(first: string, scope: string, field: 'tags' | 'repositories', signal: AbortSignal, notFound: boolean): Promise<string[]> {
    const out: string[] = [];
    const seen = new Set<string>();
    let url: string | undefined = first;
    for (let n = 0; url !== undefined && n < maxPages && !seen.has(url); n++) {
      seen.add(url);
      const res = await this.send({ method: 'GET', url, scope, headers: { accept: 'application/json' }, signal });
      if (res.statusCode === 404 && notFound) {
        await res.body.dump();
        return out;
      }
      if (res.statusCode !== 200) throw await this.failure('GET', url, res);
      const parsed = await this.json('GET', url, res);
      const list = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)[field] : undefined; // checked: an object or nothing
      if (Array.isArray(list)) for (const v of list) if (typeof v === 'string') out.push(v);
      const next = nextLink(headerOf(res, 'link'));
      url = next === undefined ? undefined : this.resolve(next, url);
    }
    return out;
  }

  async listTags(repo: string, signal: AbortSignal): Promise<string[]> {
    return this.pages(this.url(`/v2/${repo}/tags/list`), RemoteSide.pull(repo), 'tags', signal, true);
  }

  async listRepositories(signal: AbortSignal): Promise<string[]> {
    return this.pages(this.url('/v2/_catalog?n=1000'), 'registry:catalog:*', 'repositories', signal, false);
  }

  // ---- projects ---------------------------------------------------------------------------

  async prepareRepository(repo: string, signal: AbortSignal): Promise<void> {
    if (this.type !== 'harbor') return;
    const project = repo.split('/')[0] ?? repo;
    const url = this.url('/api/v2.0/projects');
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.hasCredentials()) headers.authorization = this.basic();
    const body = Buffer.from(JSON.stringify({ project_name: project, metadata: { public: 'false' } }));
    const res = await this.raw({ method: 'POST', url, scope: undefined, headers, body, signal }, undefined);
    if (res.statusCode === 201 || res.statusCode === 409) {
      await res.body.dump();
      return;
    }
    if (res.statusCode === 403) {
      // A robot may not create projects, but the project may already be there.
      await res.body.dump();
      const q = new URLSearchParams({ project_name: project });
      const check = await this.raw({ method: 'HEAD', url: `${url}?${q.toString()}`, scope: undefined, headers: { accept: 'application/json', ...(headers.authorization ? { authorization: headers.authorization } : {}) }, signal }, undefined);
      await check.body.dump();
      if (check.statusCode === 200) return;
      throw new SideError(`POST /api/v2.0/projects answered 403: cannot create project ${project}`, false);
    }
    throw await this.failure('POST', url, res);
  }
}

/** The `mediaType` field of a manifest body, when the answer named no Content-Type. */
function mediaTypeInBody(body: Buffer): string {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    const mt = parsed !== null && typeof parsed === 'object' ? (parsed as { mediaType?: unknown }).mediaType : undefined; // checked: typeof below
    return typeof mt === 'string' ? mt : '';
  } catch {
    return '';
  }
}
