/**
 * The replication copy engine: one artifact from a source side to a destination side
 * (./side.ts), whichever is local or remote, and the deletion of one at a destination.
 *
 * {@link copyArtifact} reads the source manifest at a reference, then decides per destination
 * reference (each tag, or the digest when there is none) as Harbor does: the same digest already
 * there is kept ("exists"); a different digest is kept with a warning unless `override` is on.
 * What remains is copied bottom-up, so a stop or a crash never leaves a manifest whose parts are
 * missing: an index's child manifests first (by digest, recursively), an image's config and layers
 * before its manifest. Foreign (non-distributable) layers are not copied. A blob already at the
 * destination is skipped; one the run has already put in another repository of the destination
 * is mounted from there; any other streams from source to destination (never whole in memory),
 * through the speed limit. Manifests are PUT with the source's exact bytes, and the digest the
 * destination answers must be the source's.
 *
 * Every step (a manifest read, a blob, a manifest push) is retried on transient SideErrors with a
 * doubling backoff, and logged; other failures end the copy at once. The signal is checked before
 * every manifest and blob; once it fires the copy rejects with the signal's reason.
 */
import { createHash } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import { isDigest, isDomainError, parseManifest, type Descriptor } from '../domain/index.ts';
import { SideError, type ReplicationSide, type SideManifest } from './side.ts';
import { throttle } from './throttle.ts';

/** A job log line's level (Harbor's job log levels). */
export type CopyLogLevel = 'INFO' | 'WARNING' | 'ERROR';
/** Writes one line to the task's log. */
export type CopyLog = (line: string, level?: CopyLogLevel) => Promise<void> | void;

/** How often, and how patiently, a transient failure is retried. */
export interface RetryPolicy {
  /** Tries in all (1 = no retry). */
  attempts: number;
  /** The wait before the second try; it doubles for each one after. */
  baseDelayMs: number;
}

/** Harbor's default: 5 tries, 2 s doubling. */
export const defaultRetry: RetryPolicy = { attempts: 5, baseDelayMs: 2000 };

/** What {@link copyArtifact} copies, and how. */
export interface CopyOptions {
  src: ReplicationSide;
  srcRepo: string;
  dst: ReplicationSide;
  dstRepo: string;
  /** The digest the artifact had when it was selected (a note is logged when the tag moved since). */
  digest?: string;
  /** The tag or digest to read at the source. */
  ref: string;
  /** Tags to set at the destination; empty: the artifact is copied by digest only. */
  tags: string[];
  /** Replace a destination tag that names a different digest. */
  override: boolean;
  /** Speed limit in KB/s; 0 for none. */
  speedKBs: number;
  /** Upload blobs in chunks of at most this many bytes (Harbor's copy_by_chunk). */
  chunkSize?: number;
  signal: AbortSignal;
  log: CopyLog;
  retry?: RetryPolicy;
  /**
   * Digest → a destination repository known to have that blob, shared by the copies of one run;
   * blobs found or copied here are added.
   */
  mountFrom?: Map<string, string>;
  /** Make the destination repository writable first (prepareRepository); default true. */
  prepare?: boolean;
}

/** What a copy did. */
export interface CopyResult {
  /** The artifact's digest at the source. */
  digest: string;
  /**
   * `copied`: something was pushed; `exists`: every destination reference already had the
   * digest; `skipped`: a destination tag with another digest was kept (override off).
   */
  status: 'copied' | 'exists' | 'skipped';
  blobsCopied: number;
  blobsSkipped: number;
  /** Bytes of blobs streamed (mounts and skips count nothing). */
  bytes: number;
}

/** Copies one artifact; see the header. Rejects with a SideError (or the signal's reason). */
export async function copyArtifact(opts: CopyOptions): Promise<CopyResult> {
  return new Copier(opts).run();
}

/** What {@link deleteArtifact} deletes. */
export interface DeleteOptions {
  dst: ReplicationSide;
  dstRepo: string;
  /** A tag or a digest. */
  ref: string;
  signal: AbortSignal;
  log: CopyLog;
  retry?: RetryPolicy;
}

/**
 * Deletion replication: resolves `ref` at the destination and deletes that digest, so every tag
 * on it goes too (Harbor's behaviour). Already absent: logged, and done. Returns whether a
 * manifest was deleted.
 */
export async function deleteArtifact(opts: DeleteOptions): Promise<boolean> {
  const { dst, dstRepo, ref, signal, log } = opts;
  const retry = opts.retry ?? defaultRetry;
  const head = await withRetry(`resolve ${dstRepo}:${ref}`, signal, log, retry, () => dst.headManifest(dstRepo, ref, signal));
  if (!head) {
    await log(`${dstRepo}:${ref} is not at the destination, nothing to delete`);
    return false;
  }
  const deleted = await withRetry(`delete ${dstRepo}@${head.digest}`, signal, log, retry, () => dst.deleteManifest(dstRepo, head.digest, signal));
  await log(deleted ? `deleted ${dstRepo}@${head.digest} (${ref})` : `${dstRepo}@${head.digest} was already deleted`);
  return deleted;
}

