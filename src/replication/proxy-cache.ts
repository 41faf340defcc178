/**
 * Proxy-cache projects (Harbor's `registry_id` projects): a {@link Registry} decorator in front of
 * the registry service. For a repository `<project>/<path>` of a project that caches a registry
 * endpoint, the upstream repository is `<path>` on that endpoint; every other repository passes
 * through untouched.
 *
 * Manifests. A digest already cached is served locally. A tag is checked upstream with a HEAD
 * (cheap, and it does not count against pull quotas):
 *   - same digest as the cached tag: served locally (a pull: PULL_ARTIFACT, pull_time);
 *   - upstream says "no such manifest": 404 MANIFEST_UNKNOWN even when cached (the image was
 *     removed upstream), unless `proxy_cache_local_on_not_found` is true and it is cached;
 *   - upstream unreachable, 5xx, 429, TLS or auth failure, or the endpoint marked unhealthy: the
 *     cached copy if there is one, else MANIFEST_UNKNOWN;
 *   - anything else is a miss: the copy engine (./copy.ts) copies the artifact from the endpoint
 *     (./remote-side.ts) into the project through a LocalSide over the inner registry (blobs and
 *     children first; the tag last), and a GET waits for it (up to `copyWaitMs`) so the pull is
 *     served and recorded locally. A copy that takes longer, or fails, leaves the GET relayed
 *     from upstream (the copy carries on in the background and records the pull when it ends). A
 *     HEAD miss answers from upstream and caches in the background. One copy per repository,
 *     digest and tag runs at a time.
 *
 * Blobs. A cached blob is served locally. Otherwise HEAD asks upstream (Harbor answers 404 there,
 * which breaks mirrors in front of it), and GET streams the upstream bytes to the client and into
 * the local store at once (one download): the cache write is verified against the digest before
 * the blob becomes visible, and its failure never breaks the client's stream; a client that goes
 * away leaves the cache write to finish. A ranged GET of an uncached blob is served from upstream
 * without caching.
 *
 * Tags: the local tags and the upstream ones (local only when upstream fails). Pushes (uploads,
 * mounts into the project, manifest PUTs, artifact copies into it) are refused with Harbor's 403
 * DENIED; the cache's own writes go to the inner registry directly. Deletes, tags created through
 * the API, retention and everything else pass through.
 */
import type { FileHandle } from 'node:fs/promises';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database, RegistryEndpointRow } from '../db/index.ts';
import { readRegistryEndpoint } from '../db/index.ts';
import { systemActor, type CallContext } from '../auth/index.ts';
import type { BlobInfo, ManifestContent, NamePage, Registry, UploadState } from '../registry/index.ts';
import type { ByteRange } from '../storage/index.ts';
import { fail, isDomainError, parseDigest, projectOf, type Digest, type ErrorCode, type Reference, type RepoName } from '../domain/index.ts';
import type { ReplicationSide } from './side.ts';
import { RemoteSide } from './remote-side.ts';
import { copyArtifact } from './copy.ts';
import { LocalSide } from './local-side.ts';
import { isAdapterType, type EndpointAccess } from './remote.ts';

/** What the proxy cache needs to know of a project (the projects module's ProxyCacheProject fits). */
export interface ProxyProject {
  /** The upstream registry endpoint. */
  registryId: number;
  /** `proxy_speed_kb`: upstream bandwidth in KB/s for cache copies; 0 or less is unlimited. */
  speedKBs: number;
  /** `proxy_cache_local_on_not_found`. */
  localOnNotFound: boolean;
}

/** The upstream registries, by endpoint id. */
export interface ProxyUpstreamSource {
  /** A side over the endpoint (kept open and reused), or null when the endpoint is gone or unusable. */
  side(registryId: number): Promise<ReplicationSide | null>;
  /** False when the endpoint's last health check failed: then the upstream is not asked at all. */
  healthy(registryId: number): Promise<boolean>;
}

