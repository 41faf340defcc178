/**
 * How the built-in scanner pulls the image a scan request names, like any registry client:
 * `GET {registry.url}/v2/<repo>/manifests/<digest>` with the request's `registry.authorization`,
 * the manifest's digest verified, the config blob read and verified, and each layer opened as a
 * stream whose digest and size are verified while it streams (a layer is never held in memory).
 *
 * Authorization: a `Bearer …` value is sent as it is. A `Basic …` value (or none) is sent first;
 * when the registry answers 401 with a `WWW-Authenticate: Bearer realm=…` challenge, the client
 * fetches a token from the realm with that Basic header (the Docker token flow) and uses it for
 * the rest of the pull. Blob redirects (a registry handing out presigned storage URLs) are
 * followed, without the Authorization header once the origin changes.
 * The authorization value is never logged and never appears in an error message.
 * Inside `wharf serve`, a request naming that server's own registry is read in-process through a
 * {@link LocalRegistry} instead, with the same checks (docs/scanning.md, "Reading from this Wharf").
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { trustedCa } from '../../platform/index.ts';
import { isDigest, isJsonObject } from '../../domain/index.ts';
import { DOCKER_MANIFEST, OCI_MANIFEST, sameMediaType } from '../adapter/index.ts';
import type { BlobFile, ImageSource } from '../analyzer/types.ts';
import { fileDigest } from './file-digest.ts';

/** The registry side of a scan request. */
export interface RegistryTarget {
  /** Base URL of the registry (`registry.url`). */
  url: string;
  /** A full Authorization header value (`Basic …`, `Bearer …`) or "". */
  authorization: string;
  /** Accept any TLS certificate from the registry. */
  insecure: boolean;
}

/** A layer or config descriptor of an image manifest. */
export interface BlobDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** The image a scan reads: its verified manifest and config, and its layers as streams. */
export interface PulledImage {
  /** The manifest's media type (OCI or Docker v2). */
  mediaType: string;
  manifest: { config: BlobDescriptor; layers: BlobDescriptor[] };
  /** The parsed image config (`architecture`, `os`, `rootfs`, …). */
  config: Record<string, unknown>;
  /** What the analyzer reads; each `openBlob` stream errors when the bytes do not match the descriptor. */
  source: ImageSource;
}

/**
 * Wharf's own registry read in-process (inside `wharf serve`): what a pull over HTTP with the
 * same Authorization value would get, checked the same way (the credential, the pull permission,
 * the pull gate, the blob's link to the repository), without the HTTP round trip through this
 * process's own server. Implemented by the composition root (main.ts) over the registry service.
 */
export interface LocalRegistry {
  /** True when `url` (a scan request's `registry.url`) is this Wharf's own registry. */
  serves(url: string): boolean;
  /** The manifest `digest` of `repository`, as `GET /v2/<repository>/manifests/<digest>` would answer it. */
  manifest(authorization: string, repository: string, digest: string): Promise<{ body: Buffer; contentType: string }>;
  /** The blob `digest` of `repository`, as `GET /v2/<repository>/blobs/<digest>` would stream it. */
  blob(authorization: string, repository: string, digest: string, signal: AbortSignal | undefined): Promise<Readable>;
  /**
   * A layer blob after the same checks (one resolution of the caller): an open file when the
   * storage keeps it as one (the filesystem driver; the caller closes it), else `blob`'s stream.
   */
  layer(authorization: string, repository: string, digest: string, signal: AbortSignal | undefined): Promise<Readable | FileHandle>;
}

/** Where one pull's manifest and blobs come from: a registry over HTTP, or Wharf's own in-process. */
interface PullTransport {
  /** A small document (manifest, config) read whole, at most `limit` bytes. */
  fetchWhole(kind: 'manifests' | 'blobs', digest: string, limit: number, accept: string): Promise<{ body: Buffer; contentType: string }>;
  /** A blob as a stream that verifies its size and digest, or as a file whose check runs beside the walk. */
  openVerified(desc: BlobDescriptor, signal: AbortSignal | undefined): Promise<Readable | BlobFile>;
}