/** One copy's state. */
class Copier {
  private readonly retry: RetryPolicy;
  private readonly mountFrom: Map<string, string>;
  /** Blobs known to be in the destination repository by now. */
  private readonly blobsThere = new Set<string>();
  /** Child manifests known to be in the destination repository by now. */
  private readonly manifestsThere = new Set<string>();
  private blobsCopied = 0;
  private blobsSkipped = 0;
  private bytes = 0;

  constructor(private readonly o: CopyOptions) {
    this.retry = o.retry ?? defaultRetry;
    this.mountFrom = o.mountFrom ?? new Map();
  }

  async run(): Promise<CopyResult> {
    const { src, srcRepo, dst, dstRepo, ref, signal } = this.o;
    this.checkSignal();
    const manifest = await this.step(`read manifest ${srcRepo}:${ref}`, () => src.getManifest(srcRepo, ref, signal));
    if (!manifest) throw new SideError(`${srcRepo}:${ref} was not found at the source (${src.label})`, false);
    verifyDigest(manifest, `${srcRepo}:${ref}`);
    const digest = manifest.digest;
    if (this.o.digest && this.o.digest !== digest) {
      await this.log(`${srcRepo}:${ref} now points at ${digest} (it was ${this.o.digest} when selected); copying ${digest}`, 'WARNING');
    }

    // Which destination references need the push.
    const targets = this.o.tags.length > 0 ? this.o.tags : [digest];
    const pending: string[] = [];
    let skipped = false;
    for (const target of targets) {
      this.checkSignal();
      const there = await this.step(`check ${dstRepo}:${target}`, () => dst.headManifest(dstRepo, target, signal));
      if (there && there.digest === digest) {
        await this.log(`${dstRepo}:${target} already exists with ${digest}, skipped`);
      } else if (there && !this.o.override) {
        await this.log(`${dstRepo}:${target} exists with a different digest (${there.digest}), override is off: skipped`, 'WARNING');
        skipped = true;
      } else {
        pending.push(target);
      }
    }
    if (pending.length === 0) return this.result(digest, skipped ? 'skipped' : 'exists');

    await this.log(`copying ${srcRepo}:${ref} (${digest}) to ${dstRepo}`);
    if (this.o.prepare ?? true) await this.step(`prepare ${dstRepo}`, () => dst.prepareRepository(dstRepo, signal));
    await this.copyContent(manifest, `${srcRepo}:${ref}`);

    // The manifest itself, under each pending reference; each is tried even when one fails.
    let failure: unknown = null;
    for (const target of pending) {
      try {
        await this.pushManifest(manifest, target);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        failure ??= err;
        await this.log(`pushing ${dstRepo}:${target} failed: ${messageOf(err)}`, 'ERROR');
      }
    }
    if (failure !== null) throw failure;
    return this.result(digest, 'copied');
  }

  private result(digest: string, status: CopyResult['status']): CopyResult {
    return { digest, status, blobsCopied: this.blobsCopied, blobsSkipped: this.blobsSkipped, bytes: this.bytes };
  }

  /** Copies everything `manifest` refers to: child manifests (with their content) or blobs. */
  private async copyContent(manifest: SideManifest, where: string): Promise<void> {
    let parsed;
    try {
      parsed = parseManifest(manifest.body, manifest.mediaType);
    } catch (err) {
      if (isDomainError(err)) throw new SideError(`${where} (${manifest.digest}) cannot be replicated: ${err.message}`, false, { cause: err });
      throw err;
    }
    for (const child of parsed.manifests) await this.copyChild(child, manifest.digest);
    for (const blob of parsed.blobs) await this.copyBlob(blob);
  }

  /** Copies an index's child manifest by digest (override forced: a digest names one content). */
  private async copyChild(child: Descriptor, indexDigest: string): Promise<void> {
    const { src, srcRepo, dst, dstRepo, signal } = this.o;
    this.checkSignal();
    if (this.manifestsThere.has(child.digest)) return;
    const there = await this.step(`check ${dstRepo}@${child.digest}`, () => dst.headManifest(dstRepo, child.digest, signal));
    if (there) {
      await this.log(`manifest ${child.digest} exists, skipped`);
      this.manifestsThere.add(child.digest);
      return;
    }
    this.checkSignal();
    const m = await this.step(`read manifest ${srcRepo}@${child.digest}`, () => src.getManifest(srcRepo, child.digest, signal));
    if (!m) throw new SideError(`manifest ${child.digest} of the index ${indexDigest} is missing at the source (${src.label} ${srcRepo})`, false);
    verifyDigest(m, `${srcRepo}@${child.digest}`);
    if (m.digest !== child.digest) throw new SideError(`the source answered ${m.digest} for ${srcRepo}@${child.digest}`, false);
    await this.copyContent(m, `${srcRepo}@${child.digest}`);
    await this.pushManifest(m, child.digest);
    this.manifestsThere.add(child.digest);
  }