/** What a {@link ProxyCacheRegistry} needs. */
export interface ProxyCacheDeps {
  /** The proxy-cache settings of project `name`, or null when it is an ordinary project (or none). Cached here for `lookupTtlMs`. */
  project(name: string): Promise<ProxyProject | null>;
  upstreams: ProxyUpstreamSource;
  /** Writes the cache: a LocalSide over the inner registry, as a system actor (pushes into proxy projects are refused only in front). */
  cache: ReplicationSide;
  logger: Logger;
  /** How long a manifest GET waits for its cache copy before relaying the upstream manifest (default 60 s). */
  copyWaitMs?: number;
  /** How long a project's settings are reused (default 5 s). */
  lookupTtlMs?: number;
  /** Bound on one upstream manifest call (default 15 s). */
  upstreamTimeoutMs?: number;
  /** How long a blob stream opened by a HEAD or size check waits for the GET that uses it (default 10 s). */
  stashTtlMs?: number;
}

/** The codes that say a manifest, a blob or their repository is not stored locally. */
const manifestAbsent: ReadonlySet<ErrorCode> = new Set(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
const blobAbsent: ReadonlySet<ErrorCode> = new Set(['BLOB_UNKNOWN', 'NAME_UNKNOWN']);

/** Harbor's refusal of a push into a proxy-cache project. */
export function proxyPushRefusal(project: string): Error {
  return fail('DENIED', `denied: can not push artifact to a proxy project: ${project}`);
}

function refText(ref: Reference): string {
  return ref.kind === 'tag' ? ref.tag : ref.digest;
}

function manifestUnknown(repo: RepoName, ref: Reference, why: string): Error {
  return fail('MANIFEST_UNKNOWN', `manifest unknown: ${repo}:${refText(ref)} is not cached and ${why}`, { name: repo, reference: refText(ref) });
}

function blobUnknown(repo: RepoName, digest: Digest, why: string): Error {
  return fail('BLOB_UNKNOWN', `blob unknown to registry: ${digest} is not cached in ${repo} and ${why}`, { digest, name: repo });
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The value of `fn`, or null when it fails with one of `codes`. */
async function orAbsent<T>(codes: ReadonlySet<ErrorCode>, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Error && isDomainError(err) && codes.has(err.code)) return null;
    throw err;
  }
}

/** One page of the union of two tag lists, sorted, after `last`, at most `n` (null: all). */
export function mergedTagPage(local: readonly string[], remote: readonly string[], n: number | null, last: string | null): NamePage {
  const all = [...new Set([...local, ...remote])].sort();
  const after = last === null ? all : all.filter((t) => t > last);
  if (n === null) return { names: after, next: null };
  const names = after.slice(0, Math.max(n, 0));
  return { names, next: after.length > names.length && names.length > 0 ? (names[names.length - 1] ?? null) : null };
}

/** The bytes `start..end` (inclusive) of a stream; the source is destroyed once they are through. */
export function sliceOf(source: Readable, start: number, end: number): Readable {
  let pos = 0;
  const out = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      const from = Math.max(start - pos, 0);
      const to = Math.min(end + 1 - pos, chunk.length);
      pos += chunk.length;
      if (to > from) this.push(chunk.subarray(from, to));
      if (pos > end) {
        this.push(null);
        source.unpipe(this);
        source.destroy();
      }
      cb();
    },
  });
  source.on('error', (err) => out.destroy(err));
  out.on('close', () => source.destroy());
  return source.pipe(out);
}

/** A blob stream opened upstream and not yet handed to a client. */
interface Stashed {
  size: number;
  stream: Readable;
  timer: NodeJS.Timeout;
}

/** The {@link Registry} with proxy-cache projects served through their upstream. */
export class ProxyCacheRegistry implements Registry {
  private readonly lookups = new Map<string, { value: ProxyProject | null; at: number }>();
  /** Cache copies running, by `repo@digest#tag`. */
  private readonly copies = new Map<string, Promise<void>>();
  /** Blob cache writes running (from a client's GET), by `repo@digest`. */
  private readonly writes = new Map<string, Promise<void>>();
  private readonly stash = new Map<string, Stashed[]>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly stop = new AbortController();
  private readonly copyWaitMs: number;
  private readonly lookupTtlMs: number;
  private readonly timeoutMs: number;
  private readonly stashTtlMs: number;

  constructor(
    private readonly inner: Registry,
    private readonly deps: ProxyCacheDeps,
  ) {
    this.copyWaitMs = deps.copyWaitMs ?? 60_000;
    this.lookupTtlMs = deps.lookupTtlMs ?? 5_000;
    this.timeoutMs = deps.upstreamTimeoutMs ?? 15_000;
    this.stashTtlMs = deps.stashTtlMs ?? 10_000;
  }