/** A failed pull; the message names the request and the registry's status, never a credential. */
export class RegistryPullError extends Error {
  override readonly name = 'RegistryPullError';
  constructor(
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

const manifestLimit = 4 * 1024 * 1024;
const configLimit = 8 * 1024 * 1024;
const tokenLimit = 1024 * 1024;
const maxRedirects = 5;

/** A parsed `WWW-Authenticate` challenge: its scheme and parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses one `WWW-Authenticate` challenge (`Bearer realm="…",service="…",scope="…"`) in a single
 * pass over the text: quoted values may hold commas and backslash escapes. Null without a scheme.
 */
export function parseChallenge(header: string): Challenge | null {
  const s = header.trim();
  let i = 0;
  while (i < s.length && s[i] !== ' ') i++;
  const scheme = s.slice(0, i);
  if (!/^[A-Za-z][A-Za-z0-9._~+-]*$/.test(scheme)) return null;
  const params: Record<string, string> = {};
  while (i < s.length) {
    while (i < s.length && (s[i] === ' ' || s[i] === ',')) i++;
    const keyStart = i;
    while (i < s.length && s[i] !== '=' && s[i] !== ',' && s[i] !== ' ') i++;
    const key = s.slice(keyStart, i).toLowerCase();
    while (i < s.length && s[i] === ' ') i++;
    if (s[i] !== '=') continue;
    i++;
    while (i < s.length && s[i] === ' ') i++;
    let value = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        value += s.charAt(i);
        i++;
      }
      i++; // the closing quote
    } else {
      const start = i;
      while (i < s.length && s[i] !== ',') i++;
      value = s.slice(start, i).trim();
    }
    if (key !== '') params[key] = value;
  }
  return { scheme, params };
}

function descriptorOf(v: unknown, what: string): BlobDescriptor {
  if (!isJsonObject(v) || typeof v.digest !== 'string' || !isDigest(v.digest) || typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) {
    throw new RegistryPullError(`the manifest's ${what} is not a valid descriptor`);
  }
  return { mediaType: typeof v.mediaType === 'string' ? v.mediaType : '', digest: v.digest, size: v.size };
}

/**
 * Reads an image manifest (OCI or Docker v2) into its config and layer descriptors; throws
 * RegistryPullError for an index, a schema 1 manifest or anything without a config and layers.
 */
export function parseImageManifest(body: Buffer, contentType: string): { mediaType: string; config: BlobDescriptor; layers: BlobDescriptor[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RegistryPullError('the manifest is not JSON');
  }
  if (!isJsonObject(doc)) throw new RegistryPullError('the manifest is not a JSON object');
  const mediaType = typeof doc.mediaType === 'string' && doc.mediaType !== '' ? doc.mediaType : contentType.split(';')[0]?.trim() ?? '';
  if (!sameMediaType(mediaType, OCI_MANIFEST) && !sameMediaType(mediaType, DOCKER_MANIFEST)) {
    throw new RegistryPullError(`unsupported manifest media type ${JSON.stringify(mediaType.slice(0, 200))}: the scanner reads OCI and Docker v2 image manifests`);
  }
  if (doc.schemaVersion !== 2) throw new RegistryPullError('the manifest is not schemaVersion 2');
  if (!Array.isArray(doc.layers)) throw new RegistryPullError('the manifest has no layers');
  const layers = doc.layers.map((l, i) => descriptorOf(l, `layer ${i}`));
  return { mediaType, config: descriptorOf(doc.config, 'config'), layers };
}

/** A pass-through stream that hashes and counts, and fails at the end (or as soon as it is too long) when the bytes are not the descriptor's. */
class VerifyingStream extends Transform {
  private readonly hash: Hash;
  private seen = 0;
  constructor(private readonly expected: BlobDescriptor) {
    super();
    this.hash = createHash(algorithmOf(expected.digest));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected.size) {
      cb(blobMismatch(this.expected, this.seen, null));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    cb(blobMismatch(this.expected, this.seen, this.seen === this.expected.size ? this.hash.digest('hex') : null));
  }
}

/**
 * What is wrong with a blob of `bytes` bytes whose digest's hex is `hex` (null: not computed, as
 * its length is wrong already), against `expected`; null when nothing is.
 */
function blobMismatch(expected: BlobDescriptor, bytes: number, hex: string | null): RegistryPullError | null {
  if (bytes > expected.size) return new RegistryPullError(`blob ${expected.digest} is longer than its descriptor's ${expected.size} bytes`);
  if (bytes !== expected.size) return new RegistryPullError(`blob ${expected.digest} has ${bytes} bytes, its descriptor says ${expected.size}`);
  const got = `${algorithmOf(expected.digest)}:${hex ?? ''}`;
  return got === expected.digest ? null : new RegistryPullError(`blob ${expected.digest} does not match its digest (got ${got})`);
}