  /** PUTs `m` at the destination under `target` (a tag, or its digest) and checks the digest. */
  private async pushManifest(m: SideManifest, target: string): Promise<void> {
    const { dst, dstRepo, signal } = this.o;
    this.checkSignal();
    const pushed = await this.step(`push manifest ${dstRepo}:${target}`, () => dst.putManifest(dstRepo, target, m.mediaType, m.body, signal));
    if (pushed !== m.digest) {
      throw new SideError(`the destination stored ${dstRepo}:${target} as ${pushed}, not the source's ${m.digest}`, false);
    }
    await this.log(isDigest(target) ? `manifest ${m.digest} pushed to ${dstRepo}` : `manifest ${m.digest} pushed as ${dstRepo}:${target}`);
  }

  /** Puts one blob at the destination: skipped, mounted or streamed. */
  private async copyBlob(blob: Descriptor): Promise<void> {
    const { src, srcRepo, dst, dstRepo, signal } = this.o;
    this.checkSignal();
    if (this.blobsThere.has(blob.digest)) return;
    if (isForeign(blob)) {
      await this.log(`blob ${blob.digest} is a foreign layer, not copied`);
      this.blobsSkipped++;
      this.blobsThere.add(blob.digest);
      return;
    }
    if (await this.step(`check blob ${blob.digest}`, () => dst.hasBlob(dstRepo, blob.digest, signal))) {
      await this.log(`blob ${blob.digest} exists, skipped`);
      this.landed(blob.digest, false);
      return;
    }
    const from = this.mountFrom.get(blob.digest);
    if (from !== undefined && from !== dstRepo) {
      this.checkSignal();
      if (await this.step(`mount blob ${blob.digest} from ${from}`, () => dst.mountBlob(dstRepo, blob.digest, from, signal))) {
        await this.log(`blob ${blob.digest} (${humanSize(blob.size)}) mounted from ${from}`);
        this.landed(blob.digest, true);
        return;
      }
    }
    await this.step(`copy blob ${blob.digest}`, async () => {
      this.checkSignal();
      const { size, stream } = await src.openBlob(srcRepo, blob.digest, signal);
      try {
        if (size !== blob.size) throw new SideError(`blob ${blob.digest} has ${size} bytes at the source, the manifest says ${blob.size}`, false);
        const limit = throttle(this.o.speedKBs);
        const data: Readable = limit ? pipeline(stream, limit, () => undefined) : stream;
        await dst.writeBlob(dstRepo, blob.digest, size, data, this.o.chunkSize ? { chunkSize: this.o.chunkSize } : {}, signal);
      } finally {
        stream.destroy();
      }
    });
    this.bytes += blob.size;
    await this.log(`blob ${blob.digest} (${humanSize(blob.size)}) copied`);
    this.landed(blob.digest, true);
  }

  /** Records a blob as present in the destination repository. */
  private landed(digest: string, copied: boolean): void {
    if (copied) this.blobsCopied++;
    else this.blobsSkipped++;
    this.blobsThere.add(digest);
    this.mountFrom.set(digest, this.o.dstRepo);
  }

  private step<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(what, this.o.signal, this.o.log, this.retry, fn);
  }

  private async log(line: string, level: CopyLogLevel = 'INFO'): Promise<void> {
    await this.o.log(line, level);
  }

  private checkSignal(): void {
    if (this.o.signal.aborted) throw this.o.signal.reason;
  }
}

/**
 * Runs `fn`, trying again after a transient SideError with a doubling backoff (each retry logged);
 * other errors, and the last try's, are thrown. A fired signal ends it with the signal's reason.
 */
async function withRetry<T>(what: string, signal: AbortSignal, log: CopyLog, retry: RetryPolicy, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw signal.reason;
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!(err instanceof SideError) || !err.transient || attempt >= retry.attempts) throw err;
      const delay = retry.baseDelayMs * 2 ** (attempt - 1);
      await log(`${what} failed: ${err.message}; retrying in ${formatDelay(delay)} (try ${attempt + 1} of ${retry.attempts})`, 'WARNING');
      await sleep(delay, signal);
    }
  }
}

/** Waits `ms`, or rejects with the signal's reason once it fires. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Throws (not transient) when a manifest's bytes do not hash to its digest. */
function verifyDigest(m: SideManifest, where: string): void {
  const colon = m.digest.indexOf(':');
  const alg = m.digest.slice(0, colon);
  if (alg !== 'sha256' && alg !== 'sha512') throw new SideError(`${where}: unsupported digest ${m.digest}`, false);
  const actual = `${alg}:${createHash(alg).update(m.body).digest('hex')}`;
  if (actual !== m.digest) throw new SideError(`${where}: the manifest's bytes hash to ${actual}, not ${m.digest}`, false);
}

/** A layer the registry must not hold: non-distributable media types, or one fetched from `urls`. */
function isForeign(d: Descriptor): boolean {
  return /nondistributable|foreign/i.test(d.mediaType) || (d.urls !== null && d.urls.length > 0);
}

function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

function formatDelay(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