  /** Stops background copies and cache writes, and waits for them. */
  async close(): Promise<void> {
    this.stop.abort(new Error('the proxy cache is closing'));
    for (const list of this.stash.values()) for (const s of list) this.drop(s);
    this.stash.clear();
    await Promise.allSettled([...this.background]);
  }

  // ---- projects ---------------------------------------------------------------------------

  /** The proxy settings of the repository's project; null for an ordinary one. */
  private async proxyOf(repo: RepoName): Promise<ProxyProject | null> {
    if (!repo.includes('/')) return null;
    const name = projectOf(repo);
    const now = Date.now();
    const hit = this.lookups.get(name);
    if (hit && now - hit.at < this.lookupTtlMs) return hit.value;
    const value = await this.deps.project(name);
    if (this.lookups.size >= 1000) this.lookups.clear();
    this.lookups.set(name, { value, at: now });
    return value;
  }

  /** The upstream repository of a proxied one: the path after the project. */
  private static upstreamName(repo: RepoName): string {
    return repo.slice(repo.indexOf('/') + 1);
  }

  /** The upstream side, or null when the endpoint is gone or marked unhealthy. */
  private async upstream(p: ProxyProject): Promise<ReplicationSide | null> {
    try {
      if (!(await this.deps.upstreams.healthy(p.registryId))) return null;
      return await this.deps.upstreams.side(p.registryId);
    } catch (err) {
      this.deps.logger.warn({ registryId: p.registryId, err: reason(err) }, 'proxy cache: the upstream registry endpoint cannot be read');
      return null;
    }
  }