/** The algorithm part of a digest (`sha256`). */
function algorithmOf(digest: string): string {
  return digest.slice(0, digest.indexOf(':'));
}

/** Options of a {@link RegistryClient}. */
export interface RegistryClientOptions {
  logger?: Logger;
  /** Waiting for a response's headers (default 60 s). */
  headersTimeoutMs?: number;
  /** Silence while reading a body (default 120 s). */
  bodyTimeoutMs?: number;
}

/** Pulls images for the built-in scanner. One instance serves every scan; `close()` ends its connection pools. */
export class RegistryClient {
  private verifying: Agent | null = null;
  private trusting: Agent | null = null;
  private readonly headersTimeout: number;
  private readonly bodyTimeout: number;

  constructor(private readonly opts: RegistryClientOptions = {}) {
    this.headersTimeout = opts.headersTimeoutMs ?? 60_000;
    this.bodyTimeout = opts.bodyTimeoutMs ?? 120_000;
  }

  /**
   * Fetches and verifies the manifest `digest` of `repository` and its config; returns them with
   * an ImageSource whose layer streams verify their digests. Every request of the pull (layers
   * included) uses the credential this call settled on.
   */
  async openImage(target: RegistryTarget, repository: string, digest: string, opts: { signal?: AbortSignal; local?: LocalRegistry } = {}): Promise<PulledImage> {
    const session: PullTransport = opts.local?.serves(target.url) ? new LocalPull(opts.local, target.authorization, repository, this) : new PullSession(this, target, repository, opts.signal);
    const m = await session.fetchWhole('manifests', digest, manifestLimit, `${OCI_MANIFEST}, ${DOCKER_MANIFEST}`);
    const got = `${algorithmOf(digest)}:${createHash(algorithmOf(digest)).update(m.body).digest('hex')}`;
    if (got !== digest) throw new RegistryPullError(`manifest ${digest} of ${repository} does not match its digest (got ${got})`);
    const manifest = parseImageManifest(m.body, m.contentType);
    if (manifest.config.size > configLimit) throw new RegistryPullError(`the image config is larger than ${configLimit} bytes`);
    const c = await session.fetchWhole('blobs', manifest.config.digest, configLimit, '*/*');
    const calg = algorithmOf(manifest.config.digest);
    const cgot = `${calg}:${createHash(calg).update(c.body).digest('hex')}`;
    if (cgot !== manifest.config.digest || c.body.length !== manifest.config.size) throw new RegistryPullError(`config ${manifest.config.digest} does not match its descriptor`);
    let config: unknown;
    try {
      config = JSON.parse(c.body.toString('utf8'));
    } catch {
      throw new RegistryPullError('the image config is not JSON');
    }
    if (!isJsonObject(config)) throw new RegistryPullError('the image config is not a JSON object');
    const byDigest = new Map(manifest.layers.map((l) => [l.digest, l]));
    return {
      mediaType: manifest.mediaType,
      manifest: { config: manifest.config, layers: manifest.layers },
      config,
      source: {
        layers: manifest.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })),
        openBlob: async (d, signal) => {
          const desc = byDigest.get(d);
          if (!desc) throw new RegistryPullError(`blob ${d} is not a layer of manifest ${digest}`);
          return session.openVerified(desc, signal);
        },
      },
    };
  }

  /** Ends the connection pools. */
  async close(): Promise<void> {
    const agents = [this.verifying, this.trusting];
    this.verifying = this.trusting = null;
    await Promise.all(agents.map((a) => a?.close()));
  }

  /** @internal The pool for a registry. */
  dispatcher(insecure: boolean): Dispatcher {
    const o = { headersTimeout: this.headersTimeout, bodyTimeout: this.bodyTimeout };
    if (insecure) return (this.trusting ??= new Agent({ ...o, connect: { rejectUnauthorized: false } }));
    // The system roots plus tls.trusted_ca_files and Wharf's own CA: the built-in scanner pulls from Wharf's https address.
    return (this.verifying ??= new Agent({ ...o, connect: { ca: trustedCa() } }));
  }

  /** @internal */
  get logger(): Logger | undefined {
    return this.opts.logger;
  }
}

/** A GET answer whose body is still to be read. */
interface Opened {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

function header(h: Record<string, string | string[] | undefined>, name: string): string {
  const v = h[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

/** Drops a response body unread. The no-op listener keeps the stream's abort error from being an uncaught exception. */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

async function readLimited(body: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    // undici bodies yield Buffers; the check keeps the type honest.
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > limit) {
      discard(body);
      throw new RegistryPullError(`${what} is larger than ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** One pull: the registry base, the repository, and the credential as it stands (Basic until a token replaces it). */
class PullSession implements PullTransport {
  private readonly base: URL;
  private authorization: string;
  private exchanged = false;

  constructor(
    private readonly client: RegistryClient,
    private readonly target: RegistryTarget,
    private readonly repository: string,
    private readonly signal: AbortSignal | undefined,
  ) {
    let u: URL;
    try {
      u = new URL(target.url);
    } catch {
      throw new RegistryPullError('registry.url is not a URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RegistryPullError('registry.url must be http or https');
    u.pathname = u.pathname.replace(/\/+$/, '') + '/';
    u.search = '';
    u.hash = '';
    this.base = u;
    this.authorization = target.authorization;
  }

  /** `<base>/v2/<repository>/<tail>` */
  private url(tail: string): URL {
    return new URL(`v2/${this.repository}/${tail}`, this.base);
  }

  /** A path as it may appear in a message. */
  private shown(u: URL): string {
    return `${u.protocol}//${u.host}${u.pathname}`;
  }

  /** GET with the current credential; on a 401 Bearer challenge to Basic or no credentials, gets a token and retries once. Follows redirects. */
  private async get(tail: string, accept: string, signal: AbortSignal | undefined): Promise<Opened> {
    const first = await this.follow(this.url(tail), accept, signal);
    if (first.status !== 401 || this.exchanged || /^bearer /i.test(this.authorization)) return first;
    const challenge = parseChallenge(header(first.headers, 'www-authenticate'));
    discard(first.body);
    if (!challenge || challenge.scheme.toLowerCase() !== 'bearer' || !challenge.params.realm) {
      throw new RegistryPullError(`GET ${this.shown(this.url(tail))}: the registry refused the credentials (401)`, 401);
    }
    await this.exchange(challenge, signal);
    return this.follow(this.url(tail), accept, signal);
  }

  /** The Docker token flow: GET realm?service=…&scope=… with the Basic credential (if any). */
  private async exchange(challenge: Challenge, signal: AbortSignal | undefined): Promise<void> {
    this.exchanged = true;
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm ?? '');
    } catch {
      throw new RegistryPullError('the registry sent a token realm that is not a URL');
    }
    if (realm.protocol !== 'http:' && realm.protocol !== 'https:') throw new RegistryPullError('the registry sent a token realm that is not http or https');
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', challenge.params.scope || `repository:${this.repository}:pull`);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (/^basic /i.test(this.authorization)) headers.authorization = this.authorization;
    const res = await this.send(realm, headers, signal);
    const body = await readLimited(res.body, tokenLimit, 'the token answer');
    if (res.status !== 200) throw new RegistryPullError(`GET ${this.shown(realm)}: the token service answered ${res.status}`, res.status);
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      throw new RegistryPullError(`GET ${this.shown(realm)}: the token answer is not JSON`);
    }
    const token = isJsonObject(doc) ? (typeof doc.token === 'string' && doc.token !== '' ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '') : '';
    if (token === '' || /[\r\n\0]/.test(token)) throw new RegistryPullError(`GET ${this.shown(realm)}: the token answer has no token`);
    this.authorization = `Bearer ${token}`;
  }

  /** One request, then redirects (at most 5; the Authorization header only to the registry's own origin). */
  private async follow(start: URL, accept: string, signal: AbortSignal | undefined): Promise<Opened> {
    let url = start;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { accept };
      if (this.authorization !== '' && url.origin === this.base.origin) headers.authorization = this.authorization;
      const res = await this.send(url, headers, signal);
      if (![301, 302, 303, 307, 308].includes(res.status)) return res;
      discard(res.body);
      const loc = header(res.headers, 'location');
      if (loc === '' || hop >= maxRedirects) throw new RegistryPullError(`GET ${this.shown(start)}: too many or empty redirects`, res.status);
      url = new URL(loc, url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RegistryPullError(`GET ${this.shown(start)}: redirected to a non-http URL`, res.status);
    }
  }