  private signal(): AbortSignal {
    return AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.timeoutMs)]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.background.add(p);
    void p.then(
      () => this.background.delete(p),
      () => this.background.delete(p),
    );
    return p;
  }

  private async refusePush(ctx: CallContext, repo: RepoName): Promise<void> {
    // Anonymous callers get the inner registry's 401 first, so clients still log in.
    if (ctx.actor.username === '') return;
    if (await this.proxyOf(repo)) throw proxyPushRefusal(projectOf(repo));
  }

  // ---- manifests --------------------------------------------------------------------------

  async getManifest(ctx: CallContext, repo: RepoName, ref: Reference, pull: boolean): Promise<ManifestContent> {
    const proxy = await this.proxyOf(repo);
    if (!proxy) return this.inner.getManifest(ctx, repo, ref, pull);
    // Locally first: this checks the caller's permission before anything goes upstream.
    if (ref.kind === 'digest') {
      const hit = await orAbsent(manifestAbsent, () => this.inner.getManifest(ctx, repo, ref, pull));
      if (hit) return hit;
    }
    const local = ref.kind === 'tag' ? await orAbsent(manifestAbsent, () => this.inner.getManifest(ctx, repo, ref, false)) : null;
    const serveLocal = (l: ManifestContent) => (pull ? this.inner.getManifest(ctx, repo, ref, true) : Promise.resolve(l));
    const side = await this.upstream(proxy);
    if (!side) {
      if (local) return serveLocal(local);
      throw manifestUnknown(repo, ref, 'the upstream registry is unavailable');
    }
    const upRepo = ProxyCacheRegistry.upstreamName(repo);
    if (ref.kind === 'digest') return this.miss(ctx, proxy, side, repo, upRepo, ref, ref.digest, null, pull, null);
    let head: { digest: string; mediaType: string } | null;
    try {
      head = await side.headManifest(upRepo, ref.tag, this.signal());
    } catch (err) {
      this.deps.logger.warn({ repo, tag: ref.tag, upstream: side.label, err: reason(err) }, 'proxy cache: upstream manifest check failed; serving the cache');
      if (local) return serveLocal(local);
      throw manifestUnknown(repo, ref, `the upstream registry failed: ${reason(err)}`);
    }
    if (head === null) {
      if (local && proxy.localOnNotFound) return serveLocal(local);
      throw manifestUnknown(repo, ref, 'the upstream registry does not have it');
    }
    if (local && head.digest === local.digest) return serveLocal(local);
    let digest: Digest;
    try {
      digest = parseDigest(head.digest);
    } catch {
      if (local) return serveLocal(local);
      throw manifestUnknown(repo, ref, 'the upstream registry answered an invalid digest');
    }
    return this.miss(ctx, proxy, side, repo, upRepo, ref, digest, ref.tag, pull, local);
  }

  /**
   * A manifest not cached (or cached under an older digest): copy it in, then serve it locally;
   * if the copy is slow or fails, relay it from upstream.
   */
  private async miss(ctx: CallContext, proxy: ProxyProject, side: ReplicationSide, repo: RepoName, upRepo: string, ref: Reference, digest: Digest, tag: string | null, pull: boolean, stale: ManifestContent | null): Promise<ManifestContent> {
    const copy = this.cacheCopy(proxy, side, repo, upRepo, digest, tag);
    if (pull) {
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        copy.then(
          () => 'copied' as const,
          () => 'failed' as const,
        ),
        new Promise<'slow'>((resolve) => {
          timer = setTimeout(() => resolve('slow'), this.copyWaitMs);
        }),
      ]);
      clearTimeout(timer);
      if (waited === 'copied') {
        // By the client's reference, so the pull names its tag; by digest when the tag moved meanwhile.
        const head = await orAbsent(manifestAbsent, () => this.inner.getManifest(ctx, repo, ref, false));
        const byRef: Reference = head && head.digest === digest ? ref : { kind: 'digest', digest };
        const served = await orAbsent(manifestAbsent, () => this.inner.getManifest(ctx, repo, byRef, true));
        if (served) return served;
      } else if (waited === 'slow') {
        // Served from upstream now; the pull is recorded when the copy is in.
        this.track(copy.then(() => this.inner.getManifest(ctx, repo, { kind: 'digest', digest }, true)).catch(() => undefined));
      }
    }
    try {
      const m = await side.getManifest(upRepo, digest, this.signal());
      if (m) return { digest, mediaType: m.mediaType, body: m.body };
      if (stale && proxy.localOnNotFound) return pull ? this.inner.getManifest(ctx, repo, ref, true) : stale;
      throw manifestUnknown(repo, ref, 'the upstream registry does not have it');
    } catch (err) {
      if (isDomainError(err)) throw err;
      this.deps.logger.warn({ repo, digest, upstream: side.label, err: reason(err) }, 'proxy cache: upstream manifest read failed');
      if (stale) return pull ? this.inner.getManifest(ctx, repo, ref, true) : stale;
      throw manifestUnknown(repo, ref, `the upstream registry failed: ${reason(err)}`);
    }
  }

  /** Copies `digest` (with `tag`) from upstream into the project, once at a time per key; never rejects unobserved. */
  private cacheCopy(proxy: ProxyProject, side: ReplicationSide, repo: RepoName, upRepo: string, digest: Digest, tag: string | null): Promise<void> {
    const key = `${repo}@${digest}#${tag ?? ''}`;
    const running = this.copies.get(key);
    if (running) return running;
    const log = this.deps.logger;
    const run = (async () => {
      const started = Date.now();
      await copyArtifact({
        src: side,
        srcRepo: upRepo,
        dst: this.deps.cache,
        dstRepo: repo,
        ref: digest,
        tags: tag === null ? [] : [tag],
        override: true,
        speedKBs: proxy.speedKBs > 0 ? proxy.speedKBs : 0,
        // A client may be waiting: one quick retry, not the replication's patient five.
        retry: { attempts: 2, baseDelayMs: 500 },
        prepare: false,
        signal: this.stop.signal,
        log: (line: string) => log.debug({ repo, digest }, `proxy cache: ${line}`),
      });
      log.info({ repo, digest, tag, upstream: side.label, ms: Date.now() - started }, 'proxy cache: cached an artifact');
    })();
    const done = run.catch((err: unknown) => {
      log.warn({ repo, digest, tag, upstream: side.label, err: reason(err) }, 'proxy cache: caching an artifact failed');
      throw err;
    });
    done.catch(() => undefined);
    this.copies.set(key, done);
    void this.track(done)
      .catch(() => undefined)
      .finally(() => this.copies.delete(key));
    return done;
  }

  async putManifest(ctx: CallContext, repo: RepoName, ref: Reference, contentType: string, body: Buffer): Promise<{ digest: Digest; subject: Digest | null }> {
    await this.refusePush(ctx, repo);
    return this.inner.putManifest(ctx, repo, ref, contentType, body);
  }

  deleteManifest(ctx: CallContext, repo: RepoName, ref: Reference, opts?: { dependents?: boolean }): Promise<void> {
    return this.inner.deleteManifest(ctx, repo, ref, opts);
  }

  // ---- blobs ------------------------------------------------------------------------------

  async blobInfo(ctx: CallContext, repo: RepoName, digest: Digest): Promise<BlobInfo> {
    const proxy = await this.proxyOf(repo);
    if (!proxy) return this.inner.blobInfo(ctx, repo, digest);
    const local = await orAbsent(blobAbsent, () => this.inner.blobInfo(ctx, repo, digest));
    if (local) return local;
    // A HEAD (or the size check before a GET): the stream opened upstream waits for the GET.
    const opened = await this.openUpstream(proxy, repo, digest);
    this.keep(repo, digest, opened);
    return { digest, size: opened.size };
  }

  async blobRedirect(ctx: CallContext, repo: RepoName, digest: Digest): Promise<{ info: BlobInfo; url: string } | null> {
    if (!this.inner.blobRedirect) return null;
    if (!(await this.proxyOf(repo))) return this.inner.blobRedirect(ctx, repo, digest);
    return orAbsent(blobAbsent, async () => (this.inner.blobRedirect ? this.inner.blobRedirect(ctx, repo, digest) : null));
  }

  async blobFile(ctx: CallContext, repo: RepoName, digest: Digest): Promise<{ info: BlobInfo; file: FileHandle } | null> {
    if (!this.inner.blobFile) return null;
    if (!(await this.proxyOf(repo))) return this.inner.blobFile(ctx, repo, digest);
    // Not cached yet: null, and readBlob fetches it upstream.
    return orAbsent(blobAbsent, async () => (this.inner.blobFile ? this.inner.blobFile(ctx, repo, digest) : null));
  }

  async readBlob(ctx: CallContext, repo: RepoName, digest: Digest, range?: ByteRange): Promise<{ info: BlobInfo; stream: Readable }> {
    const proxy = await this.proxyOf(repo);
    if (!proxy) return this.inner.readBlob(ctx, repo, digest, range);
    const local = await orAbsent(blobAbsent, () => this.inner.readBlob(ctx, repo, digest, range));
    if (local) return local;
    const opened = this.take(repo, digest) ?? (await this.openUpstream(proxy, repo, digest));
    const info = { digest, size: opened.size };
    if (range) {
      if (range.start < 0 || range.end < range.start || range.end >= opened.size) {
        opened.stream.destroy();
        throw fail('RANGE_INVALID', 'requested range not satisfiable', { size: opened.size, start: range.start, end: range.end });
      }
      return { info, stream: sliceOf(opened.stream, range.start, range.end) };
    }
    return { info, stream: this.tee(repo, digest, opened) };
  }

  /** Opens the blob upstream; BLOB_UNKNOWN when the upstream is unavailable or does not have it. */
  private async openUpstream(proxy: ProxyProject, repo: RepoName, digest: Digest): Promise<{ size: number; stream: Readable }> {
    const side = await this.upstream(proxy);
    if (!side) throw blobUnknown(repo, digest, 'the upstream registry is unavailable');
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      // Only the answer's headers are bounded here; the body is read as long as the client reads.
      return await side.openBlob(ProxyCacheRegistry.upstreamName(repo), digest, AbortSignal.any([this.stop.signal, timeout.signal]));
    } catch (err) {
      this.deps.logger.warn({ repo, digest, upstream: side.label, err: reason(err) }, 'proxy cache: upstream blob read failed');
      throw blobUnknown(repo, digest, `the upstream registry failed: ${reason(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private keep(repo: RepoName, digest: Digest, opened: { size: number; stream: Readable }): void {
    const key = `${repo}@${digest}`;
    const entry: Stashed = {
      ...opened,
      timer: setTimeout(() => {
        const list = this.stash.get(key);
        if (list) {
          const i = list.indexOf(entry);
          if (i >= 0) list.splice(i, 1);
          if (list.length === 0) this.stash.delete(key);
        }
        this.drop(entry);
      }, this.stashTtlMs),
    };
    entry.timer.unref();
    opened.stream.on('error', () => undefined);
    const list = this.stash.get(key) ?? [];
    list.push(entry);
    this.stash.set(key, list);
  }

  private take(repo: RepoName, digest: Digest): { size: number; stream: Readable } | null {
    const key = `${repo}@${digest}`;
    const list = this.stash.get(key);
    const entry = list?.shift();
    if (list && list.length === 0) this.stash.delete(key);
    if (!entry) return null;
    clearTimeout(entry.timer);
    if (entry.stream.destroyed) return null;
    return { size: entry.size, stream: entry.stream };
  }

  private drop(s: Stashed): void {
    clearTimeout(s.timer);
    s.stream.destroy();
  }

  /**
   * The upstream stream for the client, copied into the cache on the way (unless another GET of
   * the same blob is caching it already). Node's pipe paces the source to the slower of the two.
   */
  private tee(repo: RepoName, digest: Digest, opened: { size: number; stream: Readable }): Readable {
    const up = opened.stream;
    const client = new PassThrough();
    up.on('error', (err) => client.destroy(err));
    const key = `${repo}@${digest}`;
    if (this.writes.has(key) || this.stop.signal.aborted) return up.pipe(client);
    const cache = new PassThrough();
    up.on('error', (err) => cache.destroy(err));
    const log = this.deps.logger;
    const write = this.deps.cache.writeBlob(repo, digest, opened.size, cache, {}, this.stop.signal).then(
      () => log.debug({ repo, digest }, 'proxy cache: cached a blob'),
      (err: unknown) => {
        // The client's stream goes on without the cache.
        up.unpipe(cache);
        cache.destroy();
        log.warn({ repo, digest, err: reason(err) }, 'proxy cache: caching a blob failed');
      },
    );
    this.writes.set(key, write);
    void this.track(write).finally(() => this.writes.delete(key));
    up.pipe(cache);
    return up.pipe(client);
  }

  deleteBlob(ctx: CallContext, repo: RepoName, digest: Digest): Promise<void> {
    return this.inner.deleteBlob(ctx, repo, digest);
  }

  // ---- uploads (refused in proxy-cache projects) --------------------------------------------

  async startUpload(ctx: CallContext, repo: RepoName): Promise<UploadState> {
    await this.refusePush(ctx, repo);
    return this.inner.startUpload(ctx, repo);
  }

  async mountBlob(ctx: CallContext, repo: RepoName, digest: Digest, from: RepoName | null): Promise<BlobInfo | null> {
    await this.refusePush(ctx, repo);
    return this.inner.mountBlob(ctx, repo, digest, from);
  }

  async appendUpload(ctx: CallContext, repo: RepoName, id: string, data: Readable, start?: number): Promise<UploadState> {
    await this.refusePush(ctx, repo);
    return this.inner.appendUpload(ctx, repo, id, data, start);
  }

  uploadState(ctx: CallContext, repo: RepoName, id: string): Promise<UploadState> {
    return this.inner.uploadState(ctx, repo, id);
  }

  async completeUpload(ctx: CallContext, repo: RepoName, id: string, digest: Digest, data?: Readable): Promise<BlobInfo> {
    await this.refusePush(ctx, repo);
    return this.inner.completeUpload(ctx, repo, id, digest, data);
  }

  cancelUpload(ctx: CallContext, repo: RepoName, id: string): Promise<void> {
    return this.inner.cancelUpload(ctx, repo, id);
  }

  // ---- tags, repositories and the rest ----------------------------------------------------

  async listTags(ctx: CallContext, repo: RepoName, n: number | null, last: string | null): Promise<NamePage> {
    const proxy = await this.proxyOf(repo);
    if (!proxy) return this.inner.listTags(ctx, repo, n, last);
    // Locally first (the permission check); a repository not cached yet lists the upstream's tags.
    let absent: unknown = null;
    let local: string[] = [];
    try {
      local = (await this.inner.listTags(ctx, repo, null, null)).names;
    } catch (err) {
      if (!(err instanceof Error && isDomainError(err, 'NAME_UNKNOWN'))) throw err;
      absent = err;
    }
    let remote: string[] = [];
    const side = await this.upstream(proxy);
    if (side) {
      try {
        remote = await side.listTags(ProxyCacheRegistry.upstreamName(repo), this.signal());
      } catch (err) {
        this.deps.logger.warn({ repo, upstream: side.label, err: reason(err) }, 'proxy cache: upstream tag list failed; listing the cached tags');
      }
    }
    if (absent !== null && remote.length === 0) throw absent;
    return mergedTagPage(local, remote, n, last);
  }

  createTag(ctx: CallContext, repo: RepoName, digest: Digest, tag: string): Promise<void> {
    return this.inner.createTag(ctx, repo, digest, tag);
  }

  deleteTag(ctx: CallContext, repo: RepoName, tag: string): Promise<void> {
    return this.inner.deleteTag(ctx, repo, tag);
  }

  deleteRepository(ctx: CallContext, repo: RepoName): Promise<void> {
    return this.inner.deleteRepository(ctx, repo);
  }

  setRepositoryDescription(ctx: CallContext, repo: RepoName, description: string): Promise<void> {
    return this.inner.setRepositoryDescription(ctx, repo, description);
  }

  async copyArtifact(ctx: CallContext, from: RepoName, ref: Reference, to: RepoName): Promise<{ digest: Digest }> {
    await this.refusePush(ctx, to);
    return this.inner.copyArtifact(ctx, from, ref, to);
  }

  catalog(ctx: CallContext, n: number | null, last: string | null): Promise<NamePage> {
    return this.inner.catalog(ctx, n, last);
  }

  referrers(ctx: CallContext, repo: RepoName, digest: Digest, artifactType: string | null): Promise<{ index: object; filtered: boolean }> {
    return this.inner.referrers(ctx, repo, digest, artifactType);
  }
}

/**
 * The cache's writer: a LocalSide over the inner registry (never the decorator, which refuses
 * pushes into proxy-cache projects) as the system actor; the projects exist already.
 */
export function proxyCacheWriter(inner: Registry, externalUrl: string): ReplicationSide {
  return new LocalSide({ registry: inner, actor: systemActor, endpoint: externalUrl, ensureProject: () => Promise.resolve() });
}

/** What {@link ProxyUpstreams} needs. */
export interface ProxyUpstreamsDeps {
  db: Kysely<Database>;
  logger: Logger;
  /** How long an endpoint's row is reused before it is read again (default 5 s). */
  ttlMs?: number;
  /** Per request to the upstream: until the headers, and between body chunks (default 30 s). */
  timeoutMs?: number;
}

/**
 * Registry endpoints as the proxy cache uses them: one RemoteSide per endpoint, kept open and
 * replaced when the endpoint is edited; its type (for the projects module's check on
 * `registry_id`) and its health (the status the endpoint checks store).
 */
export class ProxyUpstreams implements ProxyUpstreamSource {
  private readonly rows = new Map<number, { row: RegistryEndpointRow | null; at: number }>();
  private readonly sides = new Map<number, { version: string; side: ReplicationSide }>();
  private readonly ttlMs: number;

  constructor(private readonly deps: ProxyUpstreamsDeps) {
    this.ttlMs = deps.ttlMs ?? 5_000;
  }

  private async row(id: number): Promise<RegistryEndpointRow | null> {
    const now = Date.now();
    const hit = this.rows.get(id);
    if (hit && now - hit.at < this.ttlMs) return hit.row;
    const row = (await readRegistryEndpoint(this.deps.db, id)) ?? null;
    if (this.rows.size >= 1000) this.rows.clear();
    this.rows.set(id, { row, at: now });
    return row;
  }

  /** The endpoint's adapter type, or null when there is no endpoint `id`. */
  async type(id: number): Promise<string | null> {
    this.rows.delete(id);
    return (await this.row(id))?.type ?? null;
  }

  async healthy(id: number): Promise<boolean> {
    const row = await this.row(id);
    return row !== null && row.status !== 'unhealthy';
  }

  async side(id: number): Promise<ReplicationSide | null> {
    const row = await this.row(id);
    if (!row || !isAdapterType(row.type)) return null;
    const access: EndpointAccess = {
      type: row.type,
      url: row.url,
      accessKey: row.access_key,
      accessSecret: row.access_secret,
      insecure: Number(row.insecure) === 1,
      caCertificate: row.ca_certificate,
    };
    // An edited endpoint (URL, credentials, TLS) gets a new side.
    const version = JSON.stringify([access, String(row.update_time)]);
    const current = this.sides.get(id);
    if (current && current.version === version) return current.side;
    if (current) void current.side.close().catch(() => undefined);
    const side = new RemoteSide({ access, label: row.name, limits: { timeoutMs: this.deps.timeoutMs ?? 30_000 } });
    this.sides.set(id, { version, side });
    return side;
  }

  /** Closes every side. */
  async close(): Promise<void> {
    const all = [...this.sides.values()];
    this.sides.clear();
    await Promise.allSettled(all.map((s) => s.side.close()));
  }
}