  private async send(url: URL, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<Opened> {
    const both = signal && this.signal ? AbortSignal.any([signal, this.signal]) : (signal ?? this.signal);
    try {
      const res = await request(url, { method: 'GET', headers, signal: both, dispatcher: this.client.dispatcher(this.target.insecure) });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      if (both?.aborted) throw err;
      const e = err instanceof Error ? err : new Error(String(err));
      const code = 'code' in e && typeof e.code === 'string' ? ` (${e.code})` : '';
      throw new RegistryPullError(`GET ${this.shown(url)}: ${e.message}${code}`);
    }
  }

  /** A small document (manifest, config) read whole. */
  async fetchWhole(kind: 'manifests' | 'blobs', digest: string, limit: number, accept: string): Promise<{ body: Buffer; contentType: string }> {
    const tail = `${kind}/${digest}`;
    const res = await this.get(tail, accept, undefined);
    if (res.status !== 200) {
      discard(res.body);
      throw new RegistryPullError(`GET ${this.shown(this.url(tail))}: the registry answered ${res.status}`, res.status);
    }
    const body = await readLimited(res.body, limit, `GET ${this.shown(this.url(tail))}`);
    return { body, contentType: header(res.headers, 'content-type') };
  }

  /** A blob as a stream that verifies its size and digest. */
  async openVerified(desc: BlobDescriptor, signal: AbortSignal | undefined): Promise<Readable> {
    const res = await this.get(`blobs/${desc.digest}`, '*/*', signal);
    if (res.status !== 200) {
      discard(res.body);
      throw new RegistryPullError(`GET ${this.shown(this.url(`blobs/${desc.digest}`))}: the registry answered ${res.status}`, res.status);
    }
    return verified(res.body, desc, this.client.logger);
  }
}

/** `body` through a {@link VerifyingStream}: an error on either side destroys both, so a consumer that stops early also ends the read. */
function verified(body: Readable, desc: BlobDescriptor, logger: Logger | undefined): Readable {
  const verifier = new VerifyingStream(desc);
  pipeline(body, verifier, (err) => {
    if (err) logger?.debug({ digest: desc.digest, err: err.message }, 'scanner: blob stream ended early');
  });
  return verifier;
}

/**
 * Checks an open blob file against its descriptor on the digest worker (file-digest.ts: read by
 * position, so the file's offset stays where a decoding program needs it); rejects on a mismatch.
 */
async function verifyFile(handle: FileHandle, desc: BlobDescriptor, signal: AbortSignal): Promise<void> {
  const { hex, bytes } = await fileDigest(handle, algorithmOf(desc.digest), desc.size, signal);
  const wrong = blobMismatch(desc, bytes, hex);
  if (wrong) throw wrong;
}

/**
 * One pull from Wharf's own registry in-process ({@link LocalRegistry}). The bytes are checked
 * as over HTTP: the manifest's and config's digests by openImage, each layer's size and digest
 * while it streams. A refusal keeps the registry's message (its Harbor error text), never the credential.
 */
class LocalPull implements PullTransport {
  constructor(
    private readonly local: LocalRegistry,
    private readonly authorization: string,
    private readonly repository: string,
    private readonly client: RegistryClient,
  ) {}

  async fetchWhole(kind: 'manifests' | 'blobs', digest: string, limit: number): Promise<{ body: Buffer; contentType: string }> {
    const what = `${kind === 'manifests' ? 'manifest' : 'blob'} ${digest} of ${this.repository}`;
    if (kind === 'manifests') {
      const m = await this.refused(what, () => this.local.manifest(this.authorization, this.repository, digest));
      if (m.body.length > limit) throw new RegistryPullError(`${what} is larger than ${limit} bytes`);
      return m;
    }
    const stream = await this.refused(what, () => this.local.blob(this.authorization, this.repository, digest, undefined));
    return { body: await readLimited(stream, limit, what), contentType: 'application/octet-stream' };
  }

  /**
   * A layer the storage keeps as a file is handed to the walker as that file (a decompressing
   * program reads it itself), its size and digest checked by a read of its own beside the walk;
   * any other is streamed through the same check.
   */
  async openVerified(desc: BlobDescriptor, signal: AbortSignal | undefined): Promise<Readable | BlobFile> {
    const opened = await this.refused(`blob ${desc.digest} of ${this.repository}`, () => this.local.layer(this.authorization, this.repository, desc.digest, signal));
    if (opened instanceof Readable) return verified(opened, desc, this.client.logger);
    return { handle: opened, verify: (stop) => verifyFile(opened, desc, stop) };
  }

  /** Runs `read`; a refusal becomes a RegistryPullError naming what was read and why. */
  private async refused<T>(what: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (err instanceof RegistryPullError) throw err;
      throw new RegistryPullError(`reading ${what} from this registry: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
